"""Restructuring with maker-checker: propose, approve or reject, offer, answer, apply.

- An agent proposes on a case (source "agent"); once approved the plan is **offered** to the
  borrower, who accepts (it is applied at once) or declines in the portal; an unanswered offer
  expires (`restructuring_offers_expire_due`, hourly).
- Staff propose in answer to a borrower's hardship request (source "borrower"); once approved
  it is **applied** at once: the borrower asked for it.
- A supervisor with `collections.approve_restructuring` approves or rejects with a comment;
  nobody decides on a proposal they made. A plan whose waived and forgone amounts exceed
  PORTAL_RESTRUCTURING_MAX_WAIVER_SHARE_SINGLE_APPROVAL of what is owed needs two approvers.
  A loan is restructured at most once in PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN months.
- Applying calls `loans.services.loan_restructure` (bills superseded, new bills, journal), then
  resets the case's next steps (pending promise and open calls cancelled) and starts the watch
  period (PORTAL_RESTRUCTURING_WATCH_DAYS).

Every function is keyword-only and runs in one transaction. Locks, always in this order: the
loan, then its bills (`lock_loan`), then the proposal, then the case, its promises and calls,
then the hardship request. Every status change is checked against
`RestructuringProposal.TRANSITIONS`, kept as a `RestructuringTransition` row and audited.
Refusals raise `NotAllowed` / `DomainError` with a message for the person who asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from loans import services as loan_services
from loans.allocation import open_installments
from loans.models import Borrower, Installment, Loan, LoanStatus
from loans.restructuring import (
    Plan,
    PlanRefused,
    Totals,
    bills_from_installments,
    plan_restructuring,
)
from loans.services.book import LockedLoan, lock_loan
from portal.audit import audit_record
from portal.errors import DomainError, NotAllowed
from portal.models import User
from portal.sms import sms_queue

from ..models import (
    RESTRUCTURING_OPEN_STATUSES,
    ApprovalDecision,
    CallTask,
    CallTaskStatus,
    Case,
    CaseStatus,
    HardshipRequest,
    HardshipStatus,
    OfferStatus,
    PromiseState,
    PromiseStatus,
    PromiseToPay,
    RestructuringApproval,
    RestructuringKind,
    RestructuringProposal,
    RestructuringSource,
    RestructuringStatus,
    RestructuringTransition,
)
from .hardship import _clean_text

APPROVE_PERMISSION = "collections.approve_restructuring"
PROPOSE_PERMISSION = "collections.add_restructuringproposal"
REASON_MAX_LENGTH = 2000
COMMENT_MAX_LENGTH = 1000

# Rendered in the borrower's language when queued.
RESTRUCTURING_OFFER_SMS = gettext_lazy(
    "We offer you a new repayment plan for loan %(reference)s. Please sign in to see it and "
    "accept or decline it before %(date)s."
)
RESTRUCTURING_APPLIED_SMS = gettext_lazy(
    "Your new repayment plan for loan %(reference)s is in place from %(date)s. Please sign in "
    "to see your new bills."
)

# What the borrower sees of their proposals: offers made to them, and plans applied.
BORROWER_VISIBLE_STATUSES = (
    RestructuringStatus.OFFERED,
    RestructuringStatus.ACCEPTED,
    RestructuringStatus.DECLINED,
    RestructuringStatus.EXPIRED,
    RestructuringStatus.WITHDRAWN,
    RestructuringStatus.APPLIED,
)


# --- helpers -------------------------------------------------------------------------------------


def _require_staff(actor: User, permission: str, refusal: str) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise NotAllowed(refusal)


def _require_approver(actor: User) -> None:
    _require_staff(
        actor, APPROVE_PERMISSION, _("You do not have permission to approve or reject restructurings.")
    )


def _loan_of(proposal_id: int) -> int:
    loan_id = (
        RestructuringProposal.objects.filter(pk=proposal_id).values_list("loan_id", flat=True).first()
    )
    if loan_id is None:
        raise NotAllowed(_("This restructuring proposal does not exist."))
    return loan_id


def _lock_proposal(proposal_id: int) -> RestructuringProposal:
    return RestructuringProposal.objects.select_for_update().get(pk=proposal_id)


def _transit(
    proposal: RestructuringProposal,
    to: str,
    *,
    actor: User | None,
    note: str = "",
    details: dict[str, Any] | None = None,
    refusal: str | None = None,
) -> str:
    """Move the proposal to `to` if TRANSITIONS allow it, keeping the history row; return the
    old status. The caller saves the proposal."""
    before = proposal.status
    if to not in RestructuringProposal.TRANSITIONS.get(before, set()):
        if refusal is None:
            refusal = _("This cannot be done now: the proposal is “%(status)s”.") % {
                "status": proposal.get_status_display()
            }
        raise NotAllowed(refusal)
    proposal.status = to
    RestructuringTransition.objects.create(
        proposal=proposal, from_status=before, to_status=to, actor=actor, note=note[:1000],
        details=details or {},
    )
    return before


def _months_between() -> int:
    return int(settings.PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN)


def _check_interval(loan: Loan, business_date: dt.date) -> None:
    """At most one restructuring applied per loan in PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN months."""
    months = _months_between()
    if months <= 0:
        return
    last = (
        RestructuringProposal.objects.filter(loan=loan, status=RestructuringStatus.APPLIED)
        .order_by("-applied_on")
        .values_list("applied_on", flat=True)
        .first()
    )
    if last is not None and business_date < last + relativedelta(months=months):
        raise NotAllowed(
            _(
                "Loan %(reference)s was restructured on %(date)s. A loan can be restructured at most "
                "once in %(months)s months (again from %(next)s)."
            )
            % {
                "reference": loan.reference,
                "date": last.isoformat(),
                "months": months,
                "next": (last + relativedelta(months=months)).isoformat(),
            }
        )


def _plan_for(
    loan: Loan, installments: list[Installment], *, kind: str, parameters: Mapping[str, Any],
    business_date: dt.date,
) -> Plan:
    if loan.status != LoanStatus.ACTIVE:
        raise NotAllowed(
            _("Loan %(reference)s is %(status)s; it cannot be restructured.")
            % {"reference": loan.reference, "status": loan.get_status_display()}
        )
    return plan_restructuring(
        bills=bills_from_installments(open_installments(installments)),
        as_of=business_date,
        kind=kind,
        parameters=parameters,
        annual_rate=loan.annual_rate,
        method=loan.repayment_method,
        payment_day=loan.disbursed_on.day,
    )


def _needs_second_approval(plan: Plan) -> bool:
    limit = Decimal(settings.PORTAL_RESTRUCTURING_MAX_WAIVER_SHARE_SINGLE_APPROVAL)
    return plan.waiver_share > limit


def _tell_borrower(loan: Loan, *, kind: str, text: Any, params: dict[str, object], dedupe_key: str) -> None:
    borrower = Borrower.objects.select_related("user").get(pk=loan.borrower_id)
    sms_queue(
        recipient=borrower.user,
        mobile=borrower.mobile,
        language=borrower.preferred_language,
        kind=kind,
        text=text,
        params=params,
        dedupe_key=dedupe_key,
    )


def _open_case(loan_id: int) -> Case | None:
    return Case.objects.filter(loan_id=loan_id, status=CaseStatus.OPEN).order_by("pk").first()


# --- preview and proposal ------------------------------------------------------------------------


def restructuring_preview(
    *, loan_id: int, kind: str, parameters: Mapping[str, Any], business_date: dt.date
) -> Plan:
    """The plan as it would be proposed today; nothing is written (the admin's live preview)."""
    loan = Loan.objects.get(pk=loan_id)
    installments = list(Installment.objects.filter(loan_id=loan_id).order_by("id"))
    return _plan_for(loan, installments, kind=kind, parameters=parameters, business_date=business_date)


def restructuring_propose(
    *,
    actor: User,
    kind: str,
    parameters: Mapping[str, Any],
    reason: str,
    business_date: dt.date,
    case_id: int | None = None,
    hardship_request_id: int | None = None,
) -> RestructuringProposal:
    """Propose a plan for a loan: an agent's on a case (`case_id`), or in answer to a borrower's
    hardship request about a loan (`hardship_request_id`; the request is taken into review).

    Refused when the loan has a proposal in progress, was restructured in the last
    PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN months, or the plan cannot be made.
    """
    _require_staff(actor, PROPOSE_PERMISSION, _("You do not have permission to propose restructurings."))
    if (case_id is None) == (hardship_request_id is None):
        raise DomainError(_("A restructuring is proposed either on a case or on a hardship request."))
    if kind not in RestructuringKind.values:
        raise DomainError(_("Please choose the kind of restructuring from the list."))
    text = _clean_text(reason, field=_("reason"), max_length=REASON_MAX_LENGTH)

    if case_id is not None:
        loan_id = Case.objects.filter(pk=case_id).values_list("loan_id", flat=True).first()
        if loan_id is None:
            raise NotAllowed(_("This case does not exist."))
    else:
        assert hardship_request_id is not None
        found = HardshipRequest.objects.filter(pk=hardship_request_id).values_list("loan_id", flat=True)
        if not found.exists():
            raise NotAllowed(_("This hardship request does not exist."))
        loan_id = found.first()
        if loan_id is None:
            raise NotAllowed(
                _("This hardship request is not about a loan; a restructuring needs one.")
            )

    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan = locked.loan
        case: Case | None
        request: HardshipRequest | None = None
        if case_id is not None:
            case = Case.objects.select_for_update().get(pk=case_id)
            if case.status != CaseStatus.OPEN:
                raise NotAllowed(
                    _("Case #%(case)s is closed; nothing more can be done on it.") % {"case": case.pk}
                )
            source = RestructuringSource.AGENT
        else:
            assert hardship_request_id is not None
            case = _open_case(loan.pk)
            request = HardshipRequest.objects.select_for_update().get(pk=hardship_request_id)
            if request.status not in (HardshipStatus.SUBMITTED, HardshipStatus.UNDER_REVIEW):
                raise NotAllowed(
                    _(
                        "This hardship request is “%(status)s”; "
                        "a restructuring can answer only a request that is submitted or under review."
                    )
                    % {"status": request.get_status_display()}
                )
            source = RestructuringSource.BORROWER
        if RestructuringProposal.objects.filter(
            loan=loan, status__in=RESTRUCTURING_OPEN_STATUSES
        ).exists():
            raise NotAllowed(
                _("Loan %(reference)s already has a restructuring in progress.") % {"reference": loan.reference}
            )
        _check_interval(loan, business_date)
        plan = _plan_for(loan, locked.installments, kind=kind, parameters=parameters, business_date=business_date)

        if request is not None and request.status == HardshipStatus.SUBMITTED:
            request.status = HardshipStatus.UNDER_REVIEW
            request.save(update_fields=["status"])
            audit_record(
                actor=actor, action="hardship.review", target=request,
                before={"status": HardshipStatus.SUBMITTED}, after={"status": request.status},
            )
        proposal = RestructuringProposal(
            loan=loan,
            case=case,
            hardship_request=request,
            source=source,
            kind=kind,
            parameters=plan.parameters.to_json(),
            plan=plan.to_json(),
            fingerprint=plan.fingerprint,
            as_of=business_date,
            waiver_share=plan.waiver_share,
            reason=text,
            needs_second_approval=_needs_second_approval(plan),
            proposed_by=actor,
        )
        try:
            with transaction.atomic():
                proposal.save()
        except IntegrityError:
            raise NotAllowed(
                _("Loan %(reference)s already has a restructuring in progress.") % {"reference": loan.reference}
            ) from None
        RestructuringTransition.objects.create(
            proposal=proposal, from_status="", to_status=RestructuringStatus.PROPOSED, actor=actor,
            note=text[:1000],
        )
        audit_record(
            actor=actor,
            action="restructuring.propose",
            target=proposal,
            summary=f"{loan.reference}: {kind}",
            after={
                "loan": loan.reference,
                "source": source,
                "kind": kind,
                "parameters": proposal.parameters,
                "case": case.pk if case else None,
                "hardship_request": request.pk if request else None,
                "waiver_share": plan.waiver_share,
                "needs_second_approval": proposal.needs_second_approval,
                "current_total": plan.current_totals.total,
                "proposed_total": plan.proposed_totals.total,
            },
        )
    return proposal


# --- approval -----------------------------------------------------------------------------------


def restructuring_approve(
    *, proposal_id: int, actor: User, business_date: dt.date, comment: str = ""
) -> RestructuringProposal:
    """A checker approves. With enough approvals (two when the plan needs a second approver)
    an agent's plan is offered to the borrower, a borrower's own is applied at once."""
    _require_approver(actor)
    note = _clean_text(comment, field=_("comment"), max_length=COMMENT_MAX_LENGTH, required=False)
    loan_id = _loan_of(proposal_id)
    with transaction.atomic():
        locked = lock_loan(loan_id)
        proposal = _lock_proposal(proposal_id)
        _refuse_decided(proposal, approving=True)
        if proposal.proposed_by_id == actor.pk:
            raise NotAllowed(_("You proposed this restructuring; someone else must approve it."))
        if RestructuringApproval.objects.filter(proposal=proposal, approver=actor).exists():
            raise NotAllowed(
                _("You have already approved this proposal; it needs a second approver.")
            )
        _check_interval(locked.loan, business_date)
        plan = Plan.from_json(proposal.plan)
        loan_services.ensure_plan_current(plan, locked.installments, reference=locked.loan.reference)
        try:
            with transaction.atomic():
                RestructuringApproval.objects.create(
                    proposal=proposal, approver=actor, decision=ApprovalDecision.APPROVE, comment=note
                )
        except IntegrityError:
            raise NotAllowed(_("You have already decided on this proposal.")) from None
        approvals = RestructuringApproval.objects.filter(
            proposal=proposal, decision=ApprovalDecision.APPROVE
        ).count()
        needed = 2 if proposal.needs_second_approval else 1
        if approvals < needed:
            audit_record(
                actor=actor, action="restructuring.approve.first", target=proposal, summary=note,
                after={"approvals": approvals, "needed": needed},
            )
            return proposal
        now = timezone.now()
        _transit(proposal, RestructuringStatus.APPROVED, actor=actor, note=note,
                 details={"approvals": approvals})
        proposal.decided_at = now
        proposal.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=actor, action="restructuring.approve", target=proposal, summary=note,
            before={"status": RestructuringStatus.PROPOSED},
            after={"status": proposal.status, "approvals": approvals},
        )
        if proposal.source == RestructuringSource.BORROWER:
            _apply(proposal, locked, actor=actor, business_date=business_date)
        else:
            _offer(proposal, locked.loan, plan, actor=actor, now=now)
    return proposal


