"""Later reminders and call tasks: what the close of business does on given days past due.

The days are settings (`PORTAL_STAGE_ACTIONS`); the texts live here, translated. A rule fires
for a loan on the business date its days past due reach the rule's day, once: the SMS outbox's
dedupe key and the call tasks' unique constraint refuse a second one on any re-run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from loans.models import Borrower
from loans.services.ageing import AgedLoan
from portal.sms import SmsDraft, sms_queue_many

from .models import CallTask

CALL = "call"

SMS_TEXTS: dict[str, Promise] = {
    "sms_week": gettext_lazy(
        "Loan %(reference)s is %(days)s days overdue: ¥%(amount)s is due now and penalty interest "
        "grows every day. Please pay in the app, or call %(hotline)s if you need help."
    ),
    "sms_half_month": gettext_lazy(
        "Loan %(reference)s is %(days)s days overdue (¥%(amount)s). If this is your first time "
        "overdue, you can ask once for an interest-free extension in the app. Questions: %(hotline)s."
    ),
    "sms_before_collections": gettext_lazy(
        "Loan %(reference)s is %(days)s days overdue (¥%(amount)s). At %(collections_days)s days it "
        "passes to our collections team and may be reported to the credit bureau. Pay now, or call "
        "%(hotline)s to agree a plan."
    ),
    "sms_collections": gettext_lazy(
        "Loan %(reference)s is now with our collections team; an agent will contact you between "
        "08:00 and 22:00. Pay ¥%(amount)s in the app, or ask for hardship help there if you cannot."
    ),
    "sms_legal_warning": gettext_lazy(
        "Loan %(reference)s is %(days)s days overdue (¥%(amount)s) and may be referred for legal "
        "action. Call %(hotline)s to agree a repayment plan before that happens."
    ),
}


def rules_by_day() -> dict[int, list[str]]:
    rules: dict[int, list[str]] = {}
    for day, rule in settings.PORTAL_STAGE_ACTIONS:
        if rule != CALL and rule not in SMS_TEXTS:
            raise ImproperlyConfigured(f"PORTAL_STAGE_ACTIONS names an unknown rule {rule!r}")
        rules.setdefault(day, []).append(rule)
    return rules


def sms_not_before(now: dt.datetime) -> dt.datetime | None:
    """None inside the sending hours; otherwise the next morning's first sending hour (local time)."""
    local = timezone.localtime(now)
    earliest, latest = settings.PORTAL_SMS_EARLIEST_HOUR, settings.PORTAL_SMS_LATEST_HOUR
    if earliest <= local.hour < latest:
        return None
    morning = local.replace(hour=earliest, minute=0, second=0, microsecond=0)
    return morning if local.hour < earliest else morning + dt.timedelta(days=1)


def stage_actions_queue(*, aged: Sequence[AgedLoan], business_date: dt.date) -> Counter[str]:
    """Queue the reminders and call tasks due for the loans just aged (caller's transaction)."""
    rules = rules_by_day()
    firing = [(item, rule) for item in aged for rule in rules.get(item.loan.days_past_due, [])]
    # Borrowers only of the loans texted today: a few, read at once.
    borrowers = Borrower.objects.select_related("user").in_bulk(
        {item.loan.borrower_id for item, rule in firing if rule != CALL}
    )
    counts: Counter[str] = Counter()
    calls: list[CallTask] = []
    texts: list[SmsDraft] = []
    not_before = sms_not_before(timezone.now())
    for item, rule in firing:
        loan = item.loan
        if rule == CALL:
            calls.append(CallTask(loan_id=loan.pk, business_date=business_date, rule=f"call_{loan.days_past_due}"))
            continue
        borrower = borrowers[loan.borrower_id]
        texts.append(SmsDraft(
            recipient=borrower.user, mobile=borrower.mobile, language=borrower.preferred_language,
            kind=f"stage_{rule}", text=SMS_TEXTS[rule],
            # One per rule and overdue episode: the day the oldest unpaid bill fell due.
            dedupe_key=f"stage:{loan.pk}:{rule}:{business_date - dt.timedelta(days=loan.days_past_due)}",
            params={"reference": loan.reference, "days": loan.days_past_due, "amount": f"{item.due_now:,.2f}",
                    "hotline": settings.PORTAL_HOTLINE,
                    "collections_days": settings.PORTAL_STAGE_THRESHOLDS["collections"]},
        ))
    counts["sms_queued"] += sms_queue_many(texts, not_before=not_before)
    created = CallTask.objects.bulk_create(calls, ignore_conflicts=True)
    counts["call_tasks"] += len(created)
    return counts
