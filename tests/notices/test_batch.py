"""Batches: many cases' notices printed by the django-q2 task (run inline in tests), archived one
by one, joined into one PDF for the post room; claimed once, resumable, refused when wrong."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from debt_collections.models import CaseStatus
from notices.models import BatchStatus, Notice, NoticeBatch, NoticeKind
from notices.services import notice_batch_create, notice_batch_retry, notice_batch_run
from portal import roles
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent
from tests.debt_collections.factories import make_case

from .conftest import assert_printed, pdf_reader, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_chunks(settings: Any) -> None:
    settings.PORTAL_NOTICE_BATCH_CHUNK = 2  # three cases: two chunks


@pytest.fixture
def current_case(bob, make_loan):
    """A case whose loan has nothing overdue (paid up meanwhile): skipped, not printed."""
    return make_case(make_loan(bob, on=dt.date(2026, 3, 20)), days_past_due=0)


@pytest.fixture
def cases(alices_case, bobs_case, current_case):
    return [alices_case, current_case, bobs_case]


def run_batch(django_capture_on_commit_callbacks: Any, **kwargs: Any) -> NoticeBatch:
    with django_capture_on_commit_callbacks(execute=True):
        batch = notice_batch_create(**kwargs)
    batch.refresh_from_db()
    return batch


def test_a_batch_prints_every_case_into_one_pdf_and_archives_each_notice(
    cases, legal, django_capture_on_commit_callbacks, private_media
):
    batch = run_batch(
        django_capture_on_commit_callbacks,
        kind=NoticeKind.LAWYER_LETTER,
        case_ids=[c.pk for c in cases],
        actor=legal,
    )

    assert batch.status == BatchStatus.DONE and batch.done == batch.total == 3
    assert batch.generated == 2 and batch.skipped == 1
    assert (
        batch.skipped_cases[0]["case"] == cases[1].pk
        and "nothing overdue" in batch.skipped_cases[0]["reason"]
    )
    notices = list(Notice.objects.filter(batch=batch).order_by("id"))
    assert [n.case_id for n in notices] == [cases[0].pk, cases[2].pk]  # in the order chosen
    assert [n.language for n in notices] == ["zh-hans", "en"]
    for notice in notices:
        data = Path(notice.file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == notice.sha256
        assert notice.generated_by == legal and notice.pages == len(pdf_reader(data).pages)
    combined = Path(batch.file.path).read_bytes()
    assert hashlib.sha256(combined).hexdigest() == batch.sha256
    assert len(pdf_reader(combined).pages) == sum(n.pages for n in notices)
    text = pdf_text(combined)
    assert_printed(
        text, "王丽", "李强", "律师函", "Lawyer's Letter", *(n.reference for n in notices)
    )
    # The chunks' own PDFs were joined and removed: left are the notices and the batch's file.
    left = sorted(str(p.relative_to(private_media)) for p in private_media.rglob("*.pdf"))
    assert left == sorted([batch.file.name, *(n.file.name for n in notices)])
    assert AuditEvent.objects.filter(action="notice.generate").count() == 2
    assert AuditEvent.objects.filter(action="notice.batch.done", object_id=str(batch.pk)).exists()


def test_progress_moves_chunk_by_chunk(
    cases, legal, django_capture_on_commit_callbacks, monkeypatch
):
    seen: list[int] = []
    from notices import services

    original = services._batch_chunk

    def watch(batch: NoticeBatch, case_ids: list[int], **kwargs: Any) -> None:
        original(batch, case_ids, **kwargs)
        seen.append(NoticeBatch.objects.get(pk=batch.pk).done)

    monkeypatch.setattr(services, "_batch_chunk", watch)
    batch = run_batch(
        django_capture_on_commit_callbacks,
        kind=NoticeKind.PAYMENT_REMINDER,
        case_ids=[c.pk for c in cases],
        actor=legal,
    )
    assert seen == [2, 3] and batch.percent == 100


def test_a_finished_or_busy_batch_is_not_run_twice(
    cases, legal, django_capture_on_commit_callbacks
):
    batch = run_batch(
        django_capture_on_commit_callbacks,
        kind=NoticeKind.PAYMENT_REMINDER,
        case_ids=[c.pk for c in cases],
        actor=legal,
    )
    assert notice_batch_run(batch_id=batch.pk) == "not-claimed"
    busy = NoticeBatch.objects.create(
        kind=NoticeKind.PAYMENT_REMINDER,
        requested_by=legal,
        case_ids=[cases[0].pk],
        total=1,
        status=BatchStatus.RUNNING,
        heartbeat_at=timezone.now(),
    )
    assert notice_batch_run(batch_id=busy.pk) == "not-claimed"
    assert Notice.objects.count() == 2


def test_a_silent_running_batch_is_taken_over_and_goes_on_from_its_last_chunk(
    cases, legal, settings
):
    """As after a worker was killed: the first chunk committed, then nothing."""
    batch = NoticeBatch.objects.create(
        kind=NoticeKind.PAYMENT_REMINDER,
        requested_by=legal,
        case_ids=[c.pk for c in cases],
        total=3,
    )
    from notices.services import _batch_chunk

    NoticeBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING, heartbeat_at=timezone.now()
    )
    batch.refresh_from_db()
    _batch_chunk(batch, [cases[0].pk, cases[1].pk])
    stale = timezone.now() - dt.timedelta(seconds=settings.PORTAL_NOTICE_BATCH_STALE_SECONDS + 1)
    NoticeBatch.objects.filter(pk=batch.pk).update(heartbeat_at=stale)

    assert notice_batch_run(batch_id=batch.pk) == "done"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and batch.done == 3 and batch.skipped == 1
    assert sorted(Notice.objects.filter(batch=batch).values_list("case_id", flat=True)) == sorted(
        [cases[0].pk, cases[2].pk]
    )
    assert len(pdf_reader(Path(batch.file.path).read_bytes()).pages) == sum(
        Notice.objects.filter(batch=batch).values_list("pages", flat=True)
    )


def test_a_failed_chunk_leaves_no_files_and_the_batch_can_start_again(
    cases, legal, django_capture_on_commit_callbacks, monkeypatch, private_media
):
    from notices import services

    calls = {"n": 0}
    original = services.pdf_render

    def second_fails(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("printer on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "pdf_render", second_fails)
    batch = run_batch(
        django_capture_on_commit_callbacks,
        kind=NoticeKind.PAYMENT_REMINDER,
        case_ids=[c.pk for c in cases],
        actor=legal,
    )
    assert (
        batch.status == BatchStatus.FAILED and "printer on fire" in batch.error and batch.done == 2
    )
    assert (
        Notice.objects.filter(batch=batch).count() == 1
    )  # the first chunk's notice stays archived
    assert len(list(private_media.rglob("*.pdf"))) == 2  # that notice and the first chunk's part

    with django_capture_on_commit_callbacks(execute=True):
        notice_batch_retry(batch_id=batch.pk, actor=legal)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and batch.error == "" and batch.done == 3
    assert Notice.objects.filter(batch=batch).count() == 2  # nobody printed twice
    with pytest.raises(NotAllowed):
        notice_batch_retry(batch_id=batch.pk, actor=legal)


def test_batches_are_refused_when_wrong(cases, legal, make_staff, settings):
    ids = [c.pk for c in cases]
    with pytest.raises(NotAllowed):
        notice_batch_create(
            kind=NoticeKind.PAYMENT_REMINDER, case_ids=ids, actor=make_staff("agnes", roles.AGENT)
        )
    with pytest.raises(DomainError, match="one at a time"):
        notice_batch_create(kind=NoticeKind.RESTRUCTURING_AGREEMENT, case_ids=ids, actor=legal)
    with pytest.raises(DomainError):
        notice_batch_create(kind=NoticeKind.PAYMENT_REMINDER, case_ids=[], actor=legal)
    with pytest.raises(NotAllowed, match="do not exist"):
        notice_batch_create(kind=NoticeKind.PAYMENT_REMINDER, case_ids=[*ids, 999999], actor=legal)
    settings.PORTAL_NOTICE_BATCH_MAX = 2
    with pytest.raises(DomainError, match="At most 2"):
        notice_batch_create(kind=NoticeKind.PAYMENT_REMINDER, case_ids=ids, actor=legal)
    settings.PORTAL_NOTICE_BATCH_MAX = 10
    type(cases[0]).objects.filter(pk=cases[0].pk).update(
        status=CaseStatus.CLOSED, closed_on=dt.date(2026, 3, 31)
    )
    with pytest.raises(NotAllowed, match="closed"):
        notice_batch_create(kind=NoticeKind.PAYMENT_REMINDER, case_ids=ids, actor=legal)
    assert NoticeBatch.objects.count() == 0


def test_a_case_closed_after_the_batch_was_queued_is_skipped(
    cases, legal, django_capture_on_commit_callbacks
):
    batch = notice_batch_create(
        kind=NoticeKind.PAYMENT_REMINDER, case_ids=[cases[0].pk], actor=legal
    )
    type(cases[0]).objects.filter(pk=cases[0].pk).update(
        status=CaseStatus.CLOSED, closed_on=dt.date(2026, 3, 31)
    )
    assert notice_batch_run(batch_id=batch.pk) == "done"
    batch.refresh_from_db()
    assert (
        batch.skipped == 1
        and batch.generated == 0
        and not batch.file
        and Notice.objects.count() == 0
    )


def test_a_long_batch_hands_the_rest_to_a_new_task_after_each_slice(
    cases, legal, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """With no time per slice, every task does one chunk and queues the next: the chain ends."""
    settings.PORTAL_NOTICE_BATCH_SLICE_SECONDS = 0
    settings.PORTAL_NOTICE_BATCH_CHUNK = 1
    outcomes: list[str] = []
    from notices import services, tasks

    original = services.notice_batch_run

    def record(*, batch_id: int) -> str:
        outcomes.append(original(batch_id=batch_id))
        return outcomes[-1]

    monkeypatch.setattr(tasks, "notice_batch_run", record)
    batch = run_batch(
        django_capture_on_commit_callbacks,
        kind=NoticeKind.PAYMENT_REMINDER,
        case_ids=[c.pk for c in cases],
        actor=legal,
    )
    assert outcomes == ["continued", "continued", "done"]
    assert batch.status == BatchStatus.DONE and batch.done == 3
    assert Notice.objects.filter(batch=batch).count() == 2