def _refuse_decided(proposal: RestructuringProposal, *, approving: bool) -> None:
    if proposal.status == RestructuringStatus.PROPOSED:
        return
    if proposal.status == RestructuringStatus.REJECTED:
        raise NotAllowed(
            _("This proposal was rejected; it cannot be approved.")
            if approving
            else _("This proposal is already rejected.")
        )
    raise NotAllowed(
        _("This proposal is already approved (it is now “%(status)s”).")
        % {"status": proposal.get_status_display()}
    )


def _offer(
    proposal: RestructuringProposal, loan: Loan, plan: Plan, *, actor: User, now: dt.datetime
) -> None:
    """approved → offered: the borrower has PORTAL_RESTRUCTURING_OFFER_DAYS to answer, and never
    past the day before the plan's first new bill (it could not be applied after that)."""
    expires = now + dt.timedelta(days=settings.PORTAL_RESTRUCTURING_OFFER_DAYS)
    if plan.first_new_due is not None:
        last_moment = timezone.make_aware(dt.datetime.combine(plan.first_new_due, dt.time.min))
        expires = min(expires, last_moment)
    if expires <= now:
        raise NotAllowed(
            _(
                "The plan's first new bill (%(date)s) is too close to offer it to the borrower. "
                "Please reject it and propose again."
            )
            % {"date": plan.first_new_due.isoformat() if plan.first_new_due else ""}
        )
    _transit(proposal, RestructuringStatus.OFFERED, actor=actor, details={"expires_at": expires})
    proposal.offered_at = now
    proposal.offer_expires_at = expires
    proposal.save(update_fields=["status", "offered_at", "offer_expires_at"])
    audit_record(
        actor=actor, action="restructuring.offer", target=proposal,
        before={"status": RestructuringStatus.APPROVED},
        after={"status": proposal.status, "expires_at": expires},
    )
    _tell_borrower(
        loan,
        kind="restructuring_offer",
        text=RESTRUCTURING_OFFER_SMS,
        params={"reference": loan.reference, "date": timezone.localtime(expires).strftime("%Y-%m-%d %H:%M")},
        dedupe_key=f"restructuring-offer:{proposal.pk}",
    )


