"""Alerts in the admin: the inbox per role, its JSON feed, acknowledging, and the read-only list.

The inbox (`admin:collections_alert_inbox`) lists the unacknowledged alerts of the signed-in
person's roles, newest first, in a fixed number of queries; each row has an acknowledge button
(a POST form). static/js/alert-inbox.js asks the feed (`admin:collections_alert_feed`) every
PORTAL_ALERT_POLL_SECONDS for alerts newer than the newest one shown, prepends them and updates
the count badge in the header. The full history is the ordinary change list, read-only.

Imported at the end of `debt_collections.admin`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin
from portal.errors import DomainError
from portal.roles import AUDITOR

from .models import Alert, AlertKind
from .services.alerts import alert_acknowledge, alert_roles, role_label
from .views import signed_in_user

INBOX_LIMIT = 100  # newest first; older unacknowledged alerts are in the full list
FEED_LIMIT = 50


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # an admin not registered in this deployment
        return ""


def alert_row(alert: Alert) -> dict[str, Any]:
    """What the inbox shows of one alert (the page's rows and the feed's JSON alike)."""
    target_url = ""
    if alert.kind == AlertKind.CALENDAR_MISSING:
        target_url = _url("admin:portal_calendaroverride_changelist")
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "kind_label": str(alert.get_kind_display()),
        "role": alert.role,
        "role_label": role_label(alert.role),
        "message": alert.message,
        "created_at": timezone.localtime(alert.created_at).strftime("%Y-%m-%d %H:%M"),
        "loan": alert.loan.reference if alert.loan_id and alert.loan else "",
        "loan_url": _url("admin:loans_loan_change", alert.loan_id) if alert.loan_id else "",
        "case": f"#{alert.case_id}" if alert.case_id else "",
        "case_url": _url("admin:collections_case_change", alert.case_id) if alert.case_id else "",
        "target_url": target_url,
        "acknowledge_url": reverse("admin:collections_alert_acknowledge", args=[alert.pk]),
    }


def unacknowledged(roles: list[str]) -> QuerySet[Alert]:
    # Served by the partial index alert_inbox_idx (role, -id) where not acknowledged.
    return Alert.objects.filter(role__in=roles, acknowledged_at__isnull=True)


class AcknowledgedFilter(admin.SimpleListFilter):
    title = gettext_lazy("acknowledged")
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", _("No")), ("yes", _("Yes"))]  # Django's own translations

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every alert of the person's roles (auditors and superusers: all), read-only; the inbox
    and acknowledging are views of their own."""

    list_display = ["created_at", "kind", "role", "message", "loan", "case", "acknowledged_by", "acknowledged_at"]
    list_filter = ["kind", "role", AcknowledgedFilter]
    search_fields = ["=loan__reference", "message"]
    list_select_related = ["loan", "case", "acknowledged_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        queryset = super().get_queryset(request)
        user = signed_in_user(request)
        if user.is_superuser or user.groups.filter(name=AUDITOR).exists():
            return queryset
        return queryset.filter(role__in=alert_roles(user=user))

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("inbox/", wrap(self.inbox_view), name="collections_alert_inbox"),
            path("inbox/feed/", wrap(self.feed_view), name="collections_alert_feed"),
            path("<int:alert_id>/acknowledge/", wrap(self.acknowledge_view), name="collections_alert_acknowledge"),
            *super().get_urls(),
        ]

    def _require_view(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def inbox_view(self, request: HttpRequest) -> HttpResponse:
        self._require_view(request)
        roles = alert_roles(user=signed_in_user(request))
        alerts = list(unacknowledged(roles).select_related("loan").order_by("-id")[:INBOX_LIMIT])
        count = unacknowledged(roles).count()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Alert inbox"),
            "opts": self.opts,
            "rows": [alert_row(alert) for alert in alerts],
            "count": count,
            "limit": INBOX_LIMIT,
            "last_id": alerts[0].pk if alerts else 0,
            "roles": [role_label(role) for role in roles],
        }
        return TemplateResponse(request, "debt_collections/admin/alert_inbox.html", context)

    def feed_view(self, request: HttpRequest) -> HttpResponse:
        """{"count": unacknowledged, "last_id": newest id sent, "alerts": [newer than ?after=, newest first]}."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        self._require_view(request)
        roles = alert_roles(user=signed_in_user(request))
        raw = request.GET.get("after", "")
        after = int(raw) if raw.isdigit() else None
        alerts: list[Alert] = []
        if after is not None:  # without it (pages other than the inbox) only the count is wanted
            alerts = list(
                unacknowledged(roles).filter(pk__gt=after).select_related("loan").order_by("-id")[:FEED_LIMIT]
            )
        return JsonResponse({
            "count": unacknowledged(roles).count(),
            "last_id": alerts[0].pk if alerts else after or 0,
            "alerts": [alert_row(alert) for alert in alerts],
        })

    def acknowledge_view(self, request: HttpRequest, alert_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._require_view(request)
        try:
            alert_acknowledge(alert_id=alert_id, actor=signed_in_user(request))
        except DomainError as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, _("Alert acknowledged."))
        return redirect("admin:collections_alert_inbox")
