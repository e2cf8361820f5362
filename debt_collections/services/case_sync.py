"""The close of business's case work, set-based: cases follow their loans, promises are judged.

- `cases_sync`: a loan that reaches the collections stage gets a case; an open case copies its
  loan's stage, days past due and amounts (so queues sort one indexed table) and is flagged for
  legal review or write-off by the rules; a case whose loan is cured, settled or written off closes.
- `promises_check`: a pending promise is kept once the payments since it was made reach its
  amount, broken when its date has passed without that.

Both run inside the caller's transaction, a fixed number of statements per chunk of loans.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_noop

from loans.models import (
    COMPONENTS,
    Installment,
    InstallmentStatus,
    Loan,
    LoanEvent,
    LoanEventKind,
    LoanStatus,
    PaymentStatus,
    Stage,
)
from portal.audit import audit_event, audit_record_many
from portal.bulk import bulk_update_rows
from portal.money import ZERO, round_money
from portal.roles import LEGAL_OFFICER

from ..models import AlertKind, Case, CaseStatus, PromiseState, PromiseStatus, PromiseToPay
from ..priority import Weights, case_priority_expression
from .alerts import alert_raise, bilingual

COLLECTING_STAGES = (Stage.COLLECTIONS, Stage.NON_PERFORMING, Stage.WRITE_OFF_CANDIDATE)
OPEN_BILLS = (InstallmentStatus.PENDING, InstallmentStatus.DUE, InstallmentStatus.OVERDUE)
_SNAPSHOT = [
    "stage", "days_past_due", "overdue_amount", "outstanding_amount", "legal_review_candidate",
    "write_off_candidate",
]


def _outstanding_expression() -> Any:
    terms = [F(f"{c}_due") - F(f"{c}_paid") - F(f"{c}_waived") for c in COMPONENTS]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """What a case copies from its loan at the close of business."""

    borrower_id: int
    status: str
    stage: str
    days_past_due: int
    due_now: Decimal  # owed on bills whose date has come
    owed: Decimal  # owed on all open bills


def loan_facts(*, loan_ids: Sequence[int], business_date: dt.date) -> dict[int, LoanFacts]:
    """Lock these loans (in id order) and read their facts; amounts summed in the database."""
    loans = list(
        Loan.objects.select_for_update()
        .filter(pk__in=loan_ids)
        .order_by("pk")
        .values_list("id", "borrower_id", "status", "stage", "days_past_due")
    )
    rows = (
        Installment.objects.filter(loan_id__in=[row[0] for row in loans], status__in=OPEN_BILLS)
        .values("loan_id")
        .annotate(
            due_now=Coalesce(Sum(_outstanding_expression(), filter=Q(due_date__lte=business_date)), Decimal(0)),
            owed=Sum(_outstanding_expression()),
        )
    )
    # SQLite sums decimals as doubles: round back to the fen (exact on PostgreSQL already).
    amounts = {r["loan_id"]: (round_money(Decimal(r["due_now"])), round_money(Decimal(r["owed"]))) for r in rows}
    return {
        loan_id: LoanFacts(borrower_id, status, stage, days, *amounts.get(loan_id, (ZERO, ZERO)))
        for loan_id, borrower_id, status, stage, days in loans
    }


def _close_reason(loan: LoanFacts) -> str:
    if loan.status == LoanStatus.SETTLED:
        return "settled"
    if loan.status == LoanStatus.WRITTEN_OFF:
        return "written off"
    return "cured"


def cases_sync(*, loan_ids: Sequence[int], business_date: dt.date) -> Counter[str]:
    """Open, refresh or close the cases of these loans (locks the loans, then their open cases)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("cases_sync must run inside the close of business's transaction")
    return cases_follow(facts=loan_facts(loan_ids=loan_ids, business_date=business_date), business_date=business_date)


_CASE_COLUMNS = ["id", "loan_id", "failed_contacts", "broken_promises", *_SNAPSHOT]