def restructuring_reject(*, proposal_id: int, actor: User, comment: str) -> RestructuringProposal:
    """A checker rejects, saying why. Nobody rejects their own proposal (it needs a checker)."""
    _require_approver(actor)
    note = _clean_text(comment, field=_("comment"), max_length=COMMENT_MAX_LENGTH)
    loan_id = _loan_of(proposal_id)
    with transaction.atomic():
        lock_loan(loan_id)
        proposal = _lock_proposal(proposal_id)
        _refuse_decided(proposal, approving=False)
        if proposal.proposed_by_id == actor.pk:
            raise NotAllowed(_("You proposed this restructuring; someone else must decide on it."))
        if RestructuringApproval.objects.filter(proposal=proposal, approver=actor).exists():
            raise NotAllowed(_("You have already decided on this proposal."))
        RestructuringApproval.objects.create(
            proposal=proposal, approver=actor, decision=ApprovalDecision.REJECT, comment=note
        )
        _transit(proposal, RestructuringStatus.REJECTED, actor=actor, note=note)
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=actor, action="restructuring.reject", target=proposal, summary=note,
            before={"status": RestructuringStatus.PROPOSED}, after={"status": proposal.status},
        )
    return proposal


# --- the borrower's answer ----------------------------------------------------------------------


def _require_owner(loan: Loan, borrower_id: int) -> None:
    if loan.borrower_id != borrower_id:
        raise NotAllowed(_("This offer is not yours."))


