"""Payments posted while the close of business runs, on real threads and connections.

Real transactions (transaction=True): on PostgreSQL the loan row locks order the two, on
SQLite the IMMEDIATE transactions do. Either way a payment lands before or after a loan's
chunk, never inside it, and is counted once.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from debt_collections import close_of_business as cob
from debt_collections.models import CloseOfBusinessRun, RunStatus
from loans import services
from loans.models import EntryKind, JournalEntry, Payment
from tests.debt_collections.cob_helpers import BUSINESS_DATE, make_portfolio
from tests.loans.test_restructuring_journal import assert_journal_matches_live_bills

pytestmark = pytest.mark.django_db(transaction=True)

D = BUSINESS_DATE
TIMEOUT = 60


def test_payments_posted_between_chunks_are_neither_lost_nor_counted_twice(product, monkeypatch):
    loans = make_portfolio(product)
    overdue = [loan for loan in loans if loan.disbursed_on.month in (4, 5) and loan.disbursed_on.day <= 15]
    first_chunk_done, payments_done = threading.Event(), threading.Event()
    real_commit = cob._commit_chunk
    chunks = {"n": 0}

    def pausing_commit(*args: Any, **kwargs: Any) -> None:
        real_commit(*args, **kwargs)
        chunks["n"] += 1
        if chunks["n"] == 1:  # after the first chunk committed, let the payments in
            first_chunk_done.set()
            assert payments_done.wait(TIMEOUT)

    monkeypatch.setattr(cob, "_commit_chunk", pausing_commit)
    errors: list[BaseException] = []

    def run_close() -> None:
        try:
            cob.close_business_day(business_date=D, chunk_size=3)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            errors.append(error)
        finally:
            connection.close()

    def pay() -> None:
        try:
            assert first_chunk_done.wait(TIMEOUT)
            for n, loan in enumerate(overdue):
                for _attempt in range(2):  # a retry with the same key posts nothing more
                    services.payment_post(loan_id=loan.pk, amount="100.00", channel="app",
                                          idempotency_key=f"during-{n}", actor=None, business_date=D)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            payments_done.set()
            connection.close()

    threads = [threading.Thread(target=run_close), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads) and errors == []

    assert CloseOfBusinessRun.objects.get(business_date=D).status == RunStatus.COMPLETED
    assert Payment.objects.count() == len(overdue) >= 3
    for loan in loans:
        assert_journal_matches_live_bills(loan.pk)
        assert JournalEntry.objects.filter(loan=loan, kind=EntryKind.ACCRUAL, business_date=D).count() <= 1
    for loan in overdue:
        assert JournalEntry.objects.filter(loan=loan, kind=EntryKind.REPAYMENT).count() == 1


def test_payments_racing_the_close_of_business_keep_every_balance_exact(product):
    loans = make_portfolio(product)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run_close() -> None:
        try:
            start.wait(TIMEOUT)
            cob.close_business_day(business_date=D, chunk_size=2)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    def pay() -> None:
        try:
            start.wait(TIMEOUT)
            for n, loan in enumerate(reversed(loans)):  # the other end first: real interleaving
                services.payment_post(loan_id=loan.pk, amount="50.00", channel="app",
                                      idempotency_key=f"race-{n}", actor=None, business_date=D)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_close), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads) and errors == []
    assert Payment.objects.count() == len(loans)
    for loan in loans:
        assert_journal_matches_live_bills(loan.pk)
