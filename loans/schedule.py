"""Repayment schedules: pure functions from contract terms to dated installments.

Monthly rate = annual rate / 12. Exact values are computed with 40 significant digits, then
rounded to the fen so that every installment is within one fen of the textbook annuity
(numpy-financial's pmt/ppmt/ipmt) and the principals add up exactly to the amount lent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, localcontext

from dateutil.relativedelta import relativedelta

from portal.money import ZERO, round_money

from .models import RepaymentMethod


@dataclass(frozen=True)
class PlannedInstallment:
    number: int
    due_date: dt.date
    principal: Decimal
    interest: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


def due_dates(first_period_start: dt.date, months: int) -> list[dt.date]:
    """One due date a month after the start; the 31st falls back to the month's last day."""
    return [first_period_start + relativedelta(months=k) for k in range(1, months + 1)]


def _cumulative_rounding(exact_parts: list[Decimal]) -> list[Decimal]:
    """Round running totals, not parts: each part moves less than a fen and the sum is exact."""
    rounded: list[Decimal] = []
    running = Decimal(0)
    previous = ZERO
    for part in exact_parts:
        running += part
        current = round_money(running)
        rounded.append(current - previous)
        previous = current
    return rounded


def _monthly_interest(balance: Decimal, annual_rate: Decimal) -> Decimal:
    # Multiply before dividing: 100.20 × 0.1 / 12 is exactly 0.835, while 100.20 × (0.1 / 12)
    # is 0.83499… and would round down.
    return balance * annual_rate / 12


def _equal_installment(principal: Decimal, annual_rate: Decimal, months: int) -> list[tuple[Decimal, Decimal]]:
    with localcontext() as ctx:
        ctx.prec = 40
        monthly_rate = annual_rate / 12
        if monthly_rate == 0:
            exact_principal = [principal / months] * months
            exact_interest = [Decimal(0)] * months
        else:
            growth = (1 + monthly_rate) ** months
            payment = principal * monthly_rate * growth / (growth - 1)
            exact_principal, exact_interest = [], []
            balance = principal
            for _ in range(months):
                interest = _monthly_interest(balance, annual_rate)
                exact_interest.append(interest)
                exact_principal.append(payment - interest)
                balance -= payment - interest
        principals = _cumulative_rounding(exact_principal)
        interests = [round_money(i) for i in exact_interest]
    return list(zip(principals, interests, strict=True))


def _equal_principal(principal: Decimal, annual_rate: Decimal, months: int) -> list[tuple[Decimal, Decimal]]:
    with localcontext() as ctx:
        ctx.prec = 40
        principals = _cumulative_rounding([principal / months] * months)
        parts = []
        balance = principal
        for part in principals:
            parts.append((part, round_money(_monthly_interest(balance, annual_rate))))
            balance -= part
    return parts


def plan_schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    months: int,
    method: str,
    start: dt.date,
) -> list[PlannedInstallment]:
    if principal <= 0 or months < 1:
        raise ValueError("principal must be positive and the term at least one month")
    if method == RepaymentMethod.EQUAL_INSTALLMENT:
        parts = _equal_installment(principal, Decimal(annual_rate), months)
    elif method == RepaymentMethod.EQUAL_PRINCIPAL:
        parts = _equal_principal(principal, Decimal(annual_rate), months)
    else:
        raise ValueError(f"unknown repayment method {method!r}")
    return [
        PlannedInstallment(number=n, due_date=due, principal=p, interest=i)
        for n, (due, (p, i)) in enumerate(zip(due_dates(start, months), parts, strict=True), start=1)
    ]
