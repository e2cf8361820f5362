"""Printed notices to borrowers, archived as generated, with their delivery history.

A notice is never regenerated in place: its PDF, SHA-256, template version and the facts it
printed are written once, and only its delivery status moves afterwards (through
`notices.services.notice_delivery_record`, along `DELIVERY_TRANSITIONS`, one history row each).
Printing the same notice again means generating a second one, with a reference of its own.
"""

from __future__ import annotations

import operator
import uuid
from functools import reduce
from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debt_collections.evidence import PrivateMediaStorage
from loans.models import Borrower, Language, Loan
from portal.append_only import AppendOnlyError, AppendOnlyModel
from portal.constraints import choices_constraint

PRINT_PERMISSION = "notices.print_notice"
VIEW_PERMISSION = "notices.view_notice"


class NoticeKind(models.TextChoices):
    PAYMENT_REMINDER = "payment_reminder", _("Payment reminder letter")
    LAWYER_LETTER = "lawyer_letter", _("Lawyer's letter")
    PRE_LITIGATION = "pre_litigation", _("Pre-litigation notice")
    RESTRUCTURING_AGREEMENT = "restructuring_agreement", _("Restructuring agreement")
    CREDIT_REPORT_NOTICE = "credit_report_notice", _("Advance notice of credit reporting")


# Printed before the number of every notice of the kind
# (催收 CS, 律师 LS, 诉前 SQ, 重组 CZ, 征信 ZX).
REFERENCE_PREFIX: dict[str, str] = {
    NoticeKind.PAYMENT_REMINDER: "CS",
    NoticeKind.LAWYER_LETTER: "LS",
    NoticeKind.PRE_LITIGATION: "SQ",
    NoticeKind.RESTRUCTURING_AGREEMENT: "CZ",
    NoticeKind.CREDIT_REPORT_NOTICE: "ZX",
}

# Kinds that ask for overdue money: refused for a loan with nothing overdue.
DEMAND_KINDS = frozenset(
    {
        NoticeKind.PAYMENT_REMINDER,
        NoticeKind.LAWYER_LETTER,
        NoticeKind.PRE_LITIGATION,
        NoticeKind.CREDIT_REPORT_NOTICE,
    }
)
# Kinds staff may print for many cases at once (a restructuring agreement needs its own terms).
BATCH_KINDS = [kind for kind in NoticeKind if kind != NoticeKind.RESTRUCTURING_AGREEMENT]


class DeliveryStatus(models.TextChoices):
    GENERATED = "generated", _("Generated")
    PRINTED = "printed", _("Printed")
    POSTED = "posted", _("Sent by post")
    DELIVERED = "delivered", _("Delivered")
    RETURNED = "returned", _("Returned to sender")


# The only moves a notice's delivery may make. A returned letter may be posted again (to a
# corrected address); a delivered one is final.
DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
    DeliveryStatus.GENERATED: frozenset({DeliveryStatus.PRINTED}),
    DeliveryStatus.PRINTED: frozenset({DeliveryStatus.POSTED}),
    DeliveryStatus.POSTED: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.RETURNED}),
    DeliveryStatus.RETURNED: frozenset({DeliveryStatus.POSTED}),
}


def _transition_pairs() -> Q:
    """The declared transitions as one database condition."""
    pairs = [
        Q(from_status=str(source), to_status=str(target))
        for source, targets in DELIVERY_TRANSITIONS.items()
        for target in sorted(targets)
    ]
    return reduce(operator.or_, pairs)


def notice_upload_to(instance: Notice, filename: str) -> str:
    """notices/<year>/<month>/<reference>.pdf; the storage never overwrites an existing file."""
    at = instance.generated_at or timezone.now()
    return f"notices/{at:%Y/%m}/{instance.reference}.pdf"


def batch_upload_to(instance: NoticeBatch, filename: str) -> str:
    return f"notices/batches/{instance.public_id}/{filename}"


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Stopped by an error")


