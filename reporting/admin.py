"""Credit reporting in the admin: runs, files (download, submission status), records (correct),
the records held back for the notice period, notices, corrections, and the monitoring dashboard.

Everything is read-only here: changes go through `reporting.services` in views of their own.
"""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin, ReadOnlyInline
from portal.calendar import business_today
from portal.errors import DomainError
from portal.models import User

from . import dashboard, services
from .forms import CorrectionForm, DashboardFilterForm, FileStatusForm
from .models import (
    CreditCorrection,
    CreditNotice,
    CreditRecord,
    HeldBackRecord,
    MonitoringDashboard,
    ReportFile,
    ReportFileTransition,
    ReportingRun,
)


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


@admin.register(ReportingRun)
class ReportingRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("month_label", "status", "reporting_date", "started_at", "attempts", "records", "held_back",
                    "has_errors")
    list_filter = ("status",)
    fields = ("month", "reporting_date", "status", "started_at", "finished_at", "heartbeat_at", "attempts",
              "steps_done", "counts_table", "errors")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, run: ReportingRun) -> str:
        return run.month.strftime("%Y-%m")

    @admin.display(description=gettext_lazy("records"))
    def records(self, run: ReportingRun) -> int:
        return int(run.counts.get("records", {}).get("records", 0))

    @admin.display(description=gettext_lazy("held back"))
    def held_back(self, run: ReportingRun) -> int:
        return int(run.counts.get("records", {}).get("held_back", 0))

    @admin.display(description=gettext_lazy("errors"), boolean=True)
    def has_errors(self, run: ReportingRun) -> bool:
        return bool(run.errors)

    @admin.display(description=gettext_lazy("counts per step"))
    def counts_table(self, run: ReportingRun) -> SafeString:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td style='text-align:right'>{}</td></tr>",
            ((step, name, value) for step, counts in run.counts.items() for name, value in sorted(counts.items())),
        )
        return format_html("<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
                           _("step"), _("count"), _("value"), rows)


class TransitionInline(ReadOnlyInline):
    model = ReportFileTransition
    fields = ("at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields


@admin.register(ReportFile)
class ReportFileAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("month_label", "institution_code", "record_count", "late_count", "correction_count",
                    "status", "generated_at", "status_changed_at")
    list_filter = ("status",)
    fields = ("month", "institution_code", "status", "bureau_note", "record_count", "late_count",
              "correction_count", "generated_at", "status_changed_at", "downloads", "csv_sha256",
              "body_sha256_csv", "json_sha256", "body_sha256_json", "status_actions")
    readonly_fields = fields
    inlines = [TransitionInline]

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, report: ReportFile) -> str:
        return report.month.strftime("%Y-%m")

    @admin.display(description=gettext_lazy("download"))
    def downloads(self, report: ReportFile) -> SafeString:
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">JSON</a>',
            reverse("admin:reporting_reportfile_download", args=[report.pk, "csv"]),
            reverse("admin:reporting_reportfile_download", args=[report.pk, "json"]),
        )

    @admin.display(description=gettext_lazy("submission"))
    def status_actions(self, report: ReportFile) -> SafeString:
        if not ReportFile.TRANSITIONS.get(report.status):
            return format_html("{}", "–")
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:reporting_reportfile_status", args=[report.pk]),
                           _("Record submission or the bureau's answer"))

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:file_id>/download/<str:kind>/", wrap(self.download_view), name="reporting_reportfile_download"),
            path("<int:file_id>/status/", wrap(self.status_view), name="reporting_reportfile_status"),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, file_id: int, kind: str) -> HttpResponseBase:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if kind not in ("csv", "json"):
            raise Http404
        report = get_object_or_404(ReportFile, pk=file_id)
        stored = report.csv_file if kind == "csv" else report.json_file
        if not stored:
            raise Http404
        services.report_file_download(file_id=report.pk, kind=kind, actor=_user(request))
        content_type = "text/csv; charset=utf-8" if kind == "csv" else "application/json; charset=utf-8"
        return FileResponse(stored.open("rb"), as_attachment=True, filename=stored.name.rsplit("/", 1)[-1],
                            content_type=content_type)

    def status_view(self, request: HttpRequest, file_id: int) -> HttpResponse:
        user = _user(request)
        if not user.has_perm("reporting.submit_reportfile"):
            raise PermissionDenied
        report = get_object_or_404(ReportFile, pk=file_id)
        allowed = sorted(ReportFile.TRANSITIONS.get(report.status, set()))
        form = FileStatusForm(request.POST or None, allowed=allowed)
        if request.method == "POST" and form.is_valid():
            try:
                services.report_file_transition(file_id=report.pk, to_status=form.cleaned_data["to_status"],
                                                actor=user, note=form.cleaned_data["note"])
            except DomainError as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("The file's submission status is recorded."))
                return redirect("admin:reporting_reportfile_change", report.pk)
        context = {**self.admin_site.each_context(request), "title": _("Submission of %(file)s") % {"file": report},
                   "opts": self.opts, "form": form, "object": report}
        return TemplateResponse(request, "reporting/admin/form.html", context)


