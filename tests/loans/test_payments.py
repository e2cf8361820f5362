"""Posting, replaying, refusing and reversing payments; payoff quotes; waivers.

Alice's loan (tests/conftest.py): ¥12,000, 12 months, 18 % a year, equal installments,
first bill 2026-02-15, 3 grace days, penalty rate 1.5 × 18 % = 27 % a year. Every expected
amount below is worked out from the installment rows the service wrote, not copied from code.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from loans import services
from loans.allocation import allocate, payoff_quote
from loans.models import (
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
    Stage,
)
from portal.errors import IdempotencyKeyReused, InvalidAmount, NotAllowed
from portal.models import AuditEvent
from tests.conftest import FIRST_DUE, age_through

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
BEFORE_FIRST_DUE = dt.date(2026, 2, 1)
SECOND_DUE = dt.date(2026, 3, 15)
# On 2026-03-20 bill 1 (due 02-15) has been past grace since 02-19 and bill 2 (due 03-15)
# since 03-19: both overdue and both charged penalty.
TWO_OVERDUE = dt.date(2026, 3, 20)


# --- Helpers -------------------------------------------------------------------------------------


def bills(loan: Loan) -> list[Installment]:
    return list(Installment.objects.filter(loan_id=loan.pk).order_by("due_date", "number"))


def book(loan: Loan) -> dict[str, Any]:
    """Everything a payment could touch, read back from the database."""
    return {
        "loan": Loan.objects.filter(pk=loan.pk)
        .values("status", "stage", "days_past_due", "aged_through")
        .get(),
        "installments": list(Installment.objects.filter(loan_id=loan.pk).order_by("id").values()),
        "payments": list(Payment.objects.filter(loan_id=loan.pk).order_by("id").values()),
        "allocations": list(
            Allocation.objects.filter(payment__loan_id=loan.pk).order_by("id").values()
        ),
        "journal": list(JournalEntry.objects.filter(loan_id=loan.pk).order_by("id").values()),
        "audit_events": AuditEvent.objects.count(),
    }


def bill_state(loan: Loan) -> dict[str, Any]:
    """The installment rows and the loan's delinquency: what a reversal must put back."""
    snapshot = book(loan)
    return {"loan": snapshot["loan"], "installments": snapshot["installments"]}


def pay(
    loan: Loan,
    amount: Any,
    *,
    key: str = "key-1",
    on: dt.date = TWO_OVERDUE,
    channel: str = "app",
    actor: Any = None,
    external_reference: str = "",
) -> services.PaymentResult:
    return services.payment_post(
        loan_id=loan.pk,
        amount=amount,
        channel=channel,
        idempotency_key=key,
        actor=actor,
        business_date=on,
        external_reference=external_reference,
    )


def daily_penalty(principal: Decimal, annual_penalty_rate: Decimal) -> Decimal:
    return (principal * annual_penalty_rate / Decimal(360)).quantize(FEN, rounding=ROUND_HALF_UP)


def paid(bill: Installment) -> dict[str, Decimal]:
    return {c: getattr(bill, f"{c}_paid") for c in COMPONENTS}


def journal_sum(loan: Loan) -> dict[str, Decimal]:
    entries = list(JournalEntry.objects.filter(loan_id=loan.pk))
    return {c: sum((getattr(e, c) for e in entries), ZERO) for c in COMPONENTS}


def still_owed(loan: Loan) -> dict[str, Decimal]:
    rows = bills(loan)
    return {c: sum((b.outstanding(c) for b in rows), ZERO) for c in COMPONENTS}


@pytest.fixture
def daily_aged_loan(alices_loan: Loan) -> Loan:
    """Alice's loan aged day by day to 2026-03-20: two overdue bills carrying penalty."""
    age_through(alices_loan, FIRST_DUE, TWO_OVERDUE)
    alices_loan.refresh_from_db()
    return alices_loan


