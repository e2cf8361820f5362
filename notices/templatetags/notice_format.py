"""How notices print amounts and dates, the same whatever the site's active language.

The facts hold amounts as text ("1234.50") and dates as ISO text; these filters print them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@register.filter
def amount(value: Any) -> str:
    """ "1234.5" -> "1,234.50"."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return ""
    return f"{number:,.2f}"


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


@register.filter
def zh_date(value: Any) -> str:
    """ "2026-03-01" -> "2026年3月1日"."""
    day = _date(value)
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


@register.filter
def en_date(value: Any) -> str:
    """ "2026-03-01" -> "1 March 2026"."""
    day = _date(value)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}" if day else ""
