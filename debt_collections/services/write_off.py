"""Write-off to bad debt (呆账核销): proposed on a case, approved or rejected by a supervisor.

An agent or a supervisor proposes (`collections.add_writeoffproposal`) the write-off of a loan
at or past the write-off age (PORTAL_STAGE_WRITE_OFF_DPD, 180 days), with a reason; the
proposal keeps a snapshot of what would be written off. A supervisor
(`collections.approve_write_off`) approves or rejects it, never their own proposal (also a
check constraint). Approval, in one transaction: the loan is written off by
`loans.services.loan_write_off` (the WRITE_OFF journal entry, the loan's status, its audit
event), the proposal is approved with a history row, and the case closes. Recoveries that come
later still post to the written-off loan (loans.services.write_off explains the books).

Locks, in the order of every service: the loan, the case, then the proposal. Two approvals at
once write the loan off once: the second waits for the loan's lock and then finds the proposal
approved (and unique constraints back this up).
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loans import services as loan_services
from loans.models import Installment, InstallmentStatus, Loan, LoanEvent, LoanEventKind, LoanStatus
from portal.audit import audit_record
from portal.errors import NotAllowed
from portal.models import User

from ..models import Case, CaseStatus, WriteOffProposal, WriteOffStatus, WriteOffTransition
from .hardship import _clean_text

WRITE_OFF_PROPOSE_PERMISSION = "collections.add_writeoffproposal"
WRITE_OFF_APPROVE_PERMISSION = "collections.approve_write_off"

REASON_MAX_LENGTH = 2000
COMMENT_MAX_LENGTH = 1000
CLOSE_REASON = "written off"


def _require(actor: User, permission: str) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise NotAllowed(_("You do not have permission to do this with write-offs."))


def _lock_case(case_id: int) -> Case:
    loan_id = Case.objects.filter(pk=case_id).values_list("loan_id", flat=True).first()
    if loan_id is None:
        raise NotAllowed(_("This case does not exist."))
    Loan.objects.select_for_update().filter(pk=loan_id).first()  # the loan before the case
    return Case.objects.select_for_update(of=("self",)).select_related("loan").get(pk=case_id)


def _lock_proposal(proposal_id: int) -> tuple[Case, WriteOffProposal]:
    case_id = (
        WriteOffProposal.objects.filter(pk=proposal_id).values_list("case_id", flat=True).first()
    )
    if case_id is None:
        raise NotAllowed(_("This write-off proposal does not exist."))
    case = _lock_case(case_id)
    return case, WriteOffProposal.objects.select_for_update().get(pk=proposal_id)


def _transit(proposal: WriteOffProposal, to: str, actor: User, note: str) -> None:
    """Move the proposal if its TRANSITIONS allow it; keep the history row."""
    before = proposal.status
    if to not in WriteOffProposal.TRANSITIONS.get(before, set()):
        raise NotAllowed(
            _("This proposal was already decided: %(status)s.")
            % {"status": proposal.get_status_display()}
        )
    proposal.status = to
    WriteOffTransition.objects.create(
        proposal=proposal, from_status=before, to_status=to, actor=actor, note=note
    )


def _checker(proposal: WriteOffProposal, actor: User) -> None:
    if proposal.proposed_by_id == actor.pk:
        raise NotAllowed(_("You proposed this write-off; another supervisor must decide it."))


def write_off_propose(
    *, case_id: int, actor: User, reason: str, business_date: dt.date
) -> WriteOffProposal:
    """Propose writing the case's loan off; the amounts are what it would book on `business_date`."""
    _require(actor, WRITE_OFF_PROPOSE_PERMISSION)
    text = _clean_text(reason, field=_("reason"), max_length=REASON_MAX_LENGTH)
    with transaction.atomic():
        case = _lock_case(case_id)
        loan = case.loan
        if case.status != CaseStatus.OPEN:
            raise NotAllowed(
                _("Case #%(case)s is closed; nothing more can be done on it.") % {"case": case.pk}
            )
        if loan.status != LoanStatus.ACTIVE:
            raise NotAllowed(
                _("The loan is %(status)s; it cannot be written off.")
                % {"status": loan.get_status_display()}
            )
        if loan.days_past_due < loan_services.write_off_days():
            raise NotAllowed(
                _(
                    "A loan can be written off from %(days)s days past due; this one is %(dpd)s days past due."
                )
                % {"days": loan_services.write_off_days(), "dpd": loan.days_past_due}
            )
        if WriteOffProposal.objects.filter(loan=loan, status=WriteOffStatus.PROPOSED).exists():
            raise NotAllowed(_("A write-off of this loan is already waiting for approval."))
        bills = list(
            Installment.objects.filter(loan=loan).exclude(status=InstallmentStatus.SUPERSEDED)
        )
        quote = loan_services.write_off_quote(bills, business_date)
        proposal = WriteOffProposal(
            loan=loan,
            case=case,
            reason=text,
            as_of=business_date,
            days_past_due=loan.days_past_due,
            later_interest_cancelled=quote.cancelled.total,
            proposed_by=actor,
            **vars(quote.written_off),
        )
        try:
            with transaction.atomic():
                proposal.save()
        except IntegrityError:  # a concurrent proposal for the loan won
            raise NotAllowed(
                _("A write-off of this loan is already waiting for approval.")
            ) from None
        WriteOffTransition.objects.create(
            proposal=proposal,
            from_status="",
            to_status=WriteOffStatus.PROPOSED,
            actor=actor,
            note=text,
        )
        audit_record(
            actor=actor,
            action="write_off.propose",
            target=proposal,
            summary=f"case #{case.pk}: ¥{proposal.total}",
            after={
                "case": case.pk,
                "loan": loan.reference,
                "as_of": business_date,
                "days_past_due": loan.days_past_due,
                "written_off": vars(quote.written_off),
                "later_interest_cancelled": quote.cancelled.total,
                "reason": text,
            },
        )
    return proposal