_ANSWERED: dict[str, Promise] = {
    RestructuringStatus.ACCEPTED: gettext_lazy("You have already accepted this offer."),
    RestructuringStatus.APPLIED: gettext_lazy("You have already accepted this offer."),
    RestructuringStatus.DECLINED: gettext_lazy("You have already declined this offer."),
    RestructuringStatus.EXPIRED: gettext_lazy("This offer has expired."),
    RestructuringStatus.WITHDRAWN: gettext_lazy("This offer was withdrawn."),
}


def _answer_refusal(proposal: RestructuringProposal) -> str | None:
    text = _ANSWERED.get(proposal.status)
    return str(text) if text is not None else None


def _expire(proposal: RestructuringProposal, *, now: dt.datetime) -> None:
    _transit(proposal, RestructuringStatus.EXPIRED, actor=None, note="offer expired")
    proposal.save(update_fields=["status"])
    audit_record(
        actor=None, action="restructuring.offer.expire", target=proposal, actor_label="system",
        before={"status": RestructuringStatus.OFFERED}, after={"status": proposal.status},
    )


def restructuring_offer_accept(
    *, proposal_id: int, borrower_id: int, actor: User | None, business_date: dt.date
) -> RestructuringProposal:
    """The borrower accepts an offer: it is applied at once. An expired offer is recorded as
    expired and refused; an offer the loan's bills have moved away from (a payment since) is
    withdrawn and refused: a new plan must be proposed."""
    loan_id = _loan_of(proposal_id)
    refusal: str | None = None
    with transaction.atomic():
        locked = lock_loan(loan_id)
        proposal = _lock_proposal(proposal_id)
        _require_owner(locked.loan, borrower_id)
        now = timezone.now()
        if proposal.status == RestructuringStatus.OFFERED and _expired(proposal, now):
            _expire(proposal, now=now)
            refusal = _("This offer expired on %(date)s. Please call us if you still need help.") % {
                "date": _local(proposal.offer_expires_at)
            }
        else:
            try:
                with transaction.atomic():
                    _transit(proposal, RestructuringStatus.ACCEPTED, actor=actor,
                             refusal=_answer_refusal(proposal))
                    proposal.answered_at = now
                    proposal.save(update_fields=["status", "answered_at"])
                    audit_record(
                        actor=actor, action="restructuring.offer.accept", target=proposal,
                        before={"status": RestructuringStatus.OFFERED}, after={"status": proposal.status},
                    )
                    _apply(proposal, locked, actor=actor, business_date=business_date)
            except NotAllowed as refused:
                if proposal.status != RestructuringStatus.ACCEPTED:
                    raise  # refused before anything was accepted: nothing to record
                # The plan cannot be applied any more (the bills moved): the offer is withdrawn.
                proposal.refresh_from_db()
                _transit(proposal, RestructuringStatus.WITHDRAWN, actor=None, note=str(refused))
                proposal.save(update_fields=["status"])
                audit_record(
                    actor=None, action="restructuring.offer.withdraw", target=proposal,
                    actor_label="system", summary=str(refused),
                    before={"status": RestructuringStatus.OFFERED}, after={"status": proposal.status},
                )
                refusal = _(
                    "Your bills changed after we made this offer (for example, a payment arrived), "
                    "so it can no longer be applied. We will contact you about a new plan."
                )
    if refusal is not None:
        raise NotAllowed(refusal)
    return proposal


