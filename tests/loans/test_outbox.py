"""The loan-event outbox: each consumer reads every event at least once, in id order."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from loans.models import Loan, LoanEvent, LoanEventKind, OutboxCursor
from loans.outbox import events_consume
from portal.audit import audit_record
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

LONG_AGO = dt.timedelta(minutes=10)


@pytest.fixture(autouse=True)
def no_settle_lag(settings):
    settings.PORTAL_OUTBOX_SETTLE_SECONDS = 0


def add_events(loan: Loan, count: int, *, age: dt.timedelta = LONG_AGO) -> list[int]:
    created = [
        LoanEvent.objects.create(
            loan=loan, kind=LoanEventKind.STAGE_CHANGED, business_date=dt.date(2026, 3, 1),
            payload={"n": n}, created_at=timezone.now() - age,
        )
        for n in range(count)
    ]
    return [event.pk for event in created]


def all_event_ids() -> list[int]:
    return list(LoanEvent.objects.order_by("pk").values_list("pk", flat=True))


def cursor_of(consumer: str) -> int:
    return OutboxCursor.objects.get(consumer=consumer).last_event_id


def test_a_consumer_is_handed_every_event_once_in_id_order_in_batches(alices_loan):
    add_events(alices_loan, 5)
    batches: list[list[int]] = []

    assert events_consume(consumer="test", handler=lambda events: batches.append([e.pk for e in events]),
                          batch_size=2) == len(all_event_ids())

    assert [pk for batch in batches for pk in batch] == all_event_ids()
    assert all(len(batch) <= 2 for batch in batches)
    assert cursor_of("test") == all_event_ids()[-1]
    assert events_consume(consumer="test", handler=lambda events: batches.append([]), batch_size=2) == 0


def test_events_written_later_are_read_by_the_next_run_from_where_the_cursor_stopped(alices_loan):
    events_consume(consumer="test", handler=lambda events: None)
    new = add_events(alices_loan, 3)
    seen: list[int] = []

    assert events_consume(consumer="test", handler=lambda events: seen.extend(e.pk for e in events)) == 3
    assert seen == new


def test_a_handler_that_raises_leaves_the_cursor_where_it_was_and_its_writes_undone(alices_loan):
    add_events(alices_loan, 4)
    ids = all_event_ids()
    calls = 0

    def handler(events: list[LoanEvent]) -> None:
        nonlocal calls
        calls += 1
        audit_record(actor=None, action="test.handled", target=events[0])
        if calls == 2:
            raise RuntimeError("the consumer failed half way")

    with pytest.raises(RuntimeError):
        events_consume(consumer="test", handler=handler, batch_size=2)

    # The first batch committed with its cursor move; the second rolled back with its write.
    assert cursor_of("test") == ids[1]
    assert AuditEvent.objects.filter(action="test.handled").count() == 1
    again: list[int] = []
    events_consume(consumer="test", handler=lambda events: again.extend(e.pk for e in events))
    assert again == ids[2:]  # handed over again: at least once


def test_two_consumers_keep_their_own_cursors(alices_loan):
    add_events(alices_loan, 3)
    first: list[int] = []
    second: list[int] = []

    events_consume(consumer="alerts-test", handler=lambda events: first.extend(e.pk for e in events))
    add_events(alices_loan, 2)
    events_consume(consumer="bureau-test", handler=lambda events: second.extend(e.pk for e in events))

    assert second == all_event_ids()
    assert first == all_event_ids()[:-2]
    assert cursor_of("alerts-test") == first[-1] and cursor_of("bureau-test") == second[-1]


def test_events_still_settling_wait_and_nothing_after_them_is_read(alices_loan, settings):
    settings.PORTAL_OUTBOX_SETTLE_SECONDS = 60
    old = add_events(alices_loan, 2)
    young = add_events(alices_loan, 1, age=dt.timedelta(seconds=1))
    # Stamped long ago but with a larger id: as if its transaction had started before the young
    # one's. It must not be read while the young event below it may still have neighbours.
    after_young = add_events(alices_loan, 1)
    seen: list[int] = []

    events_consume(consumer="test", handler=lambda events: seen.extend(e.pk for e in events))

    assert seen[-2:] == old and young[0] not in seen and after_young[0] not in seen
    assert cursor_of("test") == old[-1]
    settings.PORTAL_OUTBOX_SETTLE_SECONDS = 0
    events_consume(consumer="test", handler=lambda events: seen.extend(e.pk for e in events))
    assert seen[-2:] == young + after_young


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(ValueError):
        events_consume(consumer="test", handler=lambda events: None, batch_size=0)


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_consumer_at_once_hand_each_event_over_once(alices_loan):
    add_events(alices_loan, 6)
    seen: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def handler(events: list[LoanEvent]) -> None:
        time.sleep(0.05)  # both runs are inside a batch at the same time
        with lock:
            seen.extend(e.pk for e in events)

    def run() -> None:
        try:
            events_consume(consumer="test", handler=handler, batch_size=2)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted(seen) == all_event_ids() and len(seen) == len(set(seen))


def commit_late(loan: Loan, inserted: threading.Event, go: threading.Event, ids: list[int]) -> None:
    """Insert an event and keep its transaction open until told to commit (another connection)."""
    from django.db import transaction

    try:
        with transaction.atomic():
            event = LoanEvent.objects.create(loan=loan, kind=LoanEventKind.STAGE_CHANGED,
                                             business_date=dt.date(2026, 3, 1), payload={"late": True})
            ids.append(event.pk)
            inserted.set()
            go.wait(30)
    finally:
        connection.close()


def race(loan: Loan, consume_while_open: Any) -> tuple[int, int]:
    """Event a takes its id first but commits after event b; `consume_while_open` runs in between."""
    inserted, go = threading.Event(), threading.Event()
    late: list[int] = []
    writer = threading.Thread(target=commit_late, args=(loan, inserted, go, late))
    writer.start()
    assert inserted.wait(30)
    b = add_events(loan, 1, age=dt.timedelta(0))[0]
    try:
        consume_while_open()
    finally:
        go.set()
        writer.join(30)
    assert late[0] < b
    return late[0], b


@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_after_a_later_one_is_still_read_thanks_to_the_settle_lag(alices_loan, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite commits one writer at a time: ids never become visible out of order")
    settings.PORTAL_OUTBOX_SETTLE_SECONDS = 1
    seen: list[int] = []

    def consume() -> None:
        events_consume(consumer="test", handler=lambda events: seen.extend(e.pk for e in events))

    a, b = race(alices_loan, consume)
    assert seen == []  # b is visible but still settling, so the cursor did not pass a
    time.sleep(1.1)
    consume()
    assert seen == [a, b]


@pytest.mark.django_db(transaction=True)
def test_without_a_settle_lag_an_event_that_commits_late_would_be_skipped(alices_loan):
    """Why the lag exists: what a reader without it does on PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite commits one writer at a time: ids never become visible out of order")
    seen: list[int] = []

    def consume() -> None:
        events_consume(consumer="test", handler=lambda events: seen.extend(e.pk for e in events))

    a, b = race(alices_loan, consume)
    consume()
    assert seen == [b] and a not in seen
