"""Case work in the admin: the queues and their cost, the case page, its actions per role,
the reveal, today's calls and emergency contacts."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from debt_collections import conduct, services
from debt_collections.models import (
    CallTask,
    CallTaskStatus,
    Case,
    CaseClassification,
    CaseStatus,
    ContactLog,
    HardshipRequest,
    PromiseToPay,
)
from loans import services as loan_services
from loans.models import Stage, StageChange
from portal import roles
from portal.admin_tools import CappedCountPaginator
from portal.models import AuditEvent, SmsMessage

from .factories import bulk_cases, emergency_contact, local, make_case, yesterday

pytestmark = pytest.mark.django_db

QUEUE = "admin:collections_case_changelist"


@pytest.fixture
def client(client: Any) -> Any:
    """Staff read the admin in English here (Chinese is the site's default)."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def page_url(case: Case) -> str:
    return reverse("admin:collections_case_change", args=[case.pk])


def action_url(case: Case, name: str) -> str:
    return reverse(f"admin:collections_case_{name}", args=[case.pk])


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def listed(response: Any) -> list[int]:
    """Row ids on a changelist page (links to their pages), in the order shown."""
    ids = re.findall(
        r'<tr>.*?href="/admin/collections/\w+/(\d+)/change/', response.content.decode(), re.S
    )
    return [int(pk) for pk in ids]


# --- the queues -----------------------------------------------------------------------------------


def test_the_queue_shows_open_cases_highest_priority_first_and_explains_the_score(
    client, agent, alice, make_loan
):
    low = make_case(make_loan(alice), days_past_due=31, overdue_amount=Decimal("100.00"))
    high = make_case(
        make_loan(alice), days_past_due=95, overdue_amount=Decimal("9000.00"), broken_promises=2
    )
    closed = make_case(make_loan(alice), status=CaseStatus.CLOSED, closed_on=yesterday())
    client.force_login(agent)
    response = client.get(reverse(QUEUE))
    assert response.status_code == 200
    assert listed(response) == [high.pk, low.pk]
    assert closed.pk not in listed(response)
    page = text(response)
    assert (
        "Priority = 1 × overdue amount in thousands of yuan" in page
        and "20 × broken promises" in page
    )
    assert (
        "¥9000.00 overdue: 9.00 + 95 days past due: 95.00 + 2 broken promises: 40.00 = 144.00"
        in page
    )


def test_the_queues_mine_unassigned_team_stage_and_closed(
    client, agent, supervisor, alice, make_loan
):
    mine = make_case(make_loan(alice), assigned_to=agent)
    theirs = make_case(
        make_loan(alice), assigned_to=supervisor, stage=Stage.NON_PERFORMING, days_past_due=95
    )
    nobodys = make_case(make_loan(alice))
    closed = make_case(
        make_loan(alice), status=CaseStatus.CLOSED, closed_on=yesterday(), assigned_to=agent
    )
    client.force_login(agent)

    def queue(**params: str) -> set[int]:
        return set(listed(client.get(reverse(QUEUE), params)))

    assert queue() == {mine.pk, theirs.pk, nobodys.pk}
    assert queue(queue="mine") == {mine.pk}
    assert queue(queue="unassigned") == {nobodys.pk}
    assert queue(queue="stage-non_performing") == {theirs.pk}
    assert queue(queue="stage-collections") == {mine.pk, nobodys.pk}
    assert queue(queue="closed") == {closed.pk}


def test_the_queue_filters_by_stage_days_amount_promise_and_hardship(
    client, agent, alice, make_loan
):
    young = make_case(make_loan(alice), days_past_due=40, overdue_amount=Decimal("800.00"))
    old = make_case(
        make_loan(alice),
        days_past_due=200,
        stage=Stage.WRITE_OFF_CANDIDATE,
        overdue_amount=Decimal("25000.00"),
        promise_state="broken",
        hardship_flag=True,
    )
    client.force_login(agent)

    def queue(**params: str) -> set[int]:
        return set(listed(client.get(reverse(QUEUE), params)))

    assert queue(stage__exact="write_off_candidate") == {old.pk}
    assert queue(dpd="30-60") == {young.pk}  # 30 to under 60 days
    assert queue(dpd="180-") == {old.pk}  # 180 days or more
    assert queue(amount="-1000") == {young.pk}  # under ¥1,000
    assert queue(amount="20000-100000") == {old.pk}  # ¥20,000 to under ¥100,000
    assert queue(promise_state__exact="broken") == {old.pk}
    assert queue(hardship_flag__exact="1") == {old.pk}
    assert queue(hardship_flag__exact="0") == {young.pk}
    page = text(client.get(reverse(QUEUE)))
    for label in (
        "30 days to under 60 days",
        "180 days or more",
        "Under ¥1,000",
        "My cases",
        "Unassigned cases",
        "All open cases",
    ):
        assert label in page


def queue_queries(client: Any, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(QUEUE), params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "params",
    [{}, {"queue": "mine"}, {"queue": "unassigned", "dpd": "30-60", "amount": "1000-5000"}],
)
def test_a_queue_page_costs_the_same_queries_for_5_or_80_cases(
    client, agent, alice, product, params
):
    client.force_login(agent)
    bulk_cases(alice, product, 5, assigned_to=agent)
    small = queue_queries(client, params)
    bulk_cases(alice, product, 75, start=5, assigned_to=agent)
    bulk_cases(alice, product, 20, start=80)
    assert queue_queries(client, params) == small


def first_page_sql(client: Any, params: dict[str, str]) -> str:
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse(QUEUE), params)
    selects = [
        q["sql"]
        for q in queries.captured_queries
        if "collections_case" in q["sql"] and "LIMIT" in q["sql"] and "COUNT(" not in q["sql"]
    ]
    assert len(selects) == 1, selects
    return selects[0]


