"""Read queries for case work: the queues and the case page, a fixed number of queries each.

The queues read one table (`Case`, which carries copies of the loan's stage, days past due and
amounts) along the indexes `case_queue_idx`, `case_stage_queue_idx` and `case_agent_queue_idx`.
The case page reads each kind of history with one query, the latest TIMELINE_PER_KIND of each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from education.selectors import ReadArticle, articles_read_by
from loans.models import Payment, Stage, StageChange
from loans.selectors import LoanSummary, borrower_loans
from notices.selectors import notice_timeline_text, notices_for_case
from portal.models import SmsMessage

from .conduct import borrower_time_zone
from .models import (
    CallTask,
    Case,
    CaseClassification,
    CaseNote,
    CaseStatus,
    ContactLog,
    EmergencyContact,
    HardshipRequest,
    PromiseStatus,
    PromiseToPay,
)
from .priority import PriorityExplanation, priority_explain

TIMELINE_PER_KIND = 20

QUEUE_MINE = "mine"
QUEUE_UNASSIGNED = "unassigned"
QUEUE_CLOSED = "closed"
_STAGE_QUEUE = "stage-"
# Stages an open case can be in (a part payment can bring a loan back under 30 days).
CASE_STAGES = [stage for stage in Stage if stage != Stage.CURRENT]


# --- queues -----------------------------------------------------------------------------------


def queue_choices() -> list[tuple[str, str]]:
    """The queues an agent picks from; without a choice, every open case."""
    return [
        (QUEUE_MINE, _("My cases")),
        *[
            (f"{_STAGE_QUEUE}{stage.value}", _("Team queue: %(stage)s") % {"stage": stage.label})
            for stage in CASE_STAGES
        ],
        (QUEUE_UNASSIGNED, _("Unassigned cases")),
        (QUEUE_CLOSED, _("Closed cases")),
    ]


def queue_filter(
    queryset: QuerySet[Case], *, user_id: int | None, queue: str | None
) -> QuerySet[Case]:
    """Each queue is an index's leading columns, so its first page is an index scan."""
    if queue == QUEUE_CLOSED:
        return queryset.filter(status=CaseStatus.CLOSED)
    queryset = queryset.filter(status=CaseStatus.OPEN)
    if queue == QUEUE_MINE:
        return queryset.filter(assigned_to_id=user_id)
    if queue == QUEUE_UNASSIGNED:
        return queryset.filter(assigned_to__isnull=True)
    if queue and queue.startswith(_STAGE_QUEUE):
        return queryset.filter(stage=queue.removeprefix(_STAGE_QUEUE))
    return queryset


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    low: Any  # inclusive; None: no lower bound
    high: Any  # exclusive; None: no upper bound

    def q(self, field: str) -> Q:
        condition = Q()
        if self.low is not None:
            condition &= Q(**{f"{field}__gte": self.low})
        if self.high is not None:
            condition &= Q(**{f"{field}__lt": self.high})
        return condition


def _buckets(edges: list[Any], show: Callable[[Any], str]) -> list[Bucket]:
    """Below the first edge, between each two, from the last: keys read "-30", "30-60", "180-"."""
    first, last = edges[0], edges[-1]
    buckets = [Bucket(f"-{first}", _("Under %(high)s") % {"high": show(first)}, None, first)]
    for low, high in zip(edges, edges[1:], strict=False):
        label = _("%(low)s to under %(high)s") % {"low": show(low), "high": show(high)}
        buckets.append(Bucket(f"{low}-{high}", label, low, high))
    buckets.append(Bucket(f"{last}-", _("%(low)s or more") % {"low": show(last)}, last, None))
    return buckets


def dpd_buckets() -> list[Bucket]:
    """Edges at the stage thresholds and the legal-review age (settings)."""
    thresholds = settings.PORTAL_STAGE_THRESHOLDS
    edges = sorted(
        {
            thresholds["collections"],
            settings.PORTAL_LEGAL_REVIEW_DPD,
            thresholds["non_performing"],
            thresholds["write_off_candidate"],
        }
    )
    return _buckets(edges, lambda days: _("%(days)s days") % {"days": days})


