"""Read models for the borrower pages: a fixed number of queries, whatever the data size."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from portal.money import ZERO, round_money

from .allocation import Parts, PayoffQuote, open_installments, payoff_quote
from .models import (
    COMPONENTS,
    Borrower,
    Installment,
    InstallmentStatus,
    Loan,
    LoanStatus,
    Payment,
    RepayOption,
)


@dataclass(frozen=True)
class Milestone:
    on: dt.date
    what: str  # a key the template turns into a sentence: "credit_report", "collections", "legal"


@dataclass
class LoanSummary:
    loan: Loan
    installments: list[Installment]
    as_of: dt.date
    next_bill: Installment | None
    overdue: Parts
    overdue_bills: list[Installment]
    due_now: Parts
    daily_penalty: Decimal
    payoff: PayoffQuote
    milestones: list[Milestone] = field(default_factory=list)

    @property
    def installments_by_number(self) -> list[Installment]:
        """The schedule as the contract numbers it (an extension can move a bill's date)."""
        return sorted(self.installments, key=lambda i: i.number)

    @property
    def is_overdue(self) -> bool:
        return bool(self.overdue_bills)

    @property
    def days_past_due(self) -> int:
        if not self.overdue_bills:
            return 0
        return (self.as_of - self.overdue_bills[0].due_date).days


def _parts_of(bills: list[Installment]) -> Parts:
    total = Parts()
    for bill in bills:
        total = total + Parts(**{c: bill.outstanding(c) for c in COMPONENTS})
    return total


def credit_report_date(first_overdue_day: dt.date) -> dt.date:
    """The month end whose credit-bureau report first shows a loan overdue since this day.

    The borrower is told on the first overdue day (the nightly advance notice, `reporting`), a
    negative status waits PORTAL_CREDIT_NOTICE_DAYS after that, and the bureau is sent each
    month's status at its end: the first month end from then on.
    """
    reportable = first_overdue_day + dt.timedelta(days=settings.PORTAL_CREDIT_NOTICE_DAYS)
    following = (reportable.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def summarise(loan: Loan, installments: list[Installment], as_of: dt.date) -> LoanSummary:
    """Everything a borrower needs to know about one loan today, from its own rows and dates."""
    live = [i for i in installments if i.status != InstallmentStatus.SUPERSEDED]
    unpaid = open_installments(live)
    grace = dt.timedelta(days=loan.grace_days)
    overdue_bills = [i for i in unpaid if as_of > i.due_date + grace]
    due_bills = [i for i in unpaid if i.due_date <= as_of]
    upcoming = [i for i in unpaid if i.due_date > as_of]
    overdue = _parts_of(overdue_bills)
    daily_penalty = round_money(overdue.principal * loan.penalty_rate / 360) if overdue_bills else ZERO
    milestones: list[Milestone] = []
    if overdue_bills:
        first_due = overdue_bills[0].due_date
        thresholds = settings.PORTAL_STAGE_THRESHOLDS
        report_on = credit_report_date(first_due + grace + dt.timedelta(days=1))
        if report_on > as_of:
            milestones.append(Milestone(report_on, "credit_report"))
        for days, what in (
            (thresholds["collections"], "collections"),
            (settings.PORTAL_LEGAL_REVIEW_DPD, "legal"),
        ):
            on = first_due + dt.timedelta(days=days)
            if on > as_of:
                milestones.append(Milestone(on, what))
        milestones.sort(key=lambda m: m.on)
    return LoanSummary(
        loan=loan, installments=live, as_of=as_of,
        next_bill=(due_bills or upcoming)[0] if (due_bills or upcoming) else None,
        overdue=overdue, overdue_bills=overdue_bills, due_now=_parts_of(due_bills),
        daily_penalty=daily_penalty, payoff=payoff_quote(live, as_of), milestones=milestones,
    )


def borrower_loans(*, borrower: Borrower, as_of: dt.date) -> list[LoanSummary]:
    """The dashboard: two queries (loans with products, and their bills)."""
    loans = (
        Loan.objects.filter(borrower=borrower)
        .select_related("product")
        .prefetch_related(Prefetch("installments", queryset=Installment.objects.order_by("due_date", "number")))
        .order_by("status", "-disbursed_on", "-id")
    )
    return [summarise(loan, list(loan.installments.all()), as_of) for loan in loans]


def borrower_loan(
    *, borrower: Borrower, reference: str, as_of: dt.date
) -> tuple[LoanSummary, QuerySet[Payment]]:
    """One loan of this borrower (Loan.DoesNotExist for anyone else's) in two queries, and its
    payments newest first, unread: a loan can take thousands, so the page shows them a page at
    a time."""
    loan = Loan.objects.select_related("product").get(borrower=borrower, reference=reference)
    installments = list(loan.installments.order_by("due_date", "number"))
    return summarise(loan, installments, as_of), loan.payments.order_by("-received_at", "-id")


def is_active(loan: Loan) -> bool:
    return loan.status == LoanStatus.ACTIVE


def repay_amounts_for(summary: LoanSummary) -> dict[str, Decimal]:
    """The fixed choices of the repay page; 0 means the choice does not apply today."""
    upcoming = next((i for i in open_installments(summary.installments) if i.due_date > summary.as_of), None)
    due_now = summary.due_now.total
    return {
        RepayOption.OVERDUE: due_now,
        RepayOption.NEXT_BILL: due_now + (upcoming.total_outstanding if upcoming else ZERO),
        RepayOption.PAYOFF: summary.payoff.amount,
    }


def repay_amounts(*, loan: Loan, as_of: dt.date) -> dict[str, Decimal]:
    installments = list(loan.installments.order_by("due_date", "number"))
    return repay_amounts_for(summarise(loan, installments, as_of))