class NoticeBatch(models.Model):
    """Many cases' notices printed as one combined PDF for the post room, by a django-q2 task.

    The task claims the batch, works through `case_ids` in chunks (each chunk's notices, their
    audit events and the progress commit together), then joins the chunks' PDFs into `file`.
    """

    public_id = models.UUIDField(_("public id"), unique=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=32, choices=NoticeKind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    case_ids = models.JSONField(_("cases"), default=list)
    total = models.PositiveIntegerField(_("cases to print"))
    done = models.PositiveIntegerField(_("cases done"), default=0)
    skipped = models.PositiveIntegerField(_("cases skipped"), default=0)
    # What each skipped case was skipped for: [{"case": id, "reason": text}].
    skipped_cases = models.JSONField(_("skipped cases"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=BatchStatus.choices, default=BatchStatus.QUEUED
    )
    # The chunks' PDFs already written, in order; joined into `file` at the end.
    parts = models.JSONField(_("parts"), default=list, blank=True, editable=False)
    file = models.FileField(
        _("combined PDF"),
        storage=PrivateMediaStorage(),
        upload_to=batch_upload_to,
        max_length=200,
        blank=True,
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Touched by every chunk: a running batch silent for longer than the stale limit was killed.
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice batch")
        verbose_name_plural = _("notice batches")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("notice_batch_kind_valid", "kind", NoticeKind),
            choices_constraint("notice_batch_status_valid", "status", BatchStatus),
            models.CheckConstraint(condition=Q(total__gte=1), name="notice_batch_total_gte_1"),
            models.CheckConstraint(
                condition=Q(done__lte=F("total")) & Q(skipped__lte=F("done")),
                name="notice_batch_progress_within_total",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done=F("total"), finished_at__isnull=False),
                name="notice_batch_done_is_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} ({self.done}/{self.total})"

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 100

    @property
    def generated(self) -> int:
        return self.done - self.skipped


# Fields of a stored notice that may still change: its delivery, nothing else.
_MUTABLE_NOTICE_FIELDS = frozenset({"delivery_status", "delivery_updated_at"})


class NoticeQuerySet(models.QuerySet["Notice"]):
    def delete(self) -> NoReturn:  # type: ignore[override]
        raise AppendOnlyError("notices are archived: never deleted")

    def update(self, **kwargs: Any) -> int:
        if not set(kwargs) <= _MUTABLE_NOTICE_FIELDS:
            raise AppendOnlyError("a notice's content is never changed; only its delivery moves")
        return super().update(**kwargs)


class Notice(models.Model):
    """One printed notice to one borrower about one loan, kept exactly as generated."""

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = DELIVERY_TRANSITIONS

    reference = models.CharField(_("reference"), max_length=24, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=NoticeKind.choices)
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="notices"
    )
    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="notices"
    )
    case = models.ForeignKey(
        "collections.Case",
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notices",
    )
    language = models.CharField(_("language"), max_length=10, choices=Language.choices)
    file = models.FileField(
        _("PDF"), storage=PrivateMediaStorage(), upload_to=notice_upload_to, max_length=200
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveIntegerField(_("size in bytes"))
    pages = models.PositiveSmallIntegerField(_("pages"))
    # The first 12 hex digits of the SHA-256 of the template sources and stylesheet used.
    template_version = models.CharField(_("template version"), max_length=12)
    # Everything the notice printed (amounts as text, dates ISO), as it was printed.
    facts = models.JSONField(_("facts printed"), encoder=DjangoJSONEncoder)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("generated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    generated_at = models.DateTimeField(_("generated at"), default=timezone.now)
    batch = models.ForeignKey(
        NoticeBatch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notices",
    )
    delivery_status = models.CharField(
        _("delivery"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.GENERATED,
    )
    delivery_updated_at = models.DateTimeField(_("delivery updated at"), null=True, blank=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-generated_at", "-id"]
        permissions = [("print_notice", _("Can print notices and record their delivery"))]
        constraints = [
            choices_constraint("notice_kind_valid", "kind", NoticeKind),
            choices_constraint("notice_language_valid", "language", Language),
            choices_constraint("notice_delivery_status_valid", "delivery_status", DeliveryStatus),
            models.CheckConstraint(
                condition=Q(delivery_status="generated", delivery_updated_at__isnull=True)
                | (~Q(delivery_status="generated") & Q(delivery_updated_at__isnull=False)),
                name="notice_delivery_updated_with_status",
            ),
            models.CheckConstraint(
                condition=Q(pages__gte=1, size__gte=1), name="notice_file_not_empty"
            ),
        ]
        indexes = [
            # The borrower's messages and the case timeline, newest first.
            models.Index(fields=["borrower", "-generated_at"], name="notice_borrower_idx"),
            models.Index(fields=["loan", "-generated_at"], name="notice_loan_idx"),
            models.Index(fields=["case", "-generated_at"], name="notice_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= _MUTABLE_NOTICE_FIELDS:
                raise AppendOnlyError(
                    "a notice's content is never changed; only its delivery moves"
                )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("notices are archived: never deleted")

    @property
    def download_name(self) -> str:
        """A safe file name for downloads: ASCII letters, digits and dashes only."""
        return f"notice-{self.reference}.pdf"


class NoticeDeliveryEvent(AppendOnlyModel):
    """One move of a notice's delivery status, kept for ever."""

    notice = models.ForeignKey(
        Notice, verbose_name=_("notice"), on_delete=models.PROTECT, related_name="delivery_events"
    )
    from_status = models.CharField(_("from"), max_length=10, choices=DeliveryStatus.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=DeliveryStatus.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The postal tracking number when posted (挂号信/EMS), why it came back when returned, …
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        ordering = ["notice_id", "id"]
        constraints = [
            choices_constraint("notice_delivery_from_valid", "from_status", DeliveryStatus),
            choices_constraint("notice_delivery_to_valid", "to_status", DeliveryStatus),
            models.CheckConstraint(
                condition=_transition_pairs(), name="notice_delivery_declared_move"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.from_status} → {self.to_status}"