AMOUNT_EDGES = [Decimal(1000), Decimal(5000), Decimal(20000), Decimal(100000)]


def amount_buckets() -> list[Bucket]:
    return _buckets(AMOUNT_EDGES, lambda amount: f"¥{amount:,}")


def bucket_filter(
    queryset: QuerySet[Case], *, field: str, buckets: list[Bucket], key: str | None
) -> QuerySet[Case]:
    for bucket in buckets:
        if bucket.key == key:
            return queryset.filter(bucket.q(field))
    return queryset


# --- the case page ----------------------------------------------------------------------------


STRATEGIES: dict[str, Promise] = {
    CaseClassification.UNKNOWN: gettext_lazy(
        "Not yet known: find out why the borrower is overdue. Reach them, ask about their "
        "situation, log the reason with every contact, then classify the case."
    ),
    CaseClassification.HARDSHIP: gettext_lazy(
        "Hardship: the borrower cannot pay. Help before pressure: a grace period, a waiver of "
        "penalty interest or interest, or a restructured plan through a hardship request. "
        "No legal steps while help is being worked out."
    ),
    CaseClassification.WILFUL: gettext_lazy(
        "Wilful default: the borrower can pay but will not. Keep a complete record of every "
        "contact and promise, explain the consequences for their credit record, and request a "
        "legal review from %(days)s days past due."
    ),
}


def strategy_for(classification: str) -> str:
    return str(STRATEGIES[classification]) % {"days": settings.PORTAL_LEGAL_REVIEW_DPD}


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # sms, contact, note, promise, payment, stage, hardship, call_task
    label: str
    text: str
    actor: str = ""
    source: Any = None  # the row it was made from


@dataclass
class CasePage:
    case: Case
    loans: list[LoanSummary]
    emergency_contacts: list[EmergencyContact]
    timeline: list[TimelineEntry]
    pending_promise: PromiseToPay | None
    priority: PriorityExplanation
    strategy: str
    articles_read: list[ReadArticle]


def _user(user: Any) -> str:
    return user.get_username() if user is not None else ""


def _contact_text(contact: ContactLog) -> str:
    parts = [contact.get_channel_display(), contact.get_outcome_display()]
    if contact.emergency_contact is not None:
        parts.insert(1, str(contact.emergency_contact))
    if contact.overdue_reason != "unknown":
        parts.append(_("reason: %(reason)s") % {"reason": contact.get_overdue_reason_display()})
    if contact.third_party_reason:
        parts.append(_("why a third party: %(reason)s") % {"reason": contact.third_party_reason})
    if contact.note:
        parts.append(contact.note)
    return " · ".join(str(part) for part in parts)


def _labels(model: Any, field: str) -> dict[Any, str]:
    """A choice field's labels in the active language, looked up once for all rows (what
    `get_<field>_display` gives, without building them again for each row)."""
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


