from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from portal.admin_tools import ReadOnlyAdminMixin
from portal.models import AuditEvent, User

admin.site.register(User, UserAdmin)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "actor_label", "summary"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
