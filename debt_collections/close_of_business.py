"""The daily close of business: every loan moves forward one business date.

Steps, in order, each in chunks of loans that commit one by one:

1. ``age``: bills fall due and overdue, penalty accrues, days past due and stages move
   (`loans.services.ageing`), the loans' cases follow (`cases_sync`) and the stage rules queue
   reminders and call tasks (`stage_actions`).
2. ``cases``: cases of loans the ageing did not touch (cured, settled, written off; collecting
   loans without a case) open or close.
3. ``promises``: pending promises to pay are kept or broken.
4. ``alerts``: the outbox is read into alerts; a missing official calendar year raises one.

Idempotent and resumable: a chunk's work and its counts commit together, every step skips
what it already did (loans aged for the date, cases already open, promises already judged),
and a finished step is not started again. A second run of a completed date does nothing.

On PostgreSQL PORTAL_COB_WORKERS processes close a step's chunks at once: this one and helper
processes (`close_helpers`), each chunk in its own transaction on its process's connection. The
close is mostly Python, which runs on one core a process. Chunks hold disjoint loans (and their
bills and cases), so they never wait for each other except for the run row they each lock last,
just before committing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import islice

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loans.services.ageing import loans_age_chunk, loans_due_for_ageing, penalty_total
from portal.calendar import business_today
from portal.errors import NotAllowed
from portal.roles import SUPERVISOR

from .close_helpers import CloseHelper
from .models import AlertKind, CloseOfBusinessRun, RunStatus
from .services.alerts import alert_calendar_check, alert_raise, alerts_from_events, bilingual
from .services.case_sync import (
    LoanFacts,
    cases_follow,
    cases_sync,
    loans_with_cases_to_sweep,
    promises_check,
    promises_due_for_check,
)
from .stage_actions import stage_actions_queue

log = logging.getLogger(__name__)

Work = Callable[[Sequence[int], dt.date], Counter[str]]


def _age(loan_ids: Sequence[int], business_date: dt.date) -> Counter[str]:
    aged = loans_age_chunk(loan_ids=loan_ids, business_date=business_date)
    counts: Counter[str] = Counter(
        loans_aged=len(aged),
        stage_changes=sum("stage" in a.changes for a in aged),
        loans_settled=sum(a.changes.get("status", ("", ""))[1] == "settled" for a in aged),
    )
    counts["penalty_fen"] = int(penalty_total(aged) * 100)  # JSON-safe and exact: fen, not yuan
    # The ageing locked these loans and knows their new facts: the cases follow without a re-read.
    facts = {a.loan.pk: LoanFacts(a.loan.borrower_id, a.loan.status, a.loan.stage, a.loan.days_past_due,
                                  a.due_now, a.owed) for a in aged}
    counts.update(cases_follow(facts=facts, business_date=business_date))
    counts.update(stage_actions_queue(aged=aged, business_date=business_date))
    return counts


def _sweep_cases(loan_ids: Sequence[int], business_date: dt.date) -> Counter[str]:
    return cases_sync(loan_ids=loan_ids, business_date=business_date)


def _promises(promise_ids: Sequence[int], business_date: dt.date) -> Counter[str]:
    return promises_check(promise_ids=promise_ids, business_date=business_date)


def _alerts(_ids: Sequence[int], business_date: dt.date) -> Counter[str]:

    counts: Counter[str] = Counter(alerts=alerts_from_events())
    counts["calendar_alerts"] = int(alert_calendar_check(today=business_date) is not None)
    return counts


# (name, what to work on, the work for one chunk of it); the order is the business's.
STEPS: list[tuple[str, Callable[[dt.date], list[int]], Work]] = [
    ("age", lambda d: loans_due_for_ageing(business_date=d), _age),
    ("cases", lambda d: loans_with_cases_to_sweep(business_date=d), _sweep_cases),
    ("promises", lambda d: promises_due_for_check(), _promises),
    ("alerts", lambda d: [0], _alerts),
]
WORK = {name: work for name, _select, work in STEPS}


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    it = iter(ids)
    while chunk := list(islice(it, size)):
        yield chunk


def _claim(business_date: dt.date) -> CloseOfBusinessRun | None:
    """The run to work on, or None when this date is already closed.

    A new date starts a run; a failed run, or a "running" one silent for longer than
    PORTAL_COB_STALE_SECONDS (its process was killed), is taken over by one claimant only.
    """
    try:
        with transaction.atomic():
            return CloseOfBusinessRun.objects.create(business_date=business_date)
    except IntegrityError:
        pass
    run = CloseOfBusinessRun.objects.get(business_date=business_date)
    if run.status == RunStatus.COMPLETED:
        return None
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.PORTAL_COB_STALE_SECONDS)
    claimed = CloseOfBusinessRun.objects.filter(pk=run.pk).filter(
        Q(status=RunStatus.FAILED) | Q(status=RunStatus.RUNNING, heartbeat_at__lte=stale)
    ).update(status=RunStatus.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now, finished_at=None)
    if claimed != 1:
        raise NotAllowed(
            _("The close of business for %(date)s is already running (last sign of life %(at)s).")
            % {"date": business_date, "at": timezone.localtime(run.heartbeat_at).strftime("%H:%M:%S")}
        )
    run.refresh_from_db()
    return run


def commit_chunk(*, run_id: int, step: str, ids: list[int], business_date: dt.date) -> None:
    """Close one chunk of a run's step (what a helper process is asked to do)."""
    _commit_chunk(run_id, step, WORK[step], ids, business_date)


