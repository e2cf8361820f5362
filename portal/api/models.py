"""Tables of the API: personal access tokens and idempotency records.

Imported by `portal.models` so that they belong to the `portal` app (migrations in
portal/migrations).
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.constraints import choices_constraint


class ApiToken(models.Model):
    """A personal access token for an app: only the SHA-256 of the key is stored.

    The key is shown once, when it is made; a person may hold many (one per device), each
    revoked on its own. A revoked token is kept (who used what, when) and never works again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=60)
    # The first characters of the key, to tell tokens apart in lists (never enough to use it).
    prefix = models.CharField(_("key prefix"), max_length=12)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` of one user: the request it was first sent with and, once that
    finished, the response to replay. Claimed by insert (the unique constraint decides who
    runs), completed in the transaction of the work, purged after `expires_at`."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    # SHA-256 of method, path and the canonical JSON body: "the same request".
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=300)
    status = models.CharField(
        _("status"), max_length=12, choices=IdempotencyStatus.choices,
        default=IdempotencyStatus.IN_PROGRESS,
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.JSONField(_("response body"), null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # When the running request claimed (or took over) the key: a claim older than the lease
    # belongs to a request that died, and the next one may take it over.
    locked_at = models.DateTimeField(_("locked at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
            choices_constraint("idempotency_status_valid", "status", IdempotencyStatus),
            models.CheckConstraint(
                condition=Q(status="in_progress")
                | Q(response_status__isnull=False, completed_at__isnull=False),
                name="idempotency_completed_has_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} ({self.status})"
