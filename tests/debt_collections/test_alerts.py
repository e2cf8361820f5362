"""Alerts: raised from the loan-event outbox and the calendar, acknowledged once, read in an inbox
per role that shows new alerts without a reload."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as settings_module
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from debt_collections import tasks
from debt_collections.models import Alert, AlertKind, Case, PromiseToPay
from debt_collections.services.alerts import (
    SEPARATOR,
    alert_acknowledge,
    alert_calendar_check,
    alert_raise,
    alerts_from_events,
)
from debt_collections.services.case_sync import promises_check
from loans import services
from loans.models import Loan, LoanEvent, OutboxCursor, Stage
from loans.services.book import state_change_rows
from portal import roles
from portal.errors import NotAllowed
from portal.models import AuditEvent, User
from tests.conftest import FIRST_DUE, age_through

pytestmark = pytest.mark.django_db

COLLECTIONS_DAY = FIRST_DUE + dt.timedelta(days=30)  # alice's first bill is 30 days past due


@pytest.fixture(autouse=True)
def no_settle_lag(settings):
    settings.PORTAL_OUTBOX_SETTLE_SECONDS = 0


@pytest.fixture(autouse=True)
def in_english(client):
    """These tests read messages and pages in English (Chinese is the site's default)."""
    client.cookies[settings_module.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def agent(make_staff) -> User:
    return make_staff("agnes", roles.AGENT)


@pytest.fixture
def supervisor(make_staff) -> User:
    return make_staff("sam", roles.SUPERVISOR)


def alerts(kind: str | None = None) -> list[Alert]:
    found = Alert.objects.order_by("id")
    return list(found.filter(kind=kind) if kind else found)


def stage_move(loan: Loan, old: str, new: str, days: int) -> None:
    """The history and outbox rows a service writes when a loan changes stage."""
    loan.days_past_due = days
    history, events = state_change_rows(loan, {"stage": (old, new)}, business_date=dt.date(2026, 9, 1), reason="test")
    LoanEvent.objects.bulk_create(events)


def open_case(loan: Loan, **values: Any) -> Case:
    defaults: dict[str, Any] = {"stage": Stage.COLLECTIONS, "days_past_due": 35, "overdue_amount": Decimal("1200.00"),
                                "outstanding_amount": Decimal("11000.00"), "opened_on": dt.date(2026, 3, 20)}
    return Case.objects.create(loan=loan, borrower_id=loan.borrower_id, **{**defaults, **values})


def raise_for(role: str, n: int, loan: Loan | None = None) -> Alert:
    alert = alert_raise(kind=AlertKind.STAGE_ENTERED, role=role, message=f"alert {n} for {role}",
                        dedupe_key=f"test:{role}:{n}", loan=loan)
    assert alert is not None
    return alert


# --- from the outbox --------------------------------------------------------------------------


def test_a_loan_entering_collections_alerts_the_agents_and_the_reminder_stage_alerts_nobody(alices_loan):
    age_through(alices_loan, FIRST_DUE, COLLECTIONS_DAY)

    assert alerts_from_events() == 1

    (alert,) = alerts()
    assert (alert.kind, alert.role, alert.loan_id) == (AlertKind.STAGE_ENTERED, roles.AGENT, alices_loan.pk)
    assert alices_loan.reference in alert.message and "30" in alert.message


def test_the_message_is_stored_in_chinese_then_english(alices_loan):
    age_through(alices_loan, FIRST_DUE, COLLECTIONS_DAY)
    alerts_from_events()

    message = alerts()[0].message
    chinese, english = "催收阶段（30 天以上）", "Collections (30+ days)"
    assert chinese in message and english in message
    assert message.index(chinese) < message.index(SEPARATOR) < message.index(english)


def test_a_setting_makes_the_reminder_stage_alert_the_agents_too(alices_loan, settings):
    settings.PORTAL_ALERT_REMINDER_STAGE = True
    age_through(alices_loan, FIRST_DUE, COLLECTIONS_DAY)

    alerts_from_events()

    assert [(a.kind, a.role) for a in alerts()] == [(AlertKind.STAGE_ENTERED, roles.AGENT)] * 2
    assert "Reminder" in alerts()[0].message


@pytest.mark.parametrize("stage", [Stage.NON_PERFORMING, Stage.WRITE_OFF_CANDIDATE])
def test_non_performing_and_write_off_candidates_alert_the_supervisors(alices_loan, stage):
    case = open_case(alices_loan)
    stage_move(alices_loan, Stage.COLLECTIONS, stage, 180)

    alerts_from_events()

    (alert,) = alerts()
    assert (alert.kind, alert.role, alert.case_id) == (AlertKind.STAGE_ENTERED, roles.SUPERVISOR, case.pk)


def test_a_loan_getting_better_raises_nothing(alices_loan):
    stage_move(alices_loan, Stage.NON_PERFORMING, Stage.COLLECTIONS, 60)
    stage_move(alices_loan, Stage.REMINDER, Stage.CURRENT, 0)

    assert alerts_from_events() == 0
    assert alerts() == []


def test_a_large_exposure_entering_any_overdue_stage_alerts_the_supervisors(alice, make_loan):
    big = make_loan(alice, "60000.00")
    age_through(big, FIRST_DUE, FIRST_DUE + dt.timedelta(days=5))  # into the reminder stage

    alerts_from_events()

    (alert,) = alerts()
    assert (alert.kind, alert.role, alert.loan_id) == (AlertKind.LARGE_EXPOSURE, roles.SUPERVISOR, big.pk)
    assert "60,000.00" in alert.message


def test_the_large_exposure_amount_is_a_setting(alices_loan, settings):
    stage_move(alices_loan, Stage.REMINDER, Stage.COLLECTIONS, 30)
    settings.PORTAL_LARGE_EXPOSURE_AMOUNT = Decimal("12000.01")
    alerts_from_events()
    assert alerts(AlertKind.LARGE_EXPOSURE) == []

    settings.PORTAL_LARGE_EXPOSURE_AMOUNT = Decimal("12000.00")  # alice owes all ¥12,000 of principal
    stage_move(alices_loan, Stage.COLLECTIONS, Stage.NON_PERFORMING, 90)
    alerts_from_events()
    assert [a.role for a in alerts(AlertKind.LARGE_EXPOSURE)] == [roles.SUPERVISOR]


def test_a_broken_promise_alerts_the_agents_and_names_the_case(alices_loan, charlie):
    case = open_case(alices_loan)
    promise = PromiseToPay.objects.create(case=case, loan=alices_loan, amount=Decimal("500.00"),
                                          promised_date=dt.date(2026, 3, 25), paid_before=Decimal("0.00"),
                                          made_by=charlie)
    promises_check(promise_ids=[promise.pk], business_date=dt.date(2026, 3, 25))

    alerts_from_events()

    (alert,) = alerts()
    assert (alert.kind, alert.role, alert.case_id) == (AlertKind.PROMISE_BROKEN, roles.AGENT, case.pk)
    assert f"#{case.pk}" in alert.message and "500.00" in alert.message and "2026-03-25" in alert.message


def test_a_reversed_payment_alerts_the_supervisors(alices_loan):
    payment = services.payment_post(loan_id=alices_loan.pk, amount="300.00", channel="bank_transfer",
                                    idempotency_key="alerts-1", actor=None, business_date=dt.date(2026, 2, 1)).payment
    services.payment_reverse(payment_id=payment.pk, reason="the transfer bounced", actor=None,
                             business_date=dt.date(2026, 2, 3))

    alerts_from_events()

    (alert,) = alerts()
    assert (alert.kind, alert.role, alert.loan_id) == (AlertKind.PAYMENT_REVERSED, roles.SUPERVISOR, alices_loan.pk)
    assert "300.00" in alert.message and "the transfer bounced" in alert.message


def test_reading_the_outbox_again_raises_nothing_twice(alices_loan):
    age_through(alices_loan, FIRST_DUE, COLLECTIONS_DAY)
    assert alerts_from_events() == 1
    assert alerts_from_events() == 0

    OutboxCursor.objects.filter(consumer="alerts").update(last_event_id=0)  # as after a crash
    assert alerts_from_events() == 0
    assert len(alerts()) == 1


def test_the_task_reads_the_outbox(alices_loan):
    age_through(alices_loan, FIRST_DUE, COLLECTIONS_DAY)
    assert tasks.consume_alert_events() == 1


# --- calendar ---------------------------------------------------------------------------------


def test_a_missing_calendar_year_alerts_the_supervisors_once_per_year(monkeypatch):
    missing = {2027, 2028}
    monkeypatch.setattr("debt_collections.services.alerts.years_without_official_data",
                        lambda years: sorted(set(years) & missing))

    first = alert_calendar_check(today=dt.date(2026, 12, 1))
    assert first is not None and (first.kind, first.role) == (AlertKind.CALENDAR_MISSING, roles.SUPERVISOR)
    assert "2027" in first.message
    assert alert_calendar_check(today=dt.date(2026, 12, 2)) is None

    later = alert_calendar_check(today=dt.date(2027, 1, 1))  # 2027 told already; 2028 is new
    assert later is not None and "2028" in later.message
    assert len(alerts(AlertKind.CALENDAR_MISSING)) == 2


def test_no_calendar_alert_while_the_official_data_covers_both_years(monkeypatch):
    monkeypatch.setattr("debt_collections.services.alerts.years_without_official_data", lambda years: [])
    assert alert_calendar_check(today=dt.date(2025, 6, 1)) is None
    assert alerts() == []


# --- acknowledging ----------------------------------------------------------------------------


def test_a_member_of_the_role_acknowledges_once_and_it_is_audited(agent):
    alert = raise_for(roles.AGENT, 1)

    alert_acknowledge(alert_id=alert.pk, actor=agent)

    alert.refresh_from_db()
    assert alert.acknowledged_by == agent and alert.acknowledged_at is not None
    event = AuditEvent.objects.get(action="alert.acknowledge")
    assert event.actor == agent and event.object_id == str(alert.pk)
    assert event.before == {"acknowledged_at": None, "acknowledged_by": None}


def test_acknowledging_twice_is_refused_with_who_did_it_first(agent, make_staff):
    alert = raise_for(roles.AGENT, 1)
    alert_acknowledge(alert_id=alert.pk, actor=agent)

    with pytest.raises(NotAllowed, match="already acknowledged by agnes"):
        alert_acknowledge(alert_id=alert.pk, actor=make_staff("anna", roles.AGENT))
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1


def test_someone_outside_the_role_cannot_acknowledge(supervisor):
    alert = raise_for(roles.AGENT, 1)

    with pytest.raises(NotAllowed, match="Only members of the role"):
        alert_acknowledge(alert_id=alert.pk, actor=supervisor)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_a_superuser_may_acknowledge_any_alert():
    boss = User.objects.create_superuser("boss", password="boss-pass-2026")
    alert = raise_for(roles.LEGAL_OFFICER, 1)
    assert alert_acknowledge(alert_id=alert.pk, actor=boss).acknowledged_by == boss


def test_acknowledging_an_alert_that_does_not_exist_says_so(agent):
    with pytest.raises(NotAllowed, match="does not exist"):
        alert_acknowledge(alert_id=999_999, actor=agent)


# --- the inbox --------------------------------------------------------------------------------


def inbox(client: Client) -> Any:
    return client.get(reverse("admin:collections_alert_inbox"))


def test_the_inbox_lists_the_unacknowledged_alerts_of_my_roles_newest_first(client, agent, alices_loan):
    older = raise_for(roles.AGENT, 1, loan=alices_loan)
    newer = raise_for(roles.AGENT, 2)
    raise_for(roles.SUPERVISOR, 3)
    done = raise_for(roles.AGENT, 4)
    Alert.objects.filter(pk=done.pk).update(acknowledged_at=done.created_at, acknowledged_by=agent)
    client.force_login(agent)

    page = inbox(client)

    assert page.status_code == 200
    text = page.content.decode()
    assert text.index(newer.message) < text.index(older.message)
    assert "for supervisor" not in text and done.message not in text
    assert reverse("admin:loans_loan_change", args=[alices_loan.pk]) in text
    assert reverse("admin:collections_alert_acknowledge", args=[older.pk]) in text
    assert page.context["count"] == 2 and page.context["last_id"] == newer.pk


def inbox_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert inbox(client).status_code == 200
    return len(queries.captured_queries)


def many_alerts(role: str, first: int, last: int, loan: Loan) -> None:
    Alert.objects.bulk_create(
        Alert(kind=AlertKind.STAGE_ENTERED, role=role, message=f"alert {n}", dedupe_key=f"many:{n}", loan=loan)
        for n in range(first, last)
    )


def test_the_inbox_costs_the_same_queries_for_three_alerts_or_a_hundred_and_fifty(client, agent, alices_loan):
    client.force_login(agent)
    many_alerts(roles.AGENT, 0, 3, alices_loan)
    few = inbox_queries(client)
    many_alerts(roles.AGENT, 3, 150, alices_loan)

    assert inbox_queries(client) == few
    page = inbox(client)
    assert page.context["count"] == 150 and len(page.context["rows"]) == 100  # the newest hundred
    assert "The newest 100 are shown" in page.content.decode()


def test_the_acknowledge_button_posts_and_returns_to_the_inbox(client, agent):
    alert = raise_for(roles.AGENT, 1)
    client.force_login(agent)
    url = reverse("admin:collections_alert_acknowledge", args=[alert.pk])

    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:collections_alert_inbox")
    assert alert.message not in response.content.decode()
    second = client.post(url, follow=True)
    assert "already acknowledged" in second.content.decode()


def test_the_acknowledge_button_needs_the_csrf_token(agent):
    alert = raise_for(roles.AGENT, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    assert client.post(reverse("admin:collections_alert_acknowledge", args=[alert.pk])).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_header_links_to_the_inbox_and_loads_the_polling_script(client, agent, make_staff, settings):
    settings.PORTAL_ALERT_POLL_SECONDS = 7
    client.force_login(agent)
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:collections_alert_inbox") in index
    assert 'data-poll-seconds="7"' in index and "js/alert-inbox.js" in index

    client.force_login(make_staff("eddie", roles.EDITOR))
    assert "alert-inbox.js" not in client.get(reverse("admin:index")).content.decode()


# --- the JSON feed ------------------------------------------------------------------------------


def feed(client: Client, **params: Any) -> Any:
    return client.get(reverse("admin:collections_alert_feed"), params)


def test_the_feed_returns_my_alerts_newer_than_an_id_newest_first(client, agent, alices_loan):
    first = raise_for(roles.AGENT, 1)
    raise_for(roles.SUPERVISOR, 2)
    second = raise_for(roles.AGENT, 3, loan=alices_loan)
    third = raise_for(roles.AGENT, 4)
    client.force_login(agent)

    data = feed(client, after=first.pk).json()

    assert [a["id"] for a in data["alerts"]] == [third.pk, second.pk]
    assert data["count"] == 3 and data["last_id"] == third.pk
    row = data["alerts"][1]
    assert row["message"] == second.message and row["loan"] == alices_loan.reference
    assert row["acknowledge_url"] == reverse("admin:collections_alert_acknowledge", args=[second.pk])
    assert feed(client, after=third.pk).json() == {"count": 3, "last_id": third.pk, "alerts": []}


def test_the_feed_without_an_id_only_counts(client, agent):
    raise_for(roles.AGENT, 1)
    client.force_login(agent)
    assert feed(client).json() == {"count": 1, "last_id": 0, "alerts": []}


def test_the_feed_is_behind_the_admin_login_and_the_alert_permission(client, make_staff):
    response = feed(client, after=0)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]

    client.force_login(make_staff("eddie", roles.EDITOR))
    assert feed(client, after=0).status_code == 403
    assert inbox(client).status_code == 403


def test_the_feed_answers_only_get(client, agent):
    client.force_login(agent)
    assert client.post(reverse("admin:collections_alert_feed")).status_code == 405


# --- the read-only list -------------------------------------------------------------------------


def test_alerts_cannot_be_changed_or_deleted_in_the_admin_even_by_a_superuser(client):
    alert = raise_for(roles.AGENT, 1)
    client.force_login(User.objects.create_superuser("boss", password="boss-pass-2026"))

    assert client.get(reverse("admin:collections_alert_changelist")).status_code == 200
    assert client.post(reverse("admin:collections_alert_change", args=[alert.pk]), {"message": "x"}).status_code == 403
    assert client.post(reverse("admin:collections_alert_delete", args=[alert.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:collections_alert_add")).status_code == 403
    assert Alert.objects.get(pk=alert.pk).message == "alert 1 for agent"


def test_the_alert_list_shows_only_my_roles_alerts(client, agent):
    mine = raise_for(roles.AGENT, 1)
    theirs = raise_for(roles.SUPERVISOR, 2)
    client.force_login(agent)

    page = client.get(reverse("admin:collections_alert_changelist")).content.decode()

    assert mine.message in page and theirs.message not in page


# --- with the close of business -----------------------------------------------------------------


def test_the_close_of_business_turns_the_days_stage_changes_into_alerts(product, monkeypatch):
    from debt_collections.close_of_business import close_business_day
    from tests.debt_collections.cob_helpers import BUSINESS_DATE, make_portfolio

    monkeypatch.setattr("debt_collections.services.alerts.years_without_official_data", lambda years: [])
    make_portfolio(product)
    with transaction.atomic():
        close_business_day(business_date=BUSINESS_DATE)

    kinds = {(a.kind, a.role) for a in alerts()}
    assert (AlertKind.STAGE_ENTERED, roles.AGENT) in kinds  # the loan that reached 30 days
    assert (AlertKind.STAGE_ENTERED, roles.SUPERVISOR) in kinds  # non-performing and write-off candidates