class CorrectionInline(ReadOnlyInline):
    model = CreditCorrection
    fields = ("corrected_at", "status", "balance", "principal_balance", "overdue_amount", "overdue_principal",
              "reason", "corrected_by", "file")
    readonly_fields = fields


class MonthFilter(admin.SimpleListFilter):
    """The months that have a run (one small query), not a scan of a million records."""

    title = gettext_lazy("month")
    parameter_name = "month"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        months = ReportingRun.objects.order_by("-month").values_list("month", flat=True)[:36]
        return [(m.isoformat(), m.strftime("%Y-%m")) for m in months]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        try:
            return queryset.filter(month=dt.date.fromisoformat(value))
        except ValueError:
            return queryset.none()


@admin.register(CreditRecord)
class CreditRecordAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("loan", "month_label", "status", "days_past_due", "principal_balance", "overdue_amount",
                    "held_back_until", "file")
    list_filter = (MonthFilter, "status", "segment")
    ordering = ("-id",)  # newest first along the primary key, whatever the table's size
    search_fields = ("=loan__reference",)
    list_select_related = ("loan", "file")
    fields = ("loan", "month", "status", "days_past_due", "worst_days_past_due", "overdue_installments",
              "balance", "principal_balance", "overdue_amount", "overdue_principal", "scheduled_amount",
              "paid_amount", "written_off_amount", "month_end_state", "previous_state", "held_back_until",
              "file", "run", "correct")
    readonly_fields = fields
    inlines = [CorrectionInline]

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, record: CreditRecord) -> str:
        return record.month.strftime("%Y-%m")

    @admin.display(description=gettext_lazy("correction"))
    def correct(self, record: CreditRecord) -> SafeString:
        if record.file_id is None:
            return format_html("{}", _("Not reported yet"))
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:reporting_creditrecord_correct", args=[record.pk]), _("Correct this month"))

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:record_id>/correct/", wrap(self.correct_view), name="reporting_creditrecord_correct"),
            *super().get_urls(),
        ]

    def correct_view(self, request: HttpRequest, record_id: int) -> HttpResponse:
        user = _user(request)
        if not user.has_perm("reporting.correct_record"):
            raise PermissionDenied
        record = get_object_or_404(CreditRecord.objects.select_related("loan"), pk=record_id)
        form = CorrectionForm(request.POST or None, initial=services.current_values(record))
        if request.method == "POST" and form.is_valid():
            try:
                services.credit_record_correct(record_id=record.pk, actor=user, **form.cleaned_data)
            except DomainError as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("The correction is recorded; the next report file carries it."))
                return redirect("admin:reporting_creditrecord_change", record.pk)
        context = {**self.admin_site.each_context(request),
                   "title": _("Correct %(loan)s, %(month)s") % {"loan": record.loan.reference,
                                                                 "month": record.month.strftime("%Y-%m")},
                   "opts": self.opts, "form": form, "object": record}
        return TemplateResponse(request, "reporting/admin/form.html", context)


