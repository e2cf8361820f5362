"""Fixtures for credit reporting and the monitoring dashboard.

Loans are made overdue by their bills' dates (the reporting run reads dated facts: due dates,
settlement dates and the journal), so a loan "d days past due at the month end" is a loan whose
oldest unpaid bill fell due d days before it, with no ageing needed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache

from loans import services
from loans.models import Borrower, Installment, Loan, Product, RepaymentMethod
from portal.models import User
from tests.debt_collections.cob_helpers import make_borrower

JUNE = dt.date(2026, 6, 1)
JUNE_END = dt.date(2026, 6, 30)
REPORTED_ON = dt.date(2026, 7, 1)  # the reporting date of June's run


@pytest.fixture(autouse=True)
def in_english(client: Any) -> Any:
    """Figures, refusals and pages are read in English here (Chinese is the site's default)."""
    from django.conf import settings
    from django.utils import translation

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def private_media(settings: Any, tmp_path: Any) -> Any:
    """Report files go to a temporary MEDIA_ROOT, never to var/private-media."""
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def empty_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def no_grace(db: Any) -> Product:
    """Bills overdue from the day after their due date: days past due 1 is possible."""
    return Product.objects.create(
        code="no-grace-12", name="No grace 12 months", annual_rate=Decimal("0.18"),
        repayment_method=RepaymentMethod.EQUAL_INSTALLMENT, term_months=12, grace_days=0,
    )


@pytest.fixture
def interest_free(db: Any) -> Product:
    """0 % a year: every bill of a ¥1,200 loan is exactly ¥100 of principal."""
    return Product.objects.create(
        code="zero-12", name="Interest-free 12 months", annual_rate=Decimal("0"), penalty_rate=Decimal("0"),
        repayment_method=RepaymentMethod.EQUAL_PRINCIPAL, term_months=12, grace_days=3,
    )


def overdue_loan(borrower: Borrower, product: Product, *, days: int, month_end: dt.date = JUNE_END,
                 principal: str = "6000.00") -> Loan:
    """A loan whose first bill fell due `days` days before `month_end` and was never paid."""
    first_due = month_end - dt.timedelta(days=days)
    loan = services.loan_disburse(
        borrower_id=borrower.pk, product_id=product.pk, principal=principal,
        disbursed_on=first_due - dt.timedelta(days=31),
    )
    Installment.objects.filter(loan=loan, number=1).update(due_date=first_due)
    return loan


class Borrowers:
    """Numbered borrowers, each new one different (valid national IDs)."""

    def __init__(self, start: int = 500) -> None:
        self.next = start

    def __call__(self, language: str = "zh-hans") -> Borrower:
        self.next += 1
        return make_borrower(self.next, language)


@pytest.fixture
def borrowers(db: Any) -> Borrowers:
    return Borrowers()


@pytest.fixture
def supervisor(make_staff: Any) -> User:
    from portal.roles import SUPERVISOR

    return make_staff("sue", SUPERVISOR)


@pytest.fixture
def auditor(make_staff: Any) -> User:
    from portal.roles import AUDITOR

    return make_staff("audrey", AUDITOR)


@pytest.fixture
def agent(make_staff: Any) -> User:
    from portal.roles import AGENT

    return make_staff("agnes", AGENT)