@pytest.fixture
def overdue_loan(alices_loan: Loan) -> Loan:
    """The same two overdue bills with penalty, faster: close of business ran on three dates
    only (the first day past grace of each bill, and 03-20). Tests of allocation read the
    penalty from the rows, so they need not know how many days were charged."""
    for day in (dt.date(2026, 2, 19), dt.date(2026, 3, 19), TWO_OVERDUE):
        services.loan_age(loan_id=alices_loan.pk, business_date=day)
    alices_loan.refresh_from_db()
    return alices_loan


# --- The set-up the payment tests rely on --------------------------------------------------------


def test_the_two_overdue_bills_carry_the_penalty_of_their_overdue_days(daily_aged_loan):
    first, second, third, *_ = bills(daily_aged_loan)
    rate = daily_aged_loan.penalty_rate
    assert rate == Decimal("0.27")  # product rate 18 % × the default factor 1.5
    # Bill 1: past grace from 02-19 to 03-20 inclusive; bill 2: 03-19 and 03-20.
    days_first = (TWO_OVERDUE - dt.date(2026, 2, 19)).days + 1
    assert days_first == 30
    assert first.penalty_due == days_first * daily_penalty(first.principal_due, rate)
    assert second.penalty_due == 2 * daily_penalty(second.principal_due, rate)
    assert third.penalty_due == ZERO
    assert [first.status, second.status, third.status] == ["overdue", "overdue", "pending"]


# --- Allocation: oldest bill first; fees, penalty, interest, principal -------------------------


def test_a_payment_smaller_than_the_oldest_penalty_pays_only_that_penalty(overdue_loan):
    first, second, *_ = bills(overdue_loan)
    amount = first.penalty_due - FEN

    pay(overdue_loan, amount)

    first_after, second_after, *rest = bills(overdue_loan)
    assert paid(first_after) == {
        "fees": ZERO,
        "penalty": amount,
        "interest": ZERO,
        "principal": ZERO,
    }
    assert all(v == ZERO for b in [second_after, *rest] for v in paid(b).values())
    assert first_after.status == InstallmentStatus.OVERDUE


def test_a_payment_clears_the_oldest_bill_then_goes_to_the_next_bills_penalty_then_interest(
    overdue_loan,
):
    first, second, *later = bills(overdue_loan)
    assert second.interest_due > Decimal("10.00")
    amount = first.total_outstanding + second.penalty_due + Decimal("10.00")

    result = pay(overdue_loan, amount)

    first_after, second_after, *later_after = bills(overdue_loan)
    assert paid(first_after) == {
        "fees": ZERO,
        "penalty": first.penalty_due,
        "interest": first.interest_due,
        "principal": first.principal_due,
    }
    assert first_after.status == InstallmentStatus.PAID
    assert first_after.settled_on == TWO_OVERDUE
    assert paid(second_after) == {
        "fees": ZERO,
        "penalty": second.penalty_due,
        "interest": Decimal("10.00"),
        "principal": ZERO,
    }
    assert second_after.status == InstallmentStatus.OVERDUE
    assert all(v == ZERO for b in later_after for v in paid(b).values())

    allocations = list(result.payment.allocations.order_by("id"))
    assert [(a.installment_id, a.kind) for a in allocations] == [
        (first.pk, AllocationKind.PAID),
        (second.pk, AllocationKind.PAID),
    ]
    assert sum((a.total for a in allocations), ZERO) == amount
    [entry] = JournalEntry.objects.filter(payment=result.payment)
    assert entry.kind == EntryKind.REPAYMENT
    assert (entry.fees, entry.penalty, entry.interest, entry.principal) == (
        ZERO,
        -(first.penalty_due + second.penalty_due),
        -(first.interest_due + Decimal("10.00")),
        -first.principal_due,
    )
    assert journal_sum(overdue_loan) == still_owed(overdue_loan)


