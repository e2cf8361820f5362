"""What staff do in the admin is in the audit trail: who, what, when, before and after, in the
transaction of the change; the trail itself cannot be changed there, and auditors export it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from loans.models import Borrower, Product
from portal import roles
from portal.admin import AuditExportForm
from portal.admin_audit import AuditedModelAdmin
from portal.audit import audit_record
from portal.models import AuditEvent, CalendarOverride, User
from tests.conftest import BOB_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(db: Any) -> User:
    return User.objects.create_superuser("boss", password="boss-pass-2026")


@pytest.fixture
def auditor(make_staff) -> User:
    return make_staff("audrey", roles.AUDITOR)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def product_form(product: Product, **changes: Any) -> dict[str, Any]:
    values = {
        "code": product.code, "name": product.name, "annual_rate": product.annual_rate,
        "penalty_rate": product.penalty_rate or "", "repayment_method": product.repayment_method,
        "term_months": product.term_months, "grace_days": product.grace_days,
        "extension_days": product.extension_days, "is_active": "on" if product.is_active else "",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


# --- add, change, delete ----------------------------------------------------------------------


def test_changing_a_product_records_who_and_only_the_fields_that_changed(client, boss, product):
    client.force_login(boss)

    response = client.post(reverse("admin:loans_product_change", args=[product.pk]),
                           product_form(product, name="Standard 12 months (2026)", grace_days=5))

    assert response.status_code == 302, response.content.decode()[:2000]
    (event,) = events("product.change")
    assert event.actor == boss and event.object_type == "loans.product" and event.object_id == str(product.pk)
    assert event.before == {"name": "Standard 12 months", "grace_days": 3}
    assert event.after == {"name": "Standard 12 months (2026)", "grace_days": 5}
    assert event.at <= timezone.now()


def test_saving_without_a_change_records_nothing(client, boss, product):
    client.force_login(boss)
    client.post(reverse("admin:loans_product_change", args=[product.pk]), product_form(product))
    assert events("product.change") == []


def test_a_calendar_override_is_audited_when_added_changed_and_deleted(client, make_staff):
    sam = make_staff("sam", roles.SUPERVISOR)
    client.force_login(sam)
    client.post(
        reverse("admin:portal_calendaroverride_add"), {"day": "2027-02-11", "is_working_day": "", "note": "春节"}
    )
    override = CalendarOverride.objects.get()
    client.post(reverse("admin:portal_calendaroverride_change", args=[override.pk]),
                {"day": "2027-02-11", "is_working_day": "on", "note": "春节调休"})
    client.post(reverse("admin:portal_calendaroverride_delete", args=[override.pk]), {"post": "yes"})

    added, changed = events("calendar.override")
    assert added.after is not None and added.before is None
    assert added.after["note"] == "春节" and added.after["created_by"] == sam.pk and added.after["day"] == "2027-02-11"
    assert changed.before == {"is_working_day": False, "note": "春节"}
    assert changed.after == {"is_working_day": True, "note": "春节调休"}
    (deleted,) = events("calendar.override_delete")
    assert deleted.before is not None and deleted.before["note"] == "春节调休" and deleted.after is None
    assert {e.actor for e in (added, changed, deleted)} == {sam}


def test_deleting_several_rows_with_the_list_action_audits_each_one(client, make_staff):
    client.force_login(make_staff("sam", roles.SUPERVISOR))
    days = [
        CalendarOverride.objects.create(day=dt.date(2027, 5, d), is_working_day=False, note="劳动节") for d in (1, 2)
    ]

    client.post(reverse("admin:portal_calendaroverride_changelist"),
                {"action": "delete_selected", "_selected_action": [d.pk for d in days], "post": "yes"})

    assert not CalendarOverride.objects.exists()
    assert sorted(e.object_id for e in events("calendar.override_delete")) == sorted(str(d.pk) for d in days)


def test_a_new_user_is_audited_without_the_password_and_with_a_mobile_username_masked(client, boss):
    client.force_login(boss)

    response = client.post(reverse("admin:portal_user_add"), {
        "username": "13700001111", "usable_password": "true",
        "password1": "a-long-new-pass-2026", "password2": "a-long-new-pass-2026",
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="13700001111")
    (event,) = events("user.create")
    assert event.after is not None
    assert event.after["username"] == "137****1111" and event.after["password"] == "********"
    assert user.password not in json.dumps(event.after)


def test_giving_a_staff_member_a_role_records_the_groups_before_and_after(client, boss, charlie):
    client.force_login(boss)
    agent_group = Group.objects.get(name=roles.AGENT)

    joined = timezone.localtime(charlie.date_joined)
    response = client.post(reverse("admin:portal_user_change", args=[charlie.pk]), {
        "username": "charlie", "is_active": "on", "is_staff": "on", "groups": [agent_group.pk],
        "date_joined_0": joined.date().isoformat(), "date_joined_1": joined.strftime("%H:%M:%S"),
    })

    assert response.status_code == 302, response.content.decode()[:3000]
    (event,) = events("user.change")
    assert event.actor == boss
    assert event.before is not None and event.after is not None
    assert event.before["groups"] == [] and event.after["groups"] == [roles.AGENT]
    assert set(event.after) <= {"groups", "date_joined"}  # the form keeps no microseconds


def test_setting_a_password_in_the_admin_is_audited_without_the_password(client, boss, charlie):
    client.force_login(boss)

    response = client.post(reverse("admin:auth_user_password_change", args=[charlie.pk]),
                           {"password1": "another-long-pass-2026", "password2": "another-long-pass-2026",
                            "usable_password": "true", "set_usable_password": "true"})

    assert response.status_code == 302
    (event,) = events("user.password_change")
    assert event.actor == boss and event.object_id == str(charlie.pk)
    charlie.refresh_from_db()
    assert charlie.check_password("another-long-pass-2026")
    assert charlie.password not in json.dumps([event.before, event.after])


def test_a_groups_permissions_changed_in_the_admin_are_audited_by_name(client, boss):
    client.force_login(boss)
    group = Group.objects.create(name="temporary helpers")
    from django.contrib.auth.models import Permission

    view_loan = Permission.objects.get(content_type__app_label="loans", codename="view_loan")
    client.post(
        reverse("admin:auth_group_change", args=[group.pk]), {"name": group.name, "permissions": [view_loan.pk]}
    )

    (event,) = events("group.change")
    assert event.before == {"permissions": []} and event.after == {"permissions": ["loans.view_loan"]}


def test_national_ids_and_mobile_numbers_are_masked_in_the_trail(bob, boss):
    request = RequestFactory().post("/admin/")
    request.user = boss
    borrower_admin = AuditedModelAdmin(Borrower, admin.site)

    borrower_admin.delete_model(request, Borrower.objects.get(pk=bob.pk))

    (event,) = events("borrower.delete")
    assert event.before is not None
    assert event.before["national_id"] == BOB_ID[:3] + "*" * 11 + BOB_ID[-4:]
    assert event.before["mobile"] == "139****9000"
    assert BOB_ID not in json.dumps(event.before) and "13900139000" not in json.dumps(event.before)


# --- one transaction --------------------------------------------------------------------------


def test_an_edit_whose_audit_fails_is_undone(client, boss, product, monkeypatch):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("the audit trail is unavailable")

    client.force_login(boss)
    monkeypatch.setattr("portal.admin_audit.audit_record", broken)

    with pytest.raises(RuntimeError):
        client.post(reverse("admin:loans_product_change", args=[product.pk]), product_form(product, name="Changed"))

    assert Product.objects.get(pk=product.pk).name == "Standard 12 months"


def test_a_bulk_delete_whose_audit_fails_deletes_nothing(client, make_staff, monkeypatch):
    def broken(events: Any) -> None:
        raise RuntimeError("the audit trail is unavailable")

    client.force_login(make_staff("sam", roles.SUPERVISOR))
    monkeypatch.setattr("portal.admin_audit.audit_record_many", broken)
    day = CalendarOverride.objects.create(day=dt.date(2027, 5, 1), is_working_day=False, note="劳动节")

    with pytest.raises(RuntimeError):
        client.post(reverse("admin:portal_calendaroverride_changelist"),
                    {"action": "delete_selected", "_selected_action": [day.pk], "post": "yes"})

    assert CalendarOverride.objects.filter(pk=day.pk).exists()


# --- sign-in and sign-out ---------------------------------------------------------------------


def test_staff_sign_in_sign_out_and_a_wrong_password_are_audited(client, charlie):
    login = reverse("admin:login")

    client.post(login, {"username": "charlie", "password": "not-the-password"})
    client.post(login, {"username": "charlie", "password": "charlie-pass-2026"})
    client.post(reverse("admin:logout"))

    (failed,) = events("staff.sign_in_failed")
    assert (
        failed.actor is None
        and failed.object_id == str(charlie.pk)
        and failed.after == {"path": login, "address": "127.0.0.1"}
    )
    (signed_in,) = events("staff.sign_in")
    assert signed_in.actor == charlie and signed_in.after == {"path": login, "address": "127.0.0.1"}
    (signed_out,) = events("staff.sign_out")
    assert signed_out.actor == charlie


def test_borrowers_signing_in_and_unknown_names_are_not_staff_events(client, alice):
    client.post(reverse("portal:sign-in"), {"username": "13800138000", "password": "alice-pass-2026"})
    client.post(reverse("admin:login"), {"username": "nobody", "password": "whatever"})

    assert AuditEvent.objects.filter(action__startswith="staff.").count() == 0


# --- the trail cannot be changed --------------------------------------------------------------


def test_nobody_changes_or_deletes_an_audit_event_in_the_admin_not_even_a_superuser(client, boss, charlie):
    from django.db import transaction

    with transaction.atomic():
        event = audit_record(actor=charlie, action="test.thing", target=charlie, summary="original")
    client.force_login(boss)

    assert client.post(reverse("admin:portal_auditevent_change", args=[event.pk]), {"summary": "x"}).status_code == 403
    assert client.post(reverse("admin:portal_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:portal_auditevent_add")).status_code == 403
    page = client.get(reverse("admin:portal_auditevent_changelist"))
    assert page.status_code == 200 and "delete_selected" not in page.content.decode()
    response = client.post(reverse("admin:portal_auditevent_changelist"),
                           {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    assert response.status_code in (200, 302)
    assert AuditEvent.objects.get(pk=event.pk).summary == "original"


# --- export -----------------------------------------------------------------------------------


def export(client: Client, **filters: Any) -> Any:
    return client.post(reverse("admin:portal_auditevent_export"), filters)


def csv_rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # so Excel reads UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def record(actor: User | None, action: str, target: Any, summary: str = "", **extra: Any) -> AuditEvent:
    from django.db import transaction

    with transaction.atomic():
        return audit_record(actor=actor, action=action, target=target, summary=summary, **extra)


def test_an_auditor_exports_the_filtered_events_as_csv_and_the_export_is_audited(client, auditor, charlie, alice):
    record(charlie, "payment.post", charlie, "¥300 到账")
    record(charlie, "payment.reverse", charlie, "银行退票", after={"原因": "退票"})
    record(None, "loan.stage_change", charlie, "close of business")
    client.force_login(auditor)
    today = timezone.localdate().isoformat()

    response = export(client, date_from=today, date_to=today, action="payment", actor="charlie")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = csv_rows(response)
    assert header[:3] == ["at", "actor", "action"]
    assert [(r[1], r[2], r[5]) for r in rows] == [("charlie", "payment.post", "¥300 到账"),
                                                  ("charlie", "payment.reverse", "银行退票")]
    assert json.loads(rows[1][7]) == {"原因": "退票"}
    (exported,) = events("audit.export")
    assert exported.actor == auditor
    assert exported.after == {
        "filters": {"date_from": today, "date_to": today, "action": "payment", "actor": "charlie"}
    }


def test_the_export_date_range_is_inclusive_in_beijing_time(client, auditor, charlie):
    event = record(charlie, "test.thing", charlie)
    client.force_login(auditor)
    day = timezone.localtime(event.at).date()

    assert len(csv_rows(export(client, date_from=day, date_to=day))) >= 2
    assert len(csv_rows(export(client, date_to=day - dt.timedelta(days=1)))) == 1  # the header only


def test_cells_that_would_run_as_formulas_in_excel_are_neutralised(client, auditor, charlie):
    record(charlie, "test.thing", charlie, "=HYPERLINK(\"http://evil\")")
    client.force_login(auditor)

    rows = csv_rows(export(client, action="test.thing"))

    assert rows[1][5] == "'=HYPERLINK(\"http://evil\")"


def test_the_export_form_refuses_a_range_that_ends_before_it_starts():
    form = AuditExportForm({"date_from": "2026-05-02", "date_to": "2026-05-01"})
    assert not form.is_valid()


def test_supervisors_may_export_agents_and_readers_without_the_export_permission_may_not(client, make_staff):
    client.force_login(make_staff("sam", roles.SUPERVISOR))
    assert client.get(reverse("admin:portal_auditevent_export")).status_code == 200

    client.force_login(make_staff("agnes", roles.AGENT))
    assert client.get(reverse("admin:portal_auditevent_export")).status_code == 403
    assert export(client).status_code == 403

    reader = User.objects.create_user("reader", password="reader-pass-2026", is_staff=True)
    from django.contrib.auth.models import Permission

    reader.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(reader)
    assert client.get(reverse("admin:portal_auditevent_changelist")).status_code == 200
    assert export(client).status_code == 403
    assert events("audit.export") == []


def test_the_audit_list_links_to_the_export_for_those_who_may(client, auditor, make_staff):
    client.force_login(auditor)
    assert reverse("admin:portal_auditevent_export") in client.get(reverse("admin:portal_auditevent_changelist")).text