def write_off_approve(
    *, proposal_id: int, actor: User, business_date: dt.date, comment: str = ""
) -> WriteOffProposal:
    """Approve: write the loan off (loans.services.loan_write_off), close the case. Refused for
    one's own proposal, a decided proposal, or a loan that no longer qualifies."""
    _require(actor, WRITE_OFF_APPROVE_PERMISSION)
    text = _clean_text(comment, field=_("comment"), max_length=COMMENT_MAX_LENGTH, required=False)
    with transaction.atomic():
        case, proposal = _lock_proposal(proposal_id)
        _checker(proposal, actor)
        _transit(proposal, WriteOffStatus.APPROVED, actor, text)
        write_off = loan_services.loan_write_off(
            loan_id=proposal.loan_id,
            business_date=business_date,
            actor=actor,
            reason=f"proposal #{proposal.pk}: {proposal.reason}"[:300],
        )
        proposal.write_off = write_off
        proposal.decided_by = actor
        proposal.decided_at = timezone.now()
        proposal.comment = text
        proposal.save(update_fields=["status", "write_off", "decided_by", "decided_at", "comment"])
        audit_record(
            actor=actor,
            action="write_off.approve",
            target=proposal,
            summary=f"{proposal.loan_id}: ¥{write_off.total} written off",
            before={"status": WriteOffStatus.PROPOSED},
            after={
                "status": proposal.status,
                "write_off": write_off.pk,
                "written_off": write_off.total,
                "comment": text,
            },
        )
        if case.status == CaseStatus.OPEN:
            case.status, case.closed_on, case.close_reason = (
                CaseStatus.CLOSED,
                business_date,
                CLOSE_REASON,
            )
            case.save(update_fields=["status", "closed_on", "close_reason"])
            LoanEvent.objects.create(
                loan_id=case.loan_id,
                kind=LoanEventKind.CASE_CLOSED,
                business_date=business_date,
                payload={"case": case.pk, "reason": CLOSE_REASON},
            )
            audit_record(
                actor=actor,
                action="case.close",
                target=case,
                summary=CLOSE_REASON,
                before={"status": CaseStatus.OPEN},
                after={"status": CaseStatus.CLOSED, "closed_on": business_date},
            )
    return proposal


def write_off_reject(*, proposal_id: int, actor: User, comment: str) -> WriteOffProposal:
    """Reject with a reason (the proposer reads it); the loan may be proposed again later."""
    _require(actor, WRITE_OFF_APPROVE_PERMISSION)
    text = _clean_text(comment, field=_("comment"), max_length=COMMENT_MAX_LENGTH)
    with transaction.atomic():
        _case, proposal = _lock_proposal(proposal_id)
        _checker(proposal, actor)
        _transit(proposal, WriteOffStatus.REJECTED, actor, text)
        proposal.decided_by = actor
        proposal.decided_at = timezone.now()
        proposal.comment = text
        proposal.save(update_fields=["status", "decided_by", "decided_at", "comment"])
        audit_record(
            actor=actor,
            action="write_off.reject",
            target=proposal,
            summary=text,
            before={"status": WriteOffStatus.PROPOSED},
            after={"status": proposal.status, "comment": text},
        )
    return proposal
