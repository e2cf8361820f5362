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
            models.UniqueConstraint(fields=["case"], condition=Q(status="pending"), name="promise_one_pending_per_case"),
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
