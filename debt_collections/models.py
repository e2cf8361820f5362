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

from loans.models import Borrower, Loan
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
