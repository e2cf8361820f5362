"""The conduct rules for contacts, at their boundaries, through the service that enforces them.

Every contact here is on yesterday (borrower local time), so none is in the future whatever
the clock says when the tests run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from debt_collections import conduct, services
from debt_collections.conduct import RuleRefused
from debt_collections.models import Case, ContactLog, ContactParty
from portal.errors import DomainError, NotAllowed
from tests.threads import run_together

from .factories import emergency_contact, local, make_case, yesterday

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Services word their refusals in the active language when they raise; read them in English."""
    with translation.override("en"):
        yield


def call(
    case: Case, actor: Any, at: dt.datetime | None, outcome: str = "no_answer", **kwargs: Any
) -> ContactLog:
    values: dict[str, Any] = {"channel": "call", "party": "borrower", "outcome": outcome}
    values.update(kwargs)
    return services.contact_log(case_id=case.pk, actor=actor, at=at, **values)


def third_party_call(
    case: Case, actor: Any, at: dt.datetime | None, contact_id: int, **kwargs: Any
) -> ContactLog:
    values: dict[str, Any] = {
        "channel": "call",
        "party": ContactParty.EMERGENCY_CONTACT,
        "outcome": "message_left",
        "emergency_contact_id": contact_id,
        "third_party_reason": "Borrower's phone unanswered for three days",
        "debt_not_disclosed": True,
        "note": "Asked her to have Wang call us back.",
    }
    values.update(kwargs)
    return call(case, actor, at, **values)


# --- quiet hours ----------------------------------------------------------------------------------


@pytest.mark.parametrize("clock", ["08:00", "12:00", "21:59"])
def test_a_contact_outside_the_quiet_hours_is_logged(case, agent, clock):
    logged = call(case, agent, local(yesterday(), clock))
    assert logged.pk is not None


@pytest.mark.parametrize("clock", ["22:00", "23:30", "00:00", "03:00", "07:59"])
def test_a_contact_in_the_quiet_hours_is_refused_by_the_rule_named_quiet_hours(case, agent, clock):
    with pytest.raises(RuleRefused) as refused:
        call(case, agent, local(yesterday(), clock))
    assert refused.value.rule == conduct.QUIET_HOURS
    assert (
        "Quiet hours" in str(refused.value)
        and "22:00" in str(refused.value)
        and "08:00" in str(refused.value)
    )
    assert not ContactLog.objects.exists()


def test_the_quiet_hours_are_the_borrowers_local_time_not_the_servers(case, agent, settings):
    settings.PORTAL_BORROWER_TIME_ZONE = "Asia/Urumqi"  # two hours behind Beijing
    beijing_half_past_nine = dt.datetime.combine(
        yesterday(), dt.time(9, 30), tzinfo=ZoneInfo("Asia/Shanghai")
    )
    with pytest.raises(RuleRefused):  # 07:30 for the borrower
        call(case, agent, beijing_half_past_nine)
    call(case, agent, beijing_half_past_nine + dt.timedelta(minutes=30))  # 08:00 for the borrower


def test_quiet_hours_that_do_not_wrap_midnight_are_read_as_one_span(settings):
    settings.PORTAL_QUIET_HOURS = (dt.time(12, 0), dt.time(14, 0))
    day = yesterday()
    assert not conduct.in_quiet_hours(local(day, "11:59"))
    assert conduct.in_quiet_hours(local(day, "12:00"))
    assert conduct.in_quiet_hours(local(day, "13:59"))
    assert not conduct.in_quiet_hours(local(day, "14:00"))


def test_a_promise_is_not_a_contact_so_it_may_be_recorded_in_the_quiet_hours(case, agent):
    night = local(yesterday(), "23:30")
    with mock.patch("django.utils.timezone.now", return_value=night):
        with pytest.raises(RuleRefused):  # a contact logged "now" is at 23:30
            call(case, agent, None)
        promise = services.promise_record(
            case_id=case.pk,
            actor=agent,
            amount="500.00",
            promised_date=night.date() + dt.timedelta(days=2),
        )
    assert promise.pk is not None


# --- the daily call limit -------------------------------------------------------------------------


