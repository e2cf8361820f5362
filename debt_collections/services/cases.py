"""Case work: contacts, notes, promises, classification, assignment, legal review, reveals.

Each function checks the actor's permission and the input, then in one transaction locks the
case row (several cases: in id order; then the rows that hang off it), checks the state and the
conduct rules (`debt_collections.conduct`), writes, and records the audit event. Refusals raise
`portal.errors.NotAllowed` / `DomainError`; a conduct rule's refusal names the rule.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loans.models import Borrower, Payment, PaymentStatus
from portal.audit import audit_event, audit_record, audit_record_many
from portal.errors import DomainError, NotAllowed
from portal.masking import mask_mobile
from portal.models import User
from portal.money import parse_amount, round_money
from portal.roles import AGENT, LEGAL_OFFICER

from .. import conduct
from ..models import (
    FAILED_OUTCOMES,
    OPEN_STATUSES,
    AlertKind,
    CallTask,
    CallTaskStatus,
    Case,
    CaseClassification,
    CaseNote,
    CaseStatus,
    ContactChannel,
    ContactLog,
    ContactOutcome,
    ContactParty,
    EmergencyContact,
    HardshipRequest,
    OverdueReason,
    PromiseState,
    PromiseStatus,
    PromiseToPay,
)
from .alerts import alert_raise
from .hardship import _clean_text

WORK_PERMISSION = "collections.work_case"
ASSIGN_PERMISSION = "collections.assign_case"
REVEAL_PERMISSION = "loans.reveal_identity"

NOTE_MAX_LENGTH = 2000
THIRD_PARTY_REASON_MAX_LENGTH = 300
LEGAL_REASON_MAX_LENGTH = 500
# A contact is logged after it happened; a few minutes allow for clocks that disagree.
CLOCK_SKEW = dt.timedelta(minutes=5)
# The number dialled or texted is kept for these channels (the daily limit counts calls).
NUMBER_CHANNELS = (ContactChannel.CALL, ContactChannel.SMS)
# A third party is never "reached" about the debt: they can only take a message, or not answer.
THIRD_PARTY_OUTCOMES = (
    ContactOutcome.MESSAGE_LEFT,
    ContactOutcome.NO_ANSWER,
    ContactOutcome.BUSY,
    ContactOutcome.WRONG_NUMBER,
)
AUTO_ASSIGN_CHUNK = 500


# --- helpers -----------------------------------------------------------------------------


def _require(actor: User, *permissions: str) -> None:
    if not (actor.is_active and actor.is_staff and all(actor.has_perm(p) for p in permissions)):
        raise NotAllowed(_("You do not have permission to do this on collection cases."))


def _lock_case(case_id: int) -> Case:
    try:
        return (
            Case.objects.select_for_update(of=("self",))
            .select_related("borrower", "loan")
            .get(pk=case_id)
        )
    except Case.DoesNotExist:
        raise NotAllowed(_("This case does not exist.")) from None


def _require_open(case: Case) -> None:
    if case.status != CaseStatus.OPEN:
        raise NotAllowed(
            _("Case #%(case)s is closed; nothing more can be done on it.") % {"case": case.pk}
        )


def _choice(value: str, choices: Sequence[str], field: str) -> str:
    if value not in choices:
        raise DomainError(_("Please choose the %(field)s from the list.") % {"field": field})
    return value


# --- contacts, notes, promises --------------------------------------------------------------


def contact_log(
    *,
    case_id: int,
    actor: User,
    channel: str,
    party: str,
    outcome: str,
    overdue_reason: str = OverdueReason.UNKNOWN,
    note: str = "",
    emergency_contact_id: int | None = None,
    third_party_reason: str = "",
    debt_not_disclosed: bool = False,
    at: dt.datetime | None = None,
) -> ContactLog:
    """Log one contact attempt (made at `at`, default now) under the conduct rules: quiet hours,
    the daily call limit per number, third parties only when the borrower cannot be reached
    and never told about the debt."""
    _require(actor, WORK_PERMISSION, "collections.add_contactlog")
    _choice(channel, ContactChannel.values, _("channel"))
    _choice(party, ContactParty.values, _("person contacted"))
    _choice(outcome, ContactOutcome.values, _("outcome"))
    _choice(overdue_reason, OverdueReason.values, _("overdue reason"))
    text = _clean_text(note, field=_("note"), max_length=NOTE_MAX_LENGTH, required=False)
    now = timezone.now()
    at = at or now
    if timezone.is_naive(at):
        raise DomainError(_("The time of the contact needs a time zone."))
    if at > now + CLOCK_SKEW:
        raise DomainError(
            _("A contact is logged after it happened: its time cannot be in the future.")
        )
    third_party = party == ContactParty.EMERGENCY_CONTACT
    reason = ""
    if third_party:
        if emergency_contact_id is None:
            raise DomainError(_("Please choose which emergency contact was contacted."))
        reason = _clean_text(
            third_party_reason,
            field=_("reason for contacting a third party"),
            max_length=THIRD_PARTY_REASON_MAX_LENGTH,
        )
        if outcome not in THIRD_PARTY_OUTCOMES:
            raise DomainError(
                _(
                    "A third party can only take a message, or not be reached: "
                    "choose one of those outcomes."
                )
            )
    else:
        if emergency_contact_id is not None:
            raise DomainError(
                _("An emergency contact is chosen only for a contact with a third party.")
            )
        if outcome == ContactOutcome.MESSAGE_LEFT:
            raise DomainError(
                _("“Third party took a message” is an outcome of third-party contacts only.")
            )
    conduct.quiet_hours_check(at=at)
    if third_party:
        conduct.no_disclosure_check(confirmed=debt_not_disclosed, texts=[text, reason])

    with transaction.atomic():
        case = _lock_case(case_id)
        _require_open(case)
        if at.astimezone(conduct.borrower_time_zone()).date() < case.opened_on:
            raise DomainError(
                _("A contact cannot be dated before its case was opened (%(date)s).")
                % {"date": case.opened_on.isoformat()}
            )
        contact: EmergencyContact | None = None
        if emergency_contact_id is not None:  # a third party (checked above)
            contact = EmergencyContact.objects.filter(
                pk=emergency_contact_id, borrower_id=case.borrower_id
            ).first()
            if contact is None:
                raise NotAllowed(_("This emergency contact is not one the borrower named."))
            conduct.borrower_unreachable_check(borrower_id=case.borrower_id, at=at)
        number = ""
        if channel in NUMBER_CHANNELS:
            number = contact.mobile if contact is not None else case.borrower.mobile
        if channel == ContactChannel.CALL:
            conduct.number_lock(number)
            conduct.daily_call_limit_check(number=number, at=at)
        log = ContactLog.objects.create(
            case=case,
            agent=actor,
            at=at,
            channel=channel,
            party=party,
            emergency_contact=contact,
            number=number,
            outcome=outcome,
            overdue_reason=overdue_reason,
            third_party_reason=reason,
            note=text,
        )
        before = {"last_contact_at": case.last_contact_at, "failed_contacts": case.failed_contacts}
        if case.last_contact_at is None or at > case.last_contact_at:
            case.last_contact_at = at
        if not third_party:
            # Failed attempts in a row: reaching the borrower starts the count again.
            failed = outcome in FAILED_OUTCOMES
            case.failed_contacts = min(case.failed_contacts + 1, 32767) if failed else 0
        case.save(update_fields=["last_contact_at", "failed_contacts"])
        audit_record(
            actor=actor,
            action="case.contact_log",
            target=log,
            summary=f"case #{case.pk}: {channel} {party} {outcome}",
            before=before,
            after={
                "case": case.pk,
                "at": at,
                "channel": channel,
                "party": party,
                "emergency_contact": contact.pk if contact else None,
                "number": mask_mobile(number) if number else "",
                "outcome": outcome,
                "overdue_reason": overdue_reason,
                "third_party_reason": reason,
                "debt_not_disclosed": debt_not_disclosed if third_party else None,
                "last_contact_at": case.last_contact_at,
                "failed_contacts": case.failed_contacts,
            },
        )
    return log


def case_note_add(*, case_id: int, actor: User, text: str) -> CaseNote:
    _require(actor, WORK_PERMISSION, "collections.add_casenote")
    cleaned = _clean_text(text, field=_("note"), max_length=NOTE_MAX_LENGTH)
    with transaction.atomic():
        case = _lock_case(case_id)
        _require_open(case)
        note = CaseNote.objects.create(case=case, author=actor, text=cleaned)
        audit_record(
            actor=actor,
            action="case.note_add",
            target=note,
            summary=f"case #{case.pk}",
            after={"case": case.pk},
        )
    return note


def promise_record(
    *,
    case_id: int,
    actor: User,
    amount: Decimal | str,
    promised_date: dt.date,
    contact_id: int | None = None,
) -> PromiseToPay:
    """The borrower promises to pay `amount` by `promised_date` (from today, borrower local
    date, to PORTAL_PROMISE_MAX_DAYS ahead). A pending earlier promise of the case is cancelled."""
    _require(actor, WORK_PERMISSION, "collections.add_promisetopay")
    value = parse_amount(amount)  # InvalidAmount: positive, at most two places, never rounded
    today = conduct.borrower_today()
    if promised_date < today:
        raise DomainError(_("The promised date cannot be in the past."))
    latest = today + dt.timedelta(days=settings.PORTAL_PROMISE_MAX_DAYS)
    if promised_date > latest:
        raise DomainError(
            _("A promise can be at most %(days)s days ahead (until %(date)s).")
            % {"days": settings.PORTAL_PROMISE_MAX_DAYS, "date": latest.isoformat()}
        )
    with transaction.atomic():
        case = _lock_case(case_id)
        _require_open(case)
        if (
            contact_id is not None
            and not ContactLog.objects.filter(pk=contact_id, case=case).exists()
        ):
            raise NotAllowed(_("This contact was not logged on this case."))
        replaced = list(
            PromiseToPay.objects.select_for_update()
            .filter(case=case, status=PromiseStatus.PENDING)
            .order_by("pk")
        )
        for old in replaced:
            old.status = PromiseStatus.CANCELLED
            old.resolved_on = today
            old.save(update_fields=["status", "resolved_on"])
            audit_record(
                actor=actor,
                action="promise.cancel",
                target=old,
                summary=f"case #{case.pk}: replaced by a new promise",
                before={"status": PromiseStatus.PENDING},
                after={"status": old.status},
            )
        posted = Payment.objects.filter(
            loan_id=case.loan_id, status=PaymentStatus.POSTED
        ).aggregate(total=Coalesce(Sum("amount"), Decimal(0)))["total"]
        paid_before = round_money(Decimal(posted))  # SQLite sums decimals as doubles
        promise = PromiseToPay.objects.create(
            case=case,
            loan_id=case.loan_id,
            amount=value,
            promised_date=promised_date,
            paid_before=paid_before,
            made_by=actor,
            contact_id=contact_id,
        )
        before_state = case.promise_state
        case.promise_state = PromiseState.PENDING
        case.save(update_fields=["promise_state"])
        audit_record(
            actor=actor,
            action="promise.record",
            target=promise,
            summary=f"case #{case.pk}: ¥{value} by {promised_date}",
            before={"promise_state": before_state},
            after={
                "case": case.pk,
                "amount": value,
                "promised_date": promised_date,
                "paid_before": paid_before,
                "replaced": [old.pk for old in replaced],
            },
        )
    return promise


# --- classification, legal review -------------------------------------------------------------


def case_classify(*, case_id: int, actor: User, classification: str, note: str = "") -> Case:
    """Hardship (cannot pay), wilful (will not pay) or not yet known: drives the strategy.
    The hardship flag follows: set for hardship, else kept only while the borrower has an open
    hardship request."""
    _require(actor, WORK_PERMISSION)
    _choice(classification, CaseClassification.values, _("classification"))
    text = _clean_text(note, field=_("note"), max_length=NOTE_MAX_LENGTH, required=False)
    with transaction.atomic():
        case = _lock_case(case_id)
        _require_open(case)
        if case.classification == classification:
            raise NotAllowed(
                _("The case is already classified as “%(classification)s”.")
                % {"classification": case.get_classification_display()}
            )
        before = {"classification": case.classification, "hardship_flag": case.hardship_flag}
        case.classification = classification
        case.hardship_flag = classification == CaseClassification.HARDSHIP or (
            HardshipRequest.objects.filter(
                borrower_id=case.borrower_id, status__in=OPEN_STATUSES
            ).exists()
        )
        case.save(update_fields=["classification", "hardship_flag"])
        audit_record(
            actor=actor,
            action="case.classify",
            target=case,
            summary=text,
            before=before,
            after={
                "classification": case.classification,
                "hardship_flag": case.hardship_flag,
                "note": text,
            },
        )
    return case


def case_request_legal_review(*, case_id: int, actor: User, reason: str) -> Case:
    """Ask the legal officers to review the case (from PORTAL_LEGAL_REVIEW_DPD days past due);
    they get an alert. A person decides: nothing legal starts here."""
    _require(actor, WORK_PERMISSION)
    text = _clean_text(reason, field=_("reason"), max_length=LEGAL_REASON_MAX_LENGTH)
    with transaction.atomic():
        case = _lock_case(case_id)
        _require_open(case)
        if case.legal_review_requested:
            raise NotAllowed(_("Legal review was already requested for this case."))
        if case.days_past_due < settings.PORTAL_LEGAL_REVIEW_DPD:
            raise NotAllowed(
                _(
                    "Legal review starts at %(days)s days past due; "
                    "this case is %(dpd)s days past due."
                )
                % {"days": settings.PORTAL_LEGAL_REVIEW_DPD, "dpd": case.days_past_due}
            )
        case.legal_review_requested = True
        case.save(update_fields=["legal_review_requested"])
        audit_record(
            actor=actor,
            action="case.legal_review_request",
            target=case,
            summary=text,
            before={"legal_review_requested": False},
            after={"legal_review_requested": True, "reason": text},
        )
        with translation.override(settings.LANGUAGE_CODE):  # stored once, in the site's language
            message = _(
                "%(agent)s asks for a legal review of case #%(case)s (%(days)s days past due, "
                "¥%(amount)s overdue): %(reason)s"
            ) % {
                "agent": actor.get_username(),
                "case": case.pk,
                "days": case.days_past_due,
                "amount": case.overdue_amount,
                "reason": text,
            }
        alert_raise(
            kind=AlertKind.LEGAL_REVIEW_REQUESTED,
            role=LEGAL_OFFICER,
            message=message,
            dedupe_key=f"legal-review-requested:{case.pk}",
            loan=case.loan,
            case=case,
        )
    return case


# --- assignment ---------------------------------------------------------------------------------


def _assignable_agent(agent_id: int) -> User:
    agent = User.objects.filter(pk=agent_id).first()
    if agent is None or not (
        agent.is_active and agent.is_staff and agent.has_perm(WORK_PERMISSION)
    ):
        raise NotAllowed(
            _("Cases can only be assigned to an active staff member who may work cases.")
        )
    return agent


def case_assign(*, case_ids: Sequence[int], agent_id: int, actor: User) -> int:
    """Assign open cases to one agent by hand. Returns how many changed hands."""
    _require(actor, ASSIGN_PERMISSION)
    ids = sorted(set(case_ids))
    if not ids:
        raise DomainError(_("Please choose at least one case."))
    agent = _assignable_agent(agent_id)
    with transaction.atomic():
        cases = list(Case.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(cases) != len(ids):
            raise NotAllowed(_("Some of these cases do not exist."))
        closed = [case.pk for case in cases if case.status != CaseStatus.OPEN]
        if closed:
            raise NotAllowed(
                _("Closed cases cannot be assigned: %(cases)s.")
                % {"cases": ", ".join(f"#{pk}" for pk in closed)}
            )
        moving = [case for case in cases if case.assigned_to_id != agent.pk]
        now = timezone.now()
        Case.objects.filter(pk__in=[case.pk for case in moving]).update(
            assigned_to=agent, assigned_at=now
        )
        audit_record_many(
            [
                audit_event(
                    actor=actor,
                    action="case.assign",
                    target=case,
                    summary=f"→ {agent.get_username()}",
                    before={"assigned_to": case.assigned_to_id},
                    after={"assigned_to": agent.pk, "assigned_at": now},
                )
                for case in moving
            ]
        )
    return len(moving)


def cases_assign_automatically(
    *, actor: User | None, within: QuerySet[Case] | None = None, chunk_size: int = AUTO_ASSIGN_CHUNK
) -> Counter[int]:
    """Give unassigned open cases (all of them, or those of `within`) to the active agents,
    highest priority first, each to the agent with the fewest open cases at that moment.

    Set-based: the agents' open-case counts are read once; each chunk of cases costs a select, a
    locking select (in id order), one UPDATE per agent and one insert of its audit events.
    `actor=None` is a scheduled job. Returns {agent id: cases given}.
    """
    if actor is not None:
        _require(actor, ASSIGN_PERMISSION)
    agents = list(
        User.objects.filter(is_active=True, is_staff=True, groups__name=AGENT)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not agents:
        raise NotAllowed(_("There is no active agent to give cases to."))
    load = dict.fromkeys(agents, 0)
    load.update(
        Case.objects.filter(status=CaseStatus.OPEN, assigned_to_id__in=agents)
        .values("assigned_to_id")
        .annotate(open_cases=Count("pk"))
        .values_list("assigned_to_id", "open_cases")
    )
    heap = [(count, pk) for pk, count in load.items()]
    heapq.heapify(heap)
    given: Counter[int] = Counter()
    candidates = Case.objects.filter(status=CaseStatus.OPEN, assigned_to__isnull=True)
    if within is not None:
        candidates = candidates.filter(pk__in=within.values("pk"))
    while True:
        ids = list(candidates.order_by("-priority", "id").values_list("pk", flat=True)[:chunk_size])
        if not ids:
            break
        with transaction.atomic():
            # Lock in id order (as every other service); what someone else took meanwhile drops out.
            free = set(
                Case.objects.select_for_update()
                .filter(pk__in=ids, status=CaseStatus.OPEN, assigned_to__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            chunk: dict[int, list[int]] = defaultdict(list)
            for pk in ids:  # highest priority first, each to the least loaded agent
                if pk in free:
                    count, agent = heapq.heappop(heap)
                    chunk[agent].append(pk)
                    heapq.heappush(heap, (count + 1, agent))
            now = timezone.now()
            events = []
            for agent, pks in chunk.items():
                Case.objects.filter(pk__in=pks).update(assigned_to_id=agent, assigned_at=now)
                given[agent] += len(pks)
                events += [
                    audit_event(
                        actor=actor,
                        actor_label="auto-assign",
                        action="case.assign_automatically",
                        target=Case(pk=pk),
                        before={"assigned_to": None},
                        after={"assigned_to": agent, "assigned_at": now},
                    )
                    for pk in pks
                ]
            audit_record_many(events)
    return given


# --- identity, call tasks ---------------------------------------------------------------------


@dataclass(frozen=True)
class RevealedIdentity:
    borrower_id: int
    national_id: str
    mobile: str
    emergency_contacts: dict[int, str]  # emergency contact id -> mobile number


def borrower_identity_reveal(*, case_id: int, actor: User) -> RevealedIdentity:
    """The borrower's full national ID and mobile number, and their emergency contacts' numbers,
    for a staff member with `loans.reveal_identity`. Every reveal is an audit event."""
    if not (actor.is_active and actor.is_staff and actor.has_perm(REVEAL_PERMISSION)):
        raise NotAllowed(_("You do not have permission to see full ID and mobile numbers."))
    with transaction.atomic():
        case = Case.objects.select_related("borrower").filter(pk=case_id).first()
        if case is None:
            raise NotAllowed(_("This case does not exist."))
        borrower: Borrower = case.borrower
        contacts = dict(
            EmergencyContact.objects.filter(borrower=borrower)
            .order_by("pk")
            .values_list("pk", "mobile")
        )
        audit_record(
            actor=actor,
            action="borrower.identity_reveal",
            target=borrower,
            summary=f"case #{case.pk}",
            after={"case": case.pk, "shown": ["national_id", "mobile", "emergency_contacts"]},
        )
    return RevealedIdentity(borrower.pk, borrower.national_id, borrower.mobile, contacts)


def call_task_complete(*, task_ids: Sequence[int], actor: User) -> int:
    """Mark open call tasks done. Returns how many were open."""
    _require(actor, WORK_PERMISSION)
    with transaction.atomic():
        tasks = list(
            CallTask.objects.select_for_update().filter(pk__in=sorted(set(task_ids))).order_by("pk")
        )
        todo = [task for task in tasks if task.status == CallTaskStatus.OPEN]
        if not todo:
            raise NotAllowed(_("These calls are already done or cancelled."))
        now = timezone.now()
        CallTask.objects.filter(pk__in=[task.pk for task in todo]).update(
            status=CallTaskStatus.DONE, done_by=actor, done_at=now
        )
        audit_record_many(
            [
                audit_event(
                    actor=actor,
                    action="call_task.complete",
                    target=task,
                    before={"status": CallTaskStatus.OPEN},
                    after={"status": CallTaskStatus.DONE, "done_at": now},
                )
                for task in todo
            ]
        )
    return len(todo)
