"""Write-off to bad debt (呆账核销) and the recoveries that still post afterwards.

How the books record a write-off
--------------------------------
A bill keeps, per part (fees, penalty, interest, principal), what was charged (`due`), paid,
waived and **written off**: outstanding = due − paid − waived − written off. The journal's
invariant is unchanged: per part, the sum of a loan's entries equals the outstanding of its
bills that are not superseded.

Writing a loan off (`loan_write_off`, once per loan, from the write-off age) does, in one
transaction with the loan and its bills locked:

1. *Acceleration.* Interest, penalty and fees of periods not started yet were never earned:
   they are waived on the bills (a WAIVER entry), exactly what a settlement today would
   forgive (`loans.allocation.payoff_quote`). So what is written off is what the borrower owes
   today, never interest of the future.
2. *The write-off.* Everything still outstanding moves to the bills' written-off columns, one
   `WriteOffLine` per bill, and one WRITE_OFF entry subtracts the same parts: the journal and
   the bills both reach 0. The `WriteOff` row keeps the loan's stage and days past due as they
   were.
3. *Status.* The loan becomes WRITTEN_OFF; as for a settled loan it leaves the delinquency
   stages (stage current, 0 days past due: nothing is owed on the books, no penalty accrues).
   Bills with written-off parts get the status WRITTEN_OFF, not PAID.

Why separate columns rather than counting write-offs as waivers: a waiver forgives the debt,
a write-off does not (账销案存, the claim is kept and pursued). The written-off columns are the
off-balance-sheet register of what can still be recovered, per bill and part, and a recovery
can only ever take what is there.

A later recovery (`payment_post` on a written-off loan lands in `recovery_post_locked`):

1. *Reinstatement.* The amount is taken off the written-off parts, oldest bill first and inside
   a bill fees → penalty → interest → principal (the order of every payment), as REINSTATED
   allocation rows and one REINSTATEMENT entry adding those parts back to the books;
2. *Repayment.* The same parts are paid (PAID rows, a REPAYMENT entry subtracting them).

The two entries cancel, so the books stay at 0 and the journal still equals the bills; the
written-off register shrinks by what was recovered. A recovery of more than is written off is
refused. Once every written-off fen is recovered the bills read PAID; the loan stays written
off (its history does not change).

Reversing a payment on a written-off loan (a recovery that bounced, or a transfer from before
the write-off) puts its paid parts back on the books; `write_off_after_reversal` writes them off
again at once (its own `WriteOff` of kind "after reversal"), so a written-off loan never carries
anything on the books. A bounced recovery thus restores the register exactly.

What tests check (tests/loans/test_write_off_books.py), for any sequence of operations:
per part, Σ journal = Σ bills outstanding; Σ bills written off = −Σ WRITE_OFF − Σ REINSTATEMENT
entries = Σ write-off lines − Σ REINSTATED rows; each WRITE_OFF entry equals its write-off's
lines; a written-off loan's bills owe 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.errors import InvalidAmount, NotAllowed
from portal.models import User
from portal.money import ZERO, round_money

from ..allocation import Allocated, Parts, payoff_quote
from ..models import (
    COMPONENTS,
    Allocation,
    AllocationKind,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    LoanStatus,
    Payment,
    WriteOff,
    WriteOffKind,
    WriteOffLine,
)
from .book import (
    LockedLoan,
    PaymentResult,
    _replay,
    apply_allocations,
    lock_loan,
    record_state_change,
    refresh_loan,
)

REASON_MAX_LENGTH = 300


def write_off_days() -> int:
    """Days past due from which a loan may be written off (the write-off candidate stage)."""
    return int(settings.PORTAL_STAGE_THRESHOLDS["write_off_candidate"])


def _live(installments: list[Installment]) -> list[Installment]:
    return sorted(
        (i for i in installments if i.status != InstallmentStatus.SUPERSEDED),
        key=lambda i: (i.due_date, i.number),
    )


def _parts_sum(allocated: list[Allocated]) -> Parts:
    total = Parts()
    for row in allocated:
        total = total + row.parts
    return total


def written_off_left(installments: list[Installment]) -> Parts:
    """What is still written off (recoverable) on these bills, per part."""
    total = Parts()
    for bill in _live(installments):
        total = total + Parts(**{c: getattr(bill, f"{c}_written_off") for c in COMPONENTS})
    return total


@dataclass(frozen=True)
class WriteOffQuote:
    """What writing the loan off on `as_of` would do: waive `cancelled` (interest, penalty and
    fees of periods not started) and write off `written_off` (everything owed today)."""

    as_of: dt.date
    written_off: Parts
    cancelled: Parts


def write_off_quote(installments: list[Installment], as_of: dt.date) -> WriteOffQuote:
    """Pure: the same figures the write-off will book (a proposal keeps them as its snapshot)."""
    live = _live(installments)
    quote = payoff_quote(live, as_of)
    return WriteOffQuote(as_of, quote.owed, _parts_sum(quote.waived))


# --- Writing off ---------------------------------------------------------------------------------


def _write_off_outstanding(
    locked: LockedLoan,
    *,
    kind: str,
    business_date: dt.date,
    actor: User | None,
    reason: str,
    payment: Payment | None = None,
    waiver_entry: JournalEntry | None = None,
) -> WriteOff | None:
    """Move everything outstanding on the loan's bills to their written-off columns: lines, one
    WRITE_OFF entry, one WriteOff row. None when nothing is outstanding."""
    loan = locked.loan
    lines = [
        Allocated(bill, Parts(**{c: bill.outstanding(c) for c in COMPONENTS}))
        for bill in _live(locked.installments)
        if bill.total_outstanding > 0
    ]
    if not lines:
        return None
    for line in lines:
        for c in COMPONENTS:
            field = f"{c}_written_off"
            setattr(
                line.installment, field, getattr(line.installment, field) + getattr(line.parts, c)
            )
    total = _parts_sum(lines)
    entry = JournalEntry.objects.create(
        loan=loan,
        kind=EntryKind.WRITE_OFF,
        business_date=business_date,
        payment=payment,
        memo=reason[:200],
        **{c: -getattr(total, c) for c in COMPONENTS},
    )
    write_off = WriteOff.objects.create(
        loan=loan,
        kind=kind,
        business_date=business_date,
        journal_entry=entry,
        waiver_entry=waiver_entry,
        payment=payment,
        days_past_due=loan.days_past_due,
        stage=loan.stage,
        reason=reason[:REASON_MAX_LENGTH],
        actor=actor,
        **vars(total),
    )
    WriteOffLine.objects.bulk_create(
        WriteOffLine(write_off=write_off, installment=line.installment, **vars(line.parts))
        for line in lines
    )
    return write_off


def loan_write_off(
    *, loan_id: int, business_date: dt.date, actor: User | None, reason: str
) -> WriteOff:
    """Write an active loan at or past the write-off age off to bad debt (see the module's
    docstring for the books). Callers check who may approve it (debt_collections' write-off
    proposals); this refuses a loan that is not active or not old enough, and a second time."""
    text = (reason or "").strip()
    if not text:
        raise NotAllowed(_("Give a reason for the write-off."))
    if len(text) > REASON_MAX_LENGTH:
        raise NotAllowed(
            _("The reason can be at most %(max)s characters long.") % {"max": REASON_MAX_LENGTH}
        )
    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan, installments = locked.loan, locked.installments
        if loan.status != LoanStatus.ACTIVE:
            raise NotAllowed(
                _("This loan is %(status)s; only an active loan can be written off.")
                % {"status": loan.get_status_display()}
            )
        if loan.days_past_due < write_off_days():
            raise NotAllowed(
                _(
                    "A loan can be written off from %(days)s days past due; this one is "
                    "%(dpd)s days past due."
                )
                % {"days": write_off_days(), "dpd": loan.days_past_due}
            )
        if loan.aged_through is not None and business_date < loan.aged_through:
            raise NotAllowed(
                _(
                    "The loan's books are closed through %(date)s: write it off on that date or later."
                )
                % {"date": loan.aged_through.isoformat()}
            )
        quote = write_off_quote(installments, business_date)
        waiver_entry = None
        if quote.cancelled.total > 0:
            forgiven = payoff_quote(_live(installments), business_date).waived
            cancelled = apply_allocations(forgiven, AllocationKind.WAIVED, +1)
            waiver_entry = JournalEntry.objects.create(
                loan=loan,
                kind=EntryKind.WAIVER,
                business_date=business_date,
                memo="interest of later periods, cancelled on write-off",
                **{c: -getattr(cancelled, c) for c in COMPONENTS},
            )
        write_off = _write_off_outstanding(
            locked,
            kind=WriteOffKind.APPROVED,
            business_date=business_date,
            actor=actor,
            reason=text,
            waiver_entry=waiver_entry,
        )
        if write_off is None:  # an active loan past due always owes something
            raise NotAllowed(_("Nothing is owed on this loan; there is nothing to write off."))
        loan.status = LoanStatus.WRITTEN_OFF
        changes = refresh_loan(loan, installments, business_date)
        changes["status"] = (LoanStatus.ACTIVE, LoanStatus.WRITTEN_OFF)
        locked.save()
        record_state_change(
            loan,
            changes,
            business_date=business_date,
            reason="written off",
            actor=actor,
            audit=False,
        )
        audit_record(
            actor=actor,
            action="loan.write_off",
            target=loan,
            summary=text,
            before={
                "status": LoanStatus.ACTIVE,
                "stage": write_off.stage,
                "days_past_due": write_off.days_past_due,
            },
            after={
                "status": loan.status,
                "write_off": write_off.pk,
                "written_off": vars(quote.written_off),
                "later_interest_cancelled": vars(quote.cancelled),
                **{k: v[1] for k, v in changes.items() if k != "status"},
            },
        )
    return write_off


def write_off_after_reversal(
    locked: LockedLoan, *, payment: Payment, business_date: dt.date, actor: User | None
) -> WriteOff | None:
    """In `payment_reverse`'s transaction, on a written-off loan: write off again what the
    reversal put back on the books (the loan stays at 0)."""
    return _write_off_outstanding(
        locked,
        kind=WriteOffKind.AFTER_REVERSAL,
        business_date=business_date,
        actor=actor,
        reason=f"payment {payment.pk} reversed on a written-off loan",
        payment=payment,
    )


# --- Recoveries ------------------------------------------------------------------------------------


def plan_recovery(installments: list[Installment], amount: Decimal) -> list[Allocated]:
    """Pure: which written-off parts a recovery of `amount` takes, oldest bill first, inside a
    bill fees → penalty → interest → principal. ValueError when more than is written off."""
    remaining = amount
    plan: list[Allocated] = []
    for bill in _live(installments):
        if remaining == 0:
            break
        parts = Parts()
        for c in COMPONENTS:
            take = min(remaining, getattr(bill, f"{c}_written_off"))
            setattr(parts, c, take)
            remaining -= take
        if parts.total > 0:
            plan.append(Allocated(bill, parts))
    if remaining > 0:
        raise ValueError("amount exceeds what is written off")
    return plan


def recovery_post_locked(
    locked: LockedLoan,
    *,
    value: Decimal,
    channel: str,
    key: str,
    fingerprint: str,
    actor: User | None,
    business_date: dt.date,
    external_reference: str,
) -> PaymentResult:
    """`payment_post` for a written-off loan, inside its transaction with the loan locked and the
    key checked: reinstate, then pay (see the module's docstring)."""
    loan, installments = locked.loan, locked.installments
    try:
        plan = plan_recovery(installments, value)
    except ValueError:
        raise InvalidAmount(
            _("¥%(amount)s is more than the ¥%(left)s still written off on this loan.")
            % {"amount": value, "left": written_off_left(installments).total}
        ) from None
    payment = Payment(
        loan=loan,
        borrower_id=loan.borrower_id,
        amount=value,
        channel=channel,
        idempotency_key=key,
        request_fingerprint=fingerprint,
        business_date=business_date,
        posted_by=actor,
        external_reference=external_reference,
    )
    try:
        with transaction.atomic():  # a concurrent twin on another loan may win the key
            payment.save()
    except IntegrityError:
        replay = _replay(loan.borrower_id, key, fingerprint)
        if replay is None:
            raise
        return PaymentResult(replay, replayed=True)
    reinstated = apply_allocations(plan, AllocationKind.REINSTATED, +1)
    paid = apply_allocations(plan, AllocationKind.PAID, +1)
    Allocation.objects.bulk_create(
        [
            Allocation(
                payment=payment,
                installment=a.installment,
                kind=AllocationKind.REINSTATED,
                **vars(a.parts),
            )
            for a in plan
        ]
        + [
            Allocation(
                payment=payment,
                installment=a.installment,
                kind=AllocationKind.PAID,
                **vars(a.parts),
            )
            for a in plan
        ]
    )
    JournalEntry.objects.create(
        loan=loan,
        kind=EntryKind.REINSTATEMENT,
        business_date=business_date,
        payment=payment,
        memo="recovery of written-off debt",
        **{c: getattr(reinstated, c) for c in COMPONENTS},
    )
    JournalEntry.objects.create(
        loan=loan,
        kind=EntryKind.REPAYMENT,
        business_date=business_date,
        payment=payment,
        **{c: -getattr(paid, c) for c in COMPONENTS},
    )
    changes = refresh_loan(loan, installments, business_date)
    locked.save()
    record_state_change(
        loan,
        changes,
        business_date=business_date,
        reason=f"recovery {payment.pk}",
        actor=actor,
        audit=False,
    )
    audit_record(
        actor=actor,
        action="payment.post",
        target=payment,
        summary=f"¥{value} recovered on written-off {loan.reference} by {channel}",
        after={
            "loan": loan.reference,
            "amount": value,
            "channel": channel,
            "recovery": True,
            "paid": vars(paid),
            "written_off_left": written_off_left(installments).total,
        },
    )
    return PaymentResult(payment, replayed=False)


# --- Reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenOffSummary:
    written_off: Decimal  # every write-off of the loan (the approved one and any after reversals)
    recovered: Decimal  # reinstated by recoveries (including recoveries later reversed)
    left: Decimal  # still written off: written_off − recovered


def written_off_summary(*, loan_id: int) -> WrittenOffSummary:
    """Two queries. `left` equals the bills' written-off columns (tests prove it)."""
    sums = {
        row["kind"]: row["total"]
        for row in JournalEntry.objects.filter(
            loan_id=loan_id, kind__in=[EntryKind.WRITE_OFF, EntryKind.REINSTATEMENT]
        )
        .values("kind")
        .annotate(total=Sum("principal") + Sum("interest") + Sum("penalty") + Sum("fees"))
    }
    written_off = -round_money(Decimal(sums.get(EntryKind.WRITE_OFF) or ZERO))
    recovered = round_money(Decimal(sums.get(EntryKind.REINSTATEMENT) or ZERO))
    return WrittenOffSummary(written_off, recovered, written_off - recovered)
