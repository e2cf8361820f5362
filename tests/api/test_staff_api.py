"""Staff endpoints: the admin's permissions per role, the queues' filters, the case work."""

from __future__ import annotations

import datetime as dt

import pytest

from debt_collections.conduct import borrower_today
from debt_collections.models import Alert, AlertKind, ContactLog, PromiseToPay
from debt_collections.services import alert_raise
from portal import roles
from tests.debt_collections.factories import emergency_contact, local, make_case, yesterday

pytestmark = pytest.mark.django_db

WHO = [roles.AGENT, roles.SUPERVISOR, roles.LEGAL_OFFICER, roles.AUDITOR, roles.EDITOR, None, "borrower"]


def client_for(who, staff, as_bob):
    return as_bob if who == "borrower" else staff(who)


def contact_body(hour="10:00"):
    return {"channel": "call", "party": "borrower", "outcome": "no_answer", "at": local(yesterday(), hour).isoformat()}


def promise_body():
    return {"amount": "300.00", "promised_date": str(borrower_today() + dt.timedelta(days=3))}


# Expected status per role, in the order of WHO.
TABLE = [
    ("GET", "/api/v1/staff/cases/", None, [200, 200, 200, 200, 403, 403, 403]),
    ("GET", "/api/v1/staff/cases/{case}/", None, [200, 200, 200, 200, 403, 403, 403]),
    ("GET", "/api/v1/staff/cases/{case}/contacts/", None, [200, 200, 403, 200, 403, 403, 403]),
    ("POST", "/api/v1/staff/cases/{case}/contacts/", contact_body, [201, 201, 403, 403, 403, 403, 403]),
    ("GET", "/api/v1/staff/cases/{case}/promises/", None, [200, 200, 403, 200, 403, 403, 403]),
    ("POST", "/api/v1/staff/cases/{case}/promises/", promise_body, [201, 201, 403, 403, 403, 403, 403]),
    ("GET", "/api/v1/staff/cases/{case}/notes/", None, [200, 200, 403, 200, 403, 403, 403]),
    (
        "POST",
        "/api/v1/staff/cases/{case}/notes/",
        lambda: {"text": "回电约在周五。"},
        [201, 201, 403, 403, 403, 403, 403],
    ),
    ("GET", "/api/v1/staff/alerts/", None, [200, 200, 200, 200, 403, 403, 403]),
]


@pytest.mark.parametrize("method,url,body,expected", TABLE, ids=[f"{m} {u}" for m, u, _b, _e in TABLE])
def test_each_role_gets_what_the_admin_gives_it(method, url, body, expected, staff, as_bob, case):
    got = []
    for who in WHO:
        client = client_for(who, staff, as_bob)
        path = url.format(case=case.pk)
        response = client.get(path) if method == "GET" else client.post(path, body(), format="json")
        got.append(response.status_code)
        if response.status_code >= 400:
            assert response.json()["error"]["code"] == "permission_denied"
    assert got == expected


def test_nobody_signed_in_gets_401(api, case):
    assert api.get("/api/v1/staff/cases/").status_code == 401


def test_queues_and_filters(staff, case, alices_loan, make_loan, bob, as_bob):
    agent = staff(roles.AGENT)
    user = staff.users["agent"]
    other = make_case(make_loan(bob), days_past_due=95, stage="non_performing", overdue_amount="25000.00")
    other.assigned_to = user
    other.save()
    ids = lambda **q: [c["id"] for c in agent.get("/api/v1/staff/cases/", q).json()["results"]]  # noqa: E731
    assert ids() == [other.pk, case.pk]  # highest priority first
    assert ids(queue="mine") == [other.pk]
    assert ids(queue="unassigned") == [case.pk]
    assert ids(queue="stage-non_performing") == [other.pk]
    assert ids(stage="collections") == [case.pk]
    assert ids(dpd="90-180") == [other.pk]
    assert ids(amount="20000-100000") == [other.pk]
    assert ids(loan=alices_loan.reference) == [case.pk]
    assert ids(queue="closed") == []
    assert agent.get("/api/v1/staff/cases/", {"queue": "nonsense"}).status_code == 400
    first = agent.get("/api/v1/staff/cases/", {"page_size": 1}).json()
    assert len(first["results"]) == 1 and first["next"]