def case_timeline(case: Case) -> list[TimelineEntry]:
    """Everything that happened around the case, newest first: nine queries, however long
    the history. Rows that only give a line of text are read as values, not model instances."""
    n = TIMELINE_PER_KIND
    zone = borrower_time_zone()
    entries: list[TimelineEntry] = []
    sms_status = _labels(SmsMessage, "status")
    label = _("Text message")
    for at, body, status in (
        SmsMessage.objects.filter(recipient_id=case.borrower.user_id)
        .order_by("-created_at", "-id").values_list("created_at", "body", "status")[:n]
    ):
        entries.append(TimelineEntry(at, "sms", label, f"{body} ({sms_status.get(status, status)})"))
    contacts = (
        ContactLog.objects.filter(case=case)
        .select_related("agent", "emergency_contact")
        .order_by("-at", "-id")
    )
    for contact in contacts[:n]:
        label = (
            _("Contact with a third party")
            if contact.emergency_contact_id
            else _("Contact with the borrower")
        )
        entries.append(
            TimelineEntry(
                contact.at, "contact", label, _contact_text(contact), _user(contact.agent)
            )
        )
    for note in (
        CaseNote.objects.filter(case=case)
        .select_related("author")
        .order_by("-created_at", "-id")[:n]
    ):
        entries.append(
            TimelineEntry(note.created_at, "note", _("Note"), note.text, _user(note.author))
        )
    for promise in (
        PromiseToPay.objects.filter(case=case)
        .select_related("made_by")
        .order_by("-created_at", "-id")[:n]
    ):
        text = _("¥%(amount)s by %(date)s (%(status)s)") % {
            "amount": promise.amount,
            "date": promise.promised_date.isoformat(),
            "status": promise.get_status_display(),
        }
        entries.append(
            TimelineEntry(
                promise.created_at,
                "promise",
                _("Promise to pay"),
                text,
                _user(promise.made_by),
                promise,
            )
        )
    channel, status_of = _labels(Payment, "channel"), _labels(Payment, "status")
    label = _("Payment")
    for at, amount, via, status in (
        Payment.objects.filter(loan_id=case.loan_id).order_by("-received_at", "-id")
        .values_list("received_at", "amount", "channel", "status")[:n]
    ):
        text = f"¥{amount} · {channel.get(via, via)} · {status_of.get(status, status)}"
        entries.append(TimelineEntry(at, "payment", label, text))
    stage = _labels(StageChange, "to_stage")
    label = _("Stage change")
    for at, before, after, days in (
        StageChange.objects.filter(loan_id=case.loan_id).order_by("-id")
        .values_list("created_at", "from_stage", "to_stage", "days_past_due")[:n]
    ):
        text = _("%(from)s → %(to)s at %(days)s days past due") % {
            "from": stage.get(before, before), "to": stage.get(after, after), "days": days,
        }
        entries.append(TimelineEntry(at, "stage", label, text))
    reason_of, status_of = _labels(HardshipRequest, "reason"), _labels(HardshipRequest, "status")
    label = _("Hardship request")
    for pk, at, reason, status in (
        HardshipRequest.objects.filter(borrower_id=case.borrower_id).order_by("-created_at", "-id")
        .values_list("pk", "created_at", "reason", "status")[:n]
    ):
        text = f"#{pk} {reason_of.get(reason, reason)} · {status_of.get(status, status)}"
        entries.append(TimelineEntry(at, "hardship", label, text))
    status_of = _labels(CallTask, "status")
    label = _("Call task")
    for done_at, day, rule, status, done_by in (
        CallTask.objects.filter(loan_id=case.loan_id).order_by("-business_date", "-id")
        .values_list("done_at", "business_date", "rule", "status", "done_by__username")[:n]
    ):
        at = done_at or dt.datetime.combine(day, dt.time.min, tzinfo=zone)
        text = f"{rule} · {day.isoformat()} · {status_of.get(status, status)}"
        entries.append(TimelineEntry(at, "call_task", label, text, done_by or ""))
    for notice in notices_for_case(case.pk, limit=n):
        entries.append(TimelineEntry(notice.generated_at, "notice", _("Printed notice"), notice_timeline_text(notice),
                                     _user(notice.generated_by), notice))
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def case_page(*, case_id: int, as_of: dt.date) -> CasePage:
    """The case, the borrower's loans with balances, emergency contacts and the timeline:
    a fixed number of queries (1 + 2 + 1 + 8 + 1)."""
    case = Case.objects.select_related("loan", "borrower", "assigned_to").get(pk=case_id)
    loans = borrower_loans(borrower=case.borrower, as_of=as_of)
    contacts = list(EmergencyContact.objects.filter(borrower_id=case.borrower_id).order_by("pk"))
    timeline = case_timeline(case)
    # A new promise cancels the pending one, so a pending promise is always the newest.
    pending = next((entry.source for entry in timeline if entry.kind == "promise"), None)
    if not isinstance(pending, PromiseToPay) or pending.status != PromiseStatus.PENDING:
        pending = None
    priority = priority_explain(
        overdue_amount=case.overdue_amount,
        days_past_due=case.days_past_due,
        broken_promises=case.broken_promises,
    )
    return CasePage(
        case, loans, contacts, timeline, pending, priority, strategy_for(case.classification),
        articles_read_by(case.borrower_id),
    )
