"""Notices in the admin: the archive (read-only; delivery moves through the service), printing
one notice from a case, batches with a progress page, and the case-queue action that starts a
batch (`print_notices_for_cases`, listed by the Case admin).

Pages (all behind the admin login and the permissions named):
- /admin/notices/notice/generate/?case=<id>&kind=<kind>   print one notice (notices.print_notice)
- /admin/notices/notice/<id>/pdf/                          the archived PDF (notices.view_notice)
- /admin/notices/notice/<id>/delivery/                     record delivery (notices.print_notice)
- /admin/notices/noticebatch/<id>/progress/                progress bar; status.json feeds it
- /admin/notices/noticebatch/<id>/pdf/                     the combined PDF for the post room
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from debt_collections.models import Case
from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin, ReadOnlyInline
from portal.audit import audit_record
from portal.errors import DomainError
from portal.models import User

from . import services
from .forms import NoticeBatchForm, NoticeDeliveryForm, NoticeGenerateForm
from .models import (
    PRINT_PERMISSION,
    BatchStatus,
    DeliveryStatus,
    Notice,
    NoticeBatch,
    NoticeDeliveryEvent,
)
from .views import notice_file_response

BATCH_PREVIEW = 100  # cases listed on the batch confirmation page
EVENT_FIELDS = ("at", "from_status", "to_status", "actor", "note")
# No file field: private files have no URL; "pdf_link" opens the PDF through the audited view.
NOTICE_FIELDS = (
    "reference",
    "kind",
    "borrower",
    "loan",
    "case_shown",
    "language",
    "generated_by",
    "generated_at",
    "batch_shown",
    "pages",
    "size",
    "sha256",
    "template_version",
    "delivery_status",
    "delivery_updated_at",
    "pdf_link",
)


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def _may_print(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm(PRINT_PERMISSION))


class DeliveryEventInline(ReadOnlyInline):
    model = NoticeDeliveryEvent
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS
    ordering = ["id"]


@admin.register(Notice)
class NoticeAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The archive: every notice as generated. Nothing is edited or deleted here; delivery is
    recorded through `notice_delivery_record` (the list's actions, or the form on a notice)."""

    list_display = [
        "reference",
        "generated_at",
        "kind",
        "borrower",
        "loan",
        "case_shown",
        "language",
        "delivery_status",
        "generated_by",
        "batch_shown",
        "pdf_link",
    ]
    list_filter = ["kind", "delivery_status", "language"]
    search_fields = ["=reference", "=loan__reference"]
    list_select_related = ["borrower", "loan", "generated_by"]
    ordering = ["-generated_at", "-id"]
    inlines = [DeliveryEventInline]
    actions = ["mark_printed", "mark_posted", "mark_delivered", "mark_returned"]
    change_form_template = "notices/admin/notice_change_form.html"
    fields = NOTICE_FIELDS
    readonly_fields = NOTICE_FIELDS

    def has_print_permission(self, request: HttpRequest) -> bool:
        return _may_print(request)

    @admin.display(description=gettext_lazy("case"), ordering="case_id")
    def case_shown(self, obj: Notice) -> str:
        if obj.case_id is None:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:collections_case_change", args=[obj.case_id]),
            obj.case_id,
        )

    @admin.display(description=gettext_lazy("batch"), ordering="batch_id")
    def batch_shown(self, obj: Notice) -> str:
        if obj.batch_id is None:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>',
            reverse("admin:notices_noticebatch_progress", args=[obj.batch_id]),
            obj.batch_id,
        )

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj: Notice) -> str:
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("admin:notices_notice_pdf", args=[obj.pk]),
            _("Open PDF"),
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("generate/", wrap(self.generate_view), name="notices_notice_generate"),
            path("<int:notice_id>/pdf/", wrap(self.pdf_view), name="notices_notice_pdf"),
            path(
                "<int:notice_id>/delivery/",
                wrap(self.delivery_view),
                name="notices_notice_delivery",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        notice = (
            Notice.objects.filter(pk=object_id).only("delivery_status").first()
            if object_id.isdigit()
            else None
        )
        context = {**(extra_context or {}), "can_print": _may_print(request)}
        if notice is not None:
            context["delivery_form"] = NoticeDeliveryForm(current=notice.delivery_status)
        return super().change_view(request, object_id, form_url, context)

    # --- printing one notice ---------------------------------------------------------------

    def generate_view(self, request: HttpRequest) -> HttpResponse:
        """GET ?case=<id>&kind=<kind>: the form; POST: generate, then open the PDF."""
        if not _may_print(request):
            raise PermissionDenied
        raw_case = request.POST.get("case") or request.GET.get("case", "")
        if not raw_case.isdigit():
            raise Http404
        case = get_object_or_404(Case.objects.select_related("loan", "borrower"), pk=int(raw_case))
        if request.method == "POST":
            form = NoticeGenerateForm(request.POST)
            if form.is_valid():
                try:
                    notice = services.notice_generate(
                        kind=form.cleaned_data["kind"],
                        case_id=case.pk,
                        actor=_user(request),
                        extra_context=form.extra_context(),
                    )
                except DomainError as refused:
                    form.add_error(None, str(refused))
                else:
                    self.message_user(
                        request,
                        _("Notice %(reference)s generated and archived.")
                        % {"reference": notice.reference},
                        messages.SUCCESS,
                    )
                    return redirect("admin:notices_notice_pdf", notice.pk)
        else:
            form = NoticeGenerateForm(initial={"kind": request.GET.get("kind", "")})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Print a notice"),
            "opts": self.opts,
            "form": form,
            "case": case,
            "recent": list(
                Notice.objects.filter(case=case)
                .select_related("generated_by")
                .order_by("-generated_at", "-id")[:10]
            ),
        }
        return TemplateResponse(request, "notices/admin/generate.html", context)

    def pdf_view(self, request: HttpRequest, notice_id: int) -> FileResponse:
        """The archived PDF, shown in the browser (to print); each opening is audited."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        notice = get_object_or_404(Notice, pk=notice_id)
        response = notice_file_response(notice, as_attachment=False)
        with transaction.atomic():
            audit_record(
                actor=_user(request),
                action="notice.download",
                target=notice,
                summary=notice.reference,
            )
        return response

    # --- delivery --------------------------------------------------------------------------

    def delivery_view(self, request: HttpRequest, notice_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not _may_print(request):
            raise PermissionDenied
        notice = get_object_or_404(Notice, pk=notice_id)
        form = NoticeDeliveryForm(request.POST, current=notice.delivery_status)
        if not form.is_valid():
            self.message_user(
                request, _("Please choose one of the delivery statuses offered."), messages.ERROR
            )
        else:
            try:
                services.notice_delivery_record(
                    notice_id=notice.pk,
                    to_status=form.cleaned_data["to_status"],
                    actor=_user(request),
                    note=form.cleaned_data["note"],
                )
            except DomainError as refused:
                self.message_user(request, str(refused), messages.ERROR)
            else:
                self.message_user(request, _("Delivery recorded."), messages.SUCCESS)
        return redirect("admin:notices_notice_change", notice.pk)

    def _deliver(self, request: HttpRequest, queryset: QuerySet[Notice], to_status: str) -> None:
        done = 0
        for notice_id in queryset.values_list("pk", flat=True):
            try:
                services.notice_delivery_record(
                    notice_id=notice_id, to_status=to_status, actor=_user(request)
                )
                done += 1
            except DomainError as refused:
                self.message_user(request, str(refused), messages.WARNING)
        if done:
            self.message_user(
                request,
                ngettext("%(count)s notice updated.", "%(count)s notices updated.", done)
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Mark as printed"), permissions=["print"])
    def mark_printed(self, request: HttpRequest, queryset: QuerySet[Notice]) -> None:
        self._deliver(request, queryset, DeliveryStatus.PRINTED)

    @admin.action(description=gettext_lazy("Mark as posted"), permissions=["print"])
    def mark_posted(self, request: HttpRequest, queryset: QuerySet[Notice]) -> None:
        self._deliver(request, queryset, DeliveryStatus.POSTED)

    @admin.action(description=gettext_lazy("Mark as delivered"), permissions=["print"])
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet[Notice]) -> None:
        self._deliver(request, queryset, DeliveryStatus.DELIVERED)

    @admin.action(description=gettext_lazy("Mark as returned to sender"), permissions=["print"])
    def mark_returned(self, request: HttpRequest, queryset: QuerySet[Notice]) -> None:
        self._deliver(request, queryset, DeliveryStatus.RETURNED)


def batch_status(batch: NoticeBatch) -> dict[str, Any]:
    """What the progress page shows (and its JSON feed sends)."""
    return {
        "id": batch.pk,
        "status": batch.status,
        "status_label": str(batch.get_status_display()),
        "done": batch.done,
        "total": batch.total,
        "percent": batch.percent,
        "generated": batch.generated,
        "skipped": batch.skipped,
        "skipped_cases": batch.skipped_cases,
        "error": batch.error,
        "download_url": (
            reverse("admin:notices_noticebatch_pdf", args=[batch.pk])
            if batch.status == BatchStatus.DONE and batch.file
            else ""
        ),
    }


@admin.register(NoticeBatch)
class NoticeBatchAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "pk",
        "created_at",
        "kind",
        "requested_by",
        "status",
        "progress",
        "skipped",
        "download",
    ]
    list_display_links = ["pk", "created_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["requested_by"]
    ordering = ["-created_at", "-id"]

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj: NoticeBatch) -> str:
        return format_html(
            '<progress max="{}" value="{}"></progress> {}/{}',
            obj.total,
            obj.done,
            obj.done,
            obj.total,
        )

    @admin.display(description=gettext_lazy("combined PDF"))
    def download(self, obj: NoticeBatch) -> str:
        if obj.status != BatchStatus.DONE or not obj.file:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:notices_noticebatch_pdf", args=[obj.pk]),
            _("Download"),
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:batch_id>/progress/",
                wrap(self.progress_view),
                name="notices_noticebatch_progress",
            ),
            path(
                "<int:batch_id>/status.json",
                wrap(self.status_view),
                name="notices_noticebatch_status",
            ),
            path("<int:batch_id>/pdf/", wrap(self.pdf_view), name="notices_noticebatch_pdf"),
            path("<int:batch_id>/retry/", wrap(self.retry_view), name="notices_noticebatch_retry"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not object_id.isdigit():
            raise Http404
        return redirect("admin:notices_noticebatch_progress", int(object_id))

    def _batch(self, request: HttpRequest, batch_id: int) -> NoticeBatch:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(NoticeBatch.objects.select_related("requested_by"), pk=batch_id)

    def progress_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        batch = self._batch(request, batch_id)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Notice batch #%(id)s") % {"id": batch.pk},
            "opts": self.opts,
            "batch": batch,
            "state": batch_status(batch),
            "can_print": _may_print(request),
        }
        return TemplateResponse(request, "notices/admin/batch_progress.html", context)

    def status_view(self, request: HttpRequest, batch_id: int) -> JsonResponse:
        return JsonResponse(batch_status(self._batch(request, batch_id)))

    def pdf_view(self, request: HttpRequest, batch_id: int) -> FileResponse:
        batch = self._batch(request, batch_id)
        if batch.status != BatchStatus.DONE or not batch.file:
            raise Http404
        try:
            handle = batch.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"notices-batch-{batch.pk}.pdf",
            content_type="application/pdf",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        with transaction.atomic():
            audit_record(
                actor=_user(request),
                action="notice.batch.download",
                target=batch,
                summary=f"#{batch.pk}",
            )
        return response

    def retry_view(self, request: HttpRequest, batch_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not _may_print(request):
            raise PermissionDenied
        try:
            services.notice_batch_retry(batch_id=batch_id, actor=_user(request))
        except DomainError as refused:
            self.message_user(request, str(refused), messages.ERROR)
        return redirect("admin:notices_noticebatch_progress", batch_id)


@admin.action(description=gettext_lazy("Print notices for the selected cases…"))
def print_notices_for_cases(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Case]
) -> HttpResponse | None:
    """An action for the Case admin: choose the kind, then one batch prints every selected case
    into one PDF (progress page). Refused without `notices.print_notice`."""
    if not _may_print(request):
        modeladmin.message_user(
            request, _("You do not have permission to print notices."), messages.ERROR
        )
        return None
    form = NoticeBatchForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        try:
            batch = services.notice_batch_create(
                kind=form.cleaned_data["kind"],
                case_ids=list(queryset.values_list("pk", flat=True)),
                actor=_user(request),
            )
        except DomainError as refused:
            modeladmin.message_user(request, str(refused), messages.ERROR)
            return None
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)s notice is being printed in batch #%(batch)s.",
                "%(count)s notices are being printed in batch #%(batch)s.",
                batch.total,
            )
            % {"count": batch.total, "batch": batch.pk},
            messages.SUCCESS,
        )
        return redirect("admin:notices_noticebatch_progress", batch.pk)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Print notices for the selected cases"),
        "opts": modeladmin.model._meta,
        "form": form,
        "cases": queryset.select_related("loan", "borrower")[:BATCH_PREVIEW],
        "count": queryset.count(),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action": request.POST.get("action", "print_notices_for_cases"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "notices/admin/print_for_cases.html", context)
