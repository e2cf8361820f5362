"""django-q2 entry points for collections: each calls one service."""

from __future__ import annotations

from portal.calendar import business_today

from .close_of_business import close_business_day, dates_to_close
from .services.alerts import alert_calendar_check, alerts_from_events
from .services.hardship import hardship_offers_expire_due


def run_close_of_business() -> list[str]:
    """Daily at 00:30 (schedule "close-of-business"): yesterday, after any missed dates in order."""
    closed = []
    for business_date in dates_to_close(today=business_today()):
        close_business_day(business_date=business_date)
        closed.append(business_date.isoformat())
    return closed


def consume_alert_events() -> int:
    """Every minute or so: new loan events become alerts (the outbox consumer "alerts")."""
    return alerts_from_events()


def check_calendar() -> bool:
    """Daily: supervisors are told when this or next year's official calendar is missing."""
    return alert_calendar_check(today=business_today()) is not None


def expire_hardship_offers() -> int:
    """Hourly: offers past their time expire, and the request goes back to review."""
    return hardship_offers_expire_due()


def expire_restructuring_offers() -> int:
    """Hourly (schedule "expire-restructuring-offers"): unanswered restructuring offers past
    their time expire."""
    from .services.restructuring import restructuring_offers_expire_due

    return restructuring_offers_expire_due()