def cases_follow(*, facts: Mapping[int, LoanFacts], business_date: dt.date) -> Counter[str]:
    """Open, refresh or close the cases of the loans in `facts`, which the caller has locked in
    this transaction (`cases_sync`, or the ageing that computed the facts); locks their open cases.

    Cases are read and written as rows, not model instances: a chunk may hold thousands.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("cases_follow must run inside the close of business's transaction")
    cases = {
        row[1]: row
        for row in Case.objects.select_for_update().filter(loan_id__in=list(facts), status=CaseStatus.OPEN)
        .order_by("pk").values_list(*_CASE_COLUMNS)
    }
    legal_dpd, legal_failures = settings.PORTAL_LEGAL_REVIEW_DPD, settings.PORTAL_LEGAL_REVIEW_FAILED_CONTACTS
    weights = Weights.from_settings()
    counts: Counter[str] = Counter()
    new: list[Case] = []
    updated: list[list[Any]] = []
    closed: list[list[Any]] = []
    events: list[LoanEvent] = []
    audits = []
    newly_legal: list[int] = []

    for loan_id, loan in facts.items():
        collecting = loan.status == LoanStatus.ACTIVE and loan.stage in COLLECTING_STAGES
        row = cases.get(loan_id)
        if row is None and not collecting:
            continue
        if row is None:
            new.append(Case(
                loan_id=loan_id, borrower_id=loan.borrower_id, opened_on=business_date,
                stage=loan.stage, days_past_due=loan.days_past_due,
                overdue_amount=loan.due_now, outstanding_amount=loan.owed,
                write_off_candidate=loan.stage == Stage.WRITE_OFF_CANDIDATE,
                priority=weights.score(overdue_amount=loan.due_now, days_past_due=loan.days_past_due,
                                       broken_promises=0),
            ))
            continue
        case_id, _loan, failed_contacts, broken_promises, *before = row
        if not collecting:
            reason = _close_reason(loan)
            closed.append([CaseStatus.CLOSED, business_date, reason, case_id])
            events.append(LoanEvent(loan_id=loan_id, kind=LoanEventKind.CASE_CLOSED, business_date=business_date,
                                    payload={"case": case_id, "reason": reason}))
            audits.append(audit_event(actor=None, actor_label="close-of-business", action="case.close",
                                      target=Case(pk=case_id), summary=reason, before={"status": CaseStatus.OPEN},
                                      after={"status": CaseStatus.CLOSED, "closed_on": business_date}))
            continue
        was_candidate = before[_SNAPSHOT.index("legal_review_candidate")]
        candidate = loan.days_past_due >= legal_dpd and failed_contacts >= legal_failures
        if candidate and not was_candidate:
            newly_legal.append(case_id)
        after = [loan.stage, loan.days_past_due, loan.due_now, loan.owed,
                 was_candidate or candidate, loan.stage == Stage.WRITE_OFF_CANDIDATE]
        if after != before:
            priority = weights.score(overdue_amount=loan.due_now, days_past_due=loan.days_past_due,
                                     broken_promises=broken_promises)
            updated.append([*after, priority, case_id])

    Case.objects.bulk_create(new)
    for case in new:
        events.append(LoanEvent(loan_id=case.loan_id, kind=LoanEventKind.CASE_OPENED, business_date=business_date,
                                payload={"case": case.pk, "stage": case.stage}))
        audits.append(audit_event(actor=None, actor_label="close-of-business", action="case.open", target=case,
                                  after={"loan": case.loan_id, "stage": case.stage, "overdue": case.overdue_amount}))
    bulk_update_rows(Case, [*_SNAPSHOT, "priority"], updated)
    bulk_update_rows(Case, ["status", "closed_on", "close_reason"], closed)
    LoanEvent.objects.bulk_create(events)
    audit_record_many(audits)
    for case in Case.objects.select_related("loan").filter(pk__in=newly_legal).order_by("pk"):
        alert_raise(
            kind=AlertKind.STAGE_ENTERED, role=LEGAL_OFFICER, case=case, loan=case.loan,
            dedupe_key=f"legal-candidate:{case.pk}",
            message=bilingual(
                gettext_noop("Case #%(case)s is %(days)s days past due after %(failures)s failed contacts: "
                             "a legal review candidate."),
                {"case": case.pk, "days": facts[case.loan_id].days_past_due, "failures": case.failed_contacts},
            ),
        )
    counts.update(cases_opened=len(new), cases_refreshed=len(updated), cases_closed=len(closed),
                  legal_review_candidates=len(newly_legal))
    return counts


def loans_with_cases_to_sweep(*, business_date: dt.date) -> list[int]:
    """Loans whose case the ageing did not touch today: an open case of a loan not aged for this
    date (cured by a payment, settled, written off), or a collecting loan without an open case."""
    open_case = Case.objects.filter(loan_id=OuterRef("pk"), status=CaseStatus.OPEN)
    not_aged_today = Q(aged_through__isnull=True) | ~Q(aged_through=business_date)
    stale = Loan.objects.filter(Exists(open_case)).filter(not_aged_today | ~Q(status=LoanStatus.ACTIVE)
                                                           | ~Q(stage__in=COLLECTING_STAGES))
    missing = Loan.objects.filter(status=LoanStatus.ACTIVE, stage__in=COLLECTING_STAGES).exclude(Exists(open_case))
    ids = set(stale.values_list("pk", flat=True)) | set(missing.values_list("pk", flat=True))
    return sorted(ids)


def promises_due_for_check() -> list[int]:
    return list(PromiseToPay.objects.filter(status=PromiseStatus.PENDING).order_by("pk").values_list("pk", flat=True))


def promises_check(*, promise_ids: Sequence[int], business_date: dt.date) -> Counter[str]:
    """Judge these pending promises as of the end of `business_date` (caller's transaction)."""
    paid_since_start = Coalesce(
        Sum("loan__payments__amount", filter=Q(loan__payments__status=PaymentStatus.POSTED)), Decimal(0)
    )
    # Cases before their promises, as promise_record and the restructuring services lock them.
    case_ids = set(PromiseToPay.objects.filter(pk__in=promise_ids).values_list("case_id", flat=True))
    cases = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=case_ids).order_by("pk")}
    promises = list(
        PromiseToPay.objects.select_for_update(of=("self",))
        .filter(pk__in=promise_ids, status=PromiseStatus.PENDING)
        .order_by("pk")
    )
    paid = dict(
        PromiseToPay.objects.filter(pk__in=[p.pk for p in promises])
        .annotate(paid=paid_since_start)
        .values_list("pk", "paid")
    )
    promise_rows: list[list[Any]] = []
    case_rows: list[list[Any]] = []
    events: list[LoanEvent] = []
    audits = []
    counts: Counter[str] = Counter()
    for promise in promises:
        paid_since = round_money(Decimal(paid[promise.pk])) - promise.paid_before
        if paid_since >= promise.amount:
            outcome, state, kind = PromiseStatus.KEPT, PromiseState.KEPT, LoanEventKind.PROMISE_KEPT
        elif business_date >= promise.promised_date:
            outcome, state, kind = PromiseStatus.BROKEN, PromiseState.BROKEN, LoanEventKind.PROMISE_BROKEN
        else:
            continue
        case = cases[promise.case_id]
        broken = case.broken_promises + (outcome == PromiseStatus.BROKEN)
        promise_rows.append([outcome, business_date, promise.pk])
        case_rows.append([state, broken, case.pk])
        events.append(LoanEvent(loan_id=promise.loan_id, kind=kind, business_date=business_date,
                                payload={"case": case.pk, "promise": promise.pk, "amount": promise.amount,
                                         "promised_date": promise.promised_date, "paid_since": paid_since}))
        audits.append(audit_event(actor=None, actor_label="close-of-business", action=f"promise.{outcome}",
                                  target=promise, before={"status": PromiseStatus.PENDING},
                                  after={"status": outcome, "paid_since": paid_since}))
        counts[f"promises_{outcome}"] += 1
    bulk_update_rows(PromiseToPay, ["status", "resolved_on"], promise_rows)
    bulk_update_rows(Case, ["promise_state", "broken_promises"], case_rows)
    LoanEvent.objects.bulk_create(events)
    audit_record_many(audits)
    Case.objects.filter(pk__in=[row[-1] for row in case_rows]).update(priority=case_priority_expression())
    return counts