def _commit_chunk(run_id: int, step: str, work: Work, ids: list[int], business_date: dt.date) -> None:
    with transaction.atomic():
        counts = work(ids, business_date)
        # The run row is locked and written in the chunk's own transaction: its counts say
        # exactly what has committed, so a resumed run adds up to an uninterrupted one.
        locked = CloseOfBusinessRun.objects.select_for_update().get(pk=run_id)
        totals = Counter(locked.counts.get(step, {}))
        totals.update({k: v for k, v in counts.items() if v})
        locked.counts = {**locked.counts, step: dict(totals)}
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["counts", "heartbeat_at"])


def _workers() -> int:
    """Processes for a step's chunks: one on SQLite (one writer at a time), and one inside a
    caller's transaction (the chunks could not commit apart, nor be seen by other connections)."""
    if connection.vendor == "sqlite" or connection.in_atomic_block:
        return 1
    return int(settings.PORTAL_COB_WORKERS)


def _in_parallel(chunks: Iterator[list[int]], doers: Sequence[Callable[[list[int]], None]]) -> None:
    """Each chunk done by one of the `doers`, each on a thread of its own (a doer closes chunks
    here, or hands them to a helper process and waits). At the first failure no new chunk
    starts; the chunks under way finish (each commits or rolls back whole), then it is raised."""
    if len(doers) == 1:
        for chunk in chunks:
            doers[0](chunk)
        return
    taking = threading.Lock()
    failures: list[BaseException] = []

    def worker(do: Callable[[list[int]], None]) -> None:
        try:
            while not failures:
                with taking:
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                do(chunk)
        except BaseException as error:  # noqa: BLE001 - raised by the caller's thread
            failures.append(error)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=worker, args=[do], name=f"close-of-business-{n}")
               for n, do in enumerate(doers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def _finish_step(run: CloseOfBusinessRun, step: str) -> None:
    run.steps_done = [*run.steps_done, step]
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["steps_done", "heartbeat_at"])


def close_business_day(*, business_date: dt.date, chunk_size: int | None = None) -> CloseOfBusinessRun | None:
    """Close one business date; None when it was already closed. Raises what made it fail,
    after recording the error on the run and alerting the supervisors."""
    if business_date >= business_today():
        raise NotAllowed(_("Only a business date that has ended can be closed."))
    run = _claim(business_date)
    if run is None:
        return None
    size = chunk_size or settings.PORTAL_COB_CHUNK_SIZE
    helpers: list[CloseHelper] = []
    try:
        helpers = [CloseHelper() for _ in range(_workers() - 1)]
        for step, select, work in STEPS:
            if step in run.steps_done:
                continue
            doers = [
                partial(_commit_chunk, run.pk, step, work, business_date=business_date),
                *(partial(helper.close_chunk, run_id=run.pk, step=step, business_date=business_date)
                  for helper in helpers),
            ]
            _in_parallel(_chunks(select(business_date), size), doers)
            run.refresh_from_db(fields=["counts"])  # what every process committed
            _finish_step(run, step)
    except Exception as error:
        _record_failure(run, error)
        raise
    finally:
        for helper in helpers:
            helper.stop(kill=False)
    run.status = RunStatus.COMPLETED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    log.info("close of business %s completed: %s", business_date, run.counts)
    return run


def _record_failure(run: CloseOfBusinessRun, error: Exception) -> None:
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    with transaction.atomic():
        locked = CloseOfBusinessRun.objects.select_for_update().get(pk=run.pk)
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        locked.errors = f"{locked.errors}\n[{stamp}] attempt {locked.attempts}: {detail}".strip()[-5000:]
        locked.status = RunStatus.FAILED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["errors", "status", "finished_at"])
        alert_raise(
            kind=AlertKind.CLOSE_OF_BUSINESS_FAILED, role=SUPERVISOR,
            dedupe_key=f"cob-failed:{run.business_date}:{locked.attempts}",
            message=bilingual(gettext_noop("The close of business for %(date)s failed: %(error)s"),
                              {"date": run.business_date, "error": detail[:200]}),
        )
    log.error("close of business %s failed: %s", run.business_date, detail)


def dates_to_close(*, today: dt.date) -> list[dt.date]:
    """Business dates not yet closed, oldest first: yesterday, and any missed before it (bounded)."""
    yesterday = today - dt.timedelta(days=1)
    last = (
        CloseOfBusinessRun.objects.filter(status=RunStatus.COMPLETED, business_date__lt=today)
        .order_by("-business_date").values_list("business_date", flat=True).first()
    )
    first = yesterday if last is None else max(last + dt.timedelta(days=1),
                                               yesterday - dt.timedelta(days=settings.PORTAL_COB_MAX_CATCH_UP_DAYS - 1))
    return [first + dt.timedelta(days=n) for n in range((yesterday - first).days + 1)]
