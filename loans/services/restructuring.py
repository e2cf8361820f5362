"""Apply a restructuring plan (loans.restructuring) to a loan's schedule.

How the book changes
--------------------
- The open bills are **superseded**, never deleted or edited in what they charged: their
  paid columns stay as they are; the plan's waivers are added to their waived columns; what
  they still ask for after that (their remainder) is what moves to the new bills. A superseded
  bill's remainder is history: balances, payments, ageing and the journal invariant count only
  bills that are not superseded.
- The **new bills** are numbered after the highest number the loan ever used (the unique
  constraint on numbers ignores superseded bills), with nothing paid or waived.
- The **journal** gets one WAIVER entry (minus what was waived, per component) when the plan
  waives anything, and one RESTRUCTURING entry with, per component, the new bills' total minus
  the remainder of the superseded bills. Together they are "new bills − open bills before",
  so the sum of a loan's entries still equals what its non-superseded bills ask for. Principal
  in the RESTRUCTURING entry is always zero (the plan preserves it).
- **Penalty accrued after the plan was computed** (the close of business ages overdue bills
  every night while a proposal waits for approval and the borrower's answer) is waived on
  application: the borrower is held to the figures they were shown. Anything else that moved
  the bills (a payment, a waiver, a reversal, another reschedule) makes the plan stale: it is
  refused, and a new plan must be proposed from the current bills.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.errors import NotAllowed
from portal.models import User
from portal.money import ZERO

from ..allocation import open_installments
from ..models import (
    COMPONENTS,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    LoanStatus,
)
from ..restructuring import Plan, bills_fingerprint, bills_from_installments
from .book import lock_loan, record_state_change, refresh_loan


@dataclass(frozen=True)
class RestructuringResult:
    superseded: list[int]
    created: list[int]
    restructuring_entry: JournalEntry
    waiver_entry: JournalEntry | None
    # Penalty charged by ageing after the plan was computed, waived on application.
    penalty_frozen: Decimal
    changes: dict[str, Any]


class StalePlan(NotAllowed):
    """The bills changed since the plan was computed (a payment, a waiver...)."""

    code = "stale_plan"


def ensure_plan_current(plan: Plan, installments: list[Installment], *, reference: str) -> None:
    """Refuse (StalePlan) when the loan's open bills are not the ones the plan was computed from."""
    bills = bills_from_installments(open_installments(installments))
    if bills_fingerprint(bills) != plan.fingerprint:
        raise StalePlan(
            _(
                "The bills of loan %(reference)s changed after this plan was computed on "
                "%(date)s (a payment, a waiver or another change reached them). The plan can no "
                "longer be applied: please propose again from the current bills."
            )
            % {"reference": reference, "date": plan.as_of.isoformat()}
        )


def loan_restructure(
    *,
    loan_id: int,
    plan: Plan,
    business_date: dt.date,
    actor: User | None,
    reason: str,
    reference: str = "",
) -> RestructuringResult:
    """Replace the loan's open bills by the plan's schedule (see the module's docstring).

    Locks the loan, then its bills; refuses when the loan is not active, when the bills are not
    the ones the plan was computed from, or when the plan's first new bill is not after today.
    """
    if not reason.strip():
        raise NotAllowed(_("Give a reason for the restructuring."))
    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan = locked.loan
        if loan.status != LoanStatus.ACTIVE:
            raise NotAllowed(
                _("This loan is %(status)s; it cannot be restructured.")
                % {"status": loan.get_status_display()}
            )
        ensure_plan_current(plan, locked.installments, reference=loan.reference)
        open_bills = open_installments(locked.installments)
        if business_date < plan.as_of:
            raise NotAllowed(_("A plan cannot be applied before the date it was computed on."))
        if plan.first_new_due is not None and business_date >= plan.first_new_due:
            raise StalePlan(
                _(
                    "The plan's first new bill was due on %(date)s, which is not after today. "
                    "Please propose again."
                )
                % {"date": plan.first_new_due.isoformat()}
            )
        by_id = {i.pk: i for i in open_bills}
        planned_penalty = {b.id: b.penalty for b in plan.current_bills}

        # Penalty accrued since the plan was computed is waived (frozen figures); then the
        # plan's own waivers. Only ageing can have grown a bill's penalty: anything else that
        # moves money changed the fingerprint.
        waived = dict.fromkeys(COMPONENTS, ZERO)
        penalty_frozen = ZERO
        for bill in open_bills:
            extra = bill.outstanding("penalty") - planned_penalty[bill.pk]
            if extra > 0:
                bill.penalty_waived += extra
                penalty_frozen += extra
        waived["penalty"] += penalty_frozen
        for waiver in plan.waivers:
            bill = by_id[waiver.bill]
            name = f"{waiver.component}_waived"
            setattr(bill, name, getattr(bill, name) + waiver.amount)
            waived[waiver.component] += waiver.amount

        # The remainder of the open bills moves to the new ones.
        remainder = {c: sum((b.outstanding(c) for b in open_bills), ZERO) for c in COMPONENTS}
        for bill in open_bills:
            bill.status = InstallmentStatus.SUPERSEDED
        next_number = max((i.number for i in locked.installments), default=0) + 1
        new_bills = [
            Installment(
                loan=loan, number=next_number + k, due_date=row.due_date,
                **{f"{c}_due": getattr(row, c) for c in COMPONENTS},
            )
            for k, row in enumerate(plan.proposed)
        ]
        proposed = {c: sum((getattr(r, c) for r in plan.proposed), ZERO) for c in COMPONENTS}

        waiver_entry = None
        memo = (reference or "restructuring")[:120]
        if sum(waived.values(), ZERO) > 0:
            waiver_entry = JournalEntry.objects.create(
                loan=loan, kind=EntryKind.WAIVER, business_date=business_date,
                memo=f"{memo}: waived"[:200], **{c: -waived[c] for c in COMPONENTS},
            )
        restructuring_entry = JournalEntry.objects.create(
            loan=loan, kind=EntryKind.RESTRUCTURING, business_date=business_date,
            memo=f"{memo}: {plan.kind}, {len(open_bills)} bills → {len(new_bills)}"[:200],
            **{c: proposed[c] - remainder[c] for c in COMPONENTS},
        )

        live = [i for i in locked.installments if i.status != InstallmentStatus.SUPERSEDED]
        changes = refresh_loan(loan, live + new_bills, business_date)
        locked.save()
        created = Installment.objects.bulk_create(new_bills)
        record_state_change(
            loan, changes, business_date=business_date, reason=f"{memo} ({plan.kind})", actor=actor,
            audit=False,
        )
        audit_record(
            actor=actor, action="loan.restructure", target=loan, summary=reason,
            before={"bills": [b.number for b in open_bills], "owed": {c: remainder[c] + waived[c] for c in COMPONENTS}},
            after={
                "kind": plan.kind, "reference": reference, "bills": [b.number for b in new_bills],
                "owed": proposed, "waived": waived, "penalty_frozen": penalty_frozen,
                "plan_as_of": plan.as_of, **{k: v[1] for k, v in changes.items()},
            },
        )
    return RestructuringResult(
        superseded=[b.pk for b in open_bills],
        created=[b.pk for b in created],
        restructuring_entry=restructuring_entry,
        waiver_entry=waiver_entry,
        penalty_frozen=penalty_frozen,
        changes=changes,
    )
