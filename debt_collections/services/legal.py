"""Legal escalation: assessments, go/no-go decisions, legal actions and what follows them.

Each function checks the actor's permission and the input, then in one transaction locks in
one order everywhere (the loan, then the case, then the assessment or action, then its rows),
checks the state against the model's TRANSITIONS, writes, and records the audit event.
Refusals raise `portal.errors.NotAllowed` / `DomainError` with a message a person can read.

Who may do what (portal/roles.py): legal officers record assessments and work legal actions;
legal officers and supervisors decide (`collections.decide_legal`), never on an assessment they
recorded themselves (maker-checker, a check constraint too). Legal action starts only after a
"go" decision; a borrower in hardship is never taken to court.

Court recoveries are recorded first (money received is kept even if posting it is refused),
then posted through `loans.services.payment_post` with the channel "court" and the idempotency
key `court-recovery-<id>`: however often the post is retried, one payment posts. On a loan
written off meanwhile the same call posts a recovery of bad debt (loans.services.write_off).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loans import services as loan_services
from loans.models import Channel, Loan, LoanStatus
from portal.audit import audit_record
from portal.errors import DomainError, IdempotencyKeyReused, InvalidAmount, NotAllowed
from portal.models import User
from portal.money import ZERO, parse_amount

from ..legal import recommend
from ..models import (
    ASSESSED_CLASSIFICATIONS,
    Case,
    CaseClassification,
    CaseStatus,
    CourtRecovery,
    EnforcementDifficulty,
    EnforcementKind,
    EnforcementMeasure,
    JudgmentOutcome,
    LegalAction,
    LegalActionStatus,
    LegalAssessment,
    LegalAssessmentStatus,
    LegalHearing,
    LegalRecommendation,
)
from .hardship import _clean_text

ASSESS_PERMISSION = "collections.add_legalassessment"
DECIDE_LEGAL_PERMISSION = "collections.decide_legal"
OPEN_ACTION_PERMISSION = "collections.add_legalaction"
CHANGE_ACTION_PERMISSION = "collections.change_legalaction"
HEARING_PERMISSION = "collections.add_legalhearing"
MEASURE_PERMISSION = "collections.add_enforcementmeasure"
RECOVERY_PERMISSION = "collections.add_courtrecovery"

NOTE_MAX_LENGTH = 2000
COMMENT_MAX_LENGTH = 1000
NAME_MAX_LENGTH = 120
CASE_NUMBER_MAX_LENGTH = 60
SHORT_NOTE_MAX_LENGTH = 500
REFERENCE_MAX_LENGTH = 100
# Measures that enforce a judgment; freezing accounts and seizing property can also preserve
# assets while the lawsuit runs (诉讼保全).
AFTER_JUDGMENT_ONLY = (EnforcementKind.INCOME_DEDUCTION,)


# --- helpers -----------------------------------------------------------------------------


def _require(actor: User, permission: str) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise NotAllowed(_("You do not have permission to do this in legal escalation."))


def _today() -> dt.date:
    return timezone.localdate()


def _not_in_future(day: dt.date, field: str) -> None:
    if day > _today():
        raise DomainError(_("The %(field)s cannot be in the future.") % {"field": field})


def _amount_or_zero(value: Decimal | str, field: str) -> Decimal:
    """An amount of 0 or more, in fen (never rounded)."""
    try:
        if Decimal(str(value).strip() or "x") == 0:
            return ZERO
    except InvalidOperation:
        pass
    try:
        return parse_amount(value)
    except InvalidAmount as refused:
        raise InvalidAmount(f"{field}: {refused}") from None


def _fraction(value: Decimal | str, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = Decimal(-1)
    if (
        not number.is_finite()
        or not Decimal(0) <= number <= Decimal(1)
        or number != number.quantize(Decimal("0.0001"))
    ):
        raise DomainError(
            _("The %(field)s is a fraction from 0 to 1 with at most four decimals (0.7 = 70 %%).")
            % {"field": field}
        )
    return number.quantize(Decimal("0.0001"))


def _lock_case(case_id: int) -> Case:
    """Lock the case's loan, then the case (the order of every service that touches both)."""
    loan_id = Case.objects.filter(pk=case_id).values_list("loan_id", flat=True).first()
    if loan_id is None:
        raise NotAllowed(_("This case does not exist."))
    Loan.objects.select_for_update().filter(pk=loan_id).first()
    return Case.objects.select_for_update(of=("self",)).select_related("loan").get(pk=case_id)


