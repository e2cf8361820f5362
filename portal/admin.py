from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin, reregister_audited
from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin
from portal.audit import audit_record
from portal.models import AuditEvent, CalendarOverride, User

EXPORT_PERMISSIONS = ("portal.view_auditevent", "portal.export_auditevent")


class AuditedUserAdmin(AuditedModelAdmin, UserAdmin):  # type: ignore[misc]
    """Users and their groups: every change audited, passwords never written down."""

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        with transaction.atomic():  # Django's view is not atomic: the password and its audit go together
            return super().user_change_password(request, id, form_url)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        match = request.resolver_match
        if match is not None and (match.url_name or "").endswith("_password_change"):
            audit_record(
                actor=request.user if isinstance(request.user, User) else None,
                action="user.password_change", target=obj, summary=f"password of user #{obj.pk} set in the admin",
                before={"password": "********"}, after={"password": "********", "usable": obj.has_usable_password()},
            )
        return entry


class AuditedGroupAdmin(AuditedModelAdmin, GroupAdmin):
    pass


admin.site.register(User, AuditedUserAdmin)
# django.contrib.auth.admin registered Group when it was imported above; autodiscover will not
# import it again, so this registration stays.
admin.site.unregister(Group)
admin.site.register(Group, AuditedGroupAdmin)


class AuditExportForm(forms.Form):
    date_from = forms.DateField(label=_("first day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(
        label=_("last day (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    action = forms.CharField(
        label=_("action"), required=False, max_length=80,
        help_text=_("e.g. payment.post, or payment for every payment action"),
    )
    actor = forms.CharField(label=_("actor"), required=False, max_length=150,
                            help_text=_("a username, or the name of a job such as close-of-business"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("date_from"), data.get("date_to")
        if first and last and first > last:
            raise forms.ValidationError(_("The first date is after the last one."))
        return data

    def events(self) -> QuerySet[AuditEvent]:
        data = self.cleaned_data
        events = AuditEvent.objects.select_related("actor").order_by("at", "id")
        if data.get("date_from"):
            events = events.filter(at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            events = events.filter(at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        if data.get("action"):
            action = data["action"].strip()
            events = events.filter(Q(action=action) | Q(action__startswith=f"{action}."))
        if data.get("actor"):
            events = events.filter(actor_label=data["actor"].strip())
        return events

    def filters(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))  # the site's time zone


class _Echo:
    def write(self, value: str) -> str:
        return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """Text for one CSV cell; a leading formula character is neutralised (Excel would run it)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # UTF-8 byte-order mark: Excel then reads the Chinese text correctly
    yield writer.writerow(["at", "actor", "action", "object_type", "object_id", "summary", "before", "after"])
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(timezone.localtime(event.at).isoformat(timespec="seconds")),
                _cell(event.actor.get_username() if event.actor else event.actor_label),
                _cell(event.action),
                _cell(event.object_type),
                _cell(event.object_id),
                _cell(event.summary),
                _cell(
                    json.dumps(event.before, cls=DjangoJSONEncoder, ensure_ascii=False)
                    if event.before is not None
                    else ""
                ),
                _cell(
                    json.dumps(event.after, cls=DjangoJSONEncoder, ensure_ascii=False)
                    if event.after is not None
                    else ""
                ),
            ]
        )


@admin.register(AuditEvent)
class AuditEventAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read by auditors and supervisors; nobody adds, changes or deletes a row, superusers included
    (the model refuses updates and deletes as well). Exported as CSV by `export_view`."""

    list_display = ["at", "actor_label", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label", "summary"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    actions = None  # no "delete selected", no checkboxes

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(EXPORT_PERMISSIONS)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("export/", self.admin_site.admin_view(self.export_view), name="portal_auditevent_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "has_export_permission": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """A form (GET) whose POST streams the matching events as CSV, itself audited."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        form = AuditExportForm(request.POST if request.method == "POST" else request.GET or None)
        if request.method != "POST" or not form.is_valid():
            if request.method == "GET":  # prefilled from the link, never an error on first sight
                form = AuditExportForm(initial=request.GET.dict())
            context = {**self.admin_site.each_context(request), "title": _("Export audit events"), "form": form,
                       "opts": self.opts}
            return render(request, "admin/portal/auditevent/export.html", context)
        events = form.events()
        actor = request.user
        if not isinstance(actor, User):
            raise PermissionDenied
        with transaction.atomic():
            audit = AuditEvent.objects.create(
                actor=actor, actor_label=actor.get_username(), action="audit.export",
                object_type=AuditEvent._meta.label_lower, object_id="*",
                summary=f"CSV export of {events.count()} audit events",
                after={"filters": form.filters()},
            )
        name = f"audit-events-{timezone.localtime(audit.at):%Y%m%d-%H%M%S}.csv"
        response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(AuditedModelAdmin):
    """Holidays and swapped working days the official calendar data does not know yet."""

    list_display = ["day", "is_working_day", "note", "created_by"]
    list_filter = ["is_working_day"]
    fields = ["day", "is_working_day", "note"]
    audit_actions = {"create": "calendar.override", "change": "calendar.override",
                     "delete": "calendar.override_delete"}

    def save_model(self, request: HttpRequest, obj: CalendarOverride, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)  # audited with the change (AuditedModelAdmin)


# Admins of other packages that let a superuser change data: task schedules and queued tasks
# (django-q2), sign-in lock-outs (django-axes; deleting one unlocks a borrower). Imported here so
# that their registrations exist before they are swapped; autodiscover does not import them again.
import axes.admin  # noqa: E402,F401
import django_q.admin  # noqa: E402,F401
from axes.models import AccessAttempt, AccessFailureLog, AccessLog  # noqa: E402
from django_q.models import Failure, OrmQ, Schedule, Success  # noqa: E402

reregister_audited(admin.site, [Schedule, Success, Failure, OrmQ, AccessAttempt, AccessLog, AccessFailureLog])
