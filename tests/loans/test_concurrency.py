"""Payments racing each other on real threads and real database connections.

Each test commits for real (transaction=True), so every thread sees what the others
committed. The threads wait at a barrier and then call the service at the same moment; each
closes its own connection at its end. On SQLite the IMMEDIATE transactions queue the writers;
on PostgreSQL the loan's row lock does (scripts/with-postgres.sh runs this file there).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from loans import services
from loans.allocation import payoff_quote
from loans.books import books_problems
from loans.models import (
    Allocation,
    EntryKind,
    Installment,
    JournalEntry,
    Loan,
    LoanStatus,
    Payment,
)
from portal.errors import IdempotencyKeyReused, NotAllowed
from portal.models import AuditEvent
from tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

ZERO = Decimal("0.00")
PAY_DAY = dt.date(2026, 2, 1)  # before the first due date: nothing overdue, nothing accrues


def post(loan: Loan, amount: str, key: str) -> services.PaymentResult:
    return services.payment_post(
        loan_id=loan.pk,
        amount=amount,
        channel="app",
        idempotency_key=key,
        actor=None,
        business_date=PAY_DAY,
    )


def bills(loan: Loan) -> list[Installment]:
    return list(Installment.objects.filter(loan_id=loan.pk).order_by("due_date", "number"))


def assert_books_balance(loan: Loan) -> None:
    assert books_problems(loan_ids=[loan.pk]) == []


def failures(outcomes: list[Any]) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]


def test_two_different_payments_at_the_same_moment_are_both_posted_exactly(alices_loan):
    first = bills(alices_loan)[0]
    amounts = ["100.00", "250.00"]
    total = Decimal("350.00")
    assert first.interest_due < total < first.total_outstanding

    outcomes = run_together(2, lambda i: post(alices_loan, amounts[i], key=f"pay-{i}"))

    assert failures(outcomes) == []
    assert sorted(o.payment.amount for o in outcomes) == [Decimal("100.00"), Decimal("250.00")]
    assert all(o.replayed is False for o in outcomes)
    after = bills(alices_loan)
    # Together they pay like one payment of ¥350: bill 1's interest, then its principal.
    assert after[0].interest_paid == first.interest_due
    assert after[0].principal_paid == total - first.interest_due
    assert all(b.interest_paid == b.principal_paid == ZERO for b in after[1:])
    assert JournalEntry.objects.filter(loan=alices_loan, kind=EntryKind.REPAYMENT).count() == 2
    assert AuditEvent.objects.filter(action="payment.post").count() == 2
    assert_books_balance(alices_loan)


def test_the_same_request_sent_twice_at_the_same_moment_posts_once(alices_loan):
    outcomes = run_together(2, lambda i: post(alices_loan, "300.00", key="double-click"))

    assert failures(outcomes) == []
    assert sorted(o.replayed for o in outcomes) == [False, True]
    assert outcomes[0].payment.pk == outcomes[1].payment.pk
    assert Payment.objects.count() == 1
    assert Allocation.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.REPAYMENT).count() == 1
    assert AuditEvent.objects.filter(action="payment.post").count() == 1
    assert sum((b.interest_paid + b.principal_paid for b in bills(alices_loan)), ZERO) == Decimal(
        "300.00"
    )
    assert_books_balance(alices_loan)


def test_one_key_used_on_two_loans_at_the_same_moment_posts_on_one_only(
    alice, make_loan, alices_loan
):
    other_loan = make_loan(alice, principal="5000.00")
    loans = [alices_loan, other_loan]

    outcomes = run_together(2, lambda i: post(loans[i], "300.00", key="same-key"))

    posted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = failures(outcomes)
    assert len(posted) == 1 and posted[0].replayed is False
    assert len(refused) == 1 and isinstance(refused[0], IdempotencyKeyReused), refused
    assert Payment.objects.count() == 1
    assert AuditEvent.objects.filter(action="payment.post").count() == 1
    for loan in loans:
        assert_books_balance(loan)


def test_eight_payers_posting_three_payments_each_leave_exact_balances(alices_loan):
    first = bills(alices_loan)[0]
    amounts = {(t, n): Decimal(f"{10 + t}.{n * 17 + t:02d}") for t in range(8) for n in range(3)}
    total = sum(amounts.values(), ZERO)
    assert first.interest_due < total < first.total_outstanding

    def payer(thread: int) -> list[services.PaymentResult]:
        return [post(alices_loan, str(amounts[thread, n]), key=f"t{thread}-p{n}") for n in range(3)]

    outcomes = run_together(8, payer)

    assert failures(outcomes) == []
    results = [r for thread_results in outcomes for r in thread_results]
    assert len(results) == 24 and not any(r.replayed for r in results)
    assert sorted(p.amount for p in Payment.objects.all()) == sorted(amounts.values())
    after = bills(alices_loan)
    assert after[0].interest_paid == first.interest_due
    assert after[0].principal_paid == total - first.interest_due
    assert JournalEntry.objects.filter(kind=EntryKind.REPAYMENT).count() == 24
    assert AuditEvent.objects.filter(action="payment.post").count() == 24
    assert_books_balance(alices_loan)


def test_two_payoffs_at_the_same_moment_settle_the_loan_once(alices_loan):
    payoff = payoff_quote(bills(alices_loan), PAY_DAY).amount

    outcomes = run_together(2, lambda i: post(alices_loan, str(payoff), key=f"settle-{i}"))

    posted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = failures(outcomes)
    assert len(posted) == 1
    assert len(refused) == 1 and isinstance(refused[0], NotAllowed), refused
    alices_loan.refresh_from_db()
    assert alices_loan.status == LoanStatus.SETTLED
    assert Payment.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.WAIVER).count() == 1
    assert_books_balance(alices_loan)


def test_two_reversals_of_one_payment_at_the_same_moment_reverse_it_once(alices_loan):
    payment = post(alices_loan, "500.00", key="to-reverse").payment

    outcomes = run_together(
        2,
        lambda i: services.payment_reverse(
            payment_id=payment.pk, reason=f"bounced ({i})", actor=None, business_date=PAY_DAY
        ),
    )

    refused = failures(outcomes)
    assert len(refused) == 1 and isinstance(refused[0], NotAllowed), refused
    assert JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert AuditEvent.objects.filter(action="payment.reverse").count() == 1
    assert all(b.interest_paid == b.principal_paid == ZERO for b in bills(alices_loan))
    assert_books_balance(alices_loan)


def test_a_payment_and_the_days_ageing_at_the_same_moment_both_count(alices_loan):
    day = dt.date(2026, 2, 20)  # bill 1 is past its grace days: ageing charges penalty
    services.loan_age(loan_id=alices_loan.pk, business_date=dt.date(2026, 2, 19))

    def work(i: int) -> Any:
        if i == 0:
            return services.loan_age(loan_id=alices_loan.pk, business_date=day)
        return services.payment_post(
            loan_id=alices_loan.pk,
            amount="400.00",
            channel="app",
            idempotency_key="racing-cob",
            actor=None,
            business_date=day,
        )

    outcomes = run_together(2, work)

    assert failures(outcomes) == []
    assert JournalEntry.objects.filter(kind=EntryKind.ACCRUAL).count() == 2
    assert Payment.objects.get().amount == Decimal("400.00")
    assert_books_balance(alices_loan)
