"""The rules of delinquency, without the database: bill statuses, penalty accrual, days past
due and stage.

They run on anything shaped like a bill and a loan (`BillLike`, `LoanLike`): the services pass
model instances of one locked loan; the close of business passes the light `OpenBill` and
`LoanState` rows it reads for a hundred thousand loans at a time. One set of rules, so the two
cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from django.conf import settings

from portal.money import ZERO, round_money

from .models import InstallmentStatus, LoanStatus, Stage

DAYS_PER_YEAR = Decimal(360)


class BillLike(Protocol):
    number: Any
    due_date: Any
    status: Any
    overdue_since: Any
    settled_on: Any
    penalty_due: Any

    def outstanding(self, component: str) -> Decimal: ...

    @property
    def total_outstanding(self) -> Decimal: ...

    @property
    def has_write_off(self) -> bool: ...


class LoanLike(Protocol):
    status: Any
    stage: Any
    days_past_due: Any
    grace_days: Any
    penalty_rate: Any


Bill = TypeVar("Bill", bound=BillLike)


def stage_for(days_past_due: int) -> Stage:
    thresholds = settings.PORTAL_STAGE_THRESHOLDS
    for stage in (Stage.WRITE_OFF_CANDIDATE, Stage.NON_PERFORMING, Stage.COLLECTIONS, Stage.REMINDER):
        if days_past_due >= thresholds[stage.value]:
            return stage
    return Stage.CURRENT


def is_past_grace(bill: BillLike, grace_days: int, as_of: dt.date) -> bool:
    return as_of > bill.due_date + dt.timedelta(days=grace_days)


def open_installments(installments: Sequence[Bill]) -> list[Bill]:
    """Bills still owing something, oldest first: the order in which payments are applied."""
    live = [
        i for i in installments
        if i.status != InstallmentStatus.SUPERSEDED and i.total_outstanding > 0
    ]
    return sorted(live, key=lambda i: (i.due_date, i.number))


def refresh_installment_status(bill: BillLike, grace_days: int, as_of: dt.date) -> None:
    if bill.status == InstallmentStatus.SUPERSEDED:
        return
    owed = bill.total_outstanding
    if owed == 0 and bill.has_write_off:
        bill.status = InstallmentStatus.WRITTEN_OFF  # off the books, not paid
        bill.settled_on = None
    elif owed == 0:
        bill.status = InstallmentStatus.PAID
        bill.settled_on = bill.settled_on or as_of
    elif is_past_grace(bill, grace_days, as_of):
        bill.status = InstallmentStatus.OVERDUE
        bill.overdue_since = bill.overdue_since or as_of
    elif bill.due_date <= as_of:
        bill.status = InstallmentStatus.DUE
    else:
        bill.status = InstallmentStatus.PENDING
    if owed > 0:
        bill.settled_on = None


def refresh_loan(loan: LoanLike, installments: Sequence[BillLike], as_of: dt.date) -> dict[str, Any]:
    """Recompute statuses, days past due and stage; returns what changed (for the audit)."""
    before = {"status": loan.status, "stage": loan.stage, "days_past_due": loan.days_past_due}
    for installment in installments:
        refresh_installment_status(installment, loan.grace_days, as_of)
    unpaid = open_installments(installments)
    oldest_overdue = next(
        (i for i in unpaid if is_past_grace(i, loan.grace_days, as_of)), None
    )
    loan.days_past_due = (as_of - oldest_overdue.due_date).days if oldest_overdue else 0
    if loan.status == LoanStatus.ACTIVE and not unpaid:
        loan.status = LoanStatus.SETTLED
    elif loan.status == LoanStatus.SETTLED and unpaid:  # a reversal reopens a settled loan
        loan.status = LoanStatus.ACTIVE
    loan.stage = stage_for(loan.days_past_due) if loan.status == LoanStatus.ACTIVE else Stage.CURRENT
    after = {"status": loan.status, "stage": loan.stage, "days_past_due": loan.days_past_due}
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


def accrue_penalty(loan: LoanLike, installments: Sequence[BillLike], business_date: dt.date) -> Decimal:
    """Charge one day's penalty interest on the overdue principal of each bill past its grace
    days (on the bills in memory); returns the total charged."""
    daily_rate = loan.penalty_rate / DAYS_PER_YEAR
    total = ZERO
    for installment in installments:
        if (
            installment.status != InstallmentStatus.SUPERSEDED
            and is_past_grace(installment, loan.grace_days, business_date)
            and installment.outstanding("principal") > 0
        ):
            charge = round_money(installment.outstanding("principal") * daily_rate)
            installment.penalty_due += charge
            total += charge
    return total
