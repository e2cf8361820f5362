"""Collection cases for tests, made directly (the close of business opens them in real life).

`make_case` builds one case for a real loan; `bulk_cases` builds many loans and their cases in
a few statements, for the queue's query-count and index tests.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from debt_collections.conduct import borrower_time_zone
from debt_collections.models import Case, EmergencyContact
from debt_collections.priority import priority_score
from loans.models import Borrower, Loan, Product, Stage
from loans.services import stage_for

OPENED_ON = dt.date(2026, 3, 20)


def case_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "stage": Stage.COLLECTIONS,
        "days_past_due": 35,
        "overdue_amount": Decimal("1200.00"),
        "outstanding_amount": Decimal("11000.00"),
        "opened_on": OPENED_ON,
    }
    values.update(overrides)
    values.setdefault(
        "priority",
        priority_score(
            overdue_amount=values["overdue_amount"],
            days_past_due=values["days_past_due"],
            broken_promises=values.get("broken_promises", 0),
        ),
    )
    return values


def make_case(loan: Loan, **overrides: Any) -> Case:
    return Case.objects.create(loan=loan, borrower_id=loan.borrower_id, **case_values(**overrides))


def bulk_cases(
    borrower: Borrower, product: Product, count: int, *, start: int = 0, **overrides: Any
) -> list[Case]:
    """`count` loans of one borrower (no schedules: the queue never reads them), one open case each,
    with a spread of amounts, days past due (30 to 209) and so stages."""
    loans = Loan.objects.bulk_create(
        Loan(
            reference=f"QB{start + i:08d}",
            borrower=borrower,
            product=product,
            principal=Decimal("10000.00"),
            annual_rate=product.annual_rate,
            penalty_rate=product.penalty_rate,
            repayment_method=product.repayment_method,
            term_months=product.term_months,
            grace_days=product.grace_days,
            disbursed_on=dt.date(2025, 12, 1),
            days_past_due=30 + (start + i) % 180,
            stage=stage_for(30 + (start + i) % 180),
        )
        for i in range(count)
    )
    return Case.objects.bulk_create(
        Case(
            loan=loan,
            borrower=borrower,
            **case_values(
                stage=loan.stage,
                days_past_due=loan.days_past_due,
                overdue_amount=Decimal(500 + (start + i) * 37 % 40000) + Decimal("0.25"),
                **overrides,
            ),
        )
        for i, loan in enumerate(loans)
    )


def emergency_contact(
    borrower: Borrower, *, name: str = "王芳", mobile: str = "13600136000"
) -> EmergencyContact:
    return EmergencyContact.objects.create(
        borrower=borrower, name=name, relationship="sister", mobile=mobile
    )


def local(day: dt.date, clock: str) -> dt.datetime:
    """A borrower-local time on `day`, e.g. local(date, "21:59")."""
    hours, minutes = (int(part) for part in clock.split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=borrower_time_zone())


def yesterday() -> dt.date:
    """A whole borrower-local day in the past: contacts on it are never in the future."""
    return timezone.now().astimezone(borrower_time_zone()).date() - dt.timedelta(days=1)