@admin.register(HeldBackRecord)
class HeldBackRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """Negative records waiting for the borrower's notice period; the next run after the date
    reports them."""

    list_display = ("loan", "borrower", "month_label", "status", "days_past_due", "notified_on", "held_back_until")
    list_select_related = ("loan", "loan__borrower", "loan__borrower__credit_notice")
    search_fields = ("=loan__reference",)
    ordering = ("held_back_until", "loan_id")
    fields = CreditRecordAdmin.fields[:-1]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[HeldBackRecord]:
        return super().get_queryset(request).filter(file__isnull=True, held_back_until__isnull=False)

    @admin.display(description=gettext_lazy("month"), ordering="month")
    def month_label(self, record: CreditRecord) -> str:
        return record.month.strftime("%Y-%m")

    @admin.display(description=gettext_lazy("borrower"))
    def borrower(self, record: CreditRecord) -> str:
        return str(record.loan.borrower)

    @admin.display(description=gettext_lazy("notified on"))
    def notified_on(self, record: CreditRecord) -> dt.date | None:
        notice = getattr(record.loan.borrower, "credit_notice", None)
        return notice.notified_on if notice is not None else None


@admin.register(CreditNotice)
class CreditNoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("borrower", "loan", "notified_on", "reportable_from", "sms", "document_reference")
    list_select_related = ("borrower", "loan", "sms")
    search_fields = ("=loan__reference",)
    fields = ("borrower", "loan", "notified_on", "message", "sms", "document_reference", "created_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("reportable from"))
    def reportable_from(self, notice: CreditNotice) -> dt.date:
        return notice.reportable_from


@admin.register(CreditCorrection)
class CreditCorrectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("record", "status", "corrected_by", "corrected_at", "file")
    list_select_related = ("record", "record__loan", "corrected_by", "file")
    fields = ("record", "status", "balance", "principal_balance", "overdue_amount", "overdue_principal",
              "previous", "reason", "corrected_by", "corrected_at", "file")
    readonly_fields = fields


# --- The monitoring dashboard --------------------------------------------------------------------

DASHBOARD_PERMISSION = "reporting.view_dashboard"


@admin.register(MonitoringDashboard)
class MonitoringDashboardAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The dashboard page stands where the proxy model's list would be."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(DASHBOARD_PERMISSION)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(DASHBOARD_PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.changelist_view), name="reporting_monitoringdashboard_changelist"),
            path("csv/<str:figure>/", wrap(self.csv_view), name="reporting_dashboard_csv"),
        ]

    def _filters(self, request: HttpRequest) -> tuple[DashboardFilterForm, dashboard.Filters, dt.date]:
        today = business_today()
        form = DashboardFilterForm(request.GET or None)
        return form, form.filters(today=today), today

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form, filters, today = self._filters(request)
        figures = dashboard.dashboard_figures(filters=filters, today=today)
        query = request.GET.urlencode()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Monitoring dashboard"),
            "opts": self.opts,
            "form": form,
            "filters": filters,
            "figures": [
                {
                    "figure": f,
                    "chart": f.chart,
                    "script_id": f"chart-data-{f.key}",
                    "csv_url": reverse("admin:reporting_dashboard_csv", args=[f.key]) + (f"?{query}" if query else ""),
                }
                for f in figures
            ],
        }
        return TemplateResponse(request, "reporting/admin/dashboard.html", context)

    def csv_view(self, request: HttpRequest, figure: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        compute = dashboard.FIGURES.get(figure)
        if compute is None:
            raise Http404
        _form, filters, today = self._filters(request)
        columns, rows = compute(filters, today).csv()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"{figure}_{filters.first_month:%Y-%m}_{filters.last_month:%Y-%m}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response.write("\ufeff")  # Excel reads UTF-8 with a byte-order mark
        writer = csv.writer(response)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
        return response