def test_the_case_page_masks_the_borrower(staff, case, alice):
    emergency_contact(alice)
    agent = staff(roles.AGENT)
    page = agent.get(f"/api/v1/staff/cases/{case.pk}/").json()
    assert page["case"]["borrower_mobile"] == alice.masked_mobile
    assert page["emergency_contacts"][0]["mobile"].count("*") >= 4
    assert alice.mobile not in str(page) and alice.national_id not in str(page)
    assert page["loans"][0]["reference"] == case.loan.reference and page["priority"]["text"]
    assert agent.get("/api/v1/staff/cases/999999/").status_code == 404


def test_logging_contacts_follows_the_conduct_rules(staff, case):
    agent = staff(roles.AGENT)
    url = f"/api/v1/staff/cases/{case.pk}/contacts/"
    logged = agent.post(url, contact_body(), format="json")
    assert logged.status_code == 201 and logged.json()["agent"] == "agent"
    quiet = agent.post(url, contact_body("23:30"), format="json")
    assert quiet.status_code == 409 and quiet.json()["error"]["code"] == "conduct_rule"
    local_time = agent.post(url, {**contact_body(), "at": f"{yesterday()}T11:00:00"}, format="json")
    assert local_time.status_code == 201  # without an offset: the borrower's local time, as in the admin
    assert ContactLog.objects.get(pk=local_time.json()["id"]).at == local(yesterday(), "11:00")
    ancient = agent.post(url, {**contact_body(), "at": "0001-01-01T00:02:00Z"}, format="json")
    assert ancient.status_code == 422  # found by schemathesis: before the case was opened
    assert ContactLog.objects.count() == 2
    assert [c["id"] for c in agent.get(url).json()["results"]] == [local_time.json()["id"], logged.json()["id"]]


def test_a_promise_replaces_the_pending_one(staff, case):
    agent = staff(roles.AGENT)
    url = f"/api/v1/staff/cases/{case.pk}/promises/"
    first = agent.post(url, promise_body(), format="json").json()
    second = agent.post(url, {**promise_body(), "amount": "400.00"}, format="json").json()
    statuses = {p["id"]: p["status"] for p in agent.get(url).json()["results"]}
    assert statuses == {first["id"]: "cancelled", second["id"]: "pending"}
    late = agent.post(url, {**promise_body(), "promised_date": "2020-01-01"}, format="json")
    assert late.status_code == 422
    assert (
        agent.post(url, {**promise_body(), "amount": "1.234"}, format="json").json()["error"]["code"]
        == "invalid_amount"
    )
    assert PromiseToPay.objects.count() == 2


def test_alerts_per_role_and_acknowledged_once(staff, case):
    for_agents = alert_raise(kind=AlertKind.STAGE_ENTERED, role=roles.AGENT, message="给坐席", dedupe_key="a")
    assert for_agents is not None
    alert_raise(kind=AlertKind.LARGE_EXPOSURE, role=roles.SUPERVISOR, message="给主管", dedupe_key="s")
    agent, supervisor, auditor = staff(roles.AGENT), staff(roles.SUPERVISOR), staff(roles.AUDITOR)
    assert [a["message"] for a in agent.get("/api/v1/staff/alerts/").json()["results"]] == ["给坐席"]
    assert len(auditor.get("/api/v1/staff/alerts/").json()["results"]) == 2
    assert supervisor.post(f"/api/v1/staff/alerts/{for_agents.pk}/acknowledge/").status_code == 404
    done = agent.post(f"/api/v1/staff/alerts/{for_agents.pk}/acknowledge/")
    assert done.status_code == 200 and done.json()["acknowledged_by"] == "agent"
    assert agent.post(f"/api/v1/staff/alerts/{for_agents.pk}/acknowledge/").status_code == 409
    assert auditor.post(f"/api/v1/staff/alerts/{for_agents.pk}/acknowledge/").status_code == 409  # not their role
    assert agent.get("/api/v1/staff/alerts/", {"acknowledged": "false"}).json()["results"] == []
    assert Alert.objects.filter(acknowledged_at__isnull=False).count() == 1