def test_clearing_the_oldest_bill_makes_days_past_due_count_from_the_next_overdue_bill(
    overdue_loan,
):
    first, second, *_ = bills(overdue_loan)
    amount = first.total_outstanding + second.total_outstanding - FEN

    pay(overdue_loan, amount)

    _, second_after, *_ = bills(overdue_loan)
    assert second_after.outstanding("principal") == FEN
    assert second_after.principal_paid == second.principal_due - FEN
    overdue_loan.refresh_from_db()
    assert overdue_loan.days_past_due == (TWO_OVERDUE - SECOND_DUE).days == 5
    assert overdue_loan.stage == Stage.REMINDER


def test_allocation_takes_fees_before_penalty_and_skips_paid_and_superseded_bills():
    day = dt.date(2026, 1, 1)
    paid_bill = Installment(
        pk=1,
        number=1,
        due_date=day,
        principal_due=Decimal("50"),
        principal_paid=Decimal("50"),
        status=InstallmentStatus.PAID,
    )
    old = Installment(
        pk=2,
        number=1,
        due_date=day,
        principal_due=Decimal("99"),
        interest_due=Decimal("9"),
        status=InstallmentStatus.SUPERSEDED,
    )
    later = Installment(
        pk=3,
        number=3,
        due_date=dt.date(2026, 3, 1),
        fees_due=Decimal("1.00"),
        principal_due=Decimal("100.00"),
    )
    oldest = Installment(
        pk=4,
        number=2,
        due_date=dt.date(2026, 2, 1),
        fees_due=Decimal("5.00"),
        penalty_due=Decimal("3.00"),
        interest_due=Decimal("2.00"),
        principal_due=Decimal("100.00"),
        fees_paid=Decimal("1.00"),
    )

    # On 03-01 every one of these periods has started, so every part of a bill can be paid.
    result = allocate([later, paid_bill, old, oldest], Decimal("6.50"), as_of=dt.date(2026, 3, 1))

    assert [a.installment.pk for a in result] == [4]
    parts = result[0].parts
    assert (parts.fees, parts.penalty, parts.interest, parts.principal) == (
        Decimal("4.00"),
        Decimal("2.50"),
        ZERO,
        ZERO,
    )


def test_allocation_puts_money_paid_ahead_on_the_principal_of_periods_not_started():
    current = Installment(
        pk=1,
        number=1,
        due_date=dt.date(2026, 2, 15),
        interest_due=Decimal("180.00"),
        principal_due=Decimal("900.00"),
    )
    not_started = Installment(
        pk=2,
        number=2,
        due_date=dt.date(2026, 3, 15),
        interest_due=Decimal("166.00"),
        principal_due=Decimal("910.00"),
    )

    result = allocate([current, not_started], Decimal("1180.00"), as_of=BEFORE_FIRST_DUE)

    assert [(a.installment.pk, a.parts.interest, a.parts.principal) for a in result] == [
        (1, Decimal("180.00"), Decimal("900.00")),
        (2, ZERO, Decimal("100.00")),
    ]


def test_allocation_accepts_exactly_everything_owed_and_refuses_one_fen_more():
    first = Installment(
        pk=1,
        number=1,
        due_date=dt.date(2026, 2, 1),
        penalty_due=Decimal("3.00"),
        interest_due=Decimal("2.00"),
        principal_due=Decimal("100.00"),
    )
    second = Installment(
        pk=2,
        number=2,
        due_date=dt.date(2026, 3, 1),
        interest_due=Decimal("1.50"),
        principal_due=Decimal("100.00"),
    )
    owed = (
        Decimal("3.00") + Decimal("2.00") + Decimal("100.00") + Decimal("1.50") + Decimal("100.00")
    )

    on = dt.date(2026, 3, 1)  # both periods have started

    everything = allocate([second, first], owed, as_of=on)

    assert sum((a.parts.total for a in everything), ZERO) == owed
    with pytest.raises(ValueError):
        allocate([second, first], owed + FEN, as_of=on)


