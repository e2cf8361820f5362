"""The few statements a payment costs, and the pieces that make them few.

`payment_post` locks the loan and its bills with two statements compiled once
(`lock_loan`), checks the idempotency key and inserts the payment in one statement
(`insert_payment_once`: INSERT … ON CONFLICT DO NOTHING), and writes everything else in one
round trip (`Batch`: one statement of data-modifying CTEs on PostgreSQL). These tests hold what
the shortcuts must not change: the same rows as the ORM, refusals that still raise, and all or
nothing when the combined write fails.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from loans import services
from loans.allocation import payoff_quote
from loans.models import Allocation, Installment, JournalEntry, Loan, LoanStatus, Payment
from loans.services import book as book_module
from loans.services.batch import Batch
from portal.audit import audit_event
from portal.models import AuditEvent
from tests.conftest import age_through

pytestmark = pytest.mark.django_db

PAY_DAY = dt.date(2026, 2, 10)
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]


def post(loan: Loan, amount: str, key: str, on: dt.date = PAY_DAY) -> services.PaymentResult:
    return services.payment_post(
        loan_id=loan.pk, amount=amount, channel="app", idempotency_key=key, actor=None, business_date=on
    )


def everything(loan: Loan) -> dict[str, Any]:
    return {
        "loan": Loan.objects.filter(pk=loan.pk).values().get(),
        "bills": list(Installment.objects.filter(loan_id=loan.pk).order_by("id").values()),
        "payments": list(Payment.objects.filter(loan_id=loan.pk).values()),
        "allocations": list(Allocation.objects.filter(payment__loan_id=loan.pk).values()),
        "journal": list(JournalEntry.objects.filter(loan_id=loan.pk).order_by("id").values()),
        "audit": AuditEvent.objects.count(),
    }


# --- How many statements ------------------------------------------------------------------------


def test_a_payment_costs_four_statements_on_postgresql(alices_loan):
    """Lock the loan, lock its bills, insert the payment, write the rest in one statement (on
    SQLite the rest is one statement per table: no round trips there)."""
    with CaptureQueriesContext(connection) as first:
        post(alices_loan, "100.00", "a")
    with CaptureQueriesContext(connection) as replay:
        assert post(alices_loan, "100.00", "a").replayed
    payoff = payoff_quote(list(Installment.objects.filter(loan=alices_loan)), PAY_DAY).amount
    with CaptureQueriesContext(connection) as settling:
        post(alices_loan, str(payoff), "b")
    with CaptureQueriesContext(connection) as replay_when_settled:
        assert post(alices_loan, "100.00", "a").replayed

    assert Loan.objects.get(pk=alices_loan.pk).status == LoanStatus.SETTLED
    if connection.vendor == "postgresql":
        assert len(statements(first)) == 4, statements(first)
        assert len(statements(settling)) == 4, statements(settling)  # 12 bills, history, waiver: one write
        assert statements(first)[0].endswith("FOR UPDATE") and statements(first)[1].endswith("FOR UPDATE")
    else:  # allocations, journal, bill, audit
        assert len(statements(first)) == 7, statements(first)
    assert len(statements(replay)) == 4, statements(replay)  # the insert finds the key taken: read it
    assert len(statements(replay_when_settled)) == 3, statements(replay_when_settled)  # refused: read it


# --- lock_loan ----------------------------------------------------------------------------------


def test_lock_loan_reads_the_rows_the_orm_reads(alices_loan):
    age_through(alices_loan, dt.date(2026, 2, 15), dt.date(2026, 3, 1))  # dates, statuses, penalty
    post(alices_loan, "123.45", "k", on=dt.date(2026, 3, 1))

    with transaction.atomic():
        locked = book_module.lock_loan(alices_loan.pk)

    orm_loan = Loan.objects.get(pk=alices_loan.pk)
    orm_bills = list(Installment.objects.filter(loan_id=alices_loan.pk).order_by("id"))
    fields = [f.attname for f in Loan._meta.concrete_fields]
    assert [getattr(locked.loan, f) for f in fields] == [getattr(orm_loan, f) for f in fields]
    assert [type(getattr(locked.loan, f)) for f in fields] == [type(getattr(orm_loan, f)) for f in fields]
    bill_fields = [f.attname for f in Installment._meta.concrete_fields]
    assert [[getattr(b, f) for f in bill_fields] for b in locked.installments] == [
        [getattr(b, f) for f in bill_fields] for b in orm_bills
    ]
    assert all(isinstance(b.interest_paid, Decimal) and isinstance(b.due_date, dt.date) for b in locked.installments)
    assert [b.pk for b in locked.installments] == sorted(b.pk for b in orm_bills)
    assert not locked.loan._state.adding and locked.loan._state.db == "default"


def test_lock_loan_refuses_a_missing_loan(alices_loan):
    with transaction.atomic(), pytest.raises(Loan.DoesNotExist):
        book_module.lock_loan(alices_loan.pk + 1000)


@pytest.mark.django_db(transaction=True)
def test_lock_loan_runs_only_inside_a_transaction(alices_loan):
    """As select_for_update() does: outside one, the lock would end with the statement."""
    with pytest.raises(TransactionManagementError):
        book_module.lock_loan(alices_loan.pk)


def test_locked_loan_writes_only_what_changed(alices_loan):
    with transaction.atomic():
        locked = book_module.lock_loan(alices_loan.pk)
        assert locked.changed() == ([], [])
        locked.installments[2].interest_paid += Decimal("1.00")
        locked.loan.days_past_due = 3
        bill = locked.installments[2]
        assert locked.changed() == ([(bill, ["interest_paid"])], ["days_past_due"])
        with CaptureQueriesContext(connection) as writes:
            locked.save()
    assert len(statements(writes)) == 2
    assert Installment.objects.get(pk=bill.pk).interest_paid == Decimal("1.00")
    assert Loan.objects.get(pk=alices_loan.pk).days_past_due == 3


# --- insert_payment_once ------------------------------------------------------------------------


def new_payment(loan: Loan, key: str, amount: str = "10.00") -> Payment:
    return Payment(loan=loan, borrower_id=loan.borrower_id, amount=Decimal(amount), channel="app",
                   idempotency_key=key, request_fingerprint="f", business_date=PAY_DAY)


def test_insert_payment_once_inserts_a_new_key_and_skips_a_used_one(alice, make_loan, alices_loan):
    first = new_payment(alices_loan, "same")
    assert book_module.insert_payment_once(first) is True
    assert first.pk is not None and not first._state.adding
    stored = Payment.objects.get(pk=first.pk)
    assert (stored.idempotency_key, stored.amount, stored.received_at) == ("same", Decimal("10.00"), first.received_at)

    other_loan = make_loan(alice)  # the key is the borrower's, whatever the loan
    twin = new_payment(other_loan, "same", "99.00")
    assert book_module.insert_payment_once(twin) is False
    assert twin.pk is None and Payment.objects.count() == 1


def test_insert_payment_once_still_raises_on_other_constraints(alices_loan):
    with pytest.raises(IntegrityError), transaction.atomic():
        book_module.insert_payment_once(new_payment(alices_loan, "zero", "0.00"))  # amount > 0
    assert Payment.objects.count() == 0


# --- Batch: one round trip, all or nothing ------------------------------------------------------


def test_a_batch_is_one_statement_on_postgresql_and_all_or_nothing(alices_loan):
    bill = Installment.objects.filter(loan=alices_loan).order_by("id")[0]
    with transaction.atomic():
        batch = Batch()
        batch.update(Installment, bill.pk, {"interest_paid": Decimal("5.00")})
        batch.insert([JournalEntry(loan=alices_loan, kind="waiver", business_date=PAY_DAY, interest=Decimal("-1.00"))])
        batch.insert([audit_event(actor=None, action="test.batch", target=alices_loan)])
        with CaptureQueriesContext(connection) as written:
            assert batch.write() == 3
    assert len(statements(written)) == (1 if connection.vendor == "postgresql" else 3)
    assert Installment.objects.get(pk=bill.pk).interest_paid == Decimal("5.00")
    assert JournalEntry.objects.filter(kind="waiver").count() == 1
    assert AuditEvent.objects.filter(action="test.batch").count() == 1

    broken = Batch()
    broken.update(Installment, bill.pk, {"interest_paid": Decimal("6.00")})
    broken.insert([JournalEntry(loan=alices_loan, kind="bogus", business_date=PAY_DAY)])  # a CHECK refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        broken.write()
    assert Installment.objects.get(pk=bill.pk).interest_paid == Decimal("5.00")


def test_a_payment_whose_combined_write_fails_leaves_nothing(alices_loan, monkeypatch):
    before = everything(alices_loan)

    def unwritable_event(**kwargs: Any) -> AuditEvent:
        event = audit_event(**kwargs)
        event.object_type = None  # type: ignore[assignment]  # NOT NULL: the database refuses it
        return event

    monkeypatch.setattr(book_module, "audit_event", unwritable_event)
    with pytest.raises(IntegrityError):
        post(alices_loan, "300.00", "doomed")

    assert everything(alices_loan) == before
    monkeypatch.undo()
    assert post(alices_loan, "300.00", "doomed").replayed is False  # the key was not used up
