"""The close of business's ageing, set-based: many loans per chunk in a fixed number of statements.

It applies exactly the rules of `loan_age` (one loan at a time, kept for staff tools and as
the benchmark's yardstick): the same `accrue_penalty` and `refresh_loan` run on rows loaded for
the whole chunk, and the writes go back as one statement per table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q

from portal.audit import audit_record_many
from portal.bulk import bulk_update_rows
from portal.money import ZERO

from ..models import (
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanEvent,
    LoanStatus,
    StageChange,
)
from .book import accrue_penalty, refresh_loan, stage_change_audit, state_change_rows

OPEN_BILLS = [InstallmentStatus.PENDING, InstallmentStatus.DUE, InstallmentStatus.OVERDUE]
# What ageing may change on a bill (payments and waivers change the rest, under the loan's lock).
_AGED_FIELDS = ["status", "overdue_since", "settled_on", "penalty_due"]


def _not_aged(business_date: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}aged_through__isnull": True}) | Q(**{f"{prefix}aged_through__lt": business_date})


def loans_due_for_ageing(*, business_date: dt.date) -> list[int]:
    """Ids of loans with an unpaid bill whose date has come, in id order.

    Read from the partial index of open bills by due date and loan alone: a current loan with
    nothing due costs nothing, whatever the size of the book. Whether a loan is still active and
    not yet aged for this date is checked when its chunk locks it, which is what makes a re-run
    or a resumed run skip the loans already done.
    """
    return sorted(set(
        Installment.objects.filter(status__in=OPEN_BILLS, due_date__lte=business_date)
        .values_list("loan_id", flat=True)
    ))


@dataclass
class AgedLoan:
    loan: Loan
    changes: dict[str, Any]
    penalty: Decimal
    due_now: Decimal  # what the borrower owes today on bills whose date has come


def loans_age_chunk(*, loan_ids: Sequence[int], business_date: dt.date) -> list[AgedLoan]:
    """Age these loans for one business date, inside the caller's transaction.

    Locks the loans in id order (payments lock a loan before its bills too, so the two never
    deadlock and a payment is either before or after this chunk, never half in it), then writes
    bills, loans, the journal, stage history, outbox events and audit events, each in one statement.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("loans_age_chunk must run inside the close of business's transaction")
    loans = list(
        Loan.objects.select_for_update(of=("self",))
        .select_related("borrower__user")
        .filter(pk__in=loan_ids, status=LoanStatus.ACTIVE)
        .filter(_not_aged(business_date))
        .order_by("pk")
    )
    bills: dict[int, list[Installment]] = {loan.pk: [] for loan in loans}
    for bill in Installment.objects.filter(loan_id__in=list(bills), status__in=OPEN_BILLS).order_by("loan_id", "id"):
        bills[bill.loan_id].append(bill)

    aged: list[AgedLoan] = []
    bill_rows: list[list[Any]] = []
    journal: list[JournalEntry] = []
    history: list[StageChange] = []
    events: list[LoanEvent] = []
    audits = []
    reason = f"close of business {business_date}"
    for loan in loans:
        installments = bills[loan.pk]
        before = {b.pk: tuple(getattr(b, f) for f in _AGED_FIELDS) for b in installments}
        penalty = accrue_penalty(loan, installments, business_date)
        if penalty > 0:
            journal.append(JournalEntry(
                loan=loan, kind=EntryKind.ACCRUAL, business_date=business_date, penalty=penalty,
            ))
        loan.aged_through = business_date
        changes = refresh_loan(loan, installments, business_date)
        for bill in installments:
            now = tuple(getattr(bill, f) for f in _AGED_FIELDS)
            if now != before[bill.pk]:
                bill_rows.append([*now, bill.pk])
        rows = state_change_rows(loan, changes, business_date=business_date, reason=reason)
        history += rows[0]
        events += rows[1]
        if "stage" in changes or "status" in changes:  # days past due alone moves every day
            audits.append(stage_change_audit(loan, changes, reason=reason, actor=None))
        due_now = sum((b.total_outstanding for b in installments if b.due_date <= business_date), ZERO)
        aged.append(AgedLoan(loan, changes, penalty, due_now))

    bulk_update_rows(Installment, _AGED_FIELDS, bill_rows)
    bulk_update_rows(
        Loan, ["status", "stage", "days_past_due", "aged_through"],
        [[a.loan.status, a.loan.stage, a.loan.days_past_due, a.loan.aged_through, a.loan.pk] for a in aged],
    )
    JournalEntry.objects.bulk_create(journal)
    StageChange.objects.bulk_create(history)
    LoanEvent.objects.bulk_create(events)
    audit_record_many(audits)
    return aged


def penalty_total(aged: Sequence[AgedLoan]) -> Decimal:
    return sum((a.penalty for a in aged), ZERO)