# --- Idempotency -------------------------------------------------------------------------------


def test_the_same_key_and_request_returns_the_first_payment_and_posts_nothing(
    overdue_loan, charlie
):
    first = pay(overdue_loan, "300.00", key="bank-ref-77", channel="bank_transfer", actor=charlie)
    assert first.replayed is False
    after_first = book(overdue_loan)

    again = pay(overdue_loan, "300.00", key="bank-ref-77", channel="bank_transfer", actor=charlie)

    assert again.replayed is True
    assert again.payment.pk == first.payment.pk
    assert again.payment.amount == Decimal("300.00")
    assert book(overdue_loan) == after_first  # no payment, allocation, journal entry or audit event


def test_a_retry_written_differently_is_the_same_request(overdue_loan):
    first = pay(overdue_loan, "300", key="k-1")
    after_first = book(overdue_loan)

    again = pay(overdue_loan, Decimal("300.00"), key="  k-1 ")

    assert again.replayed is True and again.payment.pk == first.payment.pk
    assert book(overdue_loan) == after_first


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "300.01"},
        {"channel": "web"},
        {"external_reference": "another transfer"},
    ],
    ids=["other amount", "other channel", "other external reference"],
)
def test_the_same_key_with_a_different_request_is_refused_and_changes_nothing(overdue_loan, change):
    pay(overdue_loan, "300.00", key="k-1", channel="app")
    after_first = book(overdue_loan)
    request = {"amount": "300.00", "channel": "app", "external_reference": ""} | change

    with pytest.raises(IdempotencyKeyReused):
        pay(overdue_loan, key="k-1", **request)

    assert book(overdue_loan) == after_first


def test_the_same_key_on_another_loan_of_the_same_borrower_is_refused(
    alice, make_loan, overdue_loan
):
    second_loan = make_loan(alice, principal="5000.00")
    pay(overdue_loan, "300.00", key="k-1")
    first_book, second_book = book(overdue_loan), book(second_loan)

    with pytest.raises(IdempotencyKeyReused):
        pay(second_loan, "300.00", key="k-1", on=TWO_OVERDUE)

    assert book(overdue_loan) == first_book
    assert book(second_loan) == second_book


def test_another_borrower_may_use_the_same_key(bob, make_loan, overdue_loan):
    bobs_loan = make_loan(bob)
    alices = pay(overdue_loan, "300.00", key="k-1")

    bobs = pay(bobs_loan, "300.00", key="k-1", on=BEFORE_FIRST_DUE)

    assert bobs.replayed is False
    assert bobs.payment.pk != alices.payment.pk
    assert Payment.objects.filter(idempotency_key="k-1").count() == 2


def test_a_replay_after_settlement_still_returns_the_first_payment(overdue_loan):
    payoff = payoff_quote(bills(overdue_loan), TWO_OVERDUE).amount
    first = pay(overdue_loan, payoff, key="settle")
    settled = book(overdue_loan)
    assert settled["loan"]["status"] == LoanStatus.SETTLED

    again = pay(overdue_loan, payoff, key="settle")

    assert again.replayed is True and again.payment.pk == first.payment.pk
    assert book(overdue_loan) == settled


# --- Refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "0.00",
        "-5.00",
        "-0.01",
        "abc",
        "",
        "  ",
        "1.001",
        "0.009",
        12.5,
        0.1,
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        None,
        "12 34",
        "¥100",
        "1000000000000.00",  # one fen more than a money column holds
        "1e30",  # far too large: must be refused as an amount, not crash
    ],
)
def test_an_invalid_amount_is_refused_and_changes_nothing(overdue_loan, amount):
    before = book(overdue_loan)

    with pytest.raises(InvalidAmount):
        pay(overdue_loan, amount)

    assert book(overdue_loan) == before