@pytest.mark.parametrize(
    "params, index",
    [
        ({}, "case_queue_idx"),
        ({"queue": "mine"}, "case_agent_queue_idx"),
        ({"queue": "stage-collections"}, "case_stage_queue_idx"),
    ],
)
def test_the_first_page_of_a_queue_reads_its_index(
    client, supervisor, alice, product, params, index
):
    bulk_cases(alice, product, 3000)
    Case.objects.filter(pk__in=Case.objects.order_by("pk").values("pk")[:500]).update(
        assigned_to=supervisor
    )
    client.force_login(supervisor)
    sql = first_page_sql(client, params)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE collections_case")
            cursor.execute(f"EXPLAIN {sql}")
        else:
            cursor.execute("ANALYZE")
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        plan = "\n".join(str(row) for row in cursor.fetchall())
    assert index in plan, plan
    # Sorted by the index itself: no sort step over every open case.
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan and "Sort Key" not in plan, plan


def test_a_long_queue_is_counted_only_up_to_the_cap(client, supervisor, alice, product, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 60)
    bulk_cases(alice, product, 75)
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        page = text(client.get(reverse(QUEUE)))
    assert "more than 60 collection cases" in page and "75 collection cases" not in page
    assert "Select all of more than 60 collection cases" in page
    assert "All of more than 60 collection cases selected" in page
    count = next(q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper())
    assert "LIMIT 61" in count  # stops counting past the cap
    assert 'href="?p=2"' in page  # the second page is still a link

    monkeypatch.setattr(CappedCountPaginator, "cap", 100)
    page = text(client.get(reverse(QUEUE)))
    assert "75 collection cases" in page and "Select all 75 collection cases" in page
    assert "more than" not in page


# --- the case page --------------------------------------------------------------------------------


def test_the_case_page_masks_the_borrower_even_for_those_who_may_reveal(
    client, supervisor, case, alice
):
    emergency_contact(alice)
    client.force_login(supervisor)
    page = text(client.get(page_url(case)))
    assert (
        alice.masked_mobile in page and alice.masked_national_id in page and "136****6000" in page
    )
    assert alice.mobile not in page and alice.national_id not in page and "13600136000" not in page
    assert "Show full ID and numbers" in page
    assert not AuditEvent.objects.filter(action="borrower.identity_reveal").exists()


def test_revealing_on_the_case_page_is_a_post_that_is_audited(client, supervisor, case, alice):
    emergency_contact(alice)
    client.force_login(supervisor)
    assert client.get(action_url(case, "reveal")).status_code == 302  # a GET reveals nothing
    response = client.post(action_url(case, "reveal"))
    page = text(response)
    assert alice.mobile in page and alice.national_id in page and "13600136000" in page
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="borrower.identity_reveal")
    assert event.actor == supervisor and event.after is not None and event.after["case"] == case.pk
    assert alice.mobile not in text(client.get(page_url(case)))  # masked again on the next visit


def test_an_agent_has_no_reveal_button_and_a_reveal_post_is_refused(client, agent, case, alice):
    client.force_login(agent)
    assert "Show full ID and numbers" not in text(client.get(page_url(case)))
    assert client.post(action_url(case, "reveal")).status_code == 403
    assert not AuditEvent.objects.filter(action="borrower.identity_reveal").exists()


