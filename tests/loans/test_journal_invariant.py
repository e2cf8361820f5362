"""The journal invariant, through the real services and real rows.

For every loan and every part (principal, interest, penalty, fees) the sum of its journal
entries equals what its bills still ask for (due − paid − waived), and by kind:
outstanding = disbursed + accrued − repaid − waived − written off (DESIGN.md, Money).
A stateful hypothesis test drives random ageing, payments, waivers and reversals and checks
this, and the bills' own limits, after every step, reading everything back from the database.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from stdnum.cn import ric

from loans import services
from loans.allocation import payoff_quote
from loans.books import books_problems
from loans.models import (
    COMPONENTS,
    Allocation,
    AllocationKind,
    Channel,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanStatus,
    Payment,
    PaymentStatus,
    Product,
    RepaymentMethod,
)
from portal.errors import InvalidAmount
from tests.conftest import DISBURSED_ON, FIRST_DUE, age_through

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
Columns = dict[str, Decimal]


# --- Reading the book back from the database ----------------------------------------------------


def total(values: Iterable[Decimal]) -> Decimal:
    """Sum in Python: SQLite hands back aggregates as inexact Decimals."""
    return sum(values, ZERO)


def columns_of(row: Any) -> Columns:
    return {c: getattr(row, c) for c in COMPONENTS}


def bills_of(loan_id: int) -> list[Installment]:
    return list(Installment.objects.filter(loan_id=loan_id).order_by("id"))


def still_owed(bills: list[Installment]) -> Columns:
    return {c: total(b.outstanding(c) for b in bills) for c in COMPONENTS}


def column_sums(rows: Iterable[JournalEntry | Allocation]) -> Columns:
    """Per part, the sum over journal entries or allocations (both have the four columns)."""
    rows = list(rows)
    return {c: total(getattr(r, c) for r in rows) for c in COMPONENTS}


def assert_journal_matches_bills(loan_id: int) -> None:
    """Every check of the invariant, on rows read fresh from the database."""
    loan = Loan.objects.get(pk=loan_id)
    bills = bills_of(loan_id)
    entries = list(JournalEntry.objects.filter(loan_id=loan_id))
    owed = still_owed(bills)

    # The books (loans.books): no bill column negative, nothing paid or waived beyond what was
    # charged, the journal equal per part to what the live bills still ask for, payments allocated.
    assert books_problems(loan_ids=[loan_id]) == []

    # By kind: outstanding = disbursed + accrued − repaid − waived − written off.
    by_kind: dict[str, list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        by_kind[entry.kind].append(entry)
    assert set(by_kind) <= {
        EntryKind.DISBURSEMENT,
        EntryKind.ACCRUAL,
        EntryKind.REPAYMENT,
        EntryKind.WAIVER,
        EntryKind.REVERSAL,
    }, "no service used here restructures or writes off"
    kind_total = {kind: total(e.total for e in by_kind[kind]) for kind in EntryKind.values}
    disbursed = kind_total[EntryKind.DISBURSEMENT]
    accrued = kind_total[EntryKind.ACCRUAL]
    # A reversal gives back, in one entry, what its payment paid and what it waived on
    # settlement; so after a reversed settlement "repaid" is low and "waived" high by the same
    # amount. The identity holds; the split between the two is only approximate.
    repaid = -kind_total[EntryKind.REPAYMENT] - kind_total[EntryKind.REVERSAL]
    waived = -kind_total[EntryKind.WAIVER]
    written_off = -kind_total[EntryKind.WRITE_OFF]
    assert total(owed.values()) == disbursed + accrued - repaid - waived - written_off

    # Each kind moves money the way its name says.
    [disbursement] = by_kind[EntryKind.DISBURSEMENT]
    assert disbursement.principal == loan.principal == total(b.principal_due for b in bills)
    assert disbursement.interest == total(b.interest_due for b in bills)
    assert disbursement.penalty == disbursement.fees == ZERO
    for entry in by_kind[EntryKind.ACCRUAL]:
        assert entry.penalty > 0 and entry.principal == entry.interest == entry.fees == ZERO, entry
    assert total(e.penalty for e in by_kind[EntryKind.ACCRUAL]) == total(
        b.penalty_due for b in bills
    )
    for kind, sign in ((EntryKind.REPAYMENT, -1), (EntryKind.WAIVER, -1), (EntryKind.REVERSAL, +1)):
        for entry in by_kind[kind]:
            assert all(sign * v >= 0 for v in columns_of(entry).values()), entry

    # Payments: what each posted payment paid adds up to its amount and is what its journal
    # entries say; a reversed payment's reversal gives back every part it took or waived; and
    # the bills' paid columns are exactly what the payments still standing paid to them.
    paid_to_bill: dict[int, Columns] = defaultdict(lambda: dict.fromkeys(COMPONENTS, ZERO))
    for payment in Payment.objects.filter(loan_id=loan_id).prefetch_related(
        "allocations", "journal_entries"
    ):
        rows = list(payment.allocations.all())
        paid_rows = [r for r in rows if r.kind == AllocationKind.PAID]
        waived_rows = [r for r in rows if r.kind == AllocationKind.WAIVED]
        journal = {e.kind: columns_of(e) for e in payment.journal_entries.all()}
        assert total(r.total for r in paid_rows) == payment.amount, payment
        assert journal[EntryKind.REPAYMENT] == {c: -v for c, v in column_sums(paid_rows).items()}, (
            payment
        )
        if waived_rows:
            assert journal[EntryKind.WAIVER] == {
                c: -v for c, v in column_sums(waived_rows).items()
            }, payment
        else:
            assert EntryKind.WAIVER not in journal, payment
        if payment.status == PaymentStatus.REVERSED:
            assert journal[EntryKind.REVERSAL] == column_sums(rows), payment
        else:
            assert EntryKind.REVERSAL not in journal, payment
            for row in paid_rows:
                for c in COMPONENTS:
                    paid_to_bill[row.installment_id][c] += getattr(row, c)
    for bill in bills:
        assert {c: getattr(bill, f"{c}_paid") for c in COMPONENTS} == paid_to_bill[bill.pk], bill

    # Statuses follow the money.
    for bill in bills:
        assert (bill.status == InstallmentStatus.PAID) == (bill.total_outstanding == 0), bill
    assert (loan.status == LoanStatus.SETTLED) == (total(owed.values()) == 0), loan.status


def bill_columns(loan_id: int) -> dict[int, dict[str, Decimal]]:
    fields = [f"{c}_{k}" for c in COMPONENTS for k in ("due", "paid", "waived")]
    return {b.pk: {f: getattr(b, f) for f in fields} for b in bills_of(loan_id)}


def quote_on(loan_id: int, day: dt.date) -> Decimal:
    return payoff_quote(bills_of(loan_id), day).amount


# --- Fresh borrowers and loans for every example -----------------------------------------------

_serial = itertools.count(1)


def fresh_identity() -> tuple[str, str]:
    """A mobile number and a valid resident ID that no other borrower in this test run has."""
    n = next(_serial)
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=n % 15000)
    first17 = f"110105{birth:%Y%m%d}{(n // 15000) % 1000:03d}"
    # calc_check_digit ignores the last character of what it is given (it expects the full
    # number), so pass a placeholder in the check digit's place.
    national_id = first17 + ric.calc_check_digit(first17 + "0")
    return f"138{n:08d}", national_id


def new_loan(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    months: int,
    method: str,
    grace_days: int,
    disbursed_on: dt.date = DISBURSED_ON,
) -> Loan:
    mobile, national_id = fresh_identity()
    product = Product.objects.create(
        code=f"product-{mobile}",
        name="Generated",
        annual_rate=annual_rate,
        repayment_method=method,
        term_months=months,
        grace_days=grace_days,
    )
    borrower = services.borrower_register(
        mobile=mobile, real_name="测试", national_id=national_id, password=None
    )
    return services.loan_disburse(
        borrower_id=borrower.pk,
        product_id=product.pk,
        principal=principal,
        disbursed_on=disbursed_on,
    )


# --- The state machine -------------------------------------------------------------------------


def amounts_up_to(limit: Decimal) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=FEN, max_value=limit, places=2, allow_nan=False, allow_infinity=False
    )


class LoanBook(RuleBasedStateMachine):
    """One loan, and a business day that only moves forward."""

    def __init__(self) -> None:
        super().__init__()
        # Each example runs inside a savepoint of the test's transaction and is rolled back
        # afterwards, so examples never see each other's rows, whatever the order.
        self.savepoint = transaction.savepoint()
        self.loan_id = 0
        self.today = DISBURSED_ON
        self.standing: list[int] = []  # posted, not reversed
        self.keys = itertools.count(1)

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    @initialize(
        principal=st.decimals(
            min_value=Decimal("100.00"),
            max_value=Decimal("200000.00"),
            places=2,
            allow_nan=False,
            allow_infinity=False,
        ),
        annual_rate=st.decimals(
            min_value=Decimal("0"),
            max_value=Decimal("0.36"),
            places=4,
            allow_nan=False,
            allow_infinity=False,
        ),
        months=st.integers(min_value=1, max_value=12),
        method=st.sampled_from(RepaymentMethod.values),
        grace_days=st.integers(min_value=0, max_value=5),
    )
    def disburse(
        self, principal: Decimal, annual_rate: Decimal, months: int, method: str, grace_days: int
    ) -> None:
        self.loan_id = new_loan(
            principal=principal,
            annual_rate=annual_rate,
            months=months,
            method=method,
            grace_days=grace_days,
        ).pk

    def is_active(self) -> bool:
        return Loan.objects.get(pk=self.loan_id).status == LoanStatus.ACTIVE

    @rule(days=st.integers(min_value=1, max_value=40))
    def age(self, days: int) -> None:
        for _ in range(days):
            self.today += dt.timedelta(days=1)
            services.loan_age(loan_id=self.loan_id, business_date=self.today)

    @precondition(lambda self: self.loan_id and self.is_active())
    @rule(data=st.data(), channel=st.sampled_from(Channel.values))
    def pay(self, data: st.DataObject, channel: str) -> None:
        bills = bills_of(self.loan_id)
        quote = payoff_quote(bills, self.today).amount
        oldest_bill = min(
            (b for b in bills if b.total_outstanding > 0), key=lambda b: (b.due_date, b.number)
        )
        # The payoff, just the oldest bill (what most borrowers pay), or anything up to the payoff.
        amount = data.draw(
            st.one_of(
                st.just(quote),
                st.just(min(oldest_bill.total_outstanding, quote)),
                amounts_up_to(quote),
            ),
            label="amount",
        )
        result = services.payment_post(
            loan_id=self.loan_id,
            amount=amount,
            channel=channel,
            idempotency_key=f"k-{next(self.keys)}",
            actor=None,
            business_date=self.today,
        )
        assert not result.replayed
        self.standing.append(result.payment.pk)
        if amount == quote:
            assert Loan.objects.get(pk=self.loan_id).status == LoanStatus.SETTLED

    @precondition(lambda self: self.loan_id and self.is_active())
    @rule(data=st.data())
    def waive(self, data: st.DataObject) -> None:
        owed = still_owed(bills_of(self.loan_id))
        # Nothing, everything, a few fen (forgiving the rounding of a bill) or anything between.
        wanted = {
            part: data.draw(
                st.one_of(
                    st.just(ZERO),
                    st.just(owed[part]),
                    amounts_up_to(min(owed[part], Decimal("0.10"))),
                    amounts_up_to(owed[part]),
                )
                if owed[part] > 0
                else st.just(ZERO),
                label=part,
            )
            for part in ("interest", "penalty", "fees")
        }
        if total(wanted.values()) == 0:
            with pytest.raises(InvalidAmount):
                services.loan_waive(
                    loan_id=self.loan_id,
                    reason="nothing",
                    actor=None,
                    business_date=self.today,
                    **wanted,
                )
            return
        entry = services.loan_waive(
            loan_id=self.loan_id, reason="goodwill", actor=None, business_date=self.today, **wanted
        )
        assert {part: -getattr(entry, part) for part in wanted} == wanted

    @precondition(lambda self: self.loan_id and self.is_active())
    @rule(data=st.data())
    def asking_too_much_changes_nothing(self, data: st.DataObject) -> None:
        owed = still_owed(bills_of(self.loan_id))
        entries_before = JournalEntry.objects.filter(loan_id=self.loan_id).count()
        with pytest.raises(InvalidAmount):
            if data.draw(st.booleans(), label="overpay"):
                services.payment_post(
                    loan_id=self.loan_id,
                    amount=quote_on(self.loan_id, self.today) + FEN,
                    channel=Channel.APP,
                    idempotency_key=f"k-{next(self.keys)}",
                    actor=None,
                    business_date=self.today,
                )
            else:
                part = data.draw(st.sampled_from(["interest", "penalty", "fees"]), label="part")
                services.loan_waive(
                    loan_id=self.loan_id,
                    reason="too much",
                    actor=None,
                    business_date=self.today,
                    **{part: owed[part] + FEN},
                )
        assert JournalEntry.objects.filter(loan_id=self.loan_id).count() == entries_before

    @precondition(lambda self: self.standing)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(self.standing), label="payment")
        before = bill_columns(self.loan_id)
        allocations = list(Allocation.objects.filter(payment_id=payment_id))

        services.payment_reverse(
            payment_id=payment_id, reason="bounced", actor=None, business_date=self.today
        )
        self.standing.remove(payment_id)

        expected = before
        for row in allocations:
            column = "paid" if row.kind == AllocationKind.PAID else "waived"
            for c in COMPONENTS:
                expected[row.installment_id][f"{c}_{column}"] -= getattr(row, c)
        assert bill_columns(self.loan_id) == expected

    @invariant()
    def the_journal_matches_the_bills(self) -> None:
        if self.loan_id:
            assert_journal_matches_bills(self.loan_id)


def test_the_journal_matches_the_bills_after_any_sequence_of_operations(db: Any) -> None:
    run_state_machine_as_test(
        LoanBook,
        settings=settings(
            max_examples=60,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            # No "explain" phase: it traces every line of a failing case and takes minutes here.
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        ),
    )


# --- The same, as stories ------------------------------------------------------------------------


def test_a_reversed_settlement_restores_the_waived_interest(alices_loan: Loan) -> None:
    bills = bills_of(alices_loan.pk)
    later_interest = total(b.interest_due for b in bills[1:])
    settle_on = dt.date(2026, 1, 20)
    # Settling before the first bill: all the principal and the first month's interest.
    assert quote_on(alices_loan.pk, settle_on) == Decimal("12180.00")

    payment = services.payment_post(
        loan_id=alices_loan.pk,
        amount=Decimal("12180.00"),
        channel=Channel.BANK_TRANSFER,
        idempotency_key="settle",
        actor=None,
        business_date=settle_on,
    ).payment
    assert_journal_matches_bills(alices_loan.pk)
    assert Loan.objects.get(pk=alices_loan.pk).status == LoanStatus.SETTLED
    assert total(b.interest_waived for b in bills_of(alices_loan.pk)) == later_interest > 0

    services.payment_reverse(
        payment_id=payment.pk,
        reason="transfer bounced",
        actor=None,
        business_date=dt.date(2026, 1, 22),
    )
    assert_journal_matches_bills(alices_loan.pk)
    assert Loan.objects.get(pk=alices_loan.pk).status == LoanStatus.ACTIVE
    assert all(
        b.interest_waived == b.interest_paid == b.principal_paid == ZERO
        for b in bills_of(alices_loan.pk)
    )
    reversal = JournalEntry.objects.get(payment=payment, kind=EntryKind.REVERSAL)
    assert reversal.principal == Decimal("12000.00")
    assert reversal.interest == Decimal("180.00") + later_interest


def test_the_journal_matches_the_bills_after_a_partial_payment_and_a_waiver(
    alices_loan: Loan,
) -> None:
    # The first bill (2026-02-15) is past its 3 grace days from 2026-02-19: 11 days of penalty
    # to 2026-03-01 on its principal of 920.16 at 27 % / 360 a day (0.69 a day).
    age_through(alices_loan, dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    first = bills_of(alices_loan.pk)[0]
    assert first.penalty_due == Decimal("7.59") == 11 * Decimal("0.69")
    assert_journal_matches_bills(alices_loan.pk)

    services.payment_post(
        loan_id=alices_loan.pk,
        amount=Decimal("500.00"),
        channel=Channel.APP,
        idempotency_key="part",
        actor=None,
        business_date=dt.date(2026, 3, 1),
    )
    first = bills_of(alices_loan.pk)[0]
    # Penalty first, then interest, then principal.
    assert (first.penalty_paid, first.interest_paid, first.principal_paid) == (
        Decimal("7.59"),
        Decimal("180.00"),
        Decimal("312.41"),
    )
    assert_journal_matches_bills(alices_loan.pk)

    services.loan_waive(
        loan_id=alices_loan.pk,
        reason="hardship",
        actor=None,
        business_date=dt.date(2026, 3, 1),
        interest=Decimal("100.00"),
    )
    assert_journal_matches_bills(alices_loan.pk)
    # The oldest interest still owed is the second bill's.
    assert bills_of(alices_loan.pk)[1].interest_waived == Decimal("100.00")
    assert still_owed(bills_of(alices_loan.pk))["penalty"] == ZERO


def test_the_last_fen_of_a_bills_interest_can_be_waived_after_a_part_payment(
    alices_loan: Loan,
) -> None:
    # Alice pays her first bill and all but 0.02 of the second bill's 166.20 interest; the
    # agent forgives the 0.02. Paid 166.18 + waived 0.02 is exactly the 166.20 charged.
    second = bills_of(alices_loan.pk)[1]
    assert second.interest_due == Decimal("166.20")
    services.payment_post(
        loan_id=alices_loan.pk,
        amount=Decimal("1100.16") + Decimal("166.18"),
        channel=Channel.APP,
        idempotency_key="bill-and-most-interest",
        actor=None,
        business_date=FIRST_DUE,
    )

    services.loan_waive(
        loan_id=alices_loan.pk,
        reason="rounding",
        actor=None,
        business_date=FIRST_DUE,
        interest=Decimal("0.02"),
    )

    second = bills_of(alices_loan.pk)[1]
    assert (second.interest_paid, second.interest_waived) == (Decimal("166.18"), Decimal("0.02"))
    assert second.outstanding("interest") == ZERO
    assert_journal_matches_bills(alices_loan.pk)


def test_reversing_a_partial_payment_puts_every_fen_back_on_the_bill_it_came_from(
    alices_loan: Loan,
) -> None:
    age_through(alices_loan, dt.date(2026, 2, 15), dt.date(2026, 2, 25))
    before = bill_columns(alices_loan.pk)
    payment = services.payment_post(
        loan_id=alices_loan.pk,
        amount=Decimal("1500.00"),
        channel=Channel.WEB,
        idempotency_key="two-bills",
        actor=None,
        business_date=dt.date(2026, 2, 25),
    ).payment
    assert {
        row.installment.number for row in payment.allocations.select_related("installment")
    } == {1, 2}

    services.payment_reverse(
        payment_id=payment.pk, reason="chargeback", actor=None, business_date=dt.date(2026, 2, 26)
    )
    assert bill_columns(alices_loan.pk) == before
    assert_journal_matches_bills(alices_loan.pk)