def test_an_amount_above_the_payoff_is_refused_and_changes_nothing(overdue_loan):
    payoff = payoff_quote(bills(overdue_loan), TWO_OVERDUE).amount
    before = book(overdue_loan)

    with pytest.raises(InvalidAmount):
        pay(overdue_loan, payoff + FEN)

    assert book(overdue_loan) == before


@pytest.mark.parametrize("key", ["", "   ", None, "x" * 101])
def test_a_payment_without_a_usable_request_key_is_refused(overdue_loan, key):
    before = book(overdue_loan)

    with pytest.raises(NotAllowed):
        pay(overdue_loan, "100.00", key=key)

    assert book(overdue_loan) == before


def test_a_request_key_of_a_hundred_characters_is_accepted(overdue_loan):
    result = pay(overdue_loan, "100.00", key="x" * 100)
    assert result.replayed is False and result.payment.idempotency_key == "x" * 100


@pytest.mark.parametrize("channel", ["cash", "", "APP", "wechat"])
def test_a_payment_by_an_unknown_channel_is_refused(overdue_loan, channel):
    before = book(overdue_loan)

    with pytest.raises(NotAllowed):
        pay(overdue_loan, "100.00", channel=channel)

    assert book(overdue_loan) == before


# --- Settlement ---------------------------------------------------------------------------------


def test_paying_exactly_the_payoff_settles_the_loan_and_waives_later_interest(overdue_loan):
    rows = bills(overdue_loan)
    current = rows[2]  # due 2026-04-15: the period running on 2026-03-20
    later = rows[3:]
    payoff = payoff_quote(rows, TWO_OVERDUE).amount

    result = pay(overdue_loan, payoff, key="settle")

    overdue_loan.refresh_from_db()
    assert overdue_loan.status == LoanStatus.SETTLED
    assert overdue_loan.stage == Stage.CURRENT
    assert overdue_loan.days_past_due == 0
    after = bills(overdue_loan)
    assert all(b.status == InstallmentStatus.PAID and b.total_outstanding == ZERO for b in after)
    assert after[2].interest_paid == current.interest_due and after[2].interest_waived == ZERO
    for before_row, after_row in zip(later, after[3:], strict=True):
        assert after_row.interest_waived == before_row.interest_due > ZERO
        assert after_row.interest_paid == ZERO
        assert after_row.principal_paid == before_row.principal_due

    waived_rows = list(result.payment.allocations.filter(kind=AllocationKind.WAIVED).order_by("id"))
    assert [(a.installment_id, a.interest) for a in waived_rows] == [
        (b.pk, b.interest_due) for b in later
    ]
    assert all(a.fees == a.penalty == a.principal == ZERO for a in waived_rows)
    later_interest = sum((b.interest_due for b in later), ZERO)
    [waiver] = JournalEntry.objects.filter(payment=result.payment, kind=EntryKind.WAIVER)
    assert (waiver.interest, waiver.principal, waiver.penalty, waiver.fees) == (
        -later_interest,
        ZERO,
        ZERO,
        ZERO,
    )
    [repayment] = JournalEntry.objects.filter(payment=result.payment, kind=EntryKind.REPAYMENT)
    assert -repayment.total == payoff
    assert journal_sum(overdue_loan) == dict.fromkeys(COMPONENTS, ZERO)


def test_paying_one_fen_less_than_the_payoff_waives_nothing_and_leaves_the_loan_open(overdue_loan):
    payoff = payoff_quote(bills(overdue_loan), TWO_OVERDUE).amount

    result = pay(overdue_loan, payoff - FEN)

    overdue_loan.refresh_from_db()
    assert overdue_loan.status == LoanStatus.ACTIVE
    assert not result.payment.allocations.filter(kind=AllocationKind.WAIVED).exists()
    assert not JournalEntry.objects.filter(kind=EntryKind.WAIVER).exists()
    assert all(b.interest_waived == ZERO for b in bills(overdue_loan))


