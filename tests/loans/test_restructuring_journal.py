"""The journal invariant with restructurings (loans.services.loan_restructure).

test_journal_invariant.py proves, over random operations, that a loan's journal adds up to
what its bills ask for. A restructuring supersedes the open bills and creates new ones, so
here the invariant is the general one: for every part, the sum of the journal entries equals
what the bills that are *not superseded* ask for, and

    outstanding = disbursed + accrued − repaid − waived − written off + restructured.

Superseded bills keep what they charged and what was paid and waived on them; principal is
preserved across any number of restructurings. A stateful hypothesis test mixes ageing,
payments, waivers, reversals and restructurings of every kind, and checks all of this after
every step, reading everything back from the database.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import translation
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loans import services
from loans.allocation import open_installments, payoff_quote
from loans.books import books_problems
from loans.models import (
    COMPONENTS,
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
    RepaymentMethod,
)
from loans.restructuring import (
    GRACE_PERIOD,
    INSTALMENT_PLAN,
    KINDS,
    TERM_EXTENSION,
    WAIVER,
    Plan,
    PlanRefused,
    bills_from_installments,
    plan_restructuring,
)
from portal.errors import NotAllowed
from tests.conftest import DISBURSED_ON, age_through
from tests.loans.test_journal_invariant import (
    FEN,
    ZERO,
    amounts_up_to,
    bills_of,
    column_sums,
    new_loan,
    total,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Any:
    """Refusals are worded in the active language; read them in English."""
    with translation.override("en"):
        yield

Columns = dict[str, Decimal]


def live_bills(loan_id: int) -> list[Installment]:
    return [b for b in bills_of(loan_id) if b.status != InstallmentStatus.SUPERSEDED]


def owed_by(bills: list[Installment]) -> Columns:
    return {c: total(b.outstanding(c) for b in bills) for c in COMPONENTS}


def assert_journal_matches_live_bills(loan_id: int) -> None:
    """The invariant with superseded bills, on rows read fresh from the database."""
    loan = Loan.objects.get(pk=loan_id)
    bills = bills_of(loan_id)
    live = [b for b in bills if b.status != InstallmentStatus.SUPERSEDED]
    superseded = [b for b in bills if b.status == InstallmentStatus.SUPERSEDED]
    entries = list(JournalEntry.objects.filter(loan_id=loan_id))
    owed = owed_by(live)

    # The books (loans.books): no bill column negative, nothing paid or waived beyond what was
    # charged, the journal equal per part to what the live bills still ask for, payments allocated.
    assert books_problems(loan_ids=[loan_id]) == []

    # By kind, restructurings included.
    by_kind: dict[str, list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        by_kind[entry.kind].append(entry)
    kind_total = {kind: total(e.total for e in by_kind[kind]) for kind in EntryKind.values}
    assert total(owed.values()) == (
        kind_total[EntryKind.DISBURSEMENT] + kind_total[EntryKind.ACCRUAL]
        + kind_total[EntryKind.REPAYMENT] + kind_total[EntryKind.REVERSAL]
        + kind_total[EntryKind.WAIVER] + kind_total[EntryKind.WRITE_OFF]
        + kind_total[EntryKind.RESTRUCTURING]
    )
    # A restructuring never changes principal, and no waiver ever touches it.
    for entry in by_kind[EntryKind.RESTRUCTURING]:
        assert entry.principal == ZERO, entry
    for entry in by_kind[EntryKind.WAIVER]:
        assert entry.principal == ZERO and all(v <= 0 for v in column_sums([entry]).values()), entry

    # Principal is preserved: what the live bills charge plus what superseded bills settled.
    assert loan.principal == total(b.principal_due for b in live) + total(
        b.principal_paid + b.principal_waived for b in superseded
    )
    # Every new bill starts clean: nothing paid or waived on it but by payments and waivers.
    numbers = [b.number for b in live]
    assert len(numbers) == len(set(numbers))

    # The bills' paid columns are exactly what the payments still standing paid to them.
    paid_to_bill: dict[int, Columns] = defaultdict(lambda: dict.fromkeys(COMPONENTS, ZERO))
    for payment in Payment.objects.filter(loan_id=loan_id, status=PaymentStatus.POSTED).prefetch_related("allocations"):
        for row in payment.allocations.all():
            if row.kind == AllocationKind.PAID:
                for c in COMPONENTS:
                    paid_to_bill[row.installment_id][c] += getattr(row, c)
    for bill in bills:
        assert {c: getattr(bill, f"{c}_paid") for c in COMPONENTS} == paid_to_bill[bill.pk], bill

    # Statuses follow the money.
    for bill in live:
        assert (bill.status == InstallmentStatus.PAID) == (bill.total_outstanding == 0), bill
    assert (loan.status == LoanStatus.SETTLED) == (total(owed.values()) == 0), loan.status


def make_plan(loan_id: int, on: dt.date, kind: str, parameters: dict[str, Any]) -> Plan:
    loan = Loan.objects.get(pk=loan_id)
    return plan_restructuring(
        bills=bills_from_installments(open_installments(bills_of(loan_id))),
        as_of=on, kind=kind, parameters=parameters, annual_rate=loan.annual_rate,
        method=loan.repayment_method, payment_day=loan.disbursed_on.day,
    )


def restructure(loan_id: int, on: dt.date, kind: str, **parameters: Any) -> services.RestructuringResult:
    return services.loan_restructure(
        loan_id=loan_id, plan=make_plan(loan_id, on, kind, parameters), business_date=on,
        actor=None, reason="hardship", reference="test",
    )


# --- The state machine -------------------------------------------------------------------------


def parameters_for(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """A kind's own parameters, with or without a waiver of overdue penalty or interest."""
    if kind == WAIVER:
        return st.fixed_dictionaries({"penalty_share": st.sampled_from(["0.25", "1"]),
                                      "interest_share": st.sampled_from(["0.5", "1"])})
    waiver: st.SearchStrategy[dict[str, Any]] = st.one_of(
        st.just({}),
        st.fixed_dictionaries({"penalty_share": st.sampled_from(["0.5", "1"])}),
        st.fixed_dictionaries({"interest_share": st.sampled_from(["0.1", "1"])}),
    )
    own: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        TERM_EXTENSION: st.fixed_dictionaries({"extra_months": st.integers(1, 12)}),
        INSTALMENT_PLAN: st.fixed_dictionaries({"parts": st.integers(2, 6)}),
        GRACE_PERIOD: st.fixed_dictionaries(
            {"holiday_months": st.integers(1, 3), "holiday_interest": st.sampled_from(["waive", "add"])}
        ),
    }
    return st.tuples(own[kind], waiver).map(lambda pair: {**pair[0], **pair[1]})


