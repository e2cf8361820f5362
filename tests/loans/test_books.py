"""loans.books: the check that the tests and the benchmarks run on the books must see what is wrong."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from loans import services
from loans.allocation import payoff_quote
from loans.books import books_problems
from loans.models import Installment, Loan, LoanStatus, Payment

pytestmark = pytest.mark.django_db

PAY_DAY = dt.date(2026, 2, 1)


def pay(loan: Loan, amount: str | Decimal, key: str) -> Payment:
    return services.payment_post(loan_id=loan.pk, amount=amount, channel="app", idempotency_key=key,
                                 actor=None, business_date=PAY_DAY).payment


def test_it_finds_nothing_wrong_after_payments_a_reversal_and_a_payoff(alice, bob, alices_loan, make_loan):
    pay(alices_loan, "300.00", "a1")
    reversed_payment = pay(alices_loan, "45.50", "a2")
    services.payment_reverse(payment_id=reversed_payment.pk, reason="bounced", actor=None, business_date=PAY_DAY)
    bobs_loan = make_loan(bob)
    pay(bobs_loan, payoff_quote(list(bobs_loan.installments.all()), PAY_DAY).amount, "b1")
    assert Loan.objects.get(pk=bobs_loan.pk).status == LoanStatus.SETTLED
    assert books_problems(loan_ids=[alices_loan.pk, bobs_loan.pk]) == []


def test_it_reports_a_bill_changed_behind_the_journals_back(alices_loan):
    pay(alices_loan, "300.00", "a1")
    first = alices_loan.installments.get(number=1)
    Installment.objects.filter(pk=first.pk).update(interest_paid=first.interest_paid - Decimal("0.01"))
    problems = books_problems(loan_ids=[alices_loan.pk])
    assert any(line.startswith(f"loan {alices_loan.pk}: the journal says") for line in problems)
    assert any(line.startswith(f"bill {first.pk}: paid") for line in problems)


def test_it_reports_a_payment_that_was_never_allocated_journalled_or_audited(alices_loan):
    stray = Payment.objects.create(loan=alices_loan, borrower_id=alices_loan.borrower_id, amount=Decimal("10.00"),
                                   channel="app", idempotency_key="stray", business_date=PAY_DAY)
    problems = books_problems(loan_ids=[alices_loan.pk])
    assert f"payment {stray.pk} of 10.00: allocations add up to 0.00" in problems
    assert f"payment {stray.pk} of 10.00: repayment journal entries []" in problems
    assert f"payment {stray.pk}: 0 audit events" in problems
    assert f"payment {stray.pk}: 0 audit events" not in books_problems(loan_ids=[alices_loan.pk], audited=False)


def test_it_reports_a_loan_marked_settled_that_still_owes_and_stops_at_the_limit(alices_loan, bob, make_loan):
    bobs_loan = make_loan(bob)
    Loan.objects.filter(pk__in=[alices_loan.pk, bobs_loan.pk]).update(status=LoanStatus.SETTLED)
    problems = books_problems(loan_ids=[alices_loan.pk, bobs_loan.pk])
    assert [line.split(" and owes ")[0] for line in problems] == [
        f"loan {alices_loan.pk} is settled", f"loan {bobs_loan.pk} is settled",
    ]
    assert len(books_problems(loan_ids=[alices_loan.pk, bobs_loan.pk], limit=1)) == 1
