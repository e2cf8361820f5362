from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest

from portal.admin_tools import ReadOnlyAdminMixin
from portal.audit import audit_record
from portal.models import AuditEvent, CalendarOverride, User

admin.site.register(User, UserAdmin)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label", "summary"]
    date_hierarchy = "at"
    list_select_related = ["actor"]


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    """Holidays and swapped working days the official calendar data does not know yet."""

    list_display = ["day", "is_working_day", "note", "created_by"]
    list_filter = ["is_working_day"]
    fields = ["day", "is_working_day", "note"]

    def save_model(self, request: HttpRequest, obj: CalendarOverride, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)  # the admin runs this in a transaction
        audit_record(actor=request.user, action="calendar.override", target=obj,  # type: ignore[arg-type]
                     after={"day": obj.day, "is_working_day": obj.is_working_day, "note": obj.note})

    def delete_model(self, request: HttpRequest, obj: CalendarOverride) -> None:
        self.delete_queryset(request, CalendarOverride.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:  # a handful of rows a year; each deletion is audited
            audit_record(actor=request.user, action="calendar.override_delete", target=obj,  # type: ignore[arg-type]
                         before={"day": obj.day, "is_working_day": obj.is_working_day, "note": obj.note})
        queryset.delete()