def _require_open(case: Case) -> None:
    if case.status != CaseStatus.OPEN:
        raise NotAllowed(
            _("Case #%(case)s is closed; nothing more can be done on it.") % {"case": case.pk}
        )


def _lock_assessment(assessment_id: int) -> tuple[Case, LegalAssessment]:
    case_id = (
        LegalAssessment.objects.filter(pk=assessment_id).values_list("case_id", flat=True).first()
    )
    if case_id is None:
        raise NotAllowed(_("This legal assessment does not exist."))
    case = _lock_case(case_id)
    return case, LegalAssessment.objects.select_for_update().get(pk=assessment_id)


def _lock_action(action_id: int) -> LegalAction:
    case_id = LegalAction.objects.filter(pk=action_id).values_list("case_id", flat=True).first()
    if case_id is None:
        raise NotAllowed(_("This legal action does not exist."))
    _lock_case(case_id)
    return LegalAction.objects.select_for_update().get(pk=action_id)


def _require_filed(action: LegalAction) -> None:
    if not action.case_number:
        raise NotAllowed(_("Record the filing (the court's case number) first."))


# --- assessment and decision --------------------------------------------------------------------


def legal_assessment_record(
    *,
    case_id: int,
    actor: User,
    win_probability: Decimal | str,
    enforcement_difficulty: str,
    expected_recovery: Decimal | str,
    expected_cost: Decimal | str,
    classification: str,
    has_bank_accounts: bool = False,
    has_property: bool = False,
    has_income: bool = False,
    assets_note: str = "",
    note: str = "",
) -> LegalAssessment:
    """Assess a case in the legal-review queue (a candidate, or a review was requested); the
    recommendation is computed (`debt_collections.legal.recommend`) and kept with it."""
    _require(actor, ASSESS_PERMISSION)
    probability = _fraction(win_probability, _("probability of winning"))
    if enforcement_difficulty not in EnforcementDifficulty.values:
        raise DomainError(_("Please choose the enforcement difficulty from the list."))
    if classification not in [c.value for c in ASSESSED_CLASSIFICATIONS]:
        raise DomainError(_("Please classify the borrower: in hardship, or wilfully not paying."))
    recovery = _amount_or_zero(expected_recovery, _("expected recovery"))
    cost = _amount_or_zero(expected_cost, _("expected cost"))
    assets = _clean_text(assets_note, field=_("assets"), max_length=NOTE_MAX_LENGTH, required=False)
    text = _clean_text(note, field=_("note"), max_length=NOTE_MAX_LENGTH, required=False)
    advice = recommend(
        win_probability=probability,
        expected_recovery=recovery,
        enforcement_difficulty=enforcement_difficulty,
        expected_cost=cost,
        classification=classification,
    )
    with transaction.atomic():
        case = _lock_case(case_id)
        _require_open(case)
        if not (case.legal_review_candidate or case.legal_review_requested):
            raise NotAllowed(
                _(
                    "Case #%(case)s is not up for legal review: it is not a candidate and no review was requested."
                )
                % {"case": case.pk}
            )
        earlier = {
            a.status: a.pk
            for a in LegalAssessment.objects.filter(case=case).exclude(
                status=LegalAssessmentStatus.NO_GO
            )
        }
        if LegalAssessmentStatus.PENDING in earlier:
            raise NotAllowed(
                _(
                    "Case #%(case)s already has an assessment waiting for a decision (#%(assessment)s)."
                )
                % {"case": case.pk, "assessment": earlier[LegalAssessmentStatus.PENDING]}
            )
        if LegalAssessmentStatus.GO in earlier:
            raise NotAllowed(
                _(
                    "Legal action was already decided for case #%(case)s (assessment #%(assessment)s)."
                )
                % {"case": case.pk, "assessment": earlier[LegalAssessmentStatus.GO]}
            )
        assessment = LegalAssessment(
            case=case,
            loan_id=case.loan_id,
            win_probability=probability,
            enforcement_difficulty=enforcement_difficulty,
            has_bank_accounts=has_bank_accounts,
            has_property=has_property,
            has_income=has_income,
            assets_note=assets,
            expected_recovery=recovery,
            expected_cost=cost,
            classification=classification,
            difficulty_discount=advice.discount,
            expected_net_recovery=advice.expected_net_recovery,
            min_net_recovery=advice.min_net_recovery,
            recommendation=advice.recommendation,
            note=text,
            days_past_due=case.days_past_due,
            outstanding_amount=case.outstanding_amount,
            assessed_by=actor,
        )
        try:
            with transaction.atomic():
                assessment.save()
        except IntegrityError:  # a concurrent assessment of the same case won
            raise NotAllowed(
                _("Case #%(case)s already has an assessment waiting for a decision.")
                % {"case": case.pk}
            ) from None
        audit_record(
            actor=actor,
            action="legal.assessment_record",
            target=assessment,
            summary=f"case #{case.pk}: {advice.recommendation}",
            after={
                "case": case.pk,
                "win_probability": probability,
                "enforcement_difficulty": enforcement_difficulty,
                "expected_recovery": recovery,
                "expected_cost": cost,
                "classification": classification,
                "assets": assessment.assets_labels,
                "discount": advice.discount,
                "expected_net_recovery": advice.expected_net_recovery,
                "min_net_recovery": advice.min_net_recovery,
                "recommendation": advice.recommendation,
            },
        )
    return assessment


