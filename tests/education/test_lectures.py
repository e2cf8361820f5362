"""Online lectures: borrowers register and cancel, a full lecture refuses more, and a text
message reminds them the day before, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from education import services, tasks
from education.models import LectureRegistration
from education.services import (
    LectureFull,
    lecture_cancel,
    lecture_register,
    lecture_reminders_queue,
)
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent, SmsMessage, SmsStatus
from portal.sms_backends import MemorySmsBackend

pytestmark = pytest.mark.django_db


def register(lecture, borrower):
    return lecture_register(lecture_id=lecture.pk, borrower_id=borrower.pk, actor=borrower.user)


def test_a_borrower_registers_and_cancels(make_lecture, alice):
    lecture = make_lecture()
    registration = register(lecture, alice)
    assert registration.status == "registered"
    cancelled = lecture_cancel(lecture_id=lecture.pk, borrower_id=alice.pk, actor=alice.user)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    again = register(lecture, alice)
    assert again.pk != registration.pk  # the cancelled row stays as history
    actions = list(AuditEvent.objects.filter(object_type="education.lectureregistration").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["education.lecture.register", "education.lecture.cancel", "education.lecture.register"]


def test_registering_twice_keeps_one_seat(make_lecture, alice):
    lecture = make_lecture()
    assert register(lecture, alice).pk == register(lecture, alice).pk
    assert LectureRegistration.objects.filter(lecture=lecture, status="registered").count() == 1


def test_it_refuses_a_registration_when_full(make_lecture, alice, bob):
    lecture = make_lecture(capacity=1)
    register(lecture, alice)
    with pytest.raises(LectureFull):
        register(lecture, bob)
    assert not LectureRegistration.objects.filter(borrower=bob).exists()


def test_a_cancelled_seat_can_be_taken_by_someone_else(make_lecture, alice, bob):
    lecture = make_lecture(capacity=1)
    register(lecture, alice)
    lecture_cancel(lecture_id=lecture.pk, borrower_id=alice.pk, actor=alice.user)
    assert register(lecture, bob).status == "registered"


def test_it_refuses_registering_for_or_cancelling_a_lecture_that_has_started(make_lecture, alice):
    upcoming = make_lecture()
    register(upcoming, alice)
    services.lecture_update(
        lecture_id=upcoming.pk, actor=None, title=upcoming.title, speaker=upcoming.speaker,
        language=upcoming.language, description=upcoming.description,
        starts_at=timezone.now() - dt.timedelta(minutes=5), duration_minutes=60, capacity=50,
        join_url=upcoming.join_url,
    )
    with pytest.raises(NotAllowed):
        lecture_cancel(lecture_id=upcoming.pk, borrower_id=alice.pk, actor=alice.user)
    started = make_lecture("已经开始", starts_at=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(NotAllowed):
        register(started, alice)


def test_cancelling_without_a_registration_is_refused(make_lecture, alice):
    with pytest.raises(NotAllowed):
        lecture_cancel(lecture_id=make_lecture().pk, borrower_id=alice.pk, actor=alice.user)


def test_the_seats_cannot_drop_below_the_borrowers_registered(make_lecture, alice, bob):
    lecture = make_lecture(capacity=5)
    register(lecture, alice)
    register(lecture, bob)
    values = dict(title=lecture.title, speaker=lecture.speaker, language=lecture.language,
                  description=lecture.description, starts_at=lecture.starts_at, duration_minutes=60,
                  join_url=lecture.join_url)
    with pytest.raises(DomainError):
        services.lecture_update(lecture_id=lecture.pk, actor=None, capacity=1, **values)
    assert services.lecture_update(lecture_id=lecture.pk, actor=None, capacity=2, **values).capacity == 2


@pytest.mark.parametrize(("field", "value"), [
    ("join_url", "javascript:alert(1)"), ("join_url", "ftp://example.com/x"), ("join_url", ""),
    ("recording_url", "data:text/html,hi"), ("capacity", 0), ("duration_minutes", 0),
    ("title", "<script>alert(1)</script>"), ("description", "<img src=x onerror=alert(1)>"),
])
def test_a_lecture_with_a_bad_value_is_refused(field, value, db):
    values: dict[str, Any] = dict(actor=None, title="讲座", speaker="周敏", language="zh-hans", description="介绍",
                  starts_at=timezone.now() + dt.timedelta(days=2), duration_minutes=60, capacity=10,
                  join_url="https://live.example.com/x", recording_url="")
    values[field] = value
    with pytest.raises(DomainError):
        services.lecture_create(**values)


# --- pages -------------------------------------------------------------------------------


def test_visitors_see_lectures_and_are_asked_to_sign_in_to_register(client, make_lecture):
    lecture = make_lecture()
    assert f'data-lecture="{lecture.pk}"' in client.get(reverse("education:lectures")).text
    page = client.get(reverse("education:lecture", args=[lecture.pk])).text
    assert reverse("portal:sign-in") in page and lecture.join_url not in page
    response = client.post(reverse("education:lecture-register", args=[lecture.pk]))
    assert response.status_code == 302 and reverse("portal:sign-in") in response["Location"]


def test_staff_cannot_register(client, make_lecture, charlie):
    client.force_login(charlie)
    assert client.post(reverse("education:lecture-register", args=[make_lecture().pk])).status_code == 403


def test_a_borrower_registers_on_the_page_and_then_sees_the_joining_link(client, make_lecture, alice):
    lecture = make_lecture()
    client.force_login(alice.user)
    page = client.get(reverse("education:lecture", args=[lecture.pk])).text
    assert reverse("education:lecture-register", args=[lecture.pk]) in page and lecture.join_url not in page
    response = client.post(reverse("education:lecture-register", args=[lecture.pk]), follow=True)
    assert lecture.join_url in response.text
    assert reverse("education:lecture-cancel", args=[lecture.pk]) in response.text
    mine = client.get(reverse("education:lectures")).text
    assert 'id="mine"' in mine and f'data-lecture="{lecture.pk}"' in mine.split('id="mine"')[1].split("</section>")[0]
    client.post(reverse("education:lecture-cancel", args=[lecture.pk]))
    assert not LectureRegistration.objects.filter(borrower=alice, status="registered").exists()


def test_a_full_lecture_page_says_so_and_offers_no_registration(client, make_lecture, alice, bob):
    lecture = make_lecture(capacity=1)
    register(lecture, alice)
    client.force_login(bob.user)
    page = client.get(reverse("education:lecture", args=[lecture.pk])).text
    assert reverse("education:lecture-register", args=[lecture.pk]) not in page
    response = client.post(reverse("education:lecture-register", args=[lecture.pk]), follow=True)
    assert not LectureRegistration.objects.filter(borrower=bob).exists()
    assert "seat" in response.text or "名额" in response.text or "座" in response.text


def test_a_past_lecture_shows_its_recording(client, make_lecture):
    lecture = make_lecture("往期讲座", starts_at=timezone.now() - dt.timedelta(days=3),
                           recording_url="https://video.example.com/past")
    assert f'data-lecture="{lecture.pk}"' in client.get(reverse("education:lectures")).text
    assert "https://video.example.com/past" in client.get(reverse("education:lecture", args=[lecture.pk])).text


# --- the reminder ------------------------------------------------------------------------


@pytest.fixture
def tomorrows_lecture(make_lecture):
    today = timezone.localdate()
    starts = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(19, 30),
                                 tzinfo=timezone.get_current_timezone())
    return make_lecture("读懂你的信用报告", starts_at=starts)


def test_the_reminder_is_sent_once_even_if_the_task_runs_twice(
    tomorrows_lecture, alice, monkeypatch, django_capture_on_commit_callbacks
):
    MemorySmsBackend.outbox.clear()
    register(tomorrows_lecture, alice)
    monkeypatch.setattr(tasks, "business_today", timezone.localdate)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.queue_lecture_reminders() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.queue_lecture_reminders() == 0
    message = SmsMessage.objects.get()
    assert message.kind == "lecture_reminder" and message.mobile == alice.mobile
    assert message.dedupe_key == f"lecture-reminder:{tomorrows_lecture.pk}:{alice.pk}"
    assert "读懂你的信用报告" in message.body and "19:30" in message.body
    assert message.status == SmsStatus.SENT and len(MemorySmsBackend.outbox) == 1


def test_the_reminder_is_in_the_borrowers_language_and_carries_no_link(tomorrows_lecture, bob):
    register(tomorrows_lecture, bob)
    lecture_reminders_queue(today=timezone.localdate())
    body = SmsMessage.objects.get().body
    assert body.startswith("Reminder: the online lecture") and "http" not in body


def test_only_registered_borrowers_of_tomorrows_lectures_are_reminded(tomorrows_lecture, make_lecture, alice, bob):
    later = make_lecture("下周的讲座", starts_at=tomorrows_lecture.starts_at + dt.timedelta(days=7))
    register(later, alice)
    register(tomorrows_lecture, bob)
    lecture_cancel(lecture_id=tomorrows_lecture.pk, borrower_id=bob.pk, actor=bob.user)
    assert lecture_reminders_queue(today=timezone.localdate()) == 0
    assert lecture_reminders_queue(today=timezone.localdate() + dt.timedelta(days=7)) == 1


def test_the_daily_schedule_is_created_once_however_often_migrations_run():
    import importlib

    from django.apps import apps
    from django_q.models import Schedule

    migration = importlib.import_module("education.migrations.0002_lecture_reminder_schedule")
    Schedule.objects.filter(name=migration.NAME).delete()
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    schedule = Schedule.objects.get(name="lecture-reminders")
    assert schedule.func == "education.tasks.queue_lecture_reminders" and schedule.schedule_type == "D"
