"""Staff roles are Django groups made by a migration, with the permissions portal/roles.py declares;
each role reaches the admin pages it needs and no others."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.urls import reverse

from portal import roles

pytestmark = pytest.mark.django_db

ROLES = [roles.AGENT, roles.SUPERVISOR, roles.LEGAL_OFFICER, roles.EDITOR, roles.AUDITOR]


def test_the_five_role_groups_exist_after_migrate():
    assert set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True)) == set(ROLES)


def test_the_migration_creates_missing_groups_and_leaves_existing_ones():
    migration = importlib.import_module("portal.migrations.0005_staff_role_groups")
    Group.objects.filter(name__in=[roles.EDITOR, roles.AUDITOR]).delete()
    kept = Group.objects.get(name=roles.AGENT)

    migration.create_groups(global_apps, SimpleNamespace(connection=connection))
    migration.create_groups(global_apps, SimpleNamespace(connection=connection))

    assert Group.objects.filter(name__in=ROLES).count() == 5
    assert Group.objects.get(name=roles.AGENT).pk == kept.pk
    assert migration.ROLES == ROLES


def test_every_declared_permission_exists_and_each_group_holds_exactly_its_list():
    roles.sync_roles()
    for role, names in roles.ROLE_PERMISSIONS.items():
        held = {f"{app}.{codename}" for app, codename in
                Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")}
        assert held == set(names), role


def test_auditors_may_only_read_and_export():
    codenames = Group.objects.get(name=roles.AUDITOR).permissions.values_list("codename", flat=True)
    assert all(c.startswith("view_") or c == "export_auditevent" for c in codenames)


def test_every_role_but_the_editor_reads_alerts_and_only_auditors_and_supervisors_export():
    alerts = Permission.objects.get(content_type__app_label="collections", codename="view_alert")
    export = Permission.objects.get(content_type__app_label="portal", codename="export_auditevent")
    assert set(alerts.group_set.values_list("name", flat=True)) == set(ROLES) - {roles.EDITOR}
    assert set(export.group_set.values_list("name", flat=True)) == {roles.AUDITOR, roles.SUPERVISOR}


# --- which admin pages each role reaches ----------------------------------------------------------

ALLOWED, DENIED = 200, 403

PAGES: dict[str, str] = {
    "audit log": "admin:portal_auditevent_changelist",
    "audit export": "admin:portal_auditevent_export",
    "alert inbox": "admin:collections_alert_inbox",
    "alerts": "admin:collections_alert_changelist",
    "loans": "admin:loans_loan_changelist",
    "borrowers": "admin:loans_borrower_changelist",
    "stage changes": "admin:loans_stagechange_changelist",
    "loan events": "admin:loans_loanevent_changelist",
    "add a calendar override": "admin:portal_calendaroverride_add",
    "add a product": "admin:loans_product_add",
    "users": "admin:portal_user_changelist",
}

EXPECTED: dict[str, dict[str, int]] = {
    roles.AGENT: {"audit log": DENIED, "audit export": DENIED, "alert inbox": ALLOWED, "alerts": ALLOWED,
                  "loans": ALLOWED, "add a calendar override": DENIED, "users": DENIED},
    roles.SUPERVISOR: {"audit log": ALLOWED, "audit export": ALLOWED, "alert inbox": ALLOWED,
                       "loans": ALLOWED, "add a calendar override": ALLOWED, "users": DENIED},
    roles.LEGAL_OFFICER: {"audit log": DENIED, "audit export": DENIED, "alert inbox": ALLOWED, "loans": ALLOWED},
    roles.AUDITOR: {"audit log": ALLOWED, "audit export": ALLOWED, "alert inbox": ALLOWED, "alerts": ALLOWED,
                    "loans": ALLOWED, "borrowers": ALLOWED, "stage changes": ALLOWED, "loan events": ALLOWED,
                    "add a calendar override": DENIED, "add a product": DENIED, "users": DENIED},
    roles.EDITOR: {"audit log": DENIED, "audit export": DENIED, "alert inbox": DENIED, "alerts": DENIED,
                   "loans": DENIED, "borrowers": DENIED, "stage changes": DENIED, "loan events": DENIED,
                   "users": DENIED},
}

CASES = [(role, page, status) for role, pages in EXPECTED.items() for page, status in pages.items()]


@pytest.mark.parametrize(("role", "page", "status"), CASES, ids=[f"{r}-{p}" for r, p, _ in CASES])
def test_each_role_reaches_only_its_admin_pages(client, make_staff, role, page, status):
    client.force_login(make_staff("someone", role))
    assert client.get(reverse(PAGES[page])).status_code == status


def test_the_editor_sees_nothing_of_the_loan_book_on_the_admin_index(client, make_staff):
    client.force_login(make_staff("eddie", roles.EDITOR))
    index = client.get(reverse("admin:index"))
    apps = {app["app_label"] for app in index.context["app_list"]}
    assert "loans" not in apps and "collections" not in apps and "portal" not in apps


def test_an_auditor_cannot_change_what_they_read(client, make_staff, alices_loan: Any):
    client.force_login(make_staff("audrey", roles.AUDITOR))
    change = reverse("admin:loans_loan_change", args=[alices_loan.pk])

    assert client.get(change).status_code == 200  # read
    assert client.post(change, {"principal": "1.00"}).status_code == 403
    assert client.post(reverse("admin:loans_loan_delete", args=[alices_loan.pk]), {"post": "yes"}).status_code == 403
