"""The close of business ages loans as rows, many at a time; `loan_age` ages one loan through its
model instances. Both apply `loans.delinquency`'s rules, and here they must leave identical
twins identical: every bill, journal entry, stage move and case figure, day after day, with
payments in between and on two products (grace days, repayment methods)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest

from debt_collections import close_of_business as cob
from debt_collections.models import Case, CaseStatus
from loans import services
from loans.models import Installment, JournalEntry, Loan, Product, RepaymentMethod, StageChange
from portal.errors import DomainError
from tests.debt_collections.cob_helpers import make_borrower

pytestmark = pytest.mark.django_db


def state(loan: Loan) -> tuple[Any, ...]:
    loan.refresh_from_db()
    bills = list(Installment.objects.filter(loan=loan).order_by("number").values_list(
        "status", "penalty_due", "overdue_since", "settled_on"))
    journal = list(JournalEntry.objects.filter(loan=loan).order_by("id").values_list(
        "kind", "business_date", "principal", "interest", "penalty"))
    moves = list(StageChange.objects.filter(loan=loan).order_by("id").values_list(
        "from_stage", "to_stage", "business_date", "days_past_due"))
    # Not `aged_through`: the close reads only loans with a bill due, `loan_age` stamps any loan.
    return loan.status, loan.stage, loan.days_past_due, bills, journal, moves


def test_the_close_of_business_ages_every_loan_exactly_as_loan_age_does(product, make_loan):
    no_grace = Product.objects.create(
        code="steady-6", name="Steady 6", annual_rate=Decimal("0.15"),
        repayment_method=RepaymentMethod.EQUAL_PRINCIPAL, term_months=6, grace_days=0, extension_days=30,
    )
    rng = random.Random(2026)
    twins: list[tuple[Loan, Loan]] = []
    for n in range(10):
        terms = {"principal": f"{rng.choice([1200, 5000, 8000, 30000])}.00",
                 "on": dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 25)),
                 "product_": no_grace if n % 3 == 0 else product}
        twins.append((make_loan(make_borrower(2 * n + 1), **terms), make_loan(make_borrower(2 * n + 2), **terms)))

    day, last = dt.date(2026, 2, 1), dt.date(2026, 5, 20)
    while day <= last:
        for by_service, by_close in twins:
            if rng.random() < 0.05:  # the borrower pays something during the day, before the close
                amount = Decimal(rng.choice(["45.50", "300.00", "1000.00", "2500.00"]))
                outcomes = []
                for loan in (by_service, by_close):
                    try:
                        services.payment_post(loan_id=loan.pk, amount=amount, channel="app", actor=None,
                                              idempotency_key=f"{loan.pk}-{day}", business_date=day)
                        outcomes.append("posted")
                    except DomainError as refusal:  # a settled loan refuses more money
                        outcomes.append(type(refusal).__name__)
                assert outcomes[0] == outcomes[1]
            services.loan_age(loan_id=by_service.pk, business_date=day)
        cob.close_business_day(business_date=day, chunk_size=4)
        day += dt.timedelta(days=1)

    for by_service, by_close in twins:
        assert state(by_close) == state(by_service)
    # The scenario reaches what it means to test: penalty accrued, payments, stages moved.
    assert JournalEntry.objects.filter(kind="accrual").count() > 100
    assert JournalEntry.objects.filter(kind="repayment").count() >= 10
    assert StageChange.objects.filter(to_stage="collections").exists()
    # The open cases of the loans the close aged carry their loan's figures.
    cases = Case.objects.filter(loan__in=[by_close for _, by_close in twins], status=CaseStatus.OPEN)
    cases = cases.select_related("loan")
    assert cases.exists()
    for case in cases:
        assert (case.stage, case.days_past_due) == (case.loan.stage, case.loan.days_past_due)
