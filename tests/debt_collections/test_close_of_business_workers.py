"""The close of business in two processes at once (PostgreSQL): this one and a helper process
(`debt_collections.close_helpers`), on real connections.

Each process commits its own chunks: the books, cases, reminders and counts must come out exactly
as when one process closes the date, and a chunk that fails, in either process, stops the run,
keeps what committed and leaves the rest for a second run.
"""

from __future__ import annotations

import time
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
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite has one writer: its close runs in one process"
    ),
]

D = BUSINESS_DATE
WAIT = 60  # seconds a helper is given to start and close a chunk


class RolledBack(Exception):
    pass


@pytest.fixture
def two_workers(settings):
    settings.PORTAL_COB_WORKERS = 2


def aged_so_far(run_id: int) -> int:
    run = CloseOfBusinessRun.objects.get(pk=run_id)
    return int(run.counts.get("age", {}).get("loans_aged", 0))


def test_a_helper_process_closes_chunks_and_the_books_are_those_of_one_process(
    product, two_workers, monkeypatch
):
    make_portfolio(product)
    due = loans_due_for_ageing(business_date=D)
    with pytest.raises(RolledBack), transaction.atomic():
        # Inside a caller's transaction the close runs in this process alone.
        cob.close_business_day(business_date=D, chunk_size=2)
        one_process = snapshot()
        raise RolledBack

    aged_here: list[int] = []
    real = cob._commit_chunk

    def here_then_let_the_helper_work(run_id: int, step: str, work: Any, ids: list[int], **kwargs: Any) -> None:
        real(run_id, step, work, ids, **kwargs)
        if step == "age":
            aged_here.extend(ids)
            deadline = time.monotonic() + WAIT
            while aged_so_far(run_id) <= len(aged_here):  # until the helper has closed a chunk
                assert time.monotonic() < deadline, "the helper closed no chunk"
                time.sleep(0.05)

    monkeypatch.setattr(cob, "_commit_chunk", here_then_let_the_helper_work)
    run = cob.close_business_day(business_date=D, chunk_size=2)

    assert run is not None and run.status == RunStatus.COMPLETED
    assert 0 < len(aged_here) < len(due)  # both processes closed chunks
    assert run.counts["age"]["loans_aged"] == len(due)
    assert snapshot() == one_process


def refuse_updates_of_bills_of(loan_id: int) -> None:
    """The database refuses to age this loan's bills, whichever process asks."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_bill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'disk full'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_bill BEFORE UPDATE ON loans_installment FOR EACH ROW "
            f"WHEN (OLD.loan_id = {int(loan_id)}) EXECUTE FUNCTION refuse_bill()"
        )


def accept_bill_updates_again() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_bill ON loans_installment")
        cursor.execute("DROP FUNCTION refuse_bill()")


def test_a_failing_chunk_stops_the_run_and_a_second_run_finishes_the_rest(product, two_workers):
    loans = make_portfolio(product)
    due = loans_due_for_ageing(business_date=D)
    victim = next(loan.pk for loan in loans if loan.disbursed_on.isoformat() == "2025-12-20")  # 182 days
    refuse_updates_of_bills_of(victim)
    try:
        with pytest.raises(Exception, match="disk full"):
            cob.close_business_day(business_date=D, chunk_size=2)

        run = CloseOfBusinessRun.objects.get(business_date=D)
        assert run.status == RunStatus.FAILED and "disk full" in run.errors
        assert Loan.objects.get(pk=victim).aged_through != D  # its chunk rolled back whole
        assert aged_so_far(run.pk) == Loan.objects.filter(aged_through=D).count()  # counts say what committed
    finally:
        accept_bill_updates_again()

    rerun = cob.close_business_day(business_date=D, chunk_size=2)

    assert rerun is not None and rerun.status == RunStatus.COMPLETED
    assert rerun.counts["age"]["loans_aged"] == len(due) == Loan.objects.filter(aged_through=D).count()
    for loan in loans:
        assert JournalEntry.objects.filter(loan=loan, kind=EntryKind.ACCRUAL, business_date=D).count() <= 1
        assert_journal_matches_live_bills(loan.pk)
