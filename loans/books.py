"""Whether the books of some loans add up, re-read from the database.

The invariants every money service keeps, checked in a few queries and summed in Python with
Decimal (exact on SQLite too). The tests assert them after what they do to a loan, and the
benchmarks after what they post, so both hold the books to one definition.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from portal.models import AuditEvent
from portal.money import ZERO

from .models import (
    COMPONENTS,
    Allocation,
    AllocationKind,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanStatus,
    Payment,
    PaymentStatus,
)


def books_problems(*, loan_ids: Sequence[int], limit: int = 20, audited: bool = True) -> list[str]:
    """What is wrong with the books of these loans (at most `limit` lines; empty when nothing):

    - per loan and part, the journal adds up to what the live bills still ask for
      (due − paid − waived − written off);
    - no bill column is negative and no bill owes less than nothing;
    - per bill and part, what is paid equals the PAID allocations of the posted payments;
    - every posted payment is allocated exactly (its PAID allocations sum to its amount), has
      exactly one repayment journal entry for that amount and (unless `audited` is False: the
      demo portfolio is written in bulk without an audit trail, see loans/demo.py) exactly one
      audit event;
    - a loan is active exactly when its live bills still owe something (settled and written-off
      loans owe nothing: a write-off moves what was owed to the written-off columns).
    """
    found: list[str] = []

    def wrong(line: str) -> None:
        if len(found) < limit:
            found.append(line)

    ids = list(loan_ids)
    journal: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * len(COMPONENTS))
    repayments: dict[int, list[Decimal]] = defaultdict(list)
    for loan_id, kind, payment_id, *parts in JournalEntry.objects.filter(loan_id__in=ids).values_list(
        "loan_id", "kind", "payment_id", *COMPONENTS
    ):
        journal[loan_id] = [a + b for a, b in zip(journal[loan_id], parts, strict=True)]
        if kind == EntryKind.REPAYMENT and payment_id is not None:
            repayments[payment_id].append(-sum(parts, ZERO))

    columns = [f"{c}_{kind}" for c in COMPONENTS for kind in ("due", "paid", "waived", "written_off")]
    owed: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * len(COMPONENTS))
    paid_columns: dict[int, list[Decimal]] = {}
    for bill_id, loan_id, number, status, *values in Installment.objects.filter(loan_id__in=ids).values_list(
        "id", "loan_id", "number", "status", *columns
    ):
        by_part = [values[4 * n:4 * n + 4] for n in range(len(COMPONENTS))]
        paid_columns[bill_id] = [paid for _, paid, _, _ in by_part]
        for component, (due, paid, waived, written_off) in zip(COMPONENTS, by_part, strict=True):
            if min(due, paid, waived, written_off) < 0:
                wrong(f"loan {loan_id} bill {number}: a negative {component} column")
            if paid + waived + written_off > due:
                wrong(f"loan {loan_id} bill {number}: {component} owes less than nothing "
                      f"(due {due}, paid {paid}, waived {waived}, written off {written_off})")
        if status != InstallmentStatus.SUPERSEDED:
            owed[loan_id] = [
                total + due - paid - waived - written_off
                for total, (due, paid, waived, written_off) in zip(owed[loan_id], by_part, strict=True)
            ]

    for loan_id in ids:
        if journal[loan_id] != owed[loan_id]:
            wrong(f"loan {loan_id}: the journal says {dict(zip(COMPONENTS, journal[loan_id], strict=True))}, "
                  f"the bills owe {dict(zip(COMPONENTS, owed[loan_id], strict=True))}")

    posted = dict(
        Payment.objects.filter(loan_id__in=ids, status=PaymentStatus.POSTED).values_list("id", "amount")
    )
    allocated: dict[int, Decimal] = defaultdict(lambda: ZERO)
    paid_by_allocations: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO] * len(COMPONENTS))
    for payment_id, bill_id, *parts in Allocation.objects.filter(
        payment_id__in=list(posted), kind=AllocationKind.PAID
    ).values_list("payment_id", "installment_id", *COMPONENTS):
        allocated[payment_id] += sum(parts, ZERO)
        paid_by_allocations[bill_id] = [a + b for a, b in zip(paid_by_allocations[bill_id], parts, strict=True)]
    for bill_id, paid in paid_columns.items():
        if paid != paid_by_allocations[bill_id]:
            wrong(f"bill {bill_id}: paid {paid}, but the posted payments' allocations say "
                  f"{paid_by_allocations[bill_id]}")
    audits: dict[str, int] = defaultdict(int)
    if audited:
        for object_id in AuditEvent.objects.filter(
            action="payment.post", object_type="loans.payment", object_id__in=[str(p) for p in posted]
        ).values_list("object_id", flat=True):
            audits[object_id] += 1
    for payment_id, amount in posted.items():
        if allocated[payment_id] != amount:
            wrong(f"payment {payment_id} of {amount}: allocations add up to {allocated[payment_id]}")
        if repayments[payment_id] != [amount]:
            wrong(f"payment {payment_id} of {amount}: repayment journal entries {repayments[payment_id]}")
        if audited and audits[str(payment_id)] != 1:
            wrong(f"payment {payment_id}: {audits[str(payment_id)]} audit events")
    total_paid = sum(posted.values(), ZERO)
    total_allocated = sum(allocated.values(), ZERO)
    if total_paid != total_allocated:
        wrong(f"payments add up to {total_paid}, their allocations to {total_allocated}")

    for loan_id, status in Loan.objects.filter(pk__in=ids).values_list("id", "status"):
        owes = sum(owed[loan_id], ZERO)
        if (status == LoanStatus.ACTIVE) != (owes > 0):
            wrong(f"loan {loan_id} is {status} and owes {owes}")
    return found
