"""Business dates and the official Chinese working-day calendar (工作日, with 调休 swaps).

Official data comes from the `chinesecalendar` package, which knows only the years announced
before its release. For other years the calendar falls back to Monday–Friday and says so
(`source == "fallback"`), and staff corrections (`CalendarOverride`) win over both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import chinese_calendar
from django.utils import timezone

from portal.models import CalendarOverride

Source = Literal["override", "official", "fallback"]
MAX_SEARCH_DAYS = 60  # the longest run of non-working days is a week; this is generous


def business_today() -> dt.date:
    return timezone.localdate()


@dataclass(frozen=True)
class Day:
    date: dt.date
    is_working_day: bool
    source: Source


def _official(day: dt.date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # the year was not announced when the package was released
        return None


def classify(day: dt.date, overrides: dict[dt.date, bool]) -> Day:
    if day in overrides:
        return Day(day, overrides[day], "override")
    official = _official(day)
    if official is not None:
        return Day(day, official, "official")
    return Day(day, day.weekday() < 5, "fallback")


def _overrides(first: dt.date, last: dt.date) -> dict[dt.date, bool]:
    return dict(
        CalendarOverride.objects.filter(day__range=(first, last)).values_list("day", "is_working_day")
    )


def day_info(day: dt.date) -> Day:
    return classify(day, _overrides(day, day))


def next_working_day(after: dt.date) -> Day:
    """The first working day strictly after `after` (one query, whatever the gap)."""
    last = after + dt.timedelta(days=MAX_SEARCH_DAYS)
    overrides = _overrides(after + dt.timedelta(days=1), last)
    day = after + dt.timedelta(days=1)
    while day <= last:
        info = classify(day, overrides)
        if info.is_working_day:
            return info
        day += dt.timedelta(days=1)
    raise RuntimeError(f"no working day within {MAX_SEARCH_DAYS} days after {after}")


def years_without_official_data(years: Iterable[int]) -> list[int]:
    """Years that fall back to Monday–Friday: staff should enter that year's holidays."""
    return [year for year in sorted(set(years)) if _official(dt.date(year, 1, 1)) is None]