def test_the_case_page_shows_loans_strategy_and_a_timeline_of_everything(
    client, agent, case, alice, alices_loan, submit
):
    loan_services.payment_post(
        loan_id=alices_loan.pk,
        amount="321.00",
        channel="app",
        idempotency_key="k-1",
        actor=None,
        business_date=dt.date(2026, 2, 10),
    )
    SmsMessage.objects.create(
        recipient=alice.user,
        mobile=alice.mobile,
        language="zh-hans",
        kind="reminder",
        body="Your bill is overdue.",
        dedupe_key="r-1",
    )
    StageChange.objects.create(
        loan=alices_loan,
        from_stage="reminder",
        to_stage="collections",
        business_date=dt.date(2026, 3, 20),
        days_past_due=30,
        reason="close of business",
    )
    CallTask.objects.create(loan=alices_loan, case=case, business_date=yesterday(), rule="call")
    submit(alice, alices_loan)
    services.contact_log(
        case_id=case.pk,
        actor=agent,
        at=local(yesterday(), "10:00"),
        channel="call",
        party="borrower",
        outcome="promised",
        note="Will pay on Friday.",
    )
    services.case_note_add(case_id=case.pk, actor=agent, text="Works night shifts.")
    services.promise_record(
        case_id=case.pk,
        actor=agent,
        amount="600.00",
        promised_date=conduct.borrower_today() + dt.timedelta(days=3),
    )
    client.force_login(agent)
    page = text(client.get(page_url(case)))
    assert alices_loan.reference in page and "¥321.00" in page
    assert "Not yet known: find out why the borrower is overdue" in page
    for seen in (
        "Your bill is overdue.",
        "Will pay on Friday.",
        "Works night shifts.",
        "¥600.00 by",
        "Payment",
        "Stage change",
        "Hardship request",
        "Call task",
    ):
        assert seen in page, seen
    assert "The borrower's hardship requests" in page
    assert f"borrower__id__exact={alice.pk}" in page
    # Each line as the rows' own display methods word it.
    payment = alices_loan.payments.get()
    request = HardshipRequest.objects.get(borrower=alice)
    task = CallTask.objects.get(loan=alices_loan)
    for line in (
        f"¥321.00 · {payment.get_channel_display()} · {payment.get_status_display()}",
        "Reminder (1–29 days) → Collections (30+ days) at 30 days past due",
        f"#{request.pk} {request.get_reason_display()} · {request.get_status_display()}",
        f"call · {task.business_date.isoformat()} · {task.get_status_display()}",
        "Your bill is overdue. (",
    ):
        assert line in page, line


def test_a_case_that_does_not_exist_is_not_found(client, supervisor, case):
    client.force_login(supervisor)
    assert client.get(reverse("admin:collections_case_change", args=[case.pk + 1000])).status_code == 404
    assert client.get("/admin/collections/case/abc/change/").status_code == 404


def case_page_queries(client: Any, case: Case) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page_url(case)).status_code == 200
    return len(queries)


def test_the_case_page_costs_the_same_queries_with_a_short_or_a_long_history(
    client, agent, case, alice
):
    emergency_contact(alice)
    client.force_login(agent)
    services.contact_log(
        case_id=case.pk,
        actor=agent,
        at=local(yesterday(), "09:00"),
        channel="call",
        party="borrower",
        outcome="busy",
    )
    short = case_page_queries(client, case)
    emergency_contact(alice, name="李雷", mobile="13600136001")
    for hour in range(10, 21):
        services.contact_log(
            case_id=case.pk,
            actor=agent,
            at=local(yesterday(), f"{hour}:00"),
            channel="sms",
            party="borrower",
            outcome="no_answer",
        )
        services.case_note_add(case_id=case.pk, actor=agent, text=f"note {hour}")
        services.promise_record(
            case_id=case.pk, actor=agent, amount="10.00", promised_date=conduct.borrower_today()
        )
    assert case_page_queries(client, case) == short


def test_the_strategy_follows_the_classification(client, agent, case):
    client.force_login(agent)
    client.post(
        action_url(case, "classify"), {"classification": CaseClassification.HARDSHIP, "note": "Ill"}
    )
    assert "Help before pressure: a grace period, a waiver" in text(client.get(page_url(case)))
    client.post(action_url(case, "classify"), {"classification": CaseClassification.WILFUL})
    assert "request a legal review from 60 days past due" in text(client.get(page_url(case)))


# --- actions per role -----------------------------------------------------------------------------


def contact_form(**overrides: str) -> dict[str, str]:
    values = {
        "at": local(yesterday(), "10:00").strftime("%Y-%m-%dT%H:%M"),
        "channel": "call",
        "party": "borrower",
        "outcome": "no_answer",
        "overdue_reason": "unknown",
        "note": "",
    }
    values.update(overrides)
    return values


