"""The close of business on two threads at once (PostgreSQL), on real connections.

Each thread commits its own chunks: the books, cases, reminders and counts must come out exactly
as when one thread closes the date, and a chunk that fails stops the run, keeps what committed
and leaves the rest for a re-run.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from debt_collections import close_of_business as cob
from debt_collections.models import CloseOfBusinessRun, RunStatus
from loans.models import EntryKind, JournalEntry, Loan
from loans.services.ageing import loans_due_for_ageing
from tests.debt_collections.cob_helpers import BUSINESS_DATE, make_portfolio, snapshot
from tests.loans.test_restructuring_journal import assert_journal_matches_live_bills

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer: its close runs on one thread"),
]

D = BUSINESS_DATE


class RolledBack(Exception):
    pass


@pytest.fixture
def two_workers(settings):
    settings.PORTAL_COB_WORKERS = 2


def test_two_threads_write_exactly_what_one_thread_writes(product, two_workers, monkeypatch):
    make_portfolio(product)
    with pytest.raises(RolledBack), transaction.atomic():
        # Inside a caller's transaction the close runs on this thread alone.
        cob.close_business_day(business_date=D, chunk_size=2)
        one_thread = snapshot()
        raise RolledBack

    both_at_work = threading.Barrier(2, timeout=20)  # broken unless two chunks run at once
    threads: set[str] = set()
    real = cob.loans_age_chunk

    def ageing_on_two_threads(**kwargs: Any) -> Any:
        if threading.current_thread().name not in threads:
            threads.add(threading.current_thread().name)
            both_at_work.wait()
        return real(**kwargs)

    monkeypatch.setattr(cob, "loans_age_chunk", ageing_on_two_threads)
    run = cob.close_business_day(business_date=D, chunk_size=2)

    assert run is not None and run.status == RunStatus.COMPLETED
    assert threads == {"close-of-business-0", "close-of-business-1"}
    assert snapshot() == one_thread


def test_a_failing_chunk_stops_the_run_and_a_second_run_finishes_the_rest(product, two_workers, monkeypatch):
    loans = make_portfolio(product)
    due = loans_due_for_ageing(business_date=D)
    victim = due[len(due) // 2]
    real = cob.loans_age_chunk

    def failing(**kwargs: Any) -> Any:
        if victim in kwargs["loan_ids"]:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(cob, "loans_age_chunk", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        cob.close_business_day(business_date=D, chunk_size=2)

    run = CloseOfBusinessRun.objects.get(business_date=D)
    assert run.status == RunStatus.FAILED and "disk full" in run.errors
    assert Loan.objects.get(pk=victim).aged_through != D  # its chunk rolled back whole
    aged_before = Loan.objects.filter(aged_through=D).count()
    assert run.counts.get("age", {}).get("loans_aged", 0) == aged_before  # counts say what committed

    monkeypatch.setattr(cob, "loans_age_chunk", real)
    rerun = cob.close_business_day(business_date=D, chunk_size=2)

    assert rerun is not None and rerun.status == RunStatus.COMPLETED
    assert rerun.counts["age"]["loans_aged"] == len(due) == Loan.objects.filter(aged_through=D).count()
    for loan in loans:
        assert JournalEntry.objects.filter(loan=loan, kind=EntryKind.ACCRUAL, business_date=D).count() <= 1
        assert_journal_matches_live_bills(loan.pk)
