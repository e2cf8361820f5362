"""The working-day calendar: official holidays and swapped weekends, uncovered years, overrides."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from portal import roles
from portal.calendar import day_info, next_working_day, years_without_official_data
from portal.models import AuditEvent, CalendarOverride

pytestmark = pytest.mark.django_db


def test_national_day_is_a_holiday_and_its_swapped_saturday_a_working_day():
    assert not day_info(dt.date(2026, 10, 1)).is_working_day  # Thursday, National Day
    swapped = day_info(dt.date(2026, 10, 10))  # a Saturday made a working day (调休)
    assert swapped.is_working_day and swapped.source == "official"
    assert dt.date(2026, 10, 10).weekday() == 5


def test_the_first_working_day_after_a_due_date_skips_the_golden_week():
    # Due on Wednesday 30 September: the official holiday runs 1–7 October.
    assert next_working_day(dt.date(2026, 9, 30)).date == dt.date(2026, 10, 8)


def test_the_first_working_day_after_a_friday_is_monday_in_an_ordinary_week():
    assert next_working_day(dt.date(2026, 6, 5)).date == dt.date(2026, 6, 8)


def test_a_year_the_package_does_not_cover_falls_back_to_monday_to_friday_and_says_so():
    monday = day_info(dt.date(2027, 3, 1))
    saturday = day_info(dt.date(2027, 3, 6))
    assert (monday.is_working_day, monday.source) == (True, "fallback")
    assert (saturday.is_working_day, saturday.source) == (False, "fallback")
    assert years_without_official_data([2026, 2027, 2027]) == [2027]


def test_staff_overrides_win_over_the_fallback_and_the_official_data():
    CalendarOverride.objects.create(day=dt.date(2027, 1, 1), is_working_day=False, note="元旦")
    CalendarOverride.objects.create(day=dt.date(2026, 10, 10), is_working_day=False, note="test")
    assert day_info(dt.date(2027, 1, 1)).source == "override"
    assert not day_info(dt.date(2027, 1, 1)).is_working_day
    assert not day_info(dt.date(2026, 10, 10)).is_working_day
    # New Year's Day 2027 is a Friday: the next working day after 31 December is Monday the 4th.
    assert next_working_day(dt.date(2026, 12, 31)).date == dt.date(2027, 1, 4)


def test_supervisors_enter_overrides_in_the_admin_and_every_change_is_audited(client, make_staff):
    client.force_login(make_staff("sam", roles.SUPERVISOR))
    response = client.post(reverse("admin:portal_calendaroverride_add"),
                           {"day": "2027-02-11", "is_working_day": "", "note": "春节"})
    assert response.status_code == 302
    override = CalendarOverride.objects.get(day=dt.date(2027, 2, 11))
    assert not override.is_working_day
    assert override.created_by is not None and override.created_by.username == "sam"
    client.post(reverse("admin:portal_calendaroverride_changelist"),
                {"action": "delete_selected", "_selected_action": [override.pk], "post": "yes"})
    assert not CalendarOverride.objects.exists()
    assert list(AuditEvent.objects.filter(object_type="portal.calendaroverride").values_list("action", flat=True)
                .order_by("id")) == ["calendar.override", "calendar.override_delete"]


def test_agents_cannot_change_the_calendar(client, make_staff):
    client.force_login(make_staff("agnes", roles.AGENT))
    assert client.get(reverse("admin:portal_calendaroverride_add")).status_code == 403
