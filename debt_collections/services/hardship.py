"""Hardship requests and offers: every state change is one of these functions.

Each runs in one transaction, locks the row it changes (the request first, then its offer:
one order everywhere), checks the move against the model's TRANSITIONS, writes, records the
audit event in the same transaction and queues any text message with a dedupe key. Refusals
raise `portal.errors.NotAllowed` / `DomainError` with a message for the person who asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.core.files.storage import Storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from loans.models import Borrower, Loan, LoanStatus
from portal.audit import audit_record
from portal.errors import DomainError, InvalidAmount, NotAllowed
from portal.models import User
from portal.money import parse_amount
from portal.plain_text import MARKUP_REFUSED, contains_markup
from portal.sms import sms_queue

from ..evidence import CheckedEvidence, evidence_max_files
from ..models import (
    DESCRIPTION_MAX_LENGTH,
    OPEN_STATUSES,
    TERMS_MAX_LENGTH,
    HardshipEvidence,
    HardshipOffer,
    HardshipReason,
    HardshipRequest,
    HardshipStatus,
    HelpKind,
    OfferStatus,
)

# Staff may review, reject and make offers with this permission (the admin checks it too).
DECIDE_PERMISSION = "collections.change_hardshiprequest"
MAX_OFFER_DAYS = 90

# Rendered in the borrower's language when queued.
SUBMITTED_SMS = gettext_lazy(
    "We have received your hardship request (no. %(number)s). We will review it and tell you "
    "the outcome by text message."
)
OFFER_SMS = gettext_lazy(
    "We have made an offer on your hardship request (no. %(number)s). Please sign in to accept "
    "or decline it before %(date)s."
)
REJECTED_SMS = gettext_lazy(
    "Your hardship request (no. %(number)s) was not approved. Sign in to see why, or call us: "
    "we may still be able to help."
)


# --- helpers -----------------------------------------------------------------------------


def _transit(obj: HardshipRequest | HardshipOffer, to: str, refusal: str | None = None) -> str:
    """Move obj to status `to` if its model's TRANSITIONS allow it; return the old status."""
    before = obj.status
    if to not in type(obj).TRANSITIONS.get(before, set()):
        if refusal is None:
            refusal = _("This cannot be done now: the status is “%(status)s”.") % {
                "status": obj.get_status_display()
            }
        raise NotAllowed(refusal)
    obj.status = to
    return before


def _lock_request(request_id: int) -> HardshipRequest:
    try:
        return HardshipRequest.objects.select_for_update().get(pk=request_id)
    except HardshipRequest.DoesNotExist:
        raise NotAllowed(_("This hardship request does not exist.")) from None


