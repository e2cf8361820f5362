"""The close of business's ageing, set-based: many loans per chunk in a fixed number of statements.

It applies the very rules `loan_age` applies one loan at a time (`loans.delinquency`:
`accrue_penalty`, `refresh_loan`), but on light rows instead of model instances: a loan's
state (`LoanState`) and its open bills (`OpenBill`), read with a few columns computed by the
database. The writes go back as one statement per table: changed bills and loans by
`UPDATE … FROM unnest(…)`, accruals by COPY (on SQLite, prepared statements in-process).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import BooleanField, DecimalField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone

from portal.audit import audit_record_many
from portal.bulk import BulkRows, bulk_update_rows
from portal.money import ZERO

from ..delinquency import accrue_penalty, refresh_loan
from ..models import (
    COMPONENTS,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanEvent,
    LoanStatus,
    StageChange,
)
from .book import stage_change_audit, state_change_rows

OPEN_BILLS = [InstallmentStatus.PENDING, InstallmentStatus.DUE, InstallmentStatus.OVERDUE]
_MONEY: DecimalField[Any, Any] = DecimalField(
    max_digits=14, decimal_places=2
)  # SQLite's doubles come back as exact fen


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


@dataclass(slots=True)
class LoanState:
    """What ageing reads and writes of a loan (`loans.delinquency.LoanLike`)."""

    pk: int
    reference: str
    borrower_id: int
    status: str
    stage: str
    days_past_due: int
    grace_days: int
    penalty_rate: Decimal


@dataclass(slots=True)
class OpenBill:
    """What ageing reads and writes of an open bill (`loans.delinquency.BillLike`).

    `owed_besides_penalty` is the bill's outstanding amount less its penalty due, so that the
    total follows the penalty the rules add; only the principal's outstanding is asked for.
    A loan's bills that fall due after the business date and owe something come summed as one
    `OpenBill` without a `pk` (`_later_bills`): on that date the rules cannot change them, only
    count them as owed.
    """

    pk: int | None
    loan_id: int
    number: int
    due_date: dt.date
    status: str
    overdue_since: dt.date | None
    settled_on: dt.date | None
    penalty_due: Decimal
    principal_left: Decimal
    owed_besides_penalty: Decimal
    has_write_off: bool

    def outstanding(self, component: str) -> Decimal:
        if component != "principal":
            raise ValueError(f"ageing reads only the principal's outstanding, not the {component}'s")
        return self.principal_left

    @property
    def total_outstanding(self) -> Decimal:
        return self.penalty_due + self.owed_besides_penalty

    def aged_fields(self) -> tuple[Any, ...]:
        return self.status, self.overdue_since, self.settled_on, self.penalty_due


# What ageing may change on a bill (payments and waivers change the rest, under the loan's lock).
_AGED_FIELDS = ["status", "overdue_since", "settled_on", "penalty_due"]


@dataclass(slots=True)
class AgedLoan:
    loan: LoanState
    changes: dict[str, Any]
    penalty: Decimal
    due_now: Decimal  # what the borrower owes today on bills whose date has come
    owed: Decimal  # what the borrower owes on all open bills


def _left(component: str) -> Any:
    return F(f"{component}_due") - F(f"{component}_paid") - F(f"{component}_waived") - F(f"{component}_written_off")


def _owed() -> Any:
    total = _left(COMPONENTS[0])
    for component in COMPONENTS[1:]:
        total = total + _left(component)
    return total


def _later(business_date: dt.date) -> Q:
    """Bills the rules leave as they are on this date: pending, due later, owing something, not
    marked settled. Not past their grace, they accrue nothing and stay pending."""
    return Q(status=InstallmentStatus.PENDING, due_date__gt=business_date, settled_on__isnull=True, owed__gt=0)


def _open_bills(loan_ids: list[int], business_date: dt.date) -> dict[int, list[OpenBill]]:
    """Each loan's open bills: those the rules may change one by one, the later ones summed."""
    written_off = Q()
    for component in COMPONENTS:
        written_off |= Q(**{f"{component}_written_off__gt": 0})
    bills = (
        Installment.objects.filter(loan_id__in=loan_ids, status__in=OPEN_BILLS)
        .annotate(owed=ExpressionWrapper(_owed(), output_field=_MONEY))
    )
    rows = (
        bills.exclude(_later(business_date)).order_by("loan_id", "id")
        .values_list(
            "id", "loan_id", "number", "due_date", "status", "overdue_since", "settled_on", "penalty_due",
            ExpressionWrapper(_left("principal"), output_field=_MONEY),
            ExpressionWrapper(F("owed") - F("penalty_due"), output_field=_MONEY),
            ExpressionWrapper(written_off, output_field=BooleanField()),
        )
    )
    found: dict[int, list[OpenBill]] = {loan_id: [] for loan_id in loan_ids}
    for row in rows:
        found[row[1]].append(OpenBill(*row))
    later = (
        bills.filter(_later(business_date)).order_by().values("loan_id")
        .annotate(number=Min("number"), due=Min("due_date"), penalty=Sum("penalty_due", output_field=_MONEY),
                  principal=Sum(_left("principal"), output_field=_MONEY),
                  besides=Sum(F("owed") - F("penalty_due"), output_field=_MONEY))
        .values_list("loan_id", "number", "due", "penalty", "principal", "besides")
    )
    for loan_id, number, due_date, penalty, principal, besides in later:
        # Owing something, the sum is never "paid" or "written off": whether any was does not matter.
        found[loan_id].append(OpenBill(None, loan_id, number, due_date, InstallmentStatus.PENDING, None, None,
                                       penalty, principal, besides, False))
    return found


