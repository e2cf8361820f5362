"""django-q2 entry points for collections: each calls one service."""

from __future__ import annotations

from portal.calendar import business_today

from .close_of_business import close_business_day, dates_to_close


def run_close_of_business() -> list[str]:
    """Daily at 00:30 (schedule "close-of-business"): yesterday, after any missed dates in order."""
    closed = []
    for business_date in dates_to_close(today=business_today()):
        close_business_day(business_date=business_date)
        closed.append(business_date.isoformat())
    return closed
