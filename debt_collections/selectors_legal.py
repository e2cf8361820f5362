"""Read queries for legal escalation and write-off: the queues, the pages and the case page's
"Legal" and "Write-off" block, each a fixed number of queries whatever the number of rows.

The queues read `Case` (which carries copies of the loan's stage, days past due and amounts)
with the latest assessment, proposal and action as subqueries of the same SELECT.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy

from loans import services as loan_services
from loans.models import Installment, InstallmentStatus, LoanStatus, Stage

from .models import (
    Case,
    CaseStatus,
    CourtRecovery,
    LegalAction,
    LegalAssessment,
    LegalAssessmentStatus,
    WriteOffProposal,
    WriteOffStatus,
)

# The legal-review queue's views: what each case waits for.
QUEUE_TO_ASSESS = "to_assess"  # no assessment yet
QUEUE_TO_DECIDE = "to_decide"  # an assessment waits for a go/no-go
QUEUE_TO_OPEN = "to_open"  # "go", but no legal action opened yet
QUEUE_NO_GO = "no_go"  # the latest decision was no-go (the default view leaves them out)
QUEUE_WORK = ""  # the default: the first three

QUEUE_CHOICES = [
    (QUEUE_WORK, gettext_lazy("Needs the legal team")),
    (QUEUE_TO_ASSESS, gettext_lazy("To assess")),
    (QUEUE_TO_DECIDE, gettext_lazy("To decide")),
    (QUEUE_TO_OPEN, gettext_lazy("Go: legal action to open")),
    (QUEUE_NO_GO, gettext_lazy("Decided no-go")),
]


def legal_review_queue(view: str = QUEUE_WORK) -> QuerySet[Case]:
    """Open cases that are legal-review candidates or whose review was requested and that have
    no legal action yet, highest priority first, each with its latest assessment (id, status,
    recommendation, expected net recovery) annotated: one query per page."""
    latest = LegalAssessment.objects.filter(case=OuterRef("pk")).order_by("-created_at", "-id")
    queue = (
        Case.objects.filter(status=CaseStatus.OPEN)
        .filter(Q(legal_review_candidate=True) | Q(legal_review_requested=True))
        .exclude(Exists(LegalAction.objects.filter(case=OuterRef("pk"))))
        .annotate(
            assessment_id=Subquery(latest.values("pk")[:1]),
            assessment_status=Subquery(latest.values("status")[:1]),
            assessment_recommendation=Subquery(latest.values("recommendation")[:1]),
            assessment_net=Subquery(latest.values("expected_net_recovery")[:1]),
        )
        .select_related("loan", "borrower", "assigned_to")
        .order_by("-priority", "id")
    )
    if view == QUEUE_TO_ASSESS:
        return queue.filter(assessment_id__isnull=True)
    if view == QUEUE_TO_DECIDE:
        return queue.filter(assessment_status=LegalAssessmentStatus.PENDING)
    if view == QUEUE_TO_OPEN:
        return queue.filter(assessment_status=LegalAssessmentStatus.GO)
    if view == QUEUE_NO_GO:
        return queue.filter(assessment_status=LegalAssessmentStatus.NO_GO)
    return queue.filter(
        Q(assessment_id__isnull=True)
        | Q(assessment_status__in=[LegalAssessmentStatus.PENDING, LegalAssessmentStatus.GO])
    )


def write_off_candidates() -> QuerySet[Case]:
    """Open cases of active loans in the write-off candidate stage (or flagged, or at the age),
    oldest debt first, with their open proposal if any: one query per page."""
    days = loan_services.write_off_days()
    open_proposal = WriteOffProposal.objects.filter(
        case=OuterRef("pk"), status=WriteOffStatus.PROPOSED
    )
    return (
        Case.objects.filter(status=CaseStatus.OPEN, loan__status=LoanStatus.ACTIVE)
        .filter(
            Q(stage=Stage.WRITE_OFF_CANDIDATE)
            | Q(write_off_candidate=True)
            | Q(days_past_due__gte=days)
        )
        .annotate(open_proposal_id=Subquery(open_proposal.values("pk")[:1]))
        .select_related("loan", "borrower", "assigned_to")
        .order_by("-days_past_due", "-priority", "id")
    )


@dataclass
class CaseLegal:
    """What the case page's "Legal" and "Write-off" block shows (three queries)."""

    case: Case
    assessments: list[LegalAssessment]
    action: LegalAction | None
    proposals: list[WriteOffProposal]
    in_legal_review: bool
    write_off_age: int
    can_be_written_off: bool = False
    pending_assessment: LegalAssessment | None = None
    go_assessment: LegalAssessment | None = None
    open_proposal: WriteOffProposal | None = None
    legal_review_dpd: int = field(default_factory=lambda: int(settings.PORTAL_LEGAL_REVIEW_DPD))


def case_legal(*, case: Case) -> CaseLegal:
    assessments = list(
        LegalAssessment.objects.filter(case=case)
        .select_related("assessed_by", "decided_by")
        .order_by("-created_at", "-id")[:5]
    )
    action = LegalAction.objects.filter(case=case).order_by("-opened_at", "-id").first()
    proposals = list(
        WriteOffProposal.objects.filter(case=case)
        .select_related("proposed_by", "decided_by")
        .order_by("-created_at", "-id")[:5]
    )
    days = loan_services.write_off_days()
    return CaseLegal(
        case=case,
        assessments=assessments,
        action=action,
        proposals=proposals,
        in_legal_review=case.legal_review_candidate or case.legal_review_requested,
        write_off_age=days,
        can_be_written_off=case.status == CaseStatus.OPEN and case.days_past_due >= days,
        pending_assessment=next(
            (a for a in assessments if a.status == LegalAssessmentStatus.PENDING), None
        ),
        go_assessment=next((a for a in assessments if a.status == LegalAssessmentStatus.GO), None),
        open_proposal=next((p for p in proposals if p.status == WriteOffStatus.PROPOSED), None),
    )


def legal_action_page(*, action_id: int) -> LegalAction:
    """The action with its case, loan, assessment, hearings, measures and recoveries (with
    their payments): five queries."""
    return (
        LegalAction.objects.select_related("case__borrower", "loan", "assessment", "opened_by")
        .prefetch_related(
            "hearings",
            "measures",
            Prefetch(
                "recoveries", queryset=CourtRecovery.objects.select_related("payment", "measure")
            ),
        )
        .get(pk=action_id)
    )


@dataclass(frozen=True)
class ProposalPage:
    proposal: WriteOffProposal
    today: loan_services.WriteOffQuote | None  # what approving today would book (None once decided)


def write_off_proposal_page(*, proposal_id: int, as_of: dt.date) -> ProposalPage:
    proposal = (
        WriteOffProposal.objects.select_related(
            "loan", "case__borrower", "proposed_by", "decided_by", "write_off"
        )
        .prefetch_related("transitions__actor")
        .get(pk=proposal_id)
    )
    today = None
    if proposal.status == WriteOffStatus.PROPOSED:
        bills = list(
            Installment.objects.filter(loan_id=proposal.loan_id).exclude(
                status=InstallmentStatus.SUPERSEDED
            )
        )
        today = loan_services.write_off_quote(bills, as_of)
    return ProposalPage(proposal, today)