def loans_age_chunk(*, loan_ids: Sequence[int], business_date: dt.date) -> list[AgedLoan]:
    """Age these loans for one business date, inside the caller's transaction.

    Locks the loans in id order (payments lock a loan before its bills too, so the two never
    deadlock and a payment is either before or after this chunk, never half in it), then writes
    bills, loans, the journal, stage history, outbox events and audit events, each in one statement.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("loans_age_chunk must run inside the close of business's transaction")
    loans = [
        LoanState(*row)
        for row in Loan.objects.select_for_update()
        .filter(pk__in=loan_ids, status=LoanStatus.ACTIVE)
        .filter(_not_aged(business_date))
        .order_by("pk")
        .values_list("id", "reference", "borrower_id", "status", "stage", "days_past_due", "grace_days",
                     "penalty_rate")
    ]
    bills = _open_bills([loan.pk for loan in loans], business_date)

    aged: list[AgedLoan] = []
    bill_rows: list[list[Any]] = []
    journal = BulkRows(JournalEntry, ["loan", "kind", "business_date", "penalty"], timezone.now())
    history: list[StageChange] = []
    events: list[LoanEvent] = []
    audits = []
    reason = f"close of business {business_date}"
    for loan in loans:
        installments = bills[loan.pk]
        before = [bill.aged_fields() for bill in installments]
        penalty = accrue_penalty(loan, installments, business_date)
        if penalty > 0:
            journal.add(loan.pk, EntryKind.ACCRUAL.value, business_date, penalty)
        changes = refresh_loan(loan, installments, business_date)
        for bill, old in zip(installments, before, strict=True):
            if (now := bill.aged_fields()) != old:
                if bill.pk is None:
                    raise RuntimeError(f"loan {loan.pk}: the rules changed bills falling due after {business_date}")
                bill_rows.append([*now, bill.pk])
        if changes.keys() & {"stage", "status"}:  # days past due alone moves every day
            # A model instance only for the few loans whose history and audit need one.
            instance = Loan(pk=loan.pk, reference=loan.reference, days_past_due=loan.days_past_due)
            rows = state_change_rows(instance, changes, business_date=business_date, reason=reason)
            history += rows[0]
            events += rows[1]
            audits.append(stage_change_audit(instance, changes, reason=reason, actor=None))
        due_now = sum((b.total_outstanding for b in installments if b.due_date <= business_date), ZERO)
        owed = sum((b.total_outstanding for b in installments), ZERO)
        aged.append(AgedLoan(loan, changes, penalty, due_now, owed))

    bulk_update_rows(Installment, _AGED_FIELDS, bill_rows)
    bulk_update_rows(
        Loan, ["status", "stage", "days_past_due", "aged_through"],
        [[a.loan.status, a.loan.stage, a.loan.days_past_due, business_date, a.loan.pk] for a in aged],
    )
    journal.write()
    StageChange.objects.bulk_create(history)
    LoanEvent.objects.bulk_create(events)
    audit_record_many(audits)
    return aged


def penalty_total(aged: Sequence[AgedLoan]) -> Decimal:
    return sum((a.penalty for a in aged), ZERO)
