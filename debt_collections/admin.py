"""Hardship requests in the admin: the staff's approval queue until the collections screens come.

Everything is read-only here; reviewing, rejecting and making offers call the services.
Evidence is downloaded through a view mounted below the request admin, for staff with
`collections.view_hardshipevidence`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.admin_tools import LongListMixin, ReadOnlyInline
from portal.errors import DomainError

from . import services, views
from .forms import HardshipOfferForm, HardshipRejectForm
from .models import HardshipEvidence, HardshipOffer, HardshipRequest
from .views import signed_in_user


class EvidenceInline(ReadOnlyInline):
    model = HardshipEvidence
    fields = ("download", "content_type", "size", "sha256", "uploaded_at")
    readonly_fields = fields

    @admin.display(description=_("file"))
    def download(self, obj: HardshipEvidence) -> str:
        url = reverse("admin:collections_hardshipevidence_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


class OfferInline(ReadOnlyInline):
    model = HardshipOffer
    fields = (
        "created_at",
        "kind",
        "terms_zh",
        "terms_en",
        "new_monthly_amount",
        "waived_amount",
        "grace_days",
        "expires_at",
        "status",
        "made_by",
        "decided_at",
    )
    readonly_fields = fields


@admin.register(HardshipRequest)
class HardshipRequestAdmin(LongListMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "pk",
        "borrower",
        "loan",
        "reason",
        "status",
        "evidence_count",
        "decided_at",
    ]
    list_display_links = ["created_at", "pk"]
    list_filter = ["status", "reason"]
    search_fields = ["=loan__reference", "borrower__real_name"]
    list_select_related = ["borrower", "loan"]
    inlines = [EvidenceInline, OfferInline]
    actions = ["mark_under_review", "reject"]
    change_form_template = "debt_collections/admin/hardship_change_form.html"
    fields = (
        "public_id",
        "borrower",
        "loan",
        "reason",
        "help_wanted_shown",
        "description",
        "status",
        "created_at",
        "decision_note",
        "decided_by",
        "decided_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[HardshipRequest]:
        return super().get_queryset(request).annotate(evidence_total=Count("evidence"))

    @admin.display(description=_("files"), ordering="evidence_total")
    def evidence_count(self, obj: Any) -> int:
        return int(getattr(obj, "evidence_total", 0))

    @admin.display(description=_("help wanted"))
    def help_wanted_shown(self, obj: HardshipRequest) -> str:
        return ", ".join(obj.help_wanted_labels)

    # Borrowers submit requests; nobody adds, edits or deletes them here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the change page is view-only; decisions have their own pages and actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.DECIDE_PERMISSION)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/offer/",
                wrap(self.offer_view),
                name="collections_hardshiprequest_offer",
            ),
            path(
                "<int:object_id>/reject/",
                wrap(self.reject_view),
                name="collections_hardshiprequest_reject",
            ),
            path(
                "evidence/<int:evidence_id>/",
                wrap(views.staff_evidence_download),
                name="collections_hardshipevidence_download",
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
        extra_context = {**(extra_context or {}), "can_decide": self.has_decide_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Mark under review"), permissions=["decide"])
    def mark_under_review(self, request: HttpRequest, queryset: QuerySet[HardshipRequest]) -> None:
        self._each(
            request,
            queryset,
            lambda pk: services.hardship_request_review(
                request_id=pk, actor=signed_in_user(request)
            ),
        )

    @admin.action(description=_("Reject (without a note)"), permissions=["decide"])
    def reject(self, request: HttpRequest, queryset: QuerySet[HardshipRequest]) -> None:
        self._each(
            request,
            queryset,
            lambda pk: services.hardship_request_reject(
                request_id=pk, actor=signed_in_user(request)
            ),
        )

    def _each(self, request: HttpRequest, queryset: QuerySet[HardshipRequest], change: Any) -> None:
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                change(pk)
                done += 1
            except DomainError as refused:
                self.message_user(request, f"#{pk}: {refused}", messages.WARNING)
        if done:
            changed = ngettext("%(count)s request changed.", "%(count)s requests changed.", done)
            self.message_user(request, changed % {"count": done}, messages.SUCCESS)

    def _decision_page(
        self, request: HttpRequest, object_id: int, form: Any, title: Any
    ) -> HttpResponse:
        hardship = get_object_or_404(
            HardshipRequest.objects.select_related("borrower", "loan"), pk=object_id
        )
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "hardship": hardship,
            "opts": self.model._meta,
            "original": hardship,
        }
        return render(request, "debt_collections/admin/hardship_decision.html", context)

    def offer_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        form = HardshipOfferForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.hardship_offer_make(
                    request_id=object_id,
                    actor=signed_in_user(request),
                    kind=data["kind"],
                    terms_zh=data["terms_zh"],
                    terms_en=data["terms_en"],
                    new_monthly_amount=data["new_monthly_amount"],
                    waived_amount=data["waived_amount"],
                    grace_days=data["grace_days"],
                    expires_at=form.expires_at(),
                )
            except DomainError as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(
                    request,
                    _("The offer is made; the borrower is told by text message."),
                    messages.SUCCESS,
                )
                return redirect("admin:collections_hardshiprequest_change", object_id)
        return self._decision_page(request, object_id, form, _("Make an offer"))

    def reject_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not self.has_decide_permission(request):
            raise PermissionDenied
        form = HardshipRejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.hardship_request_reject(
                    request_id=object_id,
                    actor=signed_in_user(request),
                    note=form.cleaned_data["note"],
                )
            except DomainError as refused:
                form.add_error(None, str(refused))
            else:
                self.message_user(
                    request,
                    _("The request is rejected; the borrower is told by text message."),
                    messages.SUCCESS,
                )
                return redirect("admin:collections_hardshiprequest_change", object_id)
        return self._decision_page(request, object_id, form, _("Reject the request"))


# The other admin modules register when this one is imported (Django imports app.admin only).
from . import (  # noqa: E402
    admin_alerts,  # noqa: F401  (registers alerts and the inbox)
    admin_cases,  # noqa: F401  (case work: queues, case page, calls)
    admin_legal,  # noqa: F401  (legal escalation and write-off: queues, assessments, actions, approvals)
    admin_restructuring,  # noqa: F401  (restructuring: queue, approval page, propose)
    admin_runs,  # noqa: F401  (registers the close-of-business runs)
)
