"""A loan's month for the credit bureau, computed from dated facts (no database access here).

The status is the loan's state **at the month end** (the central bank's convention: the status
at the reporting date), computed from the bills' due and settlement dates and from the journal
entries dated up to the month end, so a run started late, or resumed after a crash, reports
exactly what a run on the first night of the next month would have. The most days past due
reached during the month is computed too and sent beside the status, for information.

- ``B`` the loan was written off on or before the month end (bad debt);
- ``C`` every bill was paid by the month end and nothing was forgiven;
- ``G`` every bill was settled by the month end, but part of the debt was forgiven on the way
  (a concession waiver: hardship or restructuring waivers, ``loans.services.loan_waive``);
  the contractual waiver of later interest on early settlement and the penalty waived by the
  one-time interest-free extension are product terms, not concessions, and do not make a ``G``;
- otherwise days past due at the month end: 0 → ``N``, 1–30 → ``1``, 31–60 → ``2`` …
  151–180 → ``6``, 181 or more → ``7``.

docs/credit-reporting.md explains each field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from portal.money import ZERO, round_money

STAGE_ORDER = ("current", "reminder", "collections", "non_performing", "write_off_candidate")


def status_for_days(days_past_due: int) -> str:
    """0 → N; 1–30 → 1; 31–60 → 2; … 151–180 → 6; 181 and more → 7."""
    if days_past_due <= 0:
        return "N"
    return str(min(7, (days_past_due - 1) // 30 + 1))


def stage_for_days(days_past_due: int, thresholds: dict[str, int]) -> str:
    """The delinquency stage for these days past due (the thresholds of PORTAL_STAGE_THRESHOLDS)."""
    for stage in reversed(STAGE_ORDER[1:]):
        if days_past_due >= thresholds[stage]:
            return stage
    return "current"


@dataclass(frozen=True)
class Bill:
    """One bill that is not superseded, as the month end saw it."""

    due_date: dt.date
    settled_on: dt.date | None
    # What the bill asks for, less what was waived on it: principal, and everything else.
    principal: Decimal
    other: Decimal
    # Principal, interest and fees the schedule asks for on its due date.
    scheduled: Decimal


@dataclass(frozen=True)
class JournalFacts:
    """Sums of a loan's journal entries dated up to the month end (signed: what is owed)."""

    principal: Decimal = ZERO
    total: Decimal = ZERO
    # Repayments net of reversals dated in the month (a positive amount).
    paid_in_month: Decimal = ZERO
    written_off: Decimal = ZERO  # positive
    forgiven: bool = False


@dataclass(frozen=True)
class MonthFigures:
    status: str
    days_past_due: int
    worst_days_past_due: int
    overdue_installments: int
    balance: Decimal
    principal_balance: Decimal
    overdue_amount: Decimal
    overdue_principal: Decimal
    scheduled_amount: Decimal
    paid_amount: Decimal
    written_off_amount: Decimal
    month_end_state: str


def _open_at(bill: Bill, day: dt.date) -> bool:
    """Not yet paid at the end of `day`."""
    return bill.settled_on is None or bill.settled_on > day


def _past_grace(bill: Bill, grace_days: int, day: dt.date) -> bool:
    return day > bill.due_date + dt.timedelta(days=grace_days)


def worst_days_past_due(bills: Sequence[Bill], grace_days: int, first: dt.date, last: dt.date) -> int:
    """The most days past due the loan reached on any day of [first, last].

    A bill counts as overdue from the day after its grace days to the day before it was settled;
    on each such day the loan's days past due are at least (day − due date), and the most for a
    bill is on the last day of the window.
    """
    worst = 0
    for bill in bills:
        start: dt.date = max(first, bill.due_date + dt.timedelta(days=grace_days + 1))
        end: dt.date = last
        if bill.settled_on is not None and bill.settled_on <= last:
            end = bill.settled_on - dt.timedelta(days=1)
        if end >= start:
            worst = max(worst, (end - bill.due_date).days)
    return worst


def month_figures(
    *,
    month: dt.date,
    month_end: dt.date,
    grace_days: int,
    bills: Sequence[Bill],
    journal: JournalFacts,
    written_off_now: bool,
    written_off_on: dt.date | None = None,
    thresholds: dict[str, int],
) -> MonthFigures:
    """The status and amounts of one loan for the month [month, month_end].

    `written_off_now`: the loan's status today; `written_off_on`: the date of its first write-off
    entry (any date). A loan written off after the month end was not bad debt at the month end.
    """
    overdue = [b for b in bills if _open_at(b, month_end) and _past_grace(b, grace_days, month_end)]
    days = (month_end - min(b.due_date for b in overdue)).days if overdue else 0
    worst = worst_days_past_due(bills, grace_days, month, month_end)
    scheduled = sum((b.scheduled for b in bills if month <= b.due_date <= month_end), ZERO)
    principal_balance = max(ZERO, round_money(journal.principal))
    overdue_amount = overdue_principal = ZERO
    if overdue:
        # Payments go to the oldest bill first, so while a bill is overdue the bills not yet past
        # their grace days are untouched: what is owed beyond them is what is overdue.
        future = [b for b in bills if not _past_grace(b, grace_days, month_end)]
        overdue_amount = max(ZERO, round_money(journal.total - sum((b.principal + b.other for b in future), ZERO)))
        overdue_principal = max(ZERO, round_money(journal.principal - sum((b.principal for b in future), ZERO)))
        overdue_principal = min(overdue_principal, overdue_amount)
    written_off = written_off_now and (written_off_on is None or written_off_on <= month_end)
    closed = bool(bills) and all(b.settled_on is not None and b.settled_on <= month_end for b in bills)
    if written_off:
        status, state = "B", "written_off"
    elif closed:
        status, state = ("G" if journal.forgiven else "C"), "closed"
        days = 0
    else:
        status, state = status_for_days(days), stage_for_days(days, thresholds)
    return MonthFigures(
        status=status,
        days_past_due=days,
        worst_days_past_due=max(worst, days),
        overdue_installments=len(overdue) if status not in ("C", "G") else 0,
        balance=principal_balance + (overdue_amount - overdue_principal),
        principal_balance=principal_balance,
        overdue_amount=overdue_amount,
        overdue_principal=overdue_principal,
        scheduled_amount=round_money(scheduled),
        paid_amount=max(ZERO, round_money(journal.paid_in_month)),
        written_off_amount=max(ZERO, round_money(journal.written_off)),
        month_end_state=state,
    )