def test_a_settled_loan_refuses_further_payments(overdue_loan):
    pay(overdue_loan, payoff_quote(bills(overdue_loan), TWO_OVERDUE).amount, key="settle")
    before = book(overdue_loan)

    with pytest.raises(NotAllowed):
        pay(overdue_loan, "0.01", key="after-settlement")

    assert book(overdue_loan) == before


# --- Payoff quote --------------------------------------------------------------------------------


def test_before_the_first_due_date_the_payoff_is_the_principal_and_the_first_periods_interest(
    alices_loan,
):
    first, *later = bills(alices_loan)

    quote = payoff_quote(bills(alices_loan), BEFORE_FIRST_DUE)

    assert quote.amount == alices_loan.principal + first.interest_due
    assert quote.amount == Decimal("12000.00") + Decimal("12000.00") * Decimal("0.18") / 12
    assert quote.owed.principal == Decimal("12000.00")
    assert [(w.installment.pk, w.parts.interest) for w in quote.waived] == [
        (b.pk, b.interest_due) for b in later
    ]


def test_after_two_bills_are_overdue_the_payoff_includes_their_penalty(daily_aged_loan):
    first, second, current, *later = bills(daily_aged_loan)
    rate = daily_aged_loan.penalty_rate
    penalty = 30 * daily_penalty(first.principal_due, rate) + 2 * daily_penalty(
        second.principal_due, rate
    )
    everything_due = (
        sum((b.principal_due + b.interest_due for b in (first, second)), ZERO) + penalty
    )
    remaining_principal = sum((b.principal_due for b in (current, *later)), ZERO)

    quote = payoff_quote(bills(daily_aged_loan), TWO_OVERDUE)

    assert quote.owed.penalty == penalty
    assert quote.amount == everything_due + current.interest_due + remaining_principal
    assert quote.amount == (
        daily_aged_loan.principal
        + first.interest_due
        + second.interest_due
        + current.interest_due
        + penalty
    )


def test_a_part_payment_lowers_the_payoff_by_exactly_its_amount(overdue_loan):
    before = payoff_quote(bills(overdue_loan), TWO_OVERDUE).amount

    pay(overdue_loan, "1234.56")

    assert payoff_quote(bills(overdue_loan), TWO_OVERDUE).amount == before - Decimal("1234.56")


def test_prepaying_the_current_bill_does_not_make_settlement_dearer(alices_loan):
    """Settling on 02-01 costs principal + the first period's interest. A borrower who first
    prepays bill 1 in full and then settles the same day must pay the same in total: the second
    period has not started, so its interest is not owed."""
    first, second, *_ = bills(alices_loan)
    payoff_at_once = payoff_quote(bills(alices_loan), BEFORE_FIRST_DUE).amount

    pay(alices_loan, first.total_outstanding, key="prepay", on=BEFORE_FIRST_DUE)

    payoff_after = payoff_quote(bills(alices_loan), BEFORE_FIRST_DUE).amount
    assert payoff_after == payoff_at_once - first.total_outstanding
    assert payoff_after == alices_loan.principal - first.principal_due


def test_paying_more_than_the_current_bill_and_then_settling_costs_no_more_than_settling_at_once(
    alices_loan,
):
    """¥100 beyond bill 1 on 02-01 must reduce what settles the loan by ¥100. Today it goes to
    bill 2's interest (a period not started, which settlement would waive) and is lost."""
    first, second, *_ = bills(alices_loan)
    payoff_at_once = payoff_quote(bills(alices_loan), BEFORE_FIRST_DUE).amount
    amount = first.total_outstanding + Decimal("100.00")
    assert Decimal("100.00") < second.interest_due

    pay(alices_loan, amount, key="pay-ahead", on=BEFORE_FIRST_DUE)

    payoff_after = payoff_quote(bills(alices_loan), BEFORE_FIRST_DUE).amount
    assert amount + payoff_after == payoff_at_once


# --- Reversal ------------------------------------------------------------------------------------