def legal_assessment_decide(
    *, assessment_id: int, actor: User, decision: str, comment: str = ""
) -> LegalAssessment:
    """Go or no-go, by a legal officer or supervisor who did not record the assessment. Deciding
    against the recommendation needs a comment; a borrower in hardship is never a "go"."""
    _require(actor, DECIDE_LEGAL_PERMISSION)
    if decision not in (LegalAssessmentStatus.GO, LegalAssessmentStatus.NO_GO):
        raise DomainError(_("Please decide go or no-go."))
    text = _clean_text(comment, field=_("comment"), max_length=COMMENT_MAX_LENGTH, required=False)
    with transaction.atomic():
        case, assessment = _lock_assessment(assessment_id)
        _require_open(case)
        if assessment.status not in LegalAssessment.TRANSITIONS:
            raise NotAllowed(
                _("This assessment was already decided: %(status)s.")
                % {"status": assessment.get_status_display()}
            )
        if assessment.assessed_by_id == actor.pk:
            raise NotAllowed(_("You recorded this assessment; someone else must decide it."))
        going = decision == LegalAssessmentStatus.GO
        if going and assessment.classification == CaseClassification.HARDSHIP:
            raise NotAllowed(
                _("The borrower is in hardship: no legal action. Offer a restructuring instead.")
            )
        if going != (assessment.recommendation == LegalRecommendation.GO) and not text:
            raise DomainError(
                _("You are deciding against the recommendation: please explain why in the comment.")
            )
        before = assessment.status
        assessment.status = decision
        assessment.decided_by = actor
        assessment.decided_at = timezone.now()
        assessment.decision_comment = text
        assessment.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        audit_record(
            actor=actor,
            action="legal.assessment_decide",
            target=assessment,
            summary=f"case #{case.pk}: {decision}",
            before={"status": before},
            after={
                "status": decision,
                "recommendation": assessment.recommendation,
                "comment": text,
            },
        )
    return assessment


# --- the legal action ---------------------------------------------------------------------------


