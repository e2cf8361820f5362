"""How money meets bills: pure functions shared by the payment service and its previews."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from portal.money import ZERO

from .delinquency import open_installments
from .models import COMPONENTS, Installment, InstallmentStatus


@dataclass
class Parts:
    fees: Decimal = ZERO
    penalty: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.fees + self.penalty + self.interest + self.principal

    def __add__(self, other: Parts) -> Parts:
        return Parts(**{c: getattr(self, c) + getattr(other, c) for c in COMPONENTS})


@dataclass
class Allocated:
    installment: Installment
    parts: Parts


@dataclass
class PayoffQuote:
    as_of: dt.date
    amount: Decimal
    # What settling today forgives: interest of the periods after the current one.
    waived: list[Allocated] = field(default_factory=list)
    owed: Parts = field(default_factory=Parts)


def current_period(installments: Sequence[Installment], as_of: dt.date) -> Installment | None:
    """The bill of the period running on `as_of`: the first one due after it, paid or not."""
    live = sorted(
        (i for i in installments if i.status != InstallmentStatus.SUPERSEDED),
        key=lambda i: (i.due_date, i.number),
    )
    return next((i for i in live if i.due_date > as_of), None)


def allocate(installments: Sequence[Installment], amount: Decimal, as_of: dt.date) -> list[Allocated]:
    """Oldest bill first; inside a bill fees, then penalty, then interest, then principal.

    Bills of periods not started yet take principal only: their interest is not earned, and
    settling would waive it, so money paid ahead must never land there.
    Raises ValueError when the amount exceeds what can be paid today.
    """
    current = current_period(installments, as_of)
    remaining = amount
    result: list[Allocated] = []
    for installment in open_installments(installments):
        if remaining == 0:
            break
        started = installment.due_date <= as_of or installment is current
        parts = Parts()
        for component in COMPONENTS if started else ("principal",):
            take = min(remaining, installment.outstanding(component))
            setattr(parts, component, take)
            remaining -= take
        if parts.total > 0:
            result.append(Allocated(installment, parts))
    if remaining > 0:
        raise ValueError("amount exceeds what can be paid today")
    return result


def payoff_quote(installments: Sequence[Installment], as_of: dt.date) -> PayoffQuote:
    """What settles the loan on `as_of`: everything due so far, the interest of the period
    running on `as_of` (see `current_period`), and the remaining principal. Interest, penalty
    and fees of periods not yet started are waived."""
    current = current_period(installments, as_of)
    waived: list[Allocated] = []
    owed = Parts()
    for installment in open_installments(installments):
        outstanding = Parts(**{c: installment.outstanding(c) for c in COMPONENTS})
        if installment.due_date <= as_of or installment is current:
            owed = owed + outstanding
        else:
            owed = owed + Parts(principal=outstanding.principal)
            forgiven = Parts(fees=outstanding.fees, penalty=outstanding.penalty, interest=outstanding.interest)
            if forgiven.total > 0:
                waived.append(Allocated(installment, forgiven))
    return PayoffQuote(as_of=as_of, amount=owed.total, waived=waived, owed=owed)

@dataclass
class PaymentPlan:
    """What a payment of `amount` would do today; the same plan previews and posts."""

    amount: Decimal
    settles: bool
    waived: list[Allocated]
    paid: list[Allocated]


def plan_payment(installments: Sequence[Installment], amount: Decimal, as_of: dt.date) -> PaymentPlan:
    """Paying exactly the payoff settles the loan (later interest waived); less is allocated
    oldest bill first; more raises ValueError. Works on copies: nothing is changed."""
    quote = payoff_quote(installments, as_of)
    if amount > quote.amount:
        raise ValueError("amount exceeds the payoff quote")
    settles = amount == quote.amount
    if not settles:  # nothing waived: allocate on the bills themselves (allocate only reads them)
        return PaymentPlan(amount=amount, settles=False, waived=[], paid=allocate(installments, amount, as_of))
    waived = quote.waived
    scratch = {i.pk: copy.copy(i) for i in installments}
    for allocated in waived:
        bill = scratch[allocated.installment.pk]
        for component in COMPONENTS:
            field_name = f"{component}_waived"
            setattr(bill, field_name, getattr(bill, field_name) + getattr(allocated.parts, component))
    originals = {i.pk: i for i in installments}
    paid = [Allocated(originals[a.installment.pk], a.parts) for a in allocate(list(scratch.values()), amount, as_of)]
    return PaymentPlan(amount=amount, settles=settles, waived=waived, paid=paid)