def test_the_sixth_call_of_the_day_to_a_number_is_allowed_and_the_seventh_refused(case, agent):
    day = yesterday()
    for minute in range(6):
        call(case, agent, local(day, f"10:0{minute}"))
    with pytest.raises(RuleRefused) as refused:
        call(case, agent, local(day, "10:30"))
    assert refused.value.rule == conduct.DAILY_CALL_LIMIT
    assert "Daily call limit" in str(refused.value) and "6" in str(refused.value)
    assert ContactLog.objects.filter(channel="call").count() == 6


def test_the_call_limit_counts_one_number_across_the_borrowers_cases(agent, alice, make_loan):
    first, second = make_case(make_loan(alice)), make_case(make_loan(alice))
    day = yesterday()
    for minute in range(3):
        call(first, agent, local(day, f"09:0{minute}"))
        call(second, agent, local(day, f"09:1{minute}"))
    with pytest.raises(RuleRefused):
        call(first, agent, local(day, "11:00"))


def test_the_call_limit_starts_again_on_the_next_local_day(case, agent):
    day = yesterday() - dt.timedelta(days=1)
    for minute in range(6):
        call(case, agent, local(day, f"21:5{minute}"))
    call(case, agent, local(day + dt.timedelta(days=1), "08:00"))


def test_text_messages_and_visits_do_not_count_as_calls(case, agent):
    day = yesterday()
    for minute in range(6):
        call(case, agent, local(day, f"10:0{minute}"))
    services.contact_log(
        case_id=case.pk,
        actor=agent,
        at=local(day, "11:00"),
        channel="sms",
        party="borrower",
        outcome="no_answer",
    )
    services.contact_log(
        case_id=case.pk,
        actor=agent,
        at=local(day, "12:00"),
        channel="visit",
        party="borrower",
        outcome="refused",
    )
    assert ContactLog.objects.count() == 8


def test_the_limit_is_a_setting(case, agent, settings):
    settings.PORTAL_MAX_CALLS_PER_NUMBER_PER_DAY = 2
    day = yesterday()
    call(case, agent, local(day, "10:00"))
    call(case, agent, local(day, "10:01"))
    with pytest.raises(RuleRefused):
        call(case, agent, local(day, "10:02"))


# --- third parties --------------------------------------------------------------------------------


def test_a_third_party_is_refused_before_the_borrower_failed_to_answer_enough_times(
    case, agent, alice
):
    sister = emergency_contact(alice)
    day = yesterday()
    call(case, agent, local(day, "09:00"))
    call(case, agent, local(day, "10:00"))
    with pytest.raises(RuleRefused) as refused:
        third_party_call(case, agent, local(day, "11:00"), sister.pk)
    assert refused.value.rule == conduct.BORROWER_UNREACHABLE
    assert "cannot be reached" in str(refused.value) and "there were 2" in str(refused.value)


def test_a_third_party_may_be_called_after_enough_failed_attempts_and_the_reason_is_logged(
    case, agent, alice
):
    sister = emergency_contact(alice)
    day = yesterday()
    for hour in ("09:00", "10:00", "11:00"):
        call(case, agent, local(day, hour), outcome="busy")
    logged = third_party_call(case, agent, local(day, "12:00"), sister.pk)
    assert (
        logged.party == ContactParty.EMERGENCY_CONTACT and logged.emergency_contact_id == sister.pk
    )
    assert logged.third_party_reason == "Borrower's phone unanswered for three days"
    assert logged.number == sister.mobile


def test_reaching_the_borrower_makes_third_parties_off_limits_again(case, agent, alice):
    sister = emergency_contact(alice)
    day = yesterday()
    for hour in ("09:00", "10:00", "11:00"):
        call(case, agent, local(day, hour))
    call(case, agent, local(day, "12:00"), outcome="callback")
    with pytest.raises(RuleRefused):
        third_party_call(case, agent, local(day, "13:00"), sister.pk)


def test_failed_attempts_older_than_the_window_do_not_count(case, agent, alice, settings):
    sister = emergency_contact(alice)
    day = yesterday()
    old = day - dt.timedelta(days=settings.PORTAL_THIRD_PARTY_WINDOW_DAYS + 1)
    for hour in ("09:00", "10:00", "11:00"):
        call(case, agent, local(old, hour))
    with pytest.raises(RuleRefused):
        third_party_call(case, agent, local(day, "12:00"), sister.pk)


