"""Reading the loan-event outbox (`LoanEvent`): every consumer sees every event at least once, in id order.

Each consumer has a cursor (`OutboxCursor`, by name) holding the id of the last event it has
handled. `events_consume` hands the events after the cursor to the consumer's handler in batches,
and moves the cursor in the same transaction as the handler's own writes: either both commit or
neither does. A crash after the handler's work but before the commit repeats the batch, never
skips it, so handlers must be idempotent (unique keys, "insert if absent").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import takewhile

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import LoanEvent, OutboxCursor

Handler = Callable[[list[LoanEvent]], None]


def events_consume(*, consumer: str, handler: Handler, batch_size: int = 1000) -> int:
    """Hand the consumer's unread events to `handler`, oldest first, one batch per transaction.

    Returns how many events were handed over. An exception from the handler rolls back that
    batch's writes and leaves the cursor where it was (earlier batches stay committed), and is
    raised again: the next run starts at the same event.

    Only events older than PORTAL_OUTBOX_SETTLE_SECONDS are read. On PostgreSQL an id is taken
    from the sequence when the row is inserted, but the row becomes visible when its transaction
    commits, so ids can become visible out of order: a close-of-business chunk inserts event 10
    and keeps working for a few seconds while a payment inserts event 11 and commits at once.
    A reader at that moment sees 11 but not 10; moving the cursor to 11 would skip 10 for ever.
    Waiting until an event is older than the longest transaction that writes events (the
    settle lag) means every smaller id has committed (or rolled back) by then. The batch stops
    at the first event that is too young, never skips over it, so the cursor never passes an
    event that could still have uncommitted neighbours below it. The lag must stay longer than
    the slowest event-writing transaction plus any clock difference between the servers (events
    are stamped with the writer's clock). SQLite commits one writer at a time, in id order, so
    the lag costs nothing there but latency; tests set it to 0.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    OutboxCursor.objects.get_or_create(consumer=consumer)
    consumed = 0
    while True:
        with transaction.atomic():
            # Locked for the batch: two runs of one consumer take turns instead of both
            # handling the same events at once (the second then starts after the first's batch).
            cursor = OutboxCursor.objects.select_for_update().get(consumer=consumer)
            settled_before = timezone.now() - dt.timedelta(seconds=settings.PORTAL_OUTBOX_SETTLE_SECONDS)
            events = list(LoanEvent.objects.filter(pk__gt=cursor.last_event_id).order_by("pk")[:batch_size])
            ready = _settled(events, before=settled_before)
            if not ready:
                return consumed
            handler(ready)
            cursor.last_event_id = ready[-1].pk
            cursor.save(update_fields=["last_event_id", "updated_at"])
        consumed += len(ready)
        if len(ready) < batch_size:  # caught up, or stopped at an event still settling
            return consumed


def _settled(events: list[LoanEvent], *, before: dt.datetime) -> list[LoanEvent]:
    """The events up to the first one stamped after `before`. Not a filter in SQL: that would
    return settled events *after* a young one, and moving the cursor past them would skip it."""
    return list(takewhile(lambda event: event.created_at <= before, events))