def legal_action_open(
    *,
    assessment_id: int,
    actor: User,
    law_firm: str,
    court: str,
    case_number: str = "",
    filing_date: dt.date | None = None,
    note: str = "",
) -> LegalAction:
    """Open the lawsuit an assessment decided "go" for (once per assessment)."""
    _require(actor, OPEN_ACTION_PERMISSION)
    firm = _clean_text(law_firm, field=_("law firm"), max_length=NAME_MAX_LENGTH)
    court_name = _clean_text(court, field=_("court"), max_length=NAME_MAX_LENGTH)
    number = _clean_text(
        case_number, field=_("court case number"), max_length=CASE_NUMBER_MAX_LENGTH, required=False
    )
    text = _clean_text(note, field=_("note"), max_length=NOTE_MAX_LENGTH, required=False)
    if number and filing_date is None:
        raise DomainError(_("A court case number needs the filing date."))
    if filing_date is not None:
        _not_in_future(filing_date, _("filing date"))
    with transaction.atomic():
        case, assessment = _lock_assessment(assessment_id)
        _require_open(case)
        if assessment.status != LegalAssessmentStatus.GO:
            raise NotAllowed(_("Legal action needs a “go” decision on the assessment first."))
        if case.loan.status != LoanStatus.ACTIVE:
            raise NotAllowed(
                _("The loan is %(status)s; no legal action is opened.")
                % {"status": case.loan.get_status_display()}
            )
        if LegalAction.objects.filter(assessment=assessment).exists():
            raise NotAllowed(_("A legal action is already open for this assessment."))
        action = LegalAction(
            case=case,
            loan_id=case.loan_id,
            assessment=assessment,
            law_firm=firm,
            court=court_name,
            case_number=number,
            filing_date=filing_date,
            note=text,
            opened_by=actor,
        )
        try:
            with transaction.atomic():
                action.save()
        except IntegrityError:
            raise NotAllowed(
                _("This court case number is already recorded for another legal action.")
            ) from None
        audit_record(
            actor=actor,
            action="legal.action_open",
            target=action,
            summary=f"case #{case.pk}: {court_name}",
            after={
                "case": case.pk,
                "assessment": assessment.pk,
                "law_firm": firm,
                "court": court_name,
                "case_number": number,
                "filing_date": filing_date,
            },
        )
    return action


def legal_action_filing_record(
    *, action_id: int, actor: User, case_number: str, filing_date: dt.date
) -> LegalAction:
    """The court accepted the case (立案): its case number and the filing date."""
    _require(actor, CHANGE_ACTION_PERMISSION)
    number = _clean_text(
        case_number, field=_("court case number"), max_length=CASE_NUMBER_MAX_LENGTH
    )
    _not_in_future(filing_date, _("filing date"))
    with transaction.atomic():
        action = _lock_action(action_id)
        if action.case_number:
            raise NotAllowed(
                _("The filing is already recorded (case number %(number)s).")
                % {"number": action.case_number}
            )
        action.case_number, action.filing_date = number, filing_date
        try:
            with transaction.atomic():
                action.save(update_fields=["case_number", "filing_date"])
        except IntegrityError:
            raise NotAllowed(
                _("This court case number is already recorded for another legal action.")
            ) from None
        audit_record(
            actor=actor,
            action="legal.filing_record",
            target=action,
            summary=number,
            before={"case_number": "", "filing_date": None},
            after={"case_number": number, "filing_date": filing_date},
        )
    return action