def restructuring_offer_decline(
    *, proposal_id: int, borrower_id: int, actor: User | None
) -> RestructuringProposal:
    """The borrower declines an offer; the loan keeps its schedule."""
    loan_id = _loan_of(proposal_id)
    refusal: str | None = None
    with transaction.atomic():
        locked = lock_loan(loan_id)
        proposal = _lock_proposal(proposal_id)
        _require_owner(locked.loan, borrower_id)
        now = timezone.now()
        if proposal.status == RestructuringStatus.OFFERED and _expired(proposal, now):
            _expire(proposal, now=now)
            refusal = _("This offer has expired.")
        else:
            _transit(proposal, RestructuringStatus.DECLINED, actor=actor, refusal=_answer_refusal(proposal))
            proposal.answered_at = now
            proposal.save(update_fields=["status", "answered_at"])
            audit_record(
                actor=actor, action="restructuring.offer.decline", target=proposal,
                before={"status": RestructuringStatus.OFFERED}, after={"status": proposal.status},
            )
    if refusal is not None:
        raise NotAllowed(refusal)
    return proposal


def _expired(proposal: RestructuringProposal, now: dt.datetime) -> bool:
    return proposal.offer_expires_at is not None and proposal.offer_expires_at <= now


def _local(at: dt.datetime | None) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else ""


