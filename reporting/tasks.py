"""django-q2 entry points for credit reporting: each calls services."""

from __future__ import annotations

from portal.calendar import business_today

from .services import credit_notices_advance, credit_report_month, month_to_report


def run_credit_reporting() -> dict[str, object]:
    """Daily (schedule "credit-reporting", 03:00, after the close of business): advance notices to
    borrowers newly overdue, then the previous month's report once its last day is closed and
    it is not reported yet (a run that failed is resumed). Idempotent: nothing happens twice."""
    today = business_today()
    notices = credit_notices_advance(business_date=today)
    month = month_to_report(today=today)
    reported = None
    if month is not None:
        run = credit_report_month(month=month, reporting_date=today)
        reported = month.strftime("%Y-%m") if run is not None else None
    return {"notices": notices, "reported": reported}


def refresh_dashboard() -> list[str]:
    """Every 5 minutes (schedule "dashboard-refresh"): the monitoring dashboard's numbers for the
    page as it opens (no filters), computed again before they expire, so that no supervisor waits
    for them. Returns the figures computed."""
    from .dashboard import refresh
    from .forms import DashboardFilterForm

    today = business_today()
    return refresh(filters=DashboardFilterForm().filters(today=today), today=today)


def print_credit_notice(notice_id: int) -> str:
    """After a credit notice commits: its printed PDF, through the notices app."""
    from .services import credit_notice_document

    return credit_notice_document(notice_id=notice_id)