def test_an_agent_logs_a_contact_from_the_case_page(client, agent, case):
    client.force_login(agent)
    response = client.post(action_url(case, "contact"), contact_form(note="Voicemail full."))
    assert response.status_code == 302 and response["Location"] == page_url(case)
    contact = ContactLog.objects.get()
    assert contact.agent == agent and contact.note == "Voicemail full."
    assert contact.at == local(yesterday(), "10:00")  # the typed time is the borrower's local time


def test_a_refused_contact_says_which_rule_refused_it(client, agent, case):
    client.force_login(agent)
    response = client.post(
        action_url(case, "contact"),
        contact_form(at=local(yesterday(), "22:00").strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 200
    assert "Refused by the rule “Quiet hours”" in text(response)
    assert not ContactLog.objects.exists()


def test_the_third_party_form_needs_the_no_disclosure_confirmation(client, agent, case, alice):
    sister = emergency_contact(alice)
    for hour in ("09:00", "10:00", "11:00"):
        services.contact_log(
            case_id=case.pk,
            actor=agent,
            at=local(yesterday(), hour),
            channel="call",
            party="borrower",
            outcome="no_answer",
        )
    client.force_login(agent)
    third = contact_form(
        at=local(yesterday(), "12:00").strftime("%Y-%m-%dT%H:%M"),
        party="emergency_contact",
        emergency_contact=str(sister.pk),
        outcome="message_left",
        third_party_reason="Borrower unreachable",
        note="Asked her to pass on a callback request.",
    )
    refused = client.post(action_url(case, "contact"), third)
    assert "Never tell a third party about the debt" in text(refused)
    assert (
        client.post(action_url(case, "contact"), {**third, "debt_not_disclosed": "on"}).status_code
        == 302
    )
    assert (
        ContactLog.objects.filter(party="emergency_contact", emergency_contact=sister).count() == 1
    )


def test_an_agent_records_a_promise_adds_a_note_and_requests_legal_review(
    client, agent, alices_loan
):
    case = make_case(alices_loan, days_past_due=61)
    client.force_login(agent)
    promised = (conduct.borrower_today() + dt.timedelta(days=5)).isoformat()
    assert (
        client.post(
            action_url(case, "promise"), {"amount": "700.00", "promised_date": promised}
        ).status_code
        == 302
    )
    assert (
        client.post(action_url(case, "note"), {"text": "Called the employer's HR? No."}).status_code
        == 302
    )
    assert (
        client.post(action_url(case, "legal_review"), {"reason": "Can pay, will not."}).status_code
        == 302
    )
    case.refresh_from_db()
    assert case.promise_state == "pending" and case.legal_review_requested
    assert PromiseToPay.objects.get().amount == Decimal("700.00")


def test_a_refused_promise_shows_the_reason_on_the_case_page(client, agent, case):
    client.force_login(agent)
    response = client.post(
        action_url(case, "promise"),
        {"amount": "0", "promised_date": conduct.borrower_today().isoformat()},
    )
    assert response.status_code == 200 and "greater than zero" in text(response)


@pytest.mark.parametrize(
    "role, status", [(roles.AUDITOR, 403), (roles.LEGAL_OFFICER, 403), (roles.EDITOR, 403)]
)
def test_staff_who_do_not_work_cases_cannot_log_a_contact(client, make_staff, case, role, status):
    client.force_login(make_staff("someone", role))
    assert client.post(action_url(case, "contact"), contact_form()).status_code == status
    assert client.post(action_url(case, "note"), {"text": "x"}).status_code == status
    assert not ContactLog.objects.exists()


def test_a_legal_officer_reads_the_queue_and_the_case_page_without_actions(
    client, make_staff, case
):
    client.force_login(make_staff("leo", roles.LEGAL_OFFICER))
    assert client.get(reverse(QUEUE)).status_code == 200
    page = text(client.get(page_url(case)))
    assert "Timeline" in page and "Log a contact" not in page and "Assign the case" not in page


def test_an_editor_cannot_open_the_queue_or_a_case(client, make_staff, case):
    client.force_login(make_staff("eddie", roles.EDITOR))
    assert client.get(reverse(QUEUE)).status_code == 403
    assert client.get(page_url(case)).status_code == 403


def test_the_change_view_changes_nothing(client, supervisor, case):
    client.force_login(supervisor)
    client.post(
        page_url(case), {"priority": "9999", "assigned_to": str(supervisor.pk), "status": "closed"}
    )
    case.refresh_from_db()
    assert case.priority != Decimal("9999") and case.assigned_to is None and case.status == "open"


# --- assignment in the queue ----------------------------------------------------------------------


def run_action(client: Any, action: str, cases: list[Case], **extra: str) -> Any:
    data = {
        "action": action,
        "index": "0",
        ACTION_CHECKBOX_NAME: [str(c.pk) for c in cases],
        **extra,
    }
    return client.post(reverse(QUEUE), data)


def test_a_supervisor_assigns_cases_to_themself(client, supervisor, alice, make_loan):
    cases = [make_case(make_loan(alice)), make_case(make_loan(alice))]
    client.force_login(supervisor)
    assert run_action(client, "assign_to_me", cases).status_code == 302
    assert set(Case.objects.values_list("assigned_to", flat=True)) == {supervisor.pk}


def test_assign_to_an_agent_asks_which_agent_first(client, supervisor, agent, alice, make_loan):
    cases = [make_case(make_loan(alice)), make_case(make_loan(alice))]
    client.force_login(supervisor)
    form = run_action(client, "assign_to_agent", cases)
    assert (
        form.status_code == 200
        and "Assign cases to an agent" in text(form)
        and "agnes" in text(form)
    )
    assert Case.objects.filter(assigned_to__isnull=False).count() == 0
    done = client.post(
        reverse(QUEUE),
        {
            "action": "assign_to_agent",
            ACTION_CHECKBOX_NAME: [str(c.pk) for c in cases],
            "apply": "1",
            "select_across": "0",
            "agent": str(agent.pk),
        },
    )
    assert done.status_code == 302
    assert set(Case.objects.values_list("assigned_to", flat=True)) == {agent.pk}


def test_assign_automatically_balances_the_selected_cases(
    client, supervisor, make_staff, alice, product
):
    make_staff("ann", roles.AGENT), make_staff("ben", roles.AGENT)
    cases = bulk_cases(alice, product, 6)
    client.force_login(supervisor)
    assert run_action(client, "assign_automatically", cases).status_code == 302
    assert (
        sorted(Case.objects.values_list("assigned_to__username", flat=True))
        == ["ann"] * 3 + ["ben"] * 3
    )


def test_an_agent_sees_no_assignment_actions(client, agent, case):
    client.force_login(agent)
    page = text(client.get(reverse(QUEUE)))
    assert "assign_to_me" not in page and "assign_automatically" not in page
    run_action(client, "assign_to_me", [case])
    assert Case.objects.get(pk=case.pk).assigned_to is None


def test_a_supervisor_assigns_from_the_case_page(client, supervisor, agent, case):
    client.force_login(supervisor)
    assert client.post(action_url(case, "assign"), {"agent": str(agent.pk)}).status_code == 302
    assert Case.objects.get(pk=case.pk).assigned_to == agent


# --- today's calls and emergency contacts ---------------------------------------------------------


def test_todays_calls_are_listed_and_marked_done(client, agent, case, alices_loan):
    today = CallTask.objects.create(
        loan=alices_loan, case=case, business_date=conduct.borrower_today(), rule="call"
    )
    older = CallTask.objects.create(
        loan=alices_loan, case=case, business_date=yesterday(), rule="call"
    )
    client.force_login(agent)
    url = reverse("admin:collections_calltask_changelist")
    assert listed(client.get(url)) == [today.pk]
    assert listed(client.get(url, {"day": "earlier"})) == [older.pk]
    response = client.post(
        url, {"action": "mark_done", "index": "0", ACTION_CHECKBOX_NAME: [str(today.pk)]}
    )
    assert response.status_code == 302
    today.refresh_from_db()
    assert today.status == CallTaskStatus.DONE and today.done_by == agent
    assert AuditEvent.objects.filter(action="call_task.complete").count() == 1


def test_emergency_contacts_are_listed_masked(client, supervisor, alice):
    emergency_contact(alice)
    client.force_login(supervisor)
    page = text(client.get(reverse("admin:collections_emergencycontact_changelist")))
    assert "136****6000" in page and "13600136000" not in page


def test_the_case_page_lists_the_articles_the_borrower_has_read(client, agent, case, alice):
    from django.utils import timezone

    from education.models import Article, ArticleRead, ArticleStatus

    article = Article.objects.create(
        title="What overdue means for your credit record", slug="overdue-credit", summary="s",
        body="Text.", language="en", status=ArticleStatus.PUBLISHED, published_at=timezone.now(),
    )
    client.force_login(agent)
    assert "What overdue means for your credit record" not in text(client.get(page_url(case)))
    ArticleRead.objects.create(borrower=alice, article=article)
    page = text(client.get(page_url(case)))
    assert "Articles the borrower has read" in page and "What overdue means for your credit record" in page