def restructuring_offers_expire_due(*, now: dt.datetime | None = None) -> int:
    """Periodic: every unanswered offer past its time expires. Returns how many expired."""
    now = now or timezone.now()
    due = list(
        RestructuringProposal.objects.filter(
            status=RestructuringStatus.OFFERED, offer_expires_at__lte=now
        ).values_list("pk", "loan_id")
    )
    expired = 0
    for proposal_id, loan_id in due:
        with transaction.atomic():
            lock_loan(loan_id)
            proposal = _lock_proposal(proposal_id)
            if proposal.status == RestructuringStatus.OFFERED and _expired(proposal, now):
                _expire(proposal, now=now)
                expired += 1
    return expired


def restructuring_offer_withdraw(*, proposal_id: int, actor: User, reason: str) -> RestructuringProposal:
    """Staff take back an offer the borrower has not answered (the situation changed)."""
    _require_staff(actor, PROPOSE_PERMISSION, _("You do not have permission to withdraw restructuring offers."))
    note = _clean_text(reason, field=_("reason"), max_length=COMMENT_MAX_LENGTH)
    loan_id = _loan_of(proposal_id)
    with transaction.atomic():
        lock_loan(loan_id)
        proposal = _lock_proposal(proposal_id)
        _transit(proposal, RestructuringStatus.WITHDRAWN, actor=actor, note=note)
        proposal.save(update_fields=["status"])
        audit_record(
            actor=actor, action="restructuring.offer.withdraw", target=proposal, summary=note,
            before={"status": RestructuringStatus.OFFERED}, after={"status": proposal.status},
        )
    return proposal


# --- applying ------------------------------------------------------------------------------------


def restructuring_apply(*, proposal_id: int, actor: User, business_date: dt.date) -> RestructuringProposal:
    """Apply an approved borrower's plan or an accepted offer (normally done by the approval or
    the acceptance itself; this is for a retry)."""
    _require_approver(actor)
    loan_id = _loan_of(proposal_id)
    with transaction.atomic():
        locked = lock_loan(loan_id)
        proposal = _lock_proposal(proposal_id)
        if proposal.status == RestructuringStatus.APPROVED and proposal.source == RestructuringSource.AGENT:
            raise NotAllowed(_("An agent's plan is applied only after the borrower accepts the offer."))
        _apply(proposal, locked, actor=actor, business_date=business_date)
    return proposal