def legal_hearing_add(
    *, action_id: int, actor: User, hearing_date: dt.date, note: str = ""
) -> LegalHearing:
    """A hearing date of a filed action, before its judgment."""
    _require(actor, HEARING_PERMISSION)
    text = _clean_text(note, field=_("note"), max_length=SHORT_NOTE_MAX_LENGTH, required=False)
    with transaction.atomic():
        action = _lock_action(action_id)
        _require_filed(action)
        if action.status != LegalActionStatus.OPEN:
            raise NotAllowed(_("The judgment is already given; no more hearings are added."))
        assert action.filing_date is not None  # a case number has a filing date (check constraint)
        if hearing_date < action.filing_date:
            raise DomainError(
                _("A hearing cannot be before the filing date (%(date)s).")
                % {"date": action.filing_date.isoformat()}
            )
        if LegalHearing.objects.filter(action=action, hearing_date=hearing_date).exists():
            raise NotAllowed(
                _("A hearing on %(date)s is already recorded.") % {"date": hearing_date.isoformat()}
            )
        hearing = LegalHearing.objects.create(
            action=action, hearing_date=hearing_date, note=text, added_by=actor
        )
        audit_record(
            actor=actor,
            action="legal.hearing_add",
            target=hearing,
            summary=f"action #{action.pk}",
            after={"action": action.pk, "hearing_date": hearing_date, "note": text},
        )
    return hearing


def legal_judgment_record(
    *,
    action_id: int,
    actor: User,
    judgment_date: dt.date,
    outcome: str,
    amount_awarded: Decimal | str | None = None,
    note: str = "",
) -> LegalAction:
    """The court's judgment (or mediation): once per action. A win names the amount awarded."""
    _require(actor, CHANGE_ACTION_PERMISSION)
    if outcome not in JudgmentOutcome.values:
        raise DomainError(_("Please choose the judgment from the list."))
    _not_in_future(judgment_date, _("judgment date"))
    text = _clean_text(note, field=_("note"), max_length=NOTE_MAX_LENGTH, required=False)
    if outcome == JudgmentOutcome.LOST:
        if (
            amount_awarded is not None
            and amount_awarded != ""
            and (_amount_or_zero(amount_awarded, _("amount awarded")) != 0)
        ):
            raise DomainError(_("A lost lawsuit awards nothing."))
        amount = ZERO
    else:
        if amount_awarded in (None, ""):
            raise DomainError(_("Please give the amount awarded."))
        amount = parse_amount(amount_awarded)
    with transaction.atomic():
        action = _lock_action(action_id)
        _require_filed(action)
        if LegalActionStatus.JUDGED not in LegalAction.TRANSITIONS.get(action.status, set()):
            raise NotAllowed(_("The judgment is already recorded."))
        assert action.filing_date is not None
        if judgment_date < action.filing_date:
            raise DomainError(
                _("The judgment cannot be before the filing date (%(date)s).")
                % {"date": action.filing_date.isoformat()}
            )
        before = action.status
        action.status = LegalActionStatus.JUDGED
        action.judgment_date, action.judgment_outcome = judgment_date, outcome
        action.judgment_amount, action.judgment_note = amount, text
        action.save(
            update_fields=[
                "status",
                "judgment_date",
                "judgment_outcome",
                "judgment_amount",
                "judgment_note",
            ]
        )
        audit_record(
            actor=actor,
            action="legal.judgment_record",
            target=action,
            summary=f"{outcome} ¥{amount}",
            before={"status": before},
            after={
                "status": action.status,
                "judgment_date": judgment_date,
                "outcome": outcome,
                "amount": amount,
            },
        )
    return action


def enforcement_measure_add(
    *,
    action_id: int,
    actor: User,
    kind: str,
    ordered_on: dt.date,
    amount: Decimal | str | None = None,
    description: str = "",
) -> EnforcementMeasure:
    """A measure the court ordered: freezing accounts or seizing property (from the filing on),
    deduction from income (after the judgment)."""
    _require(actor, MEASURE_PERMISSION)
    if kind not in EnforcementKind.values:
        raise DomainError(_("Please choose the measure from the list."))
    _not_in_future(ordered_on, _("order date"))
    value = None if amount in (None, "") else parse_amount(amount)
    text = _clean_text(
        description, field=_("description"), max_length=SHORT_NOTE_MAX_LENGTH, required=False
    )
    with transaction.atomic():
        action = _lock_action(action_id)
        _require_filed(action)
        if kind in AFTER_JUDGMENT_ONLY and action.status != LegalActionStatus.JUDGED:
            raise NotAllowed(
                _("A deduction from income enforces a judgment: record the judgment first.")
            )
        measure = EnforcementMeasure.objects.create(
            action=action,
            kind=kind,
            ordered_on=ordered_on,
            amount=value,
            description=text,
            added_by=actor,
        )
        audit_record(
            actor=actor,
            action="legal.measure_add",
            target=measure,
            summary=f"action #{action.pk}: {kind}",
            after={"action": action.pk, "kind": kind, "ordered_on": ordered_on, "amount": value},
        )
    return measure


