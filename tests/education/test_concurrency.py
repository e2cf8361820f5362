"""Registrations racing each other on real threads and real database connections.

Each test commits for real (transaction=True). The threads wait at a barrier and call the
service at the same moment. On PostgreSQL the lecture's row lock serialises the seat count; on
SQLite the IMMEDIATE transactions do. The unique constraint keeps one seat per borrower.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from education import services
from education.models import LectureRegistration
from education.services import LectureFull
from loans import services as loan_services
from portal.models import AuditEvent
from tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def lecture(capacity: int) -> Any:
    return services.lecture_create(
        actor=None, title="读懂你的信用报告", speaker="周敏", language="zh-hans", description="介绍",
        starts_at=timezone.now() + dt.timedelta(days=3), duration_minutes=60, capacity=capacity,
        join_url="https://live.example.com/x",
    )


def borrowers(count: int) -> list[Any]:
    from loans.demo import national_id

    return [
        loan_services.borrower_register(
            mobile=f"1390000{n:04d}", real_name="并发", password=None,
            national_id=national_id("110107", dt.date(1990, 1, 1), 2 * n + 1),
        )
        for n in range(count)
    ]


def test_two_borrowers_racing_for_the_last_seat_get_one_seat(db):
    talk = lecture(capacity=1)
    first, second = borrowers(2)
    outcomes = run_together(2, lambda i: services.lecture_register(
        lecture_id=talk.pk, borrower_id=(first, second)[i].pk, actor=None))
    won = [o for o in outcomes if isinstance(o, LectureRegistration)]
    lost = [o for o in outcomes if isinstance(o, LectureFull)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert LectureRegistration.objects.filter(lecture=talk, status="registered").count() == 1
    assert AuditEvent.objects.filter(action="education.lecture.register").count() == 1


def test_many_borrowers_racing_for_a_few_seats_never_overbook(db):
    talk = lecture(capacity=3)
    people = borrowers(6)
    outcomes = run_together(6, lambda i: services.lecture_register(
        lecture_id=talk.pk, borrower_id=people[i].pk, actor=None))
    assert sum(isinstance(o, LectureRegistration) for o in outcomes) == 3, outcomes
    assert sum(isinstance(o, LectureFull) for o in outcomes) == 3, outcomes
    assert LectureRegistration.objects.filter(lecture=talk, status="registered").count() == 3


def test_one_borrower_clicking_twice_at_once_gets_one_seat(db):
    talk = lecture(capacity=10)
    (person,) = borrowers(1)
    outcomes = run_together(2, lambda i: services.lecture_register(
        lecture_id=talk.pk, borrower_id=person.pk, actor=None))
    assert all(isinstance(o, LectureRegistration) for o in outcomes), outcomes
    assert outcomes[0].pk == outcomes[1].pk
    assert LectureRegistration.objects.filter(lecture=talk, borrower=person).count() == 1