def _lock_offer(offer_id: int) -> tuple[HardshipRequest, HardshipOffer]:
    """Lock the offer's request, then the offer (the same order as every other service)."""
    request_id = (
        HardshipOffer.objects.filter(pk=offer_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        raise NotAllowed(_("This offer does not exist."))
    request = _lock_request(request_id)
    offer = HardshipOffer.objects.select_for_update().get(pk=offer_id)
    return request, offer


def _require_staff(actor: User, permission: str = DECIDE_PERMISSION) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise NotAllowed(_("You do not have permission to decide hardship requests."))


def _require_owner(request: HardshipRequest, borrower_id: int) -> None:
    if request.borrower_id != borrower_id:
        raise NotAllowed(_("This hardship request is not yours."))


def _tell_borrower(
    request: HardshipRequest,
    *,
    kind: str,
    text: str | Promise,
    params: dict[str, object],
    dedupe_key: str,
) -> None:
    borrower = Borrower.objects.select_related("user").get(pk=request.borrower_id)
    sms_queue(
        recipient=borrower.user,
        mobile=borrower.mobile,
        language=borrower.preferred_language,
        kind=kind,
        text=text,
        params=params,
        dedupe_key=dedupe_key,
    )


def _clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError(_("Please fill in the %(field)s.") % {"field": field})
    if len(text) > max_length:
        raise DomainError(
            _("The %(field)s can be at most %(max)s characters long.")
            % {"field": field, "max": max_length}
        )
    if "\x00" in text:
        raise DomainError(
            _("The %(field)s contains characters that are not allowed.") % {"field": field}
        )
    if contains_markup(text):
        raise DomainError(MARKUP_REFUSED % {"field": field})
    return text


def _optional_amount(value: Decimal | str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    return parse_amount(value)  # positive, at most two places, not too large; never rounded


# --- borrower ----------------------------------------------------------------------------


def hardship_request_submit(
    *,
    borrower_id: int,
    loan_id: int | None,
    reason: str,
    description: str,
    help_wanted: Sequence[str],
    evidence: Sequence[CheckedEvidence] = (),
    actor: User | None,
) -> HardshipRequest:
    """A borrower asks for hardship help. Refused when they already have an open request for
    the same loan (or, without a loan, an open request without one)."""
    if reason not in HardshipReason.values:
        raise DomainError(_("Please choose the reason from the list."))
    wanted = list(dict.fromkeys(help_wanted))  # keep the borrower's order, drop repeats
    if not wanted:
        raise DomainError(_("Please choose at least one kind of help."))
    if any(value not in HelpKind.values for value in wanted):
        raise DomainError(_("Please choose the kinds of help from the list."))
    text = _clean_text(description, field=_("description"), max_length=DESCRIPTION_MAX_LENGTH)
    if len(evidence) > evidence_max_files():
        raise DomainError(
            ngettext(
                "You can send at most %(count)s file with one request.",
                "You can send at most %(count)s files with one request.",
                evidence_max_files(),
            )
            % {"count": evidence_max_files()}
        )
    stored: list[tuple[Storage, str]] = []
    try:
        with transaction.atomic():
            # Locking the borrower serialises their submissions; the unique constraint backs it up.
            borrower = Borrower.objects.select_for_update().get(pk=borrower_id)
            loan: Loan | None = None
            if loan_id is not None:
                loan = Loan.objects.filter(pk=loan_id, borrower_id=borrower.pk).first()
                if loan is None:
                    raise NotAllowed(_("This loan is not yours."))
                if loan.status != LoanStatus.ACTIVE:
                    raise NotAllowed(
                        _("Loan %(reference)s is closed; hardship help is for open loans.")
                        % {"reference": loan.reference}
                    )
            if HardshipRequest.objects.filter(
                borrower=borrower, loan=loan, status__in=OPEN_STATUSES
            ).exists():
                raise NotAllowed(
                    _(
                        "You already have an open hardship request for this loan. "
                        "Please wait for our answer, or withdraw it first."
                    )
                )
            try:
                with transaction.atomic():
                    request = HardshipRequest.objects.create(
                        borrower=borrower,
                        loan=loan,
                        reason=reason,
                        description=text,
                        help_wanted=wanted,
                    )
            except IntegrityError:
                raise NotAllowed(
                    _(
                        "You already have an open hardship request for this loan. "
                        "Please wait for our answer, or withdraw it first."
                    )
                ) from None
            for checked in evidence:
                item = HardshipEvidence(
                    request=request,
                    original_name=checked.original_name,
                    content_type=checked.content_type,
                    size=checked.size,
                    sha256=checked.sha256,
                )
                checked.upload.seek(0)
                item.file.save(checked.original_name, checked.upload, save=False)
                stored.append((item.file.storage, item.file.name))
                item.save()
            audit_record(
                actor=actor,
                action="hardship.submit",
                target=request,
                summary=f"{request.get_reason_display()} {loan.reference if loan else ''}".strip(),
                after={
                    "status": request.status,
                    "loan": loan.reference if loan else None,
                    "reason": reason,
                    "help_wanted": wanted,
                    "evidence": [
                        {"sha256": c.sha256, "type": c.content_type, "size": c.size}
                        for c in evidence
                    ],
                },
            )
            _tell_borrower(
                request,
                kind="hardship_submitted",
                text=SUBMITTED_SMS,
                params={"number": request.pk},
                dedupe_key=f"hardship-submitted:{request.pk}",
            )
    except BaseException:
        # The rows rolled back; the files written for them must not stay behind.
        for storage, name in stored:
            storage.delete(name)
        raise
    return request


def hardship_request_withdraw(
    *, request_id: int, borrower_id: int, actor: User | None
) -> HardshipRequest:
    """The borrower takes back a request nobody has started to review."""
    with transaction.atomic():
        request = _lock_request(request_id)
        _require_owner(request, borrower_id)
        before = _transit(
            request,
            HardshipStatus.WITHDRAWN,
            _(
                "This request can no longer be withdrawn: it is already being handled. "
                "Please call us if your situation changed."
            ),
        )
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_at"])
        audit_record(
            actor=actor,
            action="hardship.withdraw",
            target=request,
            before={"status": before},
            after={"status": request.status},
        )
    return request


def hardship_offer_accept(*, offer_id: int, borrower_id: int, actor: User | None) -> HardshipOffer:
    """The borrower accepts an offer. Locks and state checks make a double click accept once.

    Applying the accepted offer to the loan's schedule (new plan, waiver, deferral) is the
    restructuring issue's work: here the acceptance is recorded and audited, nothing more.
    """
    return _answer_offer(offer_id=offer_id, borrower_id=borrower_id, actor=actor, accept=True)


def hardship_offer_decline(*, offer_id: int, borrower_id: int, actor: User | None) -> HardshipOffer:
    """The borrower declines an offer; the request is closed as declined."""
    return _answer_offer(offer_id=offer_id, borrower_id=borrower_id, actor=actor, accept=False)


def _answer_offer(
    *, offer_id: int, borrower_id: int, actor: User | None, accept: bool
) -> HardshipOffer:
    expired_on: dt.datetime | None = None
    with transaction.atomic():
        request, offer = _lock_offer(offer_id)
        _require_owner(request, borrower_id)
        now = timezone.now()
        if offer.status == OfferStatus.OFFERED and offer.expires_at <= now:
            # Record the expiry (it commits), then refuse below, outside the transaction.
            _expire(request, offer, now=now, actor=actor)
            expired_on = offer.expires_at
        else:
            already: dict[str, str] = {
                OfferStatus.ACCEPTED: _("You have already accepted this offer."),
                OfferStatus.DECLINED: _("You have already declined this offer."),
                OfferStatus.EXPIRED: _("This offer has expired."),
                OfferStatus.WITHDRAWN: _("This offer was replaced or withdrawn."),
            }
            to_offer, to_request = (
                (OfferStatus.ACCEPTED, HardshipStatus.ACCEPTED)
                if accept
                else (OfferStatus.DECLINED, HardshipStatus.DECLINED)
            )
            before_offer = _transit(offer, to_offer, already.get(offer.status))
            before_request = _transit(request, to_request)
            offer.decided_at = request.decided_at = now
            offer.save(update_fields=["status", "decided_at"])
            request.save(update_fields=["status", "decided_at"])
            audit_record(
                actor=actor,
                action="hardship.offer.accept" if accept else "hardship.offer.decline",
                target=offer,
                summary=f"request #{request.pk}: {offer.get_kind_display()}",
                before={"offer": before_offer, "request": before_request},
                after={"offer": offer.status, "request": request.status},
            )
    if expired_on is not None:
        raise NotAllowed(
            _("This offer expired on %(date)s. We will review your request again and contact you.")
            % {"date": timezone.localtime(expired_on).strftime("%Y-%m-%d %H:%M")}
        )
    return offer


def _expire(
    request: HardshipRequest, offer: HardshipOffer, *, now: dt.datetime, actor: User | None
) -> None:
    """Both rows locked by the caller: the offer expires and the request goes back to review."""
    _transit(offer, OfferStatus.EXPIRED)
    offer.decided_at = now
    offer.save(update_fields=["status", "decided_at"])
    before = request.status
    if request.status == HardshipStatus.OFFER_MADE:
        _transit(request, HardshipStatus.UNDER_REVIEW)
        request.save(update_fields=["status"])
    audit_record(
        actor=actor,
        action="hardship.offer.expire",
        target=offer,
        summary=f"request #{request.pk}",
        before={"offer": OfferStatus.OFFERED, "request": before},
        after={"offer": offer.status, "request": request.status},
        actor_label="system",
    )


def hardship_offers_expire_due(*, now: dt.datetime | None = None) -> int:
    """Periodic: expire every unanswered offer past its time. Returns how many expired."""
    now = now or timezone.now()
    due = list(
        HardshipOffer.objects.filter(status=OfferStatus.OFFERED, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    )
    expired = 0
    for offer_id in due:
        with transaction.atomic():
            request, offer = _lock_offer(offer_id)
            if offer.status == OfferStatus.OFFERED and offer.expires_at <= now:
                _expire(request, offer, now=now, actor=None)
                expired += 1
    return expired


# --- staff -------------------------------------------------------------------------------


def hardship_request_review(*, request_id: int, actor: User) -> HardshipRequest:
    """Staff take a submitted request into review."""
    _require_staff(actor)
    with transaction.atomic():
        request = _lock_request(request_id)
        before = _transit(request, HardshipStatus.UNDER_REVIEW)
        request.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="hardship.review",
            target=request,
            before={"status": before},
            after={"status": request.status},
        )
    return request


def hardship_request_reject(*, request_id: int, actor: User, note: str = "") -> HardshipRequest:
    """Staff turn a request down (from submitted or under review); the borrower is told."""
    _require_staff(actor)
    note = _clean_text(note, field=_("note to the borrower"), max_length=500, required=False)
    with transaction.atomic():
        request = _lock_request(request_id)
        before = _transit(request, HardshipStatus.REJECTED)
        request.decision_note = note
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decision_note", "decided_by", "decided_at"])
        audit_record(
            actor=actor,
            action="hardship.reject",
            target=request,
            summary=note,
            before={"status": before},
            after={"status": request.status, "note": note},
        )
        _tell_borrower(
            request,
            kind="hardship_rejected",
            text=REJECTED_SMS,
            params={"number": request.pk},
            dedupe_key=f"hardship-rejected:{request.pk}",
        )
    return request


def hardship_offer_make(
    *,
    request_id: int,
    actor: User,
    kind: str,
    terms_zh: str,
    terms_en: str = "",
    new_monthly_amount: Decimal | str | None = None,
    waived_amount: Decimal | str | None = None,
    grace_days: int | None = None,
    expires_at: dt.datetime,
) -> HardshipOffer:
    """Staff offer help on an open request. A submitted request is taken into review first;
    an unanswered earlier offer on the same request is withdrawn (replaced)."""
    _require_staff(actor)
    if kind not in HelpKind.values:
        raise DomainError(_("Please choose the kind of help from the list."))
    zh = _clean_text(terms_zh, field=_("terms (Chinese)"), max_length=TERMS_MAX_LENGTH)
    en = _clean_text(
        terms_en, field=_("terms (English)"), max_length=TERMS_MAX_LENGTH, required=False
    )
    try:
        monthly = _optional_amount(new_monthly_amount)
        waived = _optional_amount(waived_amount)
    except InvalidAmount as error:
        raise DomainError(error.message) from None
    if grace_days is not None and not 1 <= grace_days <= 365:
        raise DomainError(_("Grace days must be between 1 and 365."))
    needed = {
        HelpKind.GRACE_PERIOD: (
            grace_days,
            _("A grace period offer needs the number of grace days."),
        ),
        HelpKind.INTEREST_REDUCTION: (
            waived,
            _("An interest reduction offer needs the amount waived."),
        ),
        HelpKind.LONGER_TERM: (monthly, _("A longer-term offer needs the new monthly amount.")),
        HelpKind.INSTALMENT_PLAN: (
            monthly,
            _("An instalment plan offer needs the new monthly amount."),
        ),
    }
    value, missing = needed[HelpKind(kind)]
    if value is None:
        raise DomainError(missing)
    now = timezone.now()
    if expires_at <= now:
        raise DomainError(_("The offer must expire in the future."))
    if expires_at > now + dt.timedelta(days=MAX_OFFER_DAYS):
        raise DomainError(
            _("An offer can stay open for at most %(days)s days.") % {"days": MAX_OFFER_DAYS}
        )
    with transaction.atomic():
        request = _lock_request(request_id)
        if not request.is_open:
            raise NotAllowed(
                _("This request is closed (“%(status)s”); no offer can be made.")
                % {"status": request.get_status_display()}
            )
        before = request.status
        if request.status == HardshipStatus.SUBMITTED:
            _transit(request, HardshipStatus.UNDER_REVIEW)
            audit_record(
                actor=actor,
                action="hardship.review",
                target=request,
                before={"status": before},
                after={"status": request.status},
            )
        replaced = list(
            HardshipOffer.objects.select_for_update().filter(
                request=request, status=OfferStatus.OFFERED
            )
        )
        for old in replaced:
            _transit(old, OfferStatus.WITHDRAWN)
            old.decided_at = now
            old.save(update_fields=["status", "decided_at"])
            audit_record(
                actor=actor,
                action="hardship.offer.withdraw",
                target=old,
                summary=f"request #{request.pk}: replaced by a new offer",
                before={"offer": OfferStatus.OFFERED},
                after={"offer": old.status},
            )
        if request.status != HardshipStatus.OFFER_MADE:
            _transit(request, HardshipStatus.OFFER_MADE)
        request.save(update_fields=["status"])
        offer = HardshipOffer.objects.create(
            request=request,
            kind=kind,
            terms_zh=zh,
            terms_en=en,
            new_monthly_amount=monthly,
            waived_amount=waived,
            grace_days=grace_days,
            expires_at=expires_at,
            made_by=actor,
        )
        audit_record(
            actor=actor,
            action="hardship.offer.make",
            target=offer,
            summary=f"request #{request.pk}: {offer.get_kind_display()}",
            before={"request": before},
            after={
                "request": request.status,
                "kind": kind,
                "new_monthly_amount": monthly,
                "waived_amount": waived,
                "grace_days": grace_days,
                "expires_at": expires_at,
                "replaced": [old.pk for old in replaced],
            },
        )
        _tell_borrower(
            request,
            kind="hardship_offer",
            text=OFFER_SMS,
            params={
                "number": request.pk,
                "date": timezone.localtime(expires_at).strftime("%Y-%m-%d %H:%M"),
            },
            dedupe_key=f"hardship-offer:{offer.pk}",
        )
    return offer