def test_reversing_a_payment_restores_every_column_exactly(overdue_loan, charlie):
    first, second, *_ = bills(overdue_loan)
    before = bill_state(overdue_loan)
    amount = first.total_outstanding + second.penalty_due + Decimal("10.00")
    result = pay(overdue_loan, amount)
    assert bill_state(overdue_loan) != before

    reversed_payment = services.payment_reverse(
        payment_id=result.payment.pk,
        reason="bank transfer bounced",
        actor=charlie,
        business_date=TWO_OVERDUE,
    )

    assert bill_state(overdue_loan) == before
    assert reversed_payment.status == PaymentStatus.REVERSED
    assert reversed_payment.reversal_reason == "bank transfer bounced"
    assert reversed_payment.reversed_at is not None
    [repayment] = JournalEntry.objects.filter(payment=result.payment, kind=EntryKind.REPAYMENT)
    [reversal] = JournalEntry.objects.filter(payment=result.payment, kind=EntryKind.REVERSAL)
    assert {c: getattr(reversal, c) for c in COMPONENTS} == {
        c: -getattr(repayment, c) for c in COMPONENTS
    }
    assert journal_sum(overdue_loan) == still_owed(overdue_loan)


def test_reversing_a_settlement_reopens_the_loan_with_its_overdue_state(overdue_loan):
    before = bill_state(overdue_loan)
    assert before["loan"]["stage"] == Stage.COLLECTIONS and before["loan"]["days_past_due"] == 33
    result = pay(overdue_loan, payoff_quote(bills(overdue_loan), TWO_OVERDUE).amount, key="settle")
    overdue_loan.refresh_from_db()
    assert overdue_loan.status == LoanStatus.SETTLED

    services.payment_reverse(
        payment_id=result.payment.pk, reason="chargeback", actor=None, business_date=TWO_OVERDUE
    )

    assert bill_state(overdue_loan) == before
    overdue_loan.refresh_from_db()
    assert overdue_loan.status == LoanStatus.ACTIVE
    assert overdue_loan.days_past_due == (TWO_OVERDUE - FIRST_DUE).days
    assert overdue_loan.stage == Stage.COLLECTIONS
    assert all(b.interest_waived == ZERO for b in bills(overdue_loan))
    assert journal_sum(overdue_loan) == still_owed(overdue_loan)


def test_a_payment_cannot_be_reversed_twice(overdue_loan):
    result = pay(overdue_loan, "500.00")
    services.payment_reverse(
        payment_id=result.payment.pk, reason="bounced", actor=None, business_date=TWO_OVERDUE
    )
    before = book(overdue_loan)

    with pytest.raises(NotAllowed):
        services.payment_reverse(
            payment_id=result.payment.pk,
            reason="bounced again",
            actor=None,
            business_date=TWO_OVERDUE,
        )

    assert book(overdue_loan) == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_reversal_needs_a_reason(overdue_loan, reason):
    result = pay(overdue_loan, "500.00")
    before = book(overdue_loan)

    with pytest.raises(NotAllowed):
        services.payment_reverse(
            payment_id=result.payment.pk, reason=reason, actor=None, business_date=TWO_OVERDUE
        )

    assert book(overdue_loan) == before
    assert Payment.objects.get(pk=result.payment.pk).status == PaymentStatus.POSTED


# --- Audit ---------------------------------------------------------------------------------------


def test_posting_and_reversing_each_write_exactly_one_audit_event(overdue_loan, charlie):
    events_before = AuditEvent.objects.count()

    result = pay(overdue_loan, "500.00", actor=charlie)

    assert AuditEvent.objects.count() == events_before + 1
    post_event = AuditEvent.objects.get(action="payment.post")
    assert (post_event.object_type, post_event.object_id) == (
        "loans.payment",
        str(result.payment.pk),
    )
    assert post_event.actor == charlie and post_event.actor_label == "charlie"
    assert post_event.after is not None
    assert Decimal(post_event.after["amount"]) == Decimal("500.00")

    services.payment_reverse(
        payment_id=result.payment.pk, reason="bounced", actor=charlie, business_date=TWO_OVERDUE
    )

    assert AuditEvent.objects.count() == events_before + 2
    reverse_event = AuditEvent.objects.get(action="payment.reverse")
    assert reverse_event.object_id == str(result.payment.pk)
    assert reverse_event.summary == "bounced"
    assert reverse_event.after is not None
    assert (
        reverse_event.before == {"status": "posted"} and reverse_event.after["status"] == "reversed"
    )