def _apply(
    proposal: RestructuringProposal, locked: LockedLoan, *, actor: User | None, business_date: dt.date
) -> None:
    """approved (borrower's) / accepted → applied: the schedule, then the case and the request."""
    before = proposal.status
    if RestructuringStatus.APPLIED not in RestructuringProposal.TRANSITIONS.get(before, set()):
        raise NotAllowed(
            _("This plan cannot be applied: the proposal is “%(status)s”.")
            % {"status": proposal.get_status_display()}
        )
    loan = locked.loan
    _check_interval(loan, business_date)
    plan = Plan.from_json(proposal.plan)
    result = loan_services.loan_restructure(
        loan_id=loan.pk,
        plan=plan,
        business_date=business_date,
        actor=actor,
        reason=proposal.reason,
        reference=f"restructuring #{proposal.pk}",
    )
    now = timezone.now()
    watch_until = business_date + dt.timedelta(days=settings.PORTAL_RESTRUCTURING_WATCH_DAYS)
    _transit(
        proposal, RestructuringStatus.APPLIED, actor=actor,
        details={
            "superseded": result.superseded, "created": result.created,
            "journal": [e.pk for e in (result.restructuring_entry, result.waiver_entry) if e is not None],
            "penalty_frozen": result.penalty_frozen,
        },
    )
    proposal.applied_at = now
    proposal.applied_on = business_date
    proposal.watch_until = watch_until
    proposal.save(update_fields=["status", "applied_at", "applied_on", "watch_until"])
    case_reset = _reset_case(proposal, actor=actor, business_date=business_date, watch_until=watch_until)
    request_closed = _close_hardship_request(proposal, actor=actor, now=now)
    audit_record(
        actor=actor, action="restructuring.apply", target=proposal,
        summary=f"{loan.reference}: {proposal.kind}",
        before={"status": before},
        after={
            "status": proposal.status, "applied_on": business_date, "watch_until": watch_until,
            "superseded": len(result.superseded), "created": len(result.created),
            "penalty_frozen": result.penalty_frozen, "case": case_reset,
            "hardship_request": request_closed,
        },
    )
    _tell_borrower(
        loan,
        kind="restructuring_applied",
        text=RESTRUCTURING_APPLIED_SMS,
        params={"reference": loan.reference, "date": business_date.isoformat()},
        dedupe_key=f"restructuring-applied:{proposal.pk}",
    )
    proposal_id = proposal.pk  # the signed terms, printed and archived once the plan has committed
    transaction.on_commit(lambda: async_task("notices.tasks.print_restructuring_agreement", proposal_id))