def test_third_party_contact_needs_the_agents_confirmation_that_the_debt_was_not_disclosed(
    case, agent, alice
):
    sister = emergency_contact(alice)
    day = yesterday()
    for hour in ("09:00", "10:00", "11:00"):
        call(case, agent, local(day, hour))
    with pytest.raises(RuleRefused) as refused:
        third_party_call(case, agent, local(day, "12:00"), sister.pk, debt_not_disclosed=False)
    assert refused.value.rule == conduct.NO_DISCLOSURE
    assert "Never tell a third party about the debt" in str(refused.value)


@pytest.mark.parametrize(
    "note",
    [
        "Told her Wang owes us money.",
        "Explained the overdue loan to the sister.",
        "告诉了她借款人逾期的事",
    ],
)
def test_a_third_party_note_that_mentions_the_debt_is_refused(case, agent, alice, note):
    sister = emergency_contact(alice)
    day = yesterday()
    for hour in ("09:00", "10:00", "11:00"):
        call(case, agent, local(day, hour))
    with pytest.raises(RuleRefused) as refused:
        third_party_call(case, agent, local(day, "12:00"), sister.pk, note=note)
    assert refused.value.rule == conduct.NO_DISCLOSURE
    assert ContactLog.objects.filter(party=ContactParty.EMERGENCY_CONTACT).count() == 0


def test_a_third_party_contact_needs_its_reason(case, agent, alice):
    sister = emergency_contact(alice)
    with pytest.raises(DomainError, match="reason for contacting a third party"):
        third_party_call(
            case, agent, local(yesterday(), "12:00"), sister.pk, third_party_reason="  "
        )


def test_only_the_borrowers_own_emergency_contacts_can_be_called(case, agent, bob):
    stranger = emergency_contact(bob, mobile="13600136999")
    day = yesterday()
    for hour in ("09:00", "10:00", "11:00"):
        call(case, agent, local(day, hour))
    with pytest.raises(NotAllowed, match="not one the borrower named"):
        third_party_call(case, agent, local(day, "12:00"), stranger.pk)


def test_a_third_party_cannot_promise_or_refuse_to_pay(case, agent, alice):
    sister = emergency_contact(alice)
    with pytest.raises(DomainError, match="third party can only take a message"):
        third_party_call(case, agent, local(yesterday(), "12:00"), sister.pk, outcome="promised")


def test_english_disclosure_words_match_whole_words_only():
    assert conduct.disclosure_words("Please call back about the loan") == ["loan"]
    assert conduct.disclosure_words("Lonely sister, flowers") == []
    assert conduct.disclosure_words("请他回电") == []


# --- two agents at once ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_agents_logging_the_sixth_call_at_once_log_one(agent, make_staff, alice, make_loan):
    from portal.roles import AGENT

    other = make_staff("otto", AGENT)
    # Two cases of one borrower: the limit is per number, so the case lock alone would not do.
    first, second = make_case(make_loan(alice)), make_case(make_loan(alice))
    day = yesterday()
    for minute in range(5):
        call(first, agent, local(day, f"10:0{minute}"))

    outcomes = run_together(
        2,
        lambda i: call((first, second)[i], (agent, other)[i], local(day, f"11:0{i}")),
    )

    logged = [o for o in outcomes if isinstance(o, ContactLog)]
    refused = [o for o in outcomes if isinstance(o, RuleRefused)]
    assert len(logged) == 1 and len(refused) == 1, outcomes
    assert refused[0].rule == conduct.DAILY_CALL_LIMIT
    assert ContactLog.objects.filter(number=alice.mobile, channel="call").count() == 6


@pytest.mark.django_db(transaction=True)
def test_two_agents_logging_the_sixth_call_on_one_case_log_one(agent, make_staff, case):
    from portal.roles import AGENT

    other = make_staff("otto", AGENT)
    day = yesterday()
    for minute in range(5):
        call(case, agent, local(day, f"10:0{minute}"))

    outcomes = run_together(2, lambda i: call(case, (agent, other)[i], local(day, f"11:0{i}")))

    assert sorted(type(o).__name__ for o in outcomes) == ["ContactLog", "RuleRefused"], outcomes
    assert ContactLog.objects.filter(channel="call").count() == 6
    assert Case.objects.get(pk=case.pk).failed_contacts == 6