# --- recoveries ---------------------------------------------------------------------------------


def court_recovery_record(
    *,
    action_id: int,
    actor: User,
    amount: Decimal | str,
    received_on: dt.date,
    reference: str,
    measure_id: int | None = None,
) -> CourtRecovery:
    """Record money the court paid over (not yet posted). The same transfer reference again
    returns the recovery already recorded; with another amount or date it is refused."""
    _require(actor, RECOVERY_PERMISSION)
    value = parse_amount(amount)
    _not_in_future(received_on, _("date received"))
    ref = _clean_text(reference, field=_("transfer reference"), max_length=REFERENCE_MAX_LENGTH)
    with transaction.atomic():
        action = _lock_action(action_id)
        _require_filed(action)
        existing = CourtRecovery.objects.filter(action=action, reference=ref).first()
        if existing is not None:
            if (existing.amount, existing.received_on, existing.measure_id) != (
                value,
                received_on,
                measure_id,
            ):
                raise IdempotencyKeyReused(
                    _(
                        "This transfer reference is already recorded with another amount or date; nothing was recorded."
                    )
                )
            return existing
        if (
            measure_id is not None
            and not EnforcementMeasure.objects.filter(pk=measure_id, action=action).exists()
        ):
            raise NotAllowed(_("This measure is not one of this legal action's."))
        recovery = CourtRecovery.objects.create(
            action=action,
            measure_id=measure_id,
            amount=value,
            received_on=received_on,
            reference=ref,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action="legal.recovery_record",
            target=recovery,
            summary=f"action #{action.pk}: ¥{value}",
            after={
                "action": action.pk,
                "amount": value,
                "received_on": received_on,
                "reference": ref,
                "measure": measure_id,
            },
        )
    return recovery


def court_recovery_post(*, recovery_id: int, actor: User, business_date: dt.date) -> CourtRecovery:
    """Post a recorded recovery to its loan: `payment_post` with the channel "court" and the
    key `court-recovery-<id>`. Posting again (a retry, a double click) posts nothing more."""
    _require(actor, RECOVERY_PERMISSION)
    loan_id = (
        CourtRecovery.objects.filter(pk=recovery_id)
        .values_list("action__loan_id", flat=True)
        .first()
    )
    if loan_id is None:
        raise NotAllowed(_("This court recovery does not exist."))
    with transaction.atomic():
        Loan.objects.select_for_update().filter(
            pk=loan_id
        ).first()  # the loan first, as payment_post
        recovery = CourtRecovery.objects.select_for_update().get(pk=recovery_id)
        if recovery.payment_id is not None:
            return recovery
        result = loan_services.payment_post(
            loan_id=loan_id,
            amount=recovery.amount,
            channel=Channel.COURT,
            idempotency_key=recovery.idempotency_key,
            actor=actor,
            business_date=business_date,
            external_reference=recovery.reference,
        )
        recovery.payment = result.payment
        recovery.posted_at = timezone.now()
        recovery.save(update_fields=["payment", "posted_at"])
        audit_record(
            actor=actor,
            action="legal.recovery_post",
            target=recovery,
            summary=f"¥{recovery.amount} → payment {result.payment.pk}",
            after={"payment": result.payment.pk, "replayed": result.replayed, "loan": loan_id},
        )
    return recovery