def _reset_case(
    proposal: RestructuringProposal, *, actor: User | None, business_date: dt.date, watch_until: dt.date
) -> int | None:
    """The case's next steps start again from the new plan: its pending promise and the loan's
    open calls are cancelled, and the watch period starts. Returns the case id, if any."""
    case_id = proposal.case_id
    if case_id is None or not Case.objects.filter(pk=case_id, status=CaseStatus.OPEN).exists():
        open_case = _open_case(proposal.loan_id)
        case_id = open_case.pk if open_case else None
    if case_id is None:
        return None
    case = Case.objects.select_for_update().get(pk=case_id)
    promises = list(
        PromiseToPay.objects.select_for_update()
        .filter(case=case, status=PromiseStatus.PENDING)
        .order_by("pk")
    )
    for promise in promises:
        promise.status = PromiseStatus.CANCELLED
        promise.resolved_on = business_date
        promise.save(update_fields=["status", "resolved_on"])
        audit_record(
            actor=actor, action="promise.cancel", target=promise,
            summary=f"case #{case.pk}: replaced by restructuring #{proposal.pk}",
            before={"status": PromiseStatus.PENDING}, after={"status": promise.status},
        )
    calls = list(
        CallTask.objects.select_for_update()
        .filter(loan_id=proposal.loan_id, status=CallTaskStatus.OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if calls:
        CallTask.objects.filter(pk__in=calls).update(status=CallTaskStatus.CANCELLED)
    before = {"promise_state": case.promise_state, "watch_until": case.watch_until}
    if promises:
        case.promise_state = PromiseState.NONE
    case.watch_until = watch_until
    case.save(update_fields=["promise_state", "watch_until"])
    audit_record(
        actor=actor, action="case.restructured", target=case,
        summary=f"restructuring #{proposal.pk}",
        before=before,
        after={
            "promise_state": case.promise_state, "watch_until": watch_until,
            "promises_cancelled": [p.pk for p in promises], "calls_cancelled": calls,
        },
    )
    return case.pk


def _close_hardship_request(
    proposal: RestructuringProposal, *, actor: User | None, now: dt.datetime
) -> int | None:
    """A borrower's request answered by an applied plan is closed as accepted (through
    "offer made", as the request's TRANSITIONS require)."""
    if proposal.hardship_request_id is None:
        return None
    request = HardshipRequest.objects.select_for_update().get(pk=proposal.hardship_request_id)
    if request.status != HardshipStatus.UNDER_REVIEW:
        return None  # decided otherwise meanwhile: left as staff left it
    if request.offers.filter(status=OfferStatus.OFFERED).exists():
        return None  # a hardship offer waits for the borrower's answer: theirs to give
    before = request.status
    for step in (HardshipStatus.OFFER_MADE, HardshipStatus.ACCEPTED):
        assert step in HardshipRequest.TRANSITIONS[request.status]
        request.status = step
    request.decided_by = actor
    request.decided_at = now
    request.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(
        actor=actor, action="hardship.restructured", target=request,
        summary=f"restructuring #{proposal.pk} applied",
        before={"status": before}, after={"status": request.status, "restructuring": proposal.pk},
    )
    return request.pk


# --- the agreement (notices) ----------------------------------------------------------------------


def _rows(rows: Any) -> list[dict[str, Any]]:
    return [
        {
            "number": n,
            "due_date": row.due_date,
            "principal": row.principal,
            "interest": row.interest,
            "penalty": row.penalty,
            "fees": row.fees,
            "total": row.total,
        }
        for n, row in enumerate(rows, start=1)
    ]


def _totals(totals: Totals) -> dict[str, Any]:
    return {
        "principal": totals.principal,
        "interest": totals.interest,
        "penalty": totals.penalty,
        "fees": totals.fees,
        "total": totals.total,
        "bills": totals.bills,
        "first_due": totals.first_due,
        "end_date": totals.end_date,
        "first_payment": totals.first_payment,
        "typical_payment": totals.typical_payment,
    }


def restructuring_agreement_context(proposal: RestructuringProposal) -> dict[str, Any]:
    """Everything the restructuring agreement (a PDF notice) shows, as plain values: the old and
    new schedules with totals, what is waived, the reason, the dates and the borrower's name.
    Dates are `datetime.date`, amounts `Decimal`; nothing here is translated or formatted."""
    loan = Loan.objects.select_related("borrower").get(pk=proposal.loan_id)
    plan = Plan.from_json(proposal.plan)
    approvals = list(
        RestructuringApproval.objects.filter(proposal=proposal, decision=ApprovalDecision.APPROVE)
        .select_related("approver")
        .order_by("at", "pk")
    )
    waived = plan.waived
    now, then = plan.current_totals, plan.proposed_totals
    return {
        "proposal_id": proposal.pk,
        "public_id": str(proposal.public_id),
        "status": proposal.status,
        "status_label": proposal.get_status_display(),
        "kind": proposal.kind,
        "kind_label": proposal.get_kind_display(),
        "source": proposal.source,
        "parameters": plan.parameters.to_json(),
        "reason": proposal.reason,
        "borrower_name": loan.borrower.real_name,
        "borrower_national_id": loan.borrower.masked_national_id,
        "borrower_mobile": loan.borrower.masked_mobile,
        "loan_reference": loan.reference,
        "loan_principal": loan.principal,
        "annual_rate": loan.annual_rate,
        "computed_on": plan.as_of,
        "proposed_at": proposal.created_at,
        "approved_at": proposal.decided_at,
        "approvers": [a.approver.get_username() for a in approvals],
        "offered_at": proposal.offered_at,
        "offer_expires_at": proposal.offer_expires_at,
        "accepted_at": proposal.answered_at if proposal.status in (
            RestructuringStatus.ACCEPTED, RestructuringStatus.APPLIED) else None,
        "applied_on": proposal.applied_on,
        "watch_until": proposal.watch_until,
        "current_rows": _rows(plan.current),
        "proposed_rows": _rows(plan.proposed),
        "current_totals": _totals(now),
        "proposed_totals": _totals(then),
        "waived": waived,
        "waived_total": plan.waived_total,
        "interest_forgone": plan.interest_forgone,
        "concession": plan.concession,
        "waiver_share": plan.waiver_share,
        "difference": {**plan.difference, "total": then.total - now.total},
        "old_end_date": now.end_date,
        "new_end_date": then.end_date,
        "new_installment": then.typical_payment,
        "first_new_due": plan.first_new_due,
    }


__all__ = [
    "APPROVE_PERMISSION",
    "BORROWER_VISIBLE_STATUSES",
    "PROPOSE_PERMISSION",
    "PlanRefused",
    "RESTRUCTURING_APPLIED_SMS",
    "RESTRUCTURING_OFFER_SMS",
    "restructuring_agreement_context",
    "restructuring_apply",
    "restructuring_approve",
    "restructuring_offer_accept",
    "restructuring_offer_decline",
    "restructuring_offer_withdraw",
    "restructuring_offers_expire_due",
    "restructuring_preview",
    "restructuring_propose",
    "restructuring_reject",
]
