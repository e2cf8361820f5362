"""Credit-bureau reporting: monthly runs, one record per loan and month, the files sent to the
bureau, corrections, and the advance notices that must precede a borrower's first negative status.

State changes happen only in `reporting.services`; these models hold the tables, the allowed
transitions (as data), the constraints and small derived values. docs/credit-reporting.md
describes the statuses and the file format field by field.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from debt_collections.evidence import PrivateMediaStorage
from loans.models import Borrower, Loan, Product, Segment, Stage
from portal.append_only import AppendOnlyModel
from portal.constraints import choices_constraint
from portal.models import SmsMessage
from portal.money import MoneyField


class CreditStatus(models.TextChoices):
    """The month's repayment status in the central bank's 24-month repayment record convention."""

    ON_TIME = "N", _("N · on time")
    OVERDUE_1 = "1", _("1 · 1–30 days overdue")
    OVERDUE_2 = "2", _("2 · 31–60 days overdue")
    OVERDUE_3 = "3", _("3 · 61–90 days overdue")
    OVERDUE_4 = "4", _("4 · 91–120 days overdue")
    OVERDUE_5 = "5", _("5 · 121–150 days overdue")
    OVERDUE_6 = "6", _("6 · 151–180 days overdue")
    OVERDUE_7 = "7", _("7 · more than 180 days overdue")
    SETTLED = "C", _("C · settled (repaid in full)")
    ENDED_OTHERWISE = "G", _("G · ended other than by full repayment")
    BAD_DEBT = "B", _("B · bad debt (written off)")


# Statuses that harm the borrower's credit: the first one needs an advance notice (art. 15).
NEGATIVE_STATUSES = frozenset(
    {"1", "2", "3", "4", "5", "6", "7", CreditStatus.BAD_DEBT.value}
)


class MonthEndState(models.TextChoices):
    """Where a loan stood at the month end, for roll rates: its stage, or how it ended."""

    CURRENT = Stage.CURRENT.value, Stage.CURRENT.label
    REMINDER = Stage.REMINDER.value, Stage.REMINDER.label
    COLLECTIONS = Stage.COLLECTIONS.value, Stage.COLLECTIONS.label
    NON_PERFORMING = Stage.NON_PERFORMING.value, Stage.NON_PERFORMING.label
    WRITE_OFF_CANDIDATE = Stage.WRITE_OFF_CANDIDATE.value, Stage.WRITE_OFF_CANDIDATE.label
    CLOSED = "closed", _("Closed (settled or ended)")
    WRITTEN_OFF = "written_off", _("Written off (bad debt)")


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed (resumed by the next start)")


class ReportingRun(models.Model):
    """One month's reporting run. Resumed by running the same month again: finished steps are
    skipped and the records step skips loans that already have their record for the month."""

    month = models.DateField(_("month"), unique=True, help_text=_("The first day of the month reported."))
    # Fixed when the run is first started: notice periods are counted up to this date, so a run
    # resumed a day later holds back exactly what the first attempt would have.
    reporting_date = models.DateField(_("reporting date"))
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    counts = models.JSONField(_("counts per step"), default=dict)
    steps_done = models.JSONField(_("steps done"), default=list)
    errors = models.TextField(_("errors"), blank=True)

    class Meta:
        verbose_name = _("credit reporting run")
        verbose_name_plural = _("credit reporting runs")
        ordering = ["-month"]
        constraints = [
            choices_constraint("reporting_run_status_valid", "status", RunStatus),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} ({self.get_status_display()})"

    @property
    def month_end(self) -> dt.date:
        return month_end(self.month)


def month_end(month: dt.date) -> dt.date:
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


class FileStatus(models.TextChoices):
    GENERATED = "generated", _("Generated")
    SUBMITTED = "submitted", _("Submitted to the bureau")
    ACCEPTED = "accepted", _("Accepted by the bureau")
    REJECTED = "rejected", _("Rejected by the bureau")


class ReportFile(models.Model):
    """The file pair (CSV and JSON, same records) a run produced, and its submission status."""

    # Which status may follow which; `services.report_file_transition` refuses anything else.
    # A rejected file is corrected outside and submitted again.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        FileStatus.GENERATED: {FileStatus.SUBMITTED},
        FileStatus.SUBMITTED: {FileStatus.ACCEPTED, FileStatus.REJECTED},
        FileStatus.REJECTED: {FileStatus.SUBMITTED},
    }

    run = models.OneToOneField(
        ReportingRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="file"
    )
    month = models.DateField(_("month"))
    institution_code = models.CharField(_("institution code"), max_length=40)
    csv_file = models.FileField(_("CSV file"), storage=PrivateMediaStorage(), max_length=200, blank=True)
    json_file = models.FileField(_("JSON file"), storage=PrivateMediaStorage(), max_length=200, blank=True)
    # SHA-256 of each whole file as stored; the headers inside carry the checksum of the body.
    csv_sha256 = models.CharField(_("CSV SHA-256"), max_length=64, blank=True)
    json_sha256 = models.CharField(_("JSON SHA-256"), max_length=64, blank=True)
    body_sha256_csv = models.CharField(_("CSV body SHA-256 (in its header)"), max_length=64, blank=True)
    body_sha256_json = models.CharField(_("JSON records SHA-256 (in its header)"), max_length=64, blank=True)
    record_count = models.PositiveIntegerField(_("records"), default=0)
    late_count = models.PositiveIntegerField(_("records of earlier months (held back before)"), default=0)
    correction_count = models.PositiveIntegerField(_("corrections"), default=0)
    status = models.CharField(
        _("submission status"), max_length=10, choices=FileStatus.choices, default=FileStatus.GENERATED
    )
    generated_at = models.DateTimeField(_("generated at"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    bureau_note = models.CharField(_("bureau's reference or answer"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("credit report file")
        verbose_name_plural = _("credit report files")
        ordering = ["-month", "-id"]
        permissions = [("submit_reportfile", _("Can record a report file's submission and the bureau's answer"))]
        constraints = [choices_constraint("report_file_status_valid", "status", FileStatus)]

    def __str__(self) -> str:
        return f"{self.institution_code} {self.month:%Y-%m} ({self.get_status_display()})"


class ReportFileTransition(AppendOnlyModel):
    """Every submission-status change of a file, kept for ever."""

    file = models.ForeignKey(
        ReportFile, verbose_name=_("file"), on_delete=models.PROTECT, related_name="transitions"
    )
    from_status = models.CharField(_("from"), max_length=10, choices=FileStatus.choices)
    to_status = models.CharField(_("to"), max_length=10, choices=FileStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("report file status change")
        verbose_name_plural = _("report file status changes")
        ordering = ["file_id", "id"]
        constraints = [
            choices_constraint("report_file_transition_from_valid", "from_status", FileStatus),
            choices_constraint("report_file_transition_to_valid", "to_status", FileStatus),
            models.CheckConstraint(condition=~Q(from_status=F("to_status")), name="report_file_transition_moves"),
        ]

    def __str__(self) -> str:
        return f"{self.file_id} {self.from_status} → {self.to_status}"


class CreditNotice(models.Model):
    """The advance notice of negative credit reporting (Credit Reporting Industry Regulation
    art. 15): one per borrower, before their first negative status is reported."""

    borrower = models.OneToOneField(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="credit_notice"
    )
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="+")
    notified_on = models.DateField(_("notified on"))
    # The portal message: what the borrower reads on their loan page, in their language.
    message = models.TextField(_("message"))
    sms = models.ForeignKey(
        SmsMessage, verbose_name=_("text message"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # The printed notice from the notices app, when there is one (its reference).
    document_reference = models.CharField(_("notice document"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("credit reporting notice")
        verbose_name_plural = _("credit reporting notices")
        ordering = ["-notified_on", "-id"]

    def __str__(self) -> str:
        return f"{self.borrower_id} {self.notified_on}"

    @property
    def reportable_from(self) -> dt.date:
        return self.notified_on + dt.timedelta(days=settings.PORTAL_CREDIT_NOTICE_DAYS)


class CreditRecord(models.Model):
    """One loan's month as computed at the month end: what is (or will be) reported for it.

    Never changed after it is written, except for `file` (set when a file carries it): a
    mistake is put right by a `CreditCorrection`, reported in the next file.
    """

    run = models.ForeignKey(ReportingRun, verbose_name=_("run"), on_delete=models.PROTECT, related_name="records")
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="credit_records")
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=1, choices=CreditStatus.choices)
    days_past_due = models.PositiveIntegerField(_("days past due at month end"))
    worst_days_past_due = models.PositiveIntegerField(_("most days past due in the month"))
    overdue_installments = models.PositiveSmallIntegerField(_("bills overdue at month end"))
    balance = MoneyField(_("balance (principal + overdue interest, penalty, fees)"))
    principal_balance = MoneyField(_("principal balance"))
    overdue_amount = MoneyField(_("overdue amount"))
    overdue_principal = MoneyField(_("overdue principal"))
    scheduled_amount = MoneyField(_("due in the month"))
    paid_amount = MoneyField(_("paid in the month"))
    written_off_amount = MoneyField(_("written off"))
    # A snapshot for the monitoring dashboard: stage (or ending) at this and the previous month end.
    month_end_state = models.CharField(_("state at month end"), max_length=24, choices=MonthEndState.choices)
    previous_state = models.CharField(
        _("state at the previous month end"), max_length=24, choices=MonthEndState.choices, blank=True
    )
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)
    # Set when a negative status waits for the borrower's notice period: the first date it may go.
    held_back_until = models.DateField(_("held back until"), null=True, blank=True)
    file = models.ForeignKey(
        ReportFile, verbose_name=_("reported in"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="records",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("credit record")
        verbose_name_plural = _("credit records")
        ordering = ["-month", "loan_id"]
        permissions = [
            ("correct_record", _("Can correct a reported credit record")),
            ("view_dashboard", _("Can see the monitoring dashboard")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["loan", "month"], name="credit_record_one_per_loan_and_month"),
            choices_constraint("credit_record_status_valid", "status", CreditStatus),
            choices_constraint("credit_record_state_valid", "month_end_state", MonthEndState),
            models.CheckConstraint(
                condition=Q(previous_state__in=["", *MonthEndState.values]), name="credit_record_previous_state_valid"
            ),
            choices_constraint("credit_record_segment_valid", "segment", Segment),
            models.CheckConstraint(
                condition=Q(balance__gte=0, principal_balance__gte=0, overdue_amount__gte=0,
                            overdue_principal__gte=0, scheduled_amount__gte=0, written_off_amount__gte=0),
                name="credit_record_amounts_gte_0",
            ),
        ]
        indexes = [
            # Roll rates: one month's snapshot grouped by state.
            models.Index(fields=["month", "previous_state", "month_end_state"], name="credit_record_roll_idx"),
            # What the next file takes: not yet reported.
            models.Index(fields=["month"], condition=Q(file__isnull=True), name="credit_record_unreported_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.month:%Y-%m} {self.status}"

    @property
    def is_negative(self) -> bool:
        return self.status in NEGATIVE_STATUSES

    @property
    def is_held_back(self) -> bool:
        return self.file_id is None and self.held_back_until is not None


class HeldBackRecord(CreditRecord):
    """Negative records waiting for the borrower's notice period (the admin's "held back" list)."""

    class Meta:
        proxy = True
        verbose_name = _("record held back (notice period)")
        verbose_name_plural = _("records held back (notice period)")
        default_permissions = ("view",)


class CreditCorrection(models.Model):
    """A staff correction of a reported month, reported as a correction record in the next file."""

    record = models.ForeignKey(
        CreditRecord, verbose_name=_("record"), on_delete=models.PROTECT, related_name="corrections"
    )
    status = models.CharField(_("corrected status"), max_length=1, choices=CreditStatus.choices)
    balance = MoneyField(_("corrected balance"))
    principal_balance = MoneyField(_("corrected principal balance"))
    overdue_amount = MoneyField(_("corrected overdue amount"))
    overdue_principal = MoneyField(_("corrected overdue principal"))
    # What was reported before this correction (the record, or the previous correction).
    previous = models.JSONField(_("values before"), default=dict)
    reason = models.TextField(_("reason"), max_length=1000)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("corrected by"), on_delete=models.PROTECT, related_name="+"
    )
    corrected_at = models.DateTimeField(_("corrected at"), default=timezone.now)
    file = models.ForeignKey(
        ReportFile, verbose_name=_("reported in"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="corrections",
    )

    class Meta:
        verbose_name = _("credit record correction")
        verbose_name_plural = _("credit record corrections")
        ordering = ["-corrected_at", "-id"]
        constraints = [
            choices_constraint("credit_correction_status_valid", "status", CreditStatus),
            models.CheckConstraint(
                condition=Q(balance__gte=0, principal_balance__gte=0, overdue_amount__gte=0, overdue_principal__gte=0),
                name="credit_correction_amounts_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record} → {self.status}"


class MonitoringDashboard(ReportingRun):
    """Not a table of its own: the admin's entry for the supervisors' monitoring dashboard."""

    class Meta:
        proxy = True
        verbose_name = _("monitoring dashboard")
        verbose_name_plural = _("monitoring dashboard")
        default_permissions = ()
