"""The fixed cast and a few factories shared by every test.

alice: a borrower with one 12-month equal-installment loan of ¥12,000 at 18 %, disbursed
2026-01-15 (first bill 2026-02-15, grace 3 days). bob: another borrower, no loans until a test
gives him one. charlie: a staff agent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from loans import services
from loans.models import Borrower, Loan, Product, RepaymentMethod
from portal.models import User

DISBURSED_ON = dt.date(2026, 1, 15)
FIRST_DUE = dt.date(2026, 2, 15)

# Valid 18-character resident ID numbers (check digits computed, birth dates real).
ALICE_ID = "11010519491231002X"
BOB_ID = "110102198506120035"


@pytest.fixture
def product(db: Any) -> Product:
    return Product.objects.create(
        code="standard-12", name="Standard 12 months", annual_rate=Decimal("0.18"),
        repayment_method=RepaymentMethod.EQUAL_INSTALLMENT, term_months=12, grace_days=3,
        extension_days=30,
    )


@pytest.fixture
def alice(db: Any) -> Borrower:
    return services.borrower_register(
        mobile="13800138000", real_name="王丽", national_id=ALICE_ID, password="alice-pass-2026"
    )


@pytest.fixture
def bob(db: Any) -> Borrower:
    return services.borrower_register(
        mobile="13900139000", real_name="李强", national_id=BOB_ID, password="bob-pass-2026",
        preferred_language="en",
    )


@pytest.fixture
def charlie(db: Any) -> User:
    return User.objects.create_user("charlie", password="charlie-pass-2026", is_staff=True)


@pytest.fixture
def make_loan(product: Product) -> Any:
    def make(borrower: Borrower, principal: str = "12000.00", on: dt.date = DISBURSED_ON,
             product_: Product | None = None) -> Loan:
        return services.loan_disburse(
            borrower_id=borrower.pk, product_id=(product_ or product).pk,
            principal=Decimal(principal), disbursed_on=on,
        )

    return make


@pytest.fixture
def alices_loan(alice: Borrower, make_loan: Any) -> Loan:
    return make_loan(alice)


def age_through(loan: Loan, first: dt.date, last: dt.date) -> None:
    """Run the daily ageing for every business date from first to last, inclusive."""
    day = first
    while day <= last:
        services.loan_age(loan_id=loan.pk, business_date=day)
        day += dt.timedelta(days=1)


@pytest.fixture
def make_staff(db: Any) -> Any:
    """A staff user in one of the role groups of portal/roles.py."""
    from django.contrib.auth.models import Group

    def make(username: str, role: str) -> User:
        user = User.objects.create_user(username, password=f"{username}-pass-2026", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make
