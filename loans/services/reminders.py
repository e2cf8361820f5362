"""The first reminder: a text message on the first working day after a bill's due date.

Working days follow the official Chinese calendar (portal.calendar). A bill gets this message
once, ever: the outbox's dedupe key refuses a second one, however often the job runs.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy

from portal.calendar import day_info, next_working_day
from portal.sms import sms_queue

from ..models import Installment, InstallmentStatus, LoanStatus

FIRST_REMINDER = gettext_lazy(
    "Your bill of ¥%(amount)s for loan %(reference)s was due on %(date)s and is not fully paid. "
    "Please pay soon to avoid penalty interest. Cannot pay? Call us for help: %(hotline)s."
)


def due_dates_reminded_on(business_date: dt.date) -> list[dt.date]:
    """The due dates whose first working day after them is `business_date` (none on a holiday)."""
    if not day_info(business_date).is_working_day:
        return []
    dates, day = [], business_date - dt.timedelta(days=1)
    while True:
        dates.append(day)
        if day_info(day).is_working_day:
            break
        day -= dt.timedelta(days=1)
    return [d for d in dates if next_working_day(d).date == business_date]


def reminders_queue_first(*, business_date: dt.date, hotline: str) -> int:
    """Queue the first reminder for every unpaid bill due on the dates reminded today."""
    bills = (
        Installment.objects.filter(
            due_date__in=due_dates_reminded_on(business_date),
            status__in=[InstallmentStatus.PENDING, InstallmentStatus.DUE, InstallmentStatus.OVERDUE],
            loan__status=LoanStatus.ACTIVE,
        )
        .select_related("loan__borrower__user")
        .order_by("id")
    )
    queued = 0
    with transaction.atomic():
        for bill in bills.iterator(chunk_size=2000):
            if bill.total_outstanding <= 0:
                continue
            borrower = bill.loan.borrower
            message = sms_queue(
                recipient=borrower.user, mobile=borrower.mobile, language=borrower.preferred_language,
                kind="first_reminder", dedupe_key=f"first-reminder:{bill.pk}", text=FIRST_REMINDER,
                params={"amount": f"{bill.total_outstanding:,.2f}", "reference": bill.loan.reference,
                        "date": bill.due_date.isoformat(), "hotline": hotline},
            )
            queued += message is not None
    return queued
