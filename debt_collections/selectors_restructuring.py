"""Read models for restructuring pages (admin queue and approval page, borrower offers).

Each page costs a fixed number of queries whatever the number of proposals, bills or payments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from loans.models import COMPONENTS, Borrower, Loan, Payment
from loans.restructuring import Plan, Row, Totals

from .models import (
    ApprovalDecision,
    HardshipRequest,
    RestructuringApproval,
    RestructuringProposal,
    RestructuringSource,
    RestructuringStatus,
    RestructuringTransition,
)
from .services.restructuring import BORROWER_VISIBLE_STATUSES

HISTORY_LIMIT = 20


def approval_queue(queryset: QuerySet[RestructuringProposal]) -> QuerySet[RestructuringProposal]:
    """Proposals with what the queue shows, in one query."""
    return queryset.select_related("loan__borrower", "proposed_by", "case").annotate(
        approval_count=Count("approvals", filter=Q(approvals__decision=ApprovalDecision.APPROVE))
    )


@dataclass(frozen=True)
class TotalsLine:
    label: str
    current: Any
    proposed: Any
    difference: Any = None
    money: bool = True


@dataclass
class Comparison:
    """The current and the proposed schedule, side by side, with the totals people ask about."""

    plan: Plan
    current: list[tuple[int, Row]]
    proposed: list[tuple[int, Row]]
    current_totals: Totals
    proposed_totals: Totals
    waived: dict[str, Decimal]

    @property
    def total_difference(self) -> Decimal:
        return self.proposed_totals.total - self.current_totals.total


def comparison(plan: Plan) -> Comparison:
    return Comparison(
        plan=plan,
        current=list(enumerate(plan.current, start=1)),
        proposed=list(enumerate(plan.proposed, start=1)),
        current_totals=plan.current_totals,
        proposed_totals=plan.proposed_totals,
        waived=plan.waived,
    )


@dataclass
class ProposalPage:
    proposal: RestructuringProposal
    loan: Loan
    borrower: Borrower
    comparison: Comparison
    approvals: list[RestructuringApproval]
    transitions: list[RestructuringTransition]
    payments: list[Payment]
    earlier: list[RestructuringProposal]
    hardship_requests: list[HardshipRequest]

    @property
    def approvals_given(self) -> int:
        return sum(1 for a in self.approvals if a.decision == ApprovalDecision.APPROVE)

    @property
    def approvals_needed(self) -> int:
        return 2 if self.proposal.needs_second_approval else 1


def proposal_page(*, proposal_id: int) -> ProposalPage:
    """The approval page: the proposal, both schedules, the borrower's history (payments,
    earlier restructurings, hardship requests), decisions and history. Seven queries."""
    proposal = RestructuringProposal.objects.select_related(
        "loan__borrower", "loan__product", "case", "hardship_request", "proposed_by"
    ).get(pk=proposal_id)
    loan = proposal.loan
    borrower = loan.borrower
    return ProposalPage(
        proposal=proposal,
        loan=loan,
        borrower=borrower,
        comparison=comparison(Plan.from_json(proposal.plan)),
        approvals=list(proposal.approvals.select_related("approver").order_by("at", "pk")),
        transitions=list(proposal.transitions.select_related("actor").order_by("pk")),
        payments=list(
            Payment.objects.filter(borrower=borrower).select_related("loan")
            .order_by("-received_at", "-id")[:HISTORY_LIMIT]
        ),
        earlier=list(
            RestructuringProposal.objects.filter(loan__borrower=borrower)
            .exclude(pk=proposal.pk)
            .select_related("loan", "proposed_by")
            .order_by("-created_at", "-id")[:HISTORY_LIMIT]
        ),
        hardship_requests=list(
            HardshipRequest.objects.filter(borrower=borrower).select_related("loan")
            .order_by("-created_at", "-id")[:HISTORY_LIMIT]
        ),
    )


# --- borrower ----------------------------------------------------------------------------------


def borrower_visible() -> Q:
    """What a borrower sees of the proposals on their loans: offers made to them, and plans
    applied (their own requests' plans too); never staff's deliberations."""
    return Q(source=RestructuringSource.AGENT, status__in=BORROWER_VISIBLE_STATUSES) | Q(
        source=RestructuringSource.BORROWER, status=RestructuringStatus.APPLIED
    )


def borrower_proposals(*, borrower: Borrower) -> list[RestructuringProposal]:
    return list(
        RestructuringProposal.objects.filter(borrower_visible(), loan__borrower=borrower)
        .select_related("loan")
        .order_by("-created_at", "-id")
    )


def open_offers(*, loan: Loan) -> list[RestructuringProposal]:
    return list(
        RestructuringProposal.objects.filter(loan=loan, status=RestructuringStatus.OFFERED)
        .order_by("-created_at", "-id")
    )


def applied_for_request(*, request: HardshipRequest) -> list[RestructuringProposal]:
    return list(
        RestructuringProposal.objects.filter(
            borrower_visible(), hardship_request=request
        ).order_by("-created_at", "-id")
    )


def totals_lines(c: Comparison) -> list[TotalsLine]:
    """The totals table: what the borrower pays in all and per part, how long, how much a month."""
    from django.utils.translation import gettext as _

    now, then = c.current_totals, c.proposed_totals
    labels = {"principal": _("Principal"), "interest": _("Interest"),
              "penalty": _("Penalty interest"), "fees": _("Fees")}
    lines = [
        TotalsLine(labels[comp], getattr(now, comp), getattr(then, comp),
                   getattr(then, comp) - getattr(now, comp))
        for comp in reversed(COMPONENTS)
    ]
    lines.append(TotalsLine(_("To pay in all"), now.total, then.total, then.total - now.total))
    lines.append(TotalsLine(_("Number of bills"), now.bills, then.bills, then.bills - now.bills, money=False))
    lines.append(TotalsLine(_("First bill"), now.first_payment, then.first_payment))
    lines.append(TotalsLine(_("Monthly amount (typical bill)"), now.typical_payment, then.typical_payment,
                            then.typical_payment - now.typical_payment))
    lines.append(TotalsLine(_("Last bill due on"), _date(now.end_date), _date(then.end_date), money=False))
    return lines


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"
