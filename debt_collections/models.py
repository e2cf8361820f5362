"""Hardship requests (困难帮扶申请): a borrower asks for help, staff review it and make offers.

State changes happen only in `debt_collections.services`; these models hold the tables, the
allowed transitions (as data), the constraints and small derived values.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from loans.models import Borrower, Loan, Stage
from portal.constraints import choices_constraint
from portal.money import MoneyField

from .evidence import PrivateMediaStorage, evidence_upload_to

DESCRIPTION_MAX_LENGTH = 2000
TERMS_MAX_LENGTH = 1000



class HardshipReason(models.TextChoices):
    UNEMPLOYMENT = "unemployment", _("Unemployment")
    ILLNESS = "illness", _("Illness")
    ACCIDENT = "accident", _("Accident")
    NATURAL_DISASTER = "natural_disaster", _("Natural disaster")
    BUSINESS_DIFFICULTY = "business_difficulty", _("Business difficulty")
    OTHER = "other", _("Other")


class HelpKind(models.TextChoices):
    GRACE_PERIOD = "grace_period", _("Grace period")
    INTEREST_REDUCTION = "interest_reduction", _("Interest reduction")
    LONGER_TERM = "longer_term", _("Longer term")
    INSTALMENT_PLAN = "instalment_plan", _("Instalment plan")


class HardshipStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    OFFER_MADE = "offer_made", _("Offer made")
    ACCEPTED = "accepted", _("Offer accepted")
    DECLINED = "declined", _("Offer declined")
    REJECTED = "rejected", _("Not approved")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# A borrower has at most one of these per loan (or one without a loan) at a time.
OPEN_STATUSES = (HardshipStatus.SUBMITTED, HardshipStatus.UNDER_REVIEW, HardshipStatus.OFFER_MADE)


class OfferStatus(models.TextChoices):
    OFFERED = "offered", _("Waiting for your answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class HardshipRequest(models.Model):
    """One borrower's request for hardship help, optionally about one of their loans."""

    # Which status may follow which; `services._transit` refuses anything else.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        HardshipStatus.SUBMITTED: {
            HardshipStatus.UNDER_REVIEW,
            HardshipStatus.REJECTED,
            HardshipStatus.WITHDRAWN,
        },
        HardshipStatus.UNDER_REVIEW: {HardshipStatus.OFFER_MADE, HardshipStatus.REJECTED},
        # Back to review when the offer expires unanswered: staff may make another one.
        HardshipStatus.OFFER_MADE: {
            HardshipStatus.ACCEPTED,
            HardshipStatus.DECLINED,
            HardshipStatus.UNDER_REVIEW,
        },
    }

    public_id = models.UUIDField(_("public id"), unique=True, default=uuid.uuid4, editable=False)
    borrower = models.ForeignKey(
        Borrower,
        verbose_name=_("borrower"),
        on_delete=models.PROTECT,
        related_name="hardship_requests",
    )
    loan = models.ForeignKey(
        Loan,
        verbose_name=_("loan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hardship_requests",
    )
    reason = models.CharField(_("reason"), max_length=24, choices=HardshipReason.choices)
    # Stored exactly as typed; templates escape it (never mark it safe).
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX_LENGTH)
    # A list of HelpKind values, checked by the service (JSON contents have no portable CHECK).
    help_wanted = models.JSONField(_("help wanted"), default=list)
    status = models.CharField(
        _("status"), max_length=16, choices=HardshipStatus.choices, default=HardshipStatus.SUBMITTED
    )
    # Shown to the borrower when the request is not approved.
    decision_note = models.CharField(_("note to the borrower"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("hardship request")
        verbose_name_plural = _("hardship requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("hardship_status_valid", "status", HardshipStatus),
            choices_constraint("hardship_reason_valid", "reason", HardshipReason),
            # One open request per borrower and loan; "no loan" counts as one loan (0).
            models.UniqueConstraint(
                F("borrower"),
                Coalesce(F("loan"), Value(0)),
                condition=Q(status__in=[s.value for s in OPEN_STATUSES]),
                name="hardship_one_open_request_per_loan",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def help_wanted_labels(self) -> list[str]:
        labels = dict(HelpKind.choices)
        return [str(labels.get(value, value)) for value in self.help_wanted]


class HardshipEvidence(models.Model):
    """A file the borrower sent with a request: checked by content, kept outside the static root."""

    request = models.ForeignKey(
        HardshipRequest,
        verbose_name=_("hardship request"),
        on_delete=models.PROTECT,
        related_name="evidence",
    )
    file = models.FileField(
        _("file"), storage=PrivateMediaStorage(), upload_to=evidence_upload_to, max_length=200
    )
    original_name = models.CharField(_("original file name"), max_length=200)
    # Decided from the file's bytes, never from its name or what the browser said.
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("hardship evidence")
        verbose_name_plural = _("hardship evidence")
        ordering = ["request_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/jpeg", "image/png"]),
                name="hardship_evidence_type_valid",
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="hardship_evidence_size_gt_0"),
        ]

    def __str__(self) -> str:
        return self.original_name


class HardshipOffer(models.Model):
    """What staff offer in answer to a request. Applying an accepted offer to the loan's
    schedule is the restructuring issue's work; here it is offered, answered and audited."""

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        OfferStatus.OFFERED: {
            OfferStatus.ACCEPTED,
            OfferStatus.DECLINED,
            OfferStatus.EXPIRED,
            OfferStatus.WITHDRAWN,
        },
    }

    request = models.ForeignKey(
        HardshipRequest,
        verbose_name=_("hardship request"),
        on_delete=models.PROTECT,
        related_name="offers",
    )
    kind = models.CharField(_("kind of help"), max_length=24, choices=HelpKind.choices)
    terms_zh = models.TextField(_("terms (Chinese)"), max_length=TERMS_MAX_LENGTH)
    terms_en = models.TextField(_("terms (English)"), max_length=TERMS_MAX_LENGTH, blank=True)
    new_monthly_amount = MoneyField(_("new monthly amount"), null=True, blank=True, default=None)
    waived_amount = MoneyField(_("amount waived"), null=True, blank=True, default=None)
    grace_days = models.PositiveSmallIntegerField(_("grace days"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    status = models.CharField(
        _("status"), max_length=12, choices=OfferStatus.choices, default=OfferStatus.OFFERED
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("made by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("hardship offer")
        verbose_name_plural = _("hardship offers")
        ordering = ["request_id", "-created_at", "-id"]
        constraints = [
            choices_constraint("hardship_offer_status_valid", "status", OfferStatus),
            choices_constraint("hardship_offer_kind_valid", "kind", HelpKind),
            # At most one offer waiting for an answer per request, whatever races happen.
            models.UniqueConstraint(
                fields=["request"], condition=Q(status="offered"), name="hardship_one_open_offer"
            ),
            models.CheckConstraint(
                condition=Q(new_monthly_amount__isnull=True) | Q(new_monthly_amount__gt=0),
                name="hardship_offer_monthly_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(waived_amount__isnull=True) | Q(waived_amount__gt=0),
                name="hardship_offer_waived_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(grace_days__isnull=True) | Q(grace_days__gte=1, grace_days__lte=365),
                name="hardship_offer_grace_days_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_expired(self) -> bool:
        """Past its time, even before the status says so."""
        return self.status == OfferStatus.EXPIRED or (
            self.status == OfferStatus.OFFERED and self.expires_at <= timezone.now()
        )

    @property
    def can_be_answered(self) -> bool:
        return self.status == OfferStatus.OFFERED and not self.is_expired

    @property
    def terms(self) -> str:
        """The terms in the active language (Chinese when there is no English text)."""
        if (translation.get_language() or "").startswith("en") and self.terms_en:
            return self.terms_en
        return self.terms_zh


# --- Case work ---------------------------------------------------------------------------------


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CaseClassification(models.TextChoices):
    """Drives the strategy: grace and waivers for hardship, legal review for wilful default."""

    UNKNOWN = "unknown", _("Not yet known")
    HARDSHIP = "hardship", _("Hardship (cannot pay)")
    WILFUL = "wilful", _("Wilful (will not pay)")


class PromiseState(models.TextChoices):
    """The latest promise's state, kept on the case so queues can filter on it without a join."""

    NONE = "none", _("No promise")
    PENDING = "pending", _("Promise pending")
    KEPT = "kept", _("Promise kept")
    BROKEN = "broken", _("Promise broken")


class Case(models.Model):
    """A loan's collection case: opened by the close of business when the loan reaches the
    collections stage, worked by an agent, closed when the loan is cured, settled or written off.

    Stage, days past due, overdue amount and priority are copied from the loan by every close of
    business (and by payments), so a queue of 100,000 cases sorts on one indexed table.
    """

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {CaseStatus.OPEN: {CaseStatus.CLOSED}}

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="cases")
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="cases"
    )
    status = models.CharField(_("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices)
    days_past_due = models.PositiveIntegerField(_("days past due"))
    overdue_amount = MoneyField(_("overdue amount"))
    outstanding_amount = MoneyField(_("outstanding balance"))
    broken_promises = models.PositiveSmallIntegerField(_("broken promises"), default=0)
    promise_state = models.CharField(
        _("promise"), max_length=8, choices=PromiseState.choices, default=PromiseState.NONE
    )
    hardship_flag = models.BooleanField(_("hardship flagged"), default=False)
    classification = models.CharField(
        _("classification"), max_length=10, choices=CaseClassification.choices,
        default=CaseClassification.UNKNOWN,
    )
    # Higher first; the formula is in debt_collections.priority and explained on the queue.
    priority = models.DecimalField(_("priority score"), max_digits=12, decimal_places=2, default=0)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="assigned_cases",
    )
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    failed_contacts = models.PositiveSmallIntegerField(_("failed contact attempts"), default=0)
    legal_review_requested = models.BooleanField(_("legal review requested"), default=False)
    # Set by the close of business when the rules make the case a candidate; a person decides.
    legal_review_candidate = models.BooleanField(_("legal review candidate"), default=False)
    write_off_candidate = models.BooleanField(_("write-off candidate"), default=False)
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    close_reason = models.CharField(_("close reason"), max_length=200, blank=True)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Set when a restructuring is applied: until then the borrower is watched on the new plan.
    watch_until = models.DateField(_("watched until"), null=True, blank=True)

    class Meta:
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        ordering = ["-priority", "id"]
        permissions = [
            ("assign_case", _("Can assign cases to agents")),
            ("work_case", _("Can log contacts, notes and promises on cases")),
        ]
        constraints = [
            choices_constraint("case_status_valid", "status", CaseStatus),
            choices_constraint("case_stage_valid", "stage", Stage),
            choices_constraint("case_classification_valid", "classification", CaseClassification),
            choices_constraint("case_promise_state_valid", "promise_state", PromiseState),
            # One open case per loan, whatever retries or races happen.
            models.UniqueConstraint(fields=["loan"], condition=Q(status="open"), name="case_one_open_per_loan"),
            models.CheckConstraint(
                condition=Q(status="open", closed_on__isnull=True) | Q(status="closed", closed_on__isnull=False),
                name="case_closed_on_matches_status",
            ),
        ]
        indexes = [
            # The queues: open cases by priority, per stage, per agent, unassigned.
            models.Index(fields=["status", "-priority", "id"], name="case_queue_idx"),
            models.Index(fields=["status", "stage", "-priority", "id"], name="case_stage_queue_idx"),
            models.Index(fields=["assigned_to", "status", "-priority", "id"], name="case_agent_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.loan_id} ({self.get_stage_display()})"


class ContactChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("Text message")
    LETTER = "letter", _("Letter")
    VISIT = "visit", _("Visit")
    APP_MESSAGE = "app_message", _("App message")


class ContactParty(models.TextChoices):
    BORROWER = "borrower", _("Borrower")
    EMERGENCY_CONTACT = "emergency_contact", _("Emergency contact (third party)")


class ContactOutcome(models.TextChoices):
    PROMISED = "promised", _("Reached: promised to pay")
    REFUSED = "refused", _("Reached: refused to pay")
    HARDSHIP = "hardship", _("Reached: cannot pay (hardship)")
    DISPUTE = "dispute", _("Reached: disputes the debt")
    CALLBACK = "callback", _("Reached: asked to be called back")
    MESSAGE_LEFT = "message_left", _("Third party took a message")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy or switched off")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


# Outcomes in which the person called was not reached: they count towards legal review.
FAILED_OUTCOMES = (ContactOutcome.NO_ANSWER, ContactOutcome.BUSY, ContactOutcome.WRONG_NUMBER)


class OverdueReason(models.TextChoices):
    UNKNOWN = "unknown", _("Not known")
    FORGOT = "forgot", _("Forgot the due date")
    CASH_FLOW = "cash_flow", _("Short of money this month")
    UNEMPLOYMENT = "unemployment", _("Lost income or job")
    ILLNESS = "illness", _("Illness or accident")
    BUSINESS = "business", _("Business difficulty")
    DISPUTE = "dispute", _("Disputes the debt")
    WILFUL = "wilful", _("Able but unwilling to pay")


class EmergencyContact(models.Model):
    """A third party the borrower named; contacted only when the borrower cannot be reached."""

    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="emergency_contacts"
    )
    name = models.CharField(_("name"), max_length=60)
    relationship = models.CharField(_("relationship"), max_length=30)
    mobile = models.CharField(_("mobile number"), max_length=11)

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["borrower_id", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship})"


class ContactLog(models.Model):
    """One contact attempt with a borrower or a third party: kept as logged (never edited)."""

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="contacts")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    channel = models.CharField(_("channel"), max_length=12, choices=ContactChannel.choices)
    party = models.CharField(_("who was contacted"), max_length=20, choices=ContactParty.choices)
    emergency_contact = models.ForeignKey(
        EmergencyContact, verbose_name=_("emergency contact"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    # The number dialled: the daily call limit counts attempts per number.
    number = models.CharField(_("number"), max_length=11, blank=True)
    outcome = models.CharField(_("outcome"), max_length=14, choices=ContactOutcome.choices)
    overdue_reason = models.CharField(
        _("overdue reason"), max_length=14, choices=OverdueReason.choices, default=OverdueReason.UNKNOWN
    )
    # Why a third party was contacted (required for them); the debt is never disclosed.
    third_party_reason = models.CharField(_("reason for contacting a third party"), max_length=300, blank=True)
    note = models.TextField(_("note"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("contact log")
        verbose_name_plural = _("contact logs")
        ordering = ["-at", "-id"]
        constraints = [
            choices_constraint("contact_channel_valid", "channel", ContactChannel),
            choices_constraint("contact_party_valid", "party", ContactParty),
            choices_constraint("contact_outcome_valid", "outcome", ContactOutcome),
            choices_constraint("contact_reason_valid", "overdue_reason", OverdueReason),
            models.CheckConstraint(
                condition=Q(party="borrower") | (Q(emergency_contact__isnull=False) & ~Q(third_party_reason="")),
                name="contact_third_party_has_contact_and_reason",
            ),
        ]
        indexes = [models.Index(fields=["number", "at"]), models.Index(fields=["case", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_channel_display()} {self.get_outcome_display()}"


class CaseNote(models.Model):
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("note"), max_length=2000)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("case note")
        verbose_name_plural = _("case notes")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:60]


class PromiseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")
    CANCELLED = "cancelled", _("Cancelled")


class PromiseToPay(models.Model):
    """A borrower's promise to pay an amount by a date; the close of business marks it kept or
    broken from the payments posted since it was made."""

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        PromiseStatus.PENDING: {PromiseStatus.KEPT, PromiseStatus.BROKEN, PromiseStatus.CANCELLED},
    }

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="promises")
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="promises")
    amount = MoneyField(_("amount promised"), default=None)
    promised_date = models.DateField(_("promised by"))
    # Payments posted to the loan before the promise: only money after it counts towards it.
    paid_before = MoneyField(_("paid before the promise"))
    status = models.CharField(
        _("status"), max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.PENDING
    )
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        ContactLog, verbose_name=_("contact"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    resolved_on = models.DateField(_("resolved on"), null=True, blank=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("promise_status_valid", "status", PromiseStatus),
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_gt_0"),
            # One pending promise per case: a new promise replaces (cancels) the old one.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="promise_one_pending_per_case"
            ),
        ]
        indexes = [
            models.Index(fields=["promised_date"], condition=Q(status="pending"), name="promise_pending_due_idx"),
        ]

    def __str__(self) -> str:
        return f"¥{self.amount} by {self.promised_date} ({self.status})"


class CallTaskStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled (loan no longer overdue)")


class CallTask(models.Model):
    """A customer-service call to make, created by the close of business from the stage rules."""

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="call_tasks")
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT, related_name="call_tasks"
    )
    business_date = models.DateField(_("business date"))
    rule = models.CharField(_("rule"), max_length=40)
    status = models.CharField(
        _("status"), max_length=10, choices=CallTaskStatus.choices, default=CallTaskStatus.OPEN
    )
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call task")
        verbose_name_plural = _("call tasks")
        ordering = ["business_date", "id"]
        constraints = [
            choices_constraint("call_task_status_valid", "status", CallTaskStatus),
            models.UniqueConstraint(fields=["loan", "rule", "business_date"], name="call_task_once_per_rule_and_day"),
        ]
        indexes = [models.Index(fields=["status", "business_date"])]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.rule} {self.business_date}"


# --- Alerts ------------------------------------------------------------------------------------


class AlertKind(models.TextChoices):
    STAGE_ENTERED = "stage_entered", _("Loan entered a stage")
    PROMISE_BROKEN = "promise_broken", _("Promise to pay broken")
    PAYMENT_REVERSED = "payment_reversed", _("Payment reversed")
    LARGE_EXPOSURE = "large_exposure", _("Large exposure overdue")
    CALENDAR_MISSING = "calendar_missing", _("Official calendar data missing")
    CLOSE_OF_BUSINESS_FAILED = "cob_failed", _("Close of business failed")
    LEGAL_REVIEW_REQUESTED = "legal_review", _("Legal review requested")


class Alert(models.Model):
    """Something staff of one role should look at; acknowledged once by anyone of that role."""

    kind = models.CharField(_("kind"), max_length=20, choices=AlertKind.choices)
    role = models.CharField(_("role"), max_length=30)  # a group name from portal.roles
    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    message = models.CharField(_("message"), max_length=300)
    # Same cause, same key: an event read twice raises one alert.
    dedupe_key = models.CharField(_("deduplication key"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("acknowledged by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-id"]
        constraints = [choices_constraint("alert_kind_valid", "kind", AlertKind)]
        indexes = [
            models.Index(fields=["role", "-id"], condition=Q(acknowledged_at__isnull=True), name="alert_inbox_idx"),
        ]

    def __str__(self) -> str:
        return self.message


# --- Close of business -------------------------------------------------------------------------


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")


class CloseOfBusinessRun(models.Model):
    """One business date's close of business: when it ran, what each step did, what went wrong.

    A failed or interrupted run is resumed by running the same date again: finished steps are
    skipped and each step skips the loans it already did.
    """

    business_date = models.DateField(_("business date"), unique=True)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Touched by every committed chunk: a "running" run whose heartbeat is old was killed.
    heartbeat_at = models.DateTimeField(_("last sign of life"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    # {"step name": {"count name": n, ...}, ...}, added to as chunks commit.
    counts = models.JSONField(_("counts per step"), default=dict)
    steps_done = models.JSONField(_("steps done"), default=list)
    errors = models.TextField(_("errors"), blank=True)

    class Meta:
        verbose_name = _("close-of-business run")
        verbose_name_plural = _("close-of-business runs")
        ordering = ["-business_date"]
        constraints = [choices_constraint("cob_run_status_valid", "status", RunStatus)]

    def __str__(self) -> str:
        return f"{self.business_date} ({self.get_status_display()})"


# --- Restructuring -----------------------------------------------------------------------------

from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402

from portal.append_only import AppendOnlyModel  # noqa: E402


class RestructuringKind(models.TextChoices):
    TERM_EXTENSION = "term_extension", _("Term extension")
    INSTALMENT_PLAN = "instalment_plan", _("Instalment plan for the overdue amount")
    WAIVER = "waiver", _("Interest or penalty waiver")
    GRACE_PERIOD = "grace_period", _("Grace period (payment holiday)")


class RestructuringSource(models.TextChoices):
    AGENT = "agent", _("Proposed by an agent")
    BORROWER = "borrower", _("Asked for by the borrower (hardship request)")


class RestructuringStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    OFFERED = "offered", _("Offered to the borrower")
    ACCEPTED = "accepted", _("Accepted by the borrower")
    DECLINED = "declined", _("Declined by the borrower")
    EXPIRED = "expired", _("Offer expired")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    APPLIED = "applied", _("Applied to the loan")


# Proposals that still hold the loan: at most one of these per loan at a time.
RESTRUCTURING_OPEN_STATUSES = (
    RestructuringStatus.PROPOSED,
    RestructuringStatus.APPROVED,
    RestructuringStatus.OFFERED,
    RestructuringStatus.ACCEPTED,
)


class RestructuringProposal(models.Model):
    """A proposed change of a loan's schedule, approved by a second person (maker-checker).

    The plan (current and proposed schedules, totals, the fingerprint of the bills it was
    computed from) is a snapshot made by `loans.restructuring`; applying it goes through
    `loans.services.loan_restructure`. Every status change is a `RestructuringTransition` row.
    """

    # Which status may follow which; `services.restructuring` refuses anything else.
    # approved → offered is for an agent's proposal, approved → applied for the borrower's own.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        RestructuringStatus.PROPOSED: {RestructuringStatus.APPROVED, RestructuringStatus.REJECTED},
        RestructuringStatus.APPROVED: {RestructuringStatus.OFFERED, RestructuringStatus.APPLIED},
        RestructuringStatus.OFFERED: {
            RestructuringStatus.ACCEPTED,
            RestructuringStatus.DECLINED,
            RestructuringStatus.EXPIRED,
            RestructuringStatus.WITHDRAWN,
        },
        RestructuringStatus.ACCEPTED: {RestructuringStatus.APPLIED},
    }

    public_id = models.UUIDField(_("public id"), unique=True, default=uuid.uuid4, editable=False)
    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="restructuring_proposals"
    )
    case = models.ForeignKey(
        Case, verbose_name=_("case"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="restructuring_proposals",
    )
    hardship_request = models.ForeignKey(
        HardshipRequest, verbose_name=_("hardship request"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="restructuring_proposals",
    )
    source = models.CharField(_("source"), max_length=10, choices=RestructuringSource.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=RestructuringKind.choices)
    # What the proposer chose (months, parts, shares...), as loans.restructuring reads it.
    parameters = models.JSONField(_("parameters"), default=dict)
    # The computed plan: both schedules, totals, waivers, the bills' fingerprint (read-only).
    plan = models.JSONField(_("plan"), default=dict)
    fingerprint = models.CharField(_("fingerprint of the bills"), max_length=64)
    as_of = models.DateField(_("computed on (business date)"))
    # Waived and forgone amounts over what the current schedule asks for, 0–1.
    waiver_share = models.DecimalField(_("waiver share"), max_digits=7, decimal_places=6, default=0)
    reason = models.TextField(_("reason"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=10, choices=RestructuringStatus.choices,
        default=RestructuringStatus.PROPOSED,
    )
    needs_second_approval = models.BooleanField(_("needs a second approver"), default=False)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    offered_at = models.DateTimeField(_("offered at"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer expires at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered by the borrower at"), null=True, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    applied_on = models.DateField(_("applied on (business date)"), null=True, blank=True)
    watch_until = models.DateField(_("watched until"), null=True, blank=True)

    class Meta:
        verbose_name = _("restructuring proposal")
        verbose_name_plural = _("restructuring proposals")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_restructuring", _("Can approve or reject restructuring proposals")),
        ]
        constraints = [
            choices_constraint("restructuring_status_valid", "status", RestructuringStatus),
            choices_constraint("restructuring_source_valid", "source", RestructuringSource),
            choices_constraint("restructuring_kind_valid", "kind", RestructuringKind),
            # One proposal in progress per loan, whatever races happen.
            models.UniqueConstraint(
                fields=["loan"],
                condition=Q(status__in=[s.value for s in RESTRUCTURING_OPEN_STATUSES]),
                name="restructuring_one_open_per_loan",
            ),
            # An agent proposes on a case; a borrower's proposal answers their hardship request.
            models.CheckConstraint(
                condition=Q(source="agent", case__isnull=False)
                | Q(source="borrower", hardship_request__isnull=False),
                name="restructuring_source_has_origin",
            ),
            # The borrower asked for it: it is applied on approval, never offered back to them.
            models.CheckConstraint(
                condition=Q(source="agent")
                | ~Q(status__in=["offered", "accepted", "declined", "expired", "withdrawn"]),
                name="restructuring_borrower_source_not_offered",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["offered", "accepted", "declined", "expired", "withdrawn"])
                | Q(offer_expires_at__isnull=False, offered_at__isnull=False),
                name="restructuring_offer_has_dates",
            ),
            # An agent's plan is applied only after the borrower accepted it.
            models.CheckConstraint(
                condition=~Q(status="applied", source="agent") | Q(answered_at__isnull=False),
                name="restructuring_agent_plan_applied_after_acceptance",
            ),
            models.CheckConstraint(
                condition=~Q(status="applied")
                | Q(applied_at__isnull=False, applied_on__isnull=False, watch_until__isnull=False),
                name="restructuring_applied_has_dates",
            ),
            models.CheckConstraint(
                condition=Q(waiver_share__gte=0, waiver_share__lte=1),
                name="restructuring_waiver_share_range",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="restructuring_queue_idx"),
            models.Index(fields=["loan", "applied_on"], name="restructuring_applied_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_offer_open(self) -> bool:
        return (
            self.status == RestructuringStatus.OFFERED
            and self.offer_expires_at is not None
            and self.offer_expires_at > timezone.now()
        )


class ApprovalDecision(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")


class RestructuringApproval(models.Model):
    """One checker's decision on a proposal: at most one per person and proposal."""

    proposal = models.ForeignKey(
        RestructuringProposal, verbose_name=_("proposal"), on_delete=models.PROTECT,
        related_name="approvals",
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approver"), on_delete=models.PROTECT,
        related_name="+",
    )
    decision = models.CharField(_("decision"), max_length=8, choices=ApprovalDecision.choices)
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("restructuring approval")
        verbose_name_plural = _("restructuring approvals")
        ordering = ["proposal_id", "at", "id"]
        constraints = [
            choices_constraint("restructuring_approval_decision_valid", "decision", ApprovalDecision),
            models.UniqueConstraint(
                fields=["proposal", "approver"], name="restructuring_one_decision_per_approver"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.proposal_id} {self.decision} by {self.approver_id}"


class RestructuringTransition(AppendOnlyModel):
    """Every status change of a proposal, kept for ever (never updated or deleted)."""

    proposal = models.ForeignKey(
        RestructuringProposal, verbose_name=_("proposal"), on_delete=models.PROTECT,
        related_name="transitions",
    )
    from_status = models.CharField(
        _("from"), max_length=10, choices=RestructuringStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=10, choices=RestructuringStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    note = models.CharField(_("note"), max_length=1000, blank=True)
    details = models.JSONField(_("details"), default=dict, encoder=DjangoJSONEncoder)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("restructuring transition")
        verbose_name_plural = _("restructuring transitions")
        ordering = ["proposal_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_status__in=["", *RestructuringStatus.values]),
                name="restructuring_transition_from_valid",
            ),
            choices_constraint("restructuring_transition_to_valid", "to_status", RestructuringStatus),
            models.CheckConstraint(
                condition=~Q(from_status=F("to_status")), name="restructuring_transition_moves"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.proposal_id} {self.from_status or '∅'} → {self.to_status}"


# --- Legal and write-off -------------------------------------------------------------------------
# Legal escalation (60+ days, repeated failed contact): an assessment, a decision by someone
# else, then a legal action with its hearings, judgment, enforcement measures and recoveries.
# Write-off (180+ days): a proposal, approved by a supervisor who did not make it; the books are
# loans.services.write_off's. The services are debt_collections.services.legal and .write_off.

from decimal import Decimal  # noqa: E402

from loans.models import Payment, WriteOff  # noqa: E402


class EnforcementDifficulty(models.TextChoices):
    """How hard a judgment would be to enforce; each level discounts the expected recovery by a
    setting (PORTAL_LEGAL_ENFORCEMENT_DISCOUNTS)."""

    LOW = "low", _("Low (assets known and reachable)")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High (assets hidden or out of reach)")


class LegalRecommendation(models.TextChoices):
    GO = "go", _("Go: take legal action")
    NO_GO = "no_go", _("No-go: not worth the cost")
    RESTRUCTURE = "restructure", _("No legal action: the borrower is in hardship, offer a restructuring")


class LegalAssessmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    GO = "go", _("Decided: go")
    NO_GO = "no_go", _("Decided: no-go")


# The classifications an assessment may record: the assessor must have found out which it is.
ASSESSED_CLASSIFICATIONS = (CaseClassification.HARDSHIP, CaseClassification.WILFUL)


class LegalAssessment(models.Model):
    """Is legal action worth it for this case? Recorded by one person, decided by another.

    The recommendation is computed when recorded (`debt_collections.legal.recommend`) and kept
    with the figures it came from, including the settings then in force.
    """

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        LegalAssessmentStatus.PENDING: {LegalAssessmentStatus.GO, LegalAssessmentStatus.NO_GO},
    }

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="legal_assessments")
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="legal_assessments")
    status = models.CharField(
        _("status"), max_length=8, choices=LegalAssessmentStatus.choices, default=LegalAssessmentStatus.PENDING
    )
    win_probability = models.DecimalField(
        _("probability of winning"), max_digits=5, decimal_places=4, help_text=_("0 to 1: 0.7 = 70 %.")
    )
    enforcement_difficulty = models.CharField(
        _("enforcement difficulty"), max_length=8, choices=EnforcementDifficulty.choices
    )
    has_bank_accounts = models.BooleanField(_("bank accounts known"), default=False)
    has_property = models.BooleanField(_("property known"), default=False)
    has_income = models.BooleanField(_("regular income known"), default=False)
    assets_note = models.TextField(_("what is known of the assets"), max_length=2000, blank=True)
    expected_recovery = MoneyField(_("expected recovery"))
    expected_cost = MoneyField(_("expected cost"))
    classification = models.CharField(_("classification"), max_length=10, choices=CaseClassification.choices)
    # Computed when recorded, with the settings of that moment.
    difficulty_discount = models.DecimalField(_("enforcement discount"), max_digits=5, decimal_places=4)
    expected_net_recovery = MoneyField(_("expected net recovery"))
    min_net_recovery = MoneyField(_("minimum net recovery for legal action"))
    recommendation = models.CharField(_("recommendation"), max_length=12, choices=LegalRecommendation.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    # The case as it was when assessed.
    days_past_due = models.PositiveIntegerField(_("days past due"))
    outstanding_amount = MoneyField(_("outstanding balance"))
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("assessed by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("assessed at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("decision comment"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("legal assessment")
        verbose_name_plural = _("legal assessments")
        ordering = ["-created_at", "-id"]
        permissions = [("decide_legal", _("Can decide go or no-go on legal assessments"))]
        constraints = [
            choices_constraint("legal_assessment_status_valid", "status", LegalAssessmentStatus),
            choices_constraint("legal_assessment_difficulty_valid", "enforcement_difficulty", EnforcementDifficulty),
            choices_constraint("legal_assessment_recommendation_valid", "recommendation", LegalRecommendation),
            models.CheckConstraint(
                condition=Q(classification__in=[c.value for c in ASSESSED_CLASSIFICATIONS]),
                name="legal_assessment_classification_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    win_probability__gte=0,
                    win_probability__lte=1,
                    difficulty_discount__gte=0,
                    difficulty_discount__lte=1,
                ),
                name="legal_assessment_fractions_range",
            ),
            models.CheckConstraint(
                condition=Q(expected_recovery__gte=0, expected_cost__gte=0, min_net_recovery__gte=0),
                name="legal_assessment_amounts_gte_0",
            ),
            # One assessment waiting for a decision per case, whatever races happen.
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="legal_one_pending_assessment_per_case"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="legal_assessment_decided_fields_match_status",
            ),
            # Maker-checker, in the database too: nobody decides their own assessment.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("assessed_by")),
                name="legal_assessment_decided_by_another",
            ),
            # Never "go" for a borrower in hardship.
            models.CheckConstraint(
                condition=~Q(status="go", classification="hardship"), name="legal_assessment_no_go_in_hardship"
            ),
        ]
        indexes = [models.Index(fields=["case", "-created_at"], name="legal_assessment_case_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} case #{self.case_id} ({self.get_status_display()})"

    @property
    def assets_labels(self) -> list[str]:
        flags = [
            (self.has_bank_accounts, _("bank accounts")),
            (self.has_property, _("property")),
            (self.has_income, _("income")),
        ]
        return [str(label) for present, label in flags if present]


class LegalActionStatus(models.TextChoices):
    OPEN = "open", _("In progress")
    JUDGED = "judged", _("Judgment given")


class JudgmentOutcome(models.TextChoices):
    WON = "won", _("Won")
    PARTLY_WON = "partly_won", _("Partly won")
    LOST = "lost", _("Lost")
    MEDIATED = "mediated", _("Settled by court mediation")


class LegalAction(models.Model):
    """A lawsuit (诉讼) for one case, opened only after a "go" decision on its assessment."""

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {LegalActionStatus.OPEN: {LegalActionStatus.JUDGED}}

    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="legal_actions")
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="legal_actions")
    assessment = models.OneToOneField(
        LegalAssessment, verbose_name=_("assessment"), on_delete=models.PROTECT, related_name="action"
    )
    status = models.CharField(
        _("status"), max_length=8, choices=LegalActionStatus.choices, default=LegalActionStatus.OPEN
    )
    law_firm = models.CharField(_("law firm"), max_length=120)
    court = models.CharField(_("court"), max_length=120)
    # Given by the court when it accepts the case (立案); filed on the filing date.
    case_number = models.CharField(_("court case number"), max_length=60, blank=True)
    filing_date = models.DateField(_("filing date"), null=True, blank=True)
    judgment_date = models.DateField(_("judgment date"), null=True, blank=True)
    judgment_outcome = models.CharField(_("judgment"), max_length=12, choices=JudgmentOutcome.choices, blank=True)
    judgment_amount = MoneyField(_("amount awarded"), null=True, blank=True, default=None)
    judgment_note = models.TextField(_("judgment note"), max_length=2000, blank=True)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)

    class Meta:
        verbose_name = _("legal action")
        verbose_name_plural = _("legal actions")
        ordering = ["-opened_at", "-id"]
        constraints = [
            choices_constraint("legal_action_status_valid", "status", LegalActionStatus),
            models.CheckConstraint(
                condition=Q(judgment_outcome__in=["", *JudgmentOutcome.values]), name="legal_action_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="open", judgment_date__isnull=True, judgment_outcome="")
                | Q(status="judged", judgment_date__isnull=False, filing_date__isnull=False)
                & ~Q(judgment_outcome="") & ~Q(case_number=""),
                name="legal_action_judgment_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(case_number="") | Q(filing_date__isnull=False), name="legal_action_number_has_filing_date"
            ),
            models.CheckConstraint(
                condition=Q(judgment_amount__isnull=True) | Q(judgment_amount__gte=0),
                name="legal_action_judgment_amount_gte_0",
            ),
            models.UniqueConstraint(
                fields=["court", "case_number"], condition=~Q(case_number=""), name="legal_action_case_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.court} {self.case_number or '—'} (case #{self.case_id})"


class LegalHearing(models.Model):
    action = models.ForeignKey(
        LegalAction, verbose_name=_("legal action"), on_delete=models.PROTECT, related_name="hearings"
    )
    hearing_date = models.DateField(_("hearing date"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("added by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("hearing")
        verbose_name_plural = _("hearings")
        ordering = ["action_id", "hearing_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["action", "hearing_date"], name="legal_hearing_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.hearing_date:%Y-%m-%d}"


class EnforcementKind(models.TextChoices):
    ACCOUNT_FREEZE = "account_freeze", _("Bank account freeze")
    PROPERTY_SEIZURE = "property_seizure", _("Property seizure")
    INCOME_DEDUCTION = "income_deduction", _("Deduction from income")


class EnforcementMeasure(models.Model):
    """A measure the court ordered (财产保全 before judgment, 强制执行 after)."""

    action = models.ForeignKey(
        LegalAction, verbose_name=_("legal action"), on_delete=models.PROTECT, related_name="measures"
    )
    kind = models.CharField(_("measure"), max_length=20, choices=EnforcementKind.choices)
    ordered_on = models.DateField(_("ordered on"))
    amount = MoneyField(_("amount covered"), null=True, blank=True, default=None)
    description = models.CharField(_("description"), max_length=500, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("added by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("enforcement measure")
        verbose_name_plural = _("enforcement measures")
        ordering = ["action_id", "ordered_on", "id"]
        constraints = [
            choices_constraint("enforcement_measure_kind_valid", "kind", EnforcementKind),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="enforcement_measure_amount_gt_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.ordered_on:%Y-%m-%d}"


class CourtRecovery(models.Model):
    """Money the court or its enforcement paid over, posted to the loan as a payment with the
    channel "court" and the idempotency key `court-recovery-<id>` (posted once, however often
    the post is retried). A recovery is recorded first, so money received is never lost even
    when posting it is refused."""

    action = models.ForeignKey(
        LegalAction, verbose_name=_("legal action"), on_delete=models.PROTECT, related_name="recoveries"
    )
    measure = models.ForeignKey(
        EnforcementMeasure, verbose_name=_("from the measure"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="recoveries",
    )
    amount = MoneyField(_("amount"), default=None)
    received_on = models.DateField(_("received on"))
    # The court's or bank's reference of the transfer: the same reference is the same money.
    reference = models.CharField(_("transfer reference"), max_length=100)
    payment = models.OneToOneField(
        Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="court_recovery",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("court recovery")
        verbose_name_plural = _("court recoveries")
        ordering = ["action_id", "received_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="court_recovery_amount_gt_0"),
            models.CheckConstraint(condition=~Q(reference=""), name="court_recovery_reference_given"),
            models.UniqueConstraint(fields=["action", "reference"], name="court_recovery_reference_once"),
            models.CheckConstraint(
                condition=Q(payment__isnull=True, posted_at__isnull=True)
                | Q(payment__isnull=False, posted_at__isnull=False),
                name="court_recovery_posted_fields_match",
            ),
        ]

    def __str__(self) -> str:
        return f"¥{self.amount} {self.received_on:%Y-%m-%d} ({self.reference})"

    @property
    def idempotency_key(self) -> str:
        return f"court-recovery-{self.pk}"


class WriteOffStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for approval")
    APPROVED = "approved", _("Approved: written off")
    REJECTED = "rejected", _("Rejected")


class WriteOffProposal(models.Model):
    """A proposal to write a loan off to bad debt (呆账), decided by a supervisor who did not make it.

    The amounts are a snapshot of what the write-off would book on the day it was proposed
    (`loans.services.write_off_quote`); approval books what is owed on the day of approval.
    """

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        WriteOffStatus.PROPOSED: {WriteOffStatus.APPROVED, WriteOffStatus.REJECTED},
    }

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="write_off_proposals")
    case = models.ForeignKey(Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="write_off_proposals")
    reason = models.TextField(_("reason"), max_length=2000)
    as_of = models.DateField(_("amounts as of"))
    days_past_due = models.PositiveIntegerField(_("days past due"))
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest"))
    penalty = MoneyField(_("penalty interest"))
    fees = MoneyField(_("fees"))
    later_interest_cancelled = MoneyField(_("interest of later periods cancelled"))
    status = models.CharField(
        _("status"), max_length=10, choices=WriteOffStatus.choices, default=WriteOffStatus.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    write_off = models.OneToOneField(
        WriteOff, verbose_name=_("write-off"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="proposal",
    )

    class Meta:
        verbose_name = _("write-off proposal")
        verbose_name_plural = _("write-off proposals")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_write_off", _("Can approve or reject write-off proposals"))]
        constraints = [
            choices_constraint("write_off_proposal_status_valid", "status", WriteOffStatus),
            # At most one proposal waiting per loan, and one approved: whatever races happen.
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status="proposed"), name="write_off_one_open_proposal_per_loan"
            ),
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status="approved"), name="write_off_one_approved_proposal_per_loan"
            ),
            models.CheckConstraint(
                condition=Q(status="proposed", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(status="proposed") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="write_off_proposal_decided_fields_match_status",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="write_off_proposal_decided_by_another",
            ),
            models.CheckConstraint(
                condition=Q(status="approved", write_off__isnull=False)
                | (~Q(status="approved") & Q(write_off__isnull=True)),
                name="write_off_proposal_approved_has_write_off",
            ),
            models.CheckConstraint(
                condition=Q(
                    principal__gte=0, interest__gte=0, penalty__gte=0, fees__gte=0, later_interest_cancelled__gte=0
                ),
                name="write_off_proposal_amounts_gte_0",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="write_off_proposal_queue_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.loan} ({self.get_status_display()})"

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees


class WriteOffTransition(AppendOnlyModel):
    """Every status change of a write-off proposal, kept for ever (never updated or deleted)."""

    proposal = models.ForeignKey(
        WriteOffProposal, verbose_name=_("proposal"), on_delete=models.PROTECT, related_name="transitions"
    )
    from_status = models.CharField(_("from"), max_length=10, choices=WriteOffStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=10, choices=WriteOffStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=2000, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("write-off proposal transition")
        verbose_name_plural = _("write-off proposal transitions")
        ordering = ["proposal_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_status__in=["", *WriteOffStatus.values]), name="write_off_transition_from_valid"
            ),
            choices_constraint("write_off_transition_to_valid", "to_status", WriteOffStatus),
            models.CheckConstraint(condition=~Q(from_status=F("to_status")), name="write_off_transition_moves"),
        ]

    def __str__(self) -> str:
        return f"#{self.proposal_id} {self.from_status or '∅'} → {self.to_status}"