class RestructuredLoanBook(RuleBasedStateMachine):
    """One loan, a business day that only moves forward, and restructurings among the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.loan_id = 0
        self.today = DISBURSED_ON
        self.standing: list[int] = []
        self.keys = itertools.count(1)

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    @initialize(
        principal=st.decimals(min_value=Decimal("100.00"), max_value=Decimal("200000.00"), places=2,
                              allow_nan=False, allow_infinity=False),
        annual_rate=st.decimals(min_value=Decimal("0"), max_value=Decimal("0.36"), places=4,
                                allow_nan=False, allow_infinity=False),
        months=st.integers(min_value=1, max_value=12),
        method=st.sampled_from(RepaymentMethod.values),
        grace_days=st.integers(min_value=0, max_value=5),
    )
    def disburse(self, principal: Decimal, annual_rate: Decimal, months: int, method: str, grace_days: int) -> None:
        self.loan_id = new_loan(principal=principal, annual_rate=annual_rate, months=months,
                                method=method, grace_days=grace_days).pk

    def is_active(self) -> bool:
        return Loan.objects.get(pk=self.loan_id).status == LoanStatus.ACTIVE

    @rule(days=st.integers(min_value=1, max_value=45))
    def age(self, days: int) -> None:
        for _ in range(days):
            self.today += dt.timedelta(days=1)
            services.loan_age(loan_id=self.loan_id, business_date=self.today)

    @precondition(lambda self: self.loan_id and self.is_active())
    @rule(data=st.data())
    def pay(self, data: st.DataObject) -> None:
        quote = payoff_quote(live_bills(self.loan_id), self.today).amount
        amount = data.draw(st.one_of(st.just(quote), amounts_up_to(quote)), label="amount")
        result = services.payment_post(
            loan_id=self.loan_id, amount=amount, channel=Channel.APP,
            idempotency_key=f"k-{next(self.keys)}", actor=None, business_date=self.today,
        )
        self.standing.append(result.payment.pk)

    @precondition(lambda self: self.loan_id and self.is_active())
    @rule(data=st.data())
    def waive(self, data: st.DataObject) -> None:
        owed = owed_by(live_bills(self.loan_id))
        if owed["penalty"] + owed["interest"] == 0:
            return
        part = "penalty" if owed["penalty"] > 0 else "interest"
        amount = data.draw(amounts_up_to(owed[part]), label=part)
        services.loan_waive(loan_id=self.loan_id, reason="goodwill", actor=None,
                            business_date=self.today, **{part: amount})

    @precondition(lambda self: self.loan_id and self.is_active())
    @rule(data=st.data(), kind=st.sampled_from(KINDS))
    def restructure(self, data: st.DataObject, kind: str) -> None:
        parameters = data.draw(parameters_for(kind), label="parameters")
        try:
            plan = make_plan(self.loan_id, self.today, kind, parameters)
        except PlanRefused:
            event(f"{kind}: refused")
            return
        event(f"{kind}: applied")
        before = owed_by(live_bills(self.loan_id))
        result = services.loan_restructure(loan_id=self.loan_id, plan=plan, business_date=self.today,
                                           actor=None, reason="hardship", reference="machine")
        after = owed_by(live_bills(self.loan_id))
        assert {c: after[c] - before[c] for c in COMPONENTS} == plan.difference
        assert result.penalty_frozen == ZERO  # applied on the day it was computed
        assert Installment.objects.filter(pk__in=result.superseded).exclude(
            status=InstallmentStatus.SUPERSEDED).count() == 0

    @precondition(lambda self: self.standing)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(self.standing), label="payment")
        touched = Installment.objects.filter(
            pk__in=Payment.objects.get(pk=payment_id).allocations.values("installment_id"),
            status=InstallmentStatus.SUPERSEDED,
        ).exists()
        if touched:
            entries = JournalEntry.objects.filter(loan_id=self.loan_id).count()
            with pytest.raises(NotAllowed, match="restructuring"):
                services.payment_reverse(payment_id=payment_id, reason="bounced", actor=None,
                                         business_date=self.today)
            assert JournalEntry.objects.filter(loan_id=self.loan_id).count() == entries
            event("reversal refused: bills replaced")
            return
        services.payment_reverse(payment_id=payment_id, reason="bounced", actor=None, business_date=self.today)
        self.standing.remove(payment_id)

    @invariant()
    def the_journal_matches_the_live_bills(self) -> None:
        if self.loan_id:
            assert_journal_matches_live_bills(self.loan_id)


def test_the_journal_matches_the_live_bills_after_any_sequence_with_restructurings(db: Any) -> None:
    run_state_machine_as_test(
        RestructuredLoanBook,
        settings=settings(
            max_examples=50, stateful_step_count=15, deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        ),
    )


# --- The same, as stories ------------------------------------------------------------------------


def test_a_term_extension_supersedes_the_open_bills_and_journals_the_new_interest(alices_loan: Loan) -> None:
    age_through(alices_loan, dt.date(2026, 2, 16), dt.date(2026, 3, 25))
    services.payment_post(loan_id=alices_loan.pk, amount=Decimal("500.00"), channel=Channel.APP,
                          idempotency_key="part", actor=None, business_date=dt.date(2026, 3, 25))
    before = owed_by(live_bills(alices_loan.pk))
    first = bills_of(alices_loan.pk)[0]

    result = restructure(alices_loan.pk, dt.date(2026, 3, 25), TERM_EXTENSION, extra_months=6)

    assert_journal_matches_live_bills(alices_loan.pk)
    superseded = Installment.objects.get(pk=first.pk)
    assert superseded.status == InstallmentStatus.SUPERSEDED
    # What was charged and paid on it stays as it was: the remainder moved.
    assert (superseded.principal_due, superseded.penalty_paid, superseded.interest_paid) == (
        first.principal_due, first.penalty_paid, first.interest_paid)
    live = live_bills(alices_loan.pk)
    assert [b.number for b in live] == list(range(13, 13 + len(live)))
    assert len(live) == 16 and live[0].due_date == dt.date(2026, 4, 15)
    entry = result.restructuring_entry
    assert entry.kind == EntryKind.RESTRUCTURING and entry.principal == entry.penalty == ZERO
    assert entry.interest == owed_by(live)["interest"] - before["interest"] > 0
    assert result.waiver_entry is None
    loan = Loan.objects.get(pk=alices_loan.pk)
    assert (loan.days_past_due, loan.stage) == (0, "current")


def test_a_waiver_writes_a_waiver_entry_on_the_old_bills_and_leaves_the_loan_overdue(alices_loan: Loan) -> None:
    age_through(alices_loan, dt.date(2026, 2, 16), dt.date(2026, 3, 25))
    penalty = owed_by(live_bills(alices_loan.pk))["penalty"]
    assert penalty > 0

    result = restructure(alices_loan.pk, dt.date(2026, 3, 25), WAIVER, penalty_share="1")

    assert_journal_matches_live_bills(alices_loan.pk)
    assert result.waiver_entry is not None and result.waiver_entry.penalty == -penalty
    assert result.restructuring_entry.total == ZERO
    assert total(b.penalty_waived for b in bills_of(alices_loan.pk)
                 if b.status == InstallmentStatus.SUPERSEDED) == penalty
    loan = Loan.objects.get(pk=alices_loan.pk)
    assert loan.days_past_due == (dt.date(2026, 3, 25) - dt.date(2026, 2, 15)).days


def test_penalty_accrued_after_the_plan_is_waived_when_it_is_applied(alices_loan: Loan) -> None:
    age_through(alices_loan, dt.date(2026, 2, 16), dt.date(2026, 3, 25))
    plan = make_plan(alices_loan.pk, dt.date(2026, 3, 25), INSTALMENT_PLAN, {"parts": 3})
    age_through(alices_loan, dt.date(2026, 3, 26), dt.date(2026, 3, 28))
    accrued = owed_by(live_bills(alices_loan.pk))["penalty"] - plan.current_totals.penalty
    assert accrued > 0

    result = services.loan_restructure(loan_id=alices_loan.pk, plan=plan, business_date=dt.date(2026, 3, 28),
                                       actor=None, reason="hardship")

    assert result.penalty_frozen == accrued
    assert result.waiver_entry is not None and result.waiver_entry.penalty == -accrued
    assert owed_by(live_bills(alices_loan.pk)) == {c: getattr(plan.proposed_totals, c) for c in COMPONENTS}
    assert_journal_matches_live_bills(alices_loan.pk)


def test_a_payment_after_the_plan_makes_it_stale_and_nothing_changes(alices_loan: Loan) -> None:
    age_through(alices_loan, dt.date(2026, 2, 16), dt.date(2026, 3, 25))
    plan = make_plan(alices_loan.pk, dt.date(2026, 3, 25), TERM_EXTENSION, {"extra_months": 3})
    services.payment_post(loan_id=alices_loan.pk, amount=Decimal("100.00"), channel=Channel.APP,
                          idempotency_key="meanwhile", actor=None, business_date=dt.date(2026, 3, 25))
    entries = JournalEntry.objects.filter(loan_id=alices_loan.pk).count()

    with pytest.raises(services.StalePlan, match="changed after this plan was computed"):
        services.loan_restructure(loan_id=alices_loan.pk, plan=plan, business_date=dt.date(2026, 3, 25),
                                  actor=None, reason="hardship")

    assert JournalEntry.objects.filter(loan_id=alices_loan.pk).count() == entries
    assert not Installment.objects.filter(loan=alices_loan, status=InstallmentStatus.SUPERSEDED).exists()


def test_a_plan_is_not_applied_on_or_after_its_first_new_bill(alices_loan: Loan) -> None:
    plan = make_plan(alices_loan.pk, dt.date(2026, 3, 25), GRACE_PERIOD,
                     {"holiday_months": 1, "holiday_interest": "add"})
    assert plan.first_new_due == dt.date(2026, 4, 15)
    with pytest.raises(NotAllowed, match="2026-04-15"):
        services.loan_restructure(loan_id=alices_loan.pk, plan=plan, business_date=dt.date(2026, 4, 15),
                                  actor=None, reason="hardship")


def test_a_payment_to_a_replaced_bill_can_no_longer_be_reversed(alices_loan: Loan) -> None:
    payment = services.payment_post(loan_id=alices_loan.pk, amount=Decimal("300.00"), channel=Channel.APP,
                                    idempotency_key="early", actor=None, business_date=dt.date(2026, 2, 15)).payment
    restructure(alices_loan.pk, dt.date(2026, 3, 1), TERM_EXTENSION, extra_months=2)
    with pytest.raises(NotAllowed, match="restructuring has since replaced"):
        services.payment_reverse(payment_id=payment.pk, reason="bounced", actor=None,
                                 business_date=dt.date(2026, 3, 2))
    assert_journal_matches_live_bills(alices_loan.pk)


def test_payments_after_a_restructuring_go_to_the_new_bills_and_can_settle_the_loan(alices_loan: Loan) -> None:
    age_through(alices_loan, dt.date(2026, 2, 16), dt.date(2026, 3, 25))
    restructure(alices_loan.pk, dt.date(2026, 3, 25), INSTALMENT_PLAN, parts=3)
    day = dt.date(2026, 4, 15)
    payment = services.payment_post(loan_id=alices_loan.pk, amount=live_bills(alices_loan.pk)[0].total_outstanding,
                                    channel=Channel.APP, idempotency_key="first-new", actor=None,
                                    business_date=day).payment
    assert {a.installment.status for a in payment.allocations.select_related("installment")} == {
        InstallmentStatus.PAID}
    quote = payoff_quote(live_bills(alices_loan.pk), day).amount
    services.payment_post(loan_id=alices_loan.pk, amount=quote, channel=Channel.APP,
                          idempotency_key="settle", actor=None, business_date=day)
    assert Loan.objects.get(pk=alices_loan.pk).status == LoanStatus.SETTLED
    assert_journal_matches_live_bills(alices_loan.pk)
    assert FEN > 0