def test_a_payment_whose_audit_event_fails_is_not_posted(overdue_loan, monkeypatch):
    before = book(overdue_loan)

    def broken_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    book_module = sys.modules[services.payment_post.__module__]
    monkeypatch.setattr(book_module, "audit_record", broken_audit)
    monkeypatch.setattr(book_module, "audit_event", broken_audit)  # payment_post batches its event
    with pytest.raises(RuntimeError):
        pay(overdue_loan, "500.00")

    assert book(overdue_loan) == before


def test_a_reversal_whose_audit_event_fails_is_not_made(overdue_loan, monkeypatch):
    result = pay(overdue_loan, "500.00")
    before = book(overdue_loan)

    def broken_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(sys.modules[services.payment_post.__module__], "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        services.payment_reverse(
            payment_id=result.payment.pk, reason="bounced", actor=None, business_date=TWO_OVERDUE
        )

    assert book(overdue_loan) == before


# --- Waivers -------------------------------------------------------------------------------------


def waive(loan: Loan, **amounts: Any) -> JournalEntry:
    return services.loan_waive(
        loan_id=loan.pk,
        reason=amounts.pop("reason", "hardship"),
        actor=None,
        business_date=TWO_OVERDUE,
        **amounts,
    )


def test_a_waiver_forgives_penalty_oldest_bill_first(overdue_loan):
    first, second, *_ = bills(overdue_loan)
    amount = first.penalty_due + FEN

    entry = waive(overdue_loan, penalty=amount)

    first_after, second_after, *_ = bills(overdue_loan)
    assert first_after.penalty_waived == first.penalty_due
    assert second_after.penalty_waived == FEN
    assert (entry.kind, entry.penalty, entry.interest) == (EntryKind.WAIVER, -amount, ZERO)
    assert journal_sum(overdue_loan) == still_owed(overdue_loan)


@pytest.mark.parametrize(
    ("part", "amount", "error"),
    [
        ("penalty", "owed+0.01", InvalidAmount),
        ("interest", "owed+0.01", InvalidAmount),
        ("fees", "0.01", InvalidAmount),  # no fees were ever charged
        ("penalty", "-0.01", InvalidAmount),
        ("interest", "-100.00", InvalidAmount),
        ("penalty", "0.001", InvalidAmount),
        ("penalty", "0", InvalidAmount),
    ],
)
def test_a_waiver_of_more_than_is_owed_or_of_a_negative_amount_is_refused(
    overdue_loan, part, amount, error
):
    owed = still_owed(overdue_loan)[part]
    value = owed + FEN if amount == "owed+0.01" else Decimal(amount)
    before = book(overdue_loan)

    with pytest.raises(error):
        waive(overdue_loan, **{part: value})

    assert book(overdue_loan) == before


def test_a_waiver_cannot_hide_a_negative_part_behind_a_positive_one(overdue_loan):
    before = book(overdue_loan)

    with pytest.raises(InvalidAmount):
        waive(overdue_loan, penalty=Decimal("5.00"), interest=Decimal("-5.00"))

    assert book(overdue_loan) == before


def test_a_waiver_needs_a_reason(overdue_loan):
    before = book(overdue_loan)

    with pytest.raises(NotAllowed):
        waive(overdue_loan, penalty=Decimal("1.00"), reason="  ")

    assert book(overdue_loan) == before
