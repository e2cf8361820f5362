from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.append_only import AppendOnlyModel
from portal.constraints import choices_constraint


class User(AbstractUser):
    """Borrowers sign in with their mobile number as username; staff with a staff username."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [
            # The few staff among a million borrowers' accounts: lists of agents (the case
            # page's assignment choices) read this small index, not the whole table.
            models.Index(fields=["username"], condition=models.Q(is_staff=True), name="user_staff_idx"),
        ]


class AuditEvent(AppendOnlyModel):
    """Who did what to which record, when, with the state before and after.

    Written by services in the same transaction as the change it describes.
    """

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # "system" or the job's name when no person acted (close of business, a task).
    actor_label = models.CharField(_("actor label"), max_length=150)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        permissions = [("export_auditevent", _("Can export audit events"))]
        indexes = [models.Index(fields=["object_type", "object_id", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_type}#{self.object_id}"


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SmsMessage(models.Model):
    """The SMS outbox: every text message to a borrower, rendered in their language.

    Rows are written in the transaction of the change that causes them and sent after commit
    by a task that claims the row first, so a message is never lost and never sent twice.
    """

    # Which transitions the sender may make; anything else is a bug.
    TRANSITIONS: dict[str, set[str]] = {
        SmsStatus.QUEUED: {SmsStatus.SENDING},
        SmsStatus.SENDING: {SmsStatus.SENT, SmsStatus.QUEUED, SmsStatus.FAILED},
    }

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.PROTECT,
        related_name="sms_messages",
    )
    mobile = models.CharField(_("mobile number"), max_length=11)
    language = models.CharField(_("language"), max_length=10)
    kind = models.CharField(_("kind"), max_length=40)
    body = models.TextField(_("text"))
    # Same cause, same key: the outbox refuses a second row for it (a retried job sends nothing twice).
    dedupe_key = models.CharField(_("deduplication key"), max_length=120, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SmsStatus.choices, default=SmsStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    provider_id = models.CharField(_("provider id"), max_length=100, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("text message")
        verbose_name_plural = _("text messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("sms_status_valid", "status", SmsStatus),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="queued"), name="sms_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.mobile} ({self.status})"


class CalendarOverride(models.Model):
    """A staff correction of the official calendar: a holiday or a swapped working day that the
    `chinesecalendar` package does not know yet (years not announced when it was released)."""

    day = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, help_text=_("e.g. the State Council notice"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'working' if self.is_working_day else 'holiday'}"


# --- API (issue 7): tokens and idempotency records live in portal/api/models.py -----------------

from portal.api.models import ApiToken, IdempotencyRecord, IdempotencyStatus  # noqa: E402,F401
