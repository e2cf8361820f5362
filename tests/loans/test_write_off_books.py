"""The books of a write-off and of the recoveries after it (loans/services/write_off.py).

Per part, the journal of a loan always equals what its live bills still owe, and the bills'
written-off columns always equal what the WRITE_OFF and REINSTATEMENT entries say is still
written off. Checked after every step of random sequences (hypothesis) and in stories.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import translation
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
    LoanEvent,
    LoanEventKind,
    LoanStatus,
    Payment,
    PaymentStatus,
    RepaymentMethod,
    Stage,
    StageChange,
    WriteOff,
    WriteOffKind,
    WriteOffLine,
)
from portal.errors import InvalidAmount, NotAllowed
from portal.models import AuditEvent
from tests.conftest import DISBURSED_ON, FIRST_DUE
from tests.loans.test_journal_invariant import new_loan

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
Columns = dict[str, Decimal]
# Alice's first bill (2026-02-15) is 181 days past due on this date.
WRITE_OFF_DAY = FIRST_DUE + dt.timedelta(days=181)


@pytest.fixture(autouse=True)
def english() -> Any:
    """Services word their refusals in the active language; these tests read them in English."""
    with translation.override("en"):
        yield


def total(values: Any) -> Decimal:
    return sum(values, ZERO)


def parts(row: Any) -> Columns:
    return {c: getattr(row, c) for c in COMPONENTS}


def sums(rows: Any) -> Columns:
    rows = list(rows)
    return {c: total(getattr(r, c) for r in rows) for c in COMPONENTS}


def live_bills(loan_id: int) -> list[Installment]:
    return list(
        Installment.objects.filter(loan_id=loan_id)
        .exclude(status=InstallmentStatus.SUPERSEDED)
        .order_by("due_date", "number")
    )


def column(bills: list[Installment], kind: str) -> Columns:
    return {c: total(getattr(b, f"{c}_{kind}") for b in bills) for c in COMPONENTS}


def age_on(loan: Loan, *days: dt.date) -> None:
    """The close of business on these dates only (penalty accrues on each of them)."""
    for day in days:
        services.loan_age(loan_id=loan.pk, business_date=day)


def age_to_write_off(loan: Loan, last: dt.date = WRITE_OFF_DAY) -> None:
    day = FIRST_DUE
    while day < last:
        age_on(loan, day)
        day += dt.timedelta(days=30)
    age_on(loan, last)


def assert_books(loan_id: int) -> None:
    """Every check of the write-off books, on rows read fresh from the database."""
    loan = Loan.objects.get(pk=loan_id)
    bills = live_bills(loan_id)
    entries = list(JournalEntry.objects.filter(loan_id=loan_id))
    owed = {c: total(b.outstanding(c) for b in bills) for c in COMPONENTS}

    # The books of every loan: journal equals bills per part, no column negative, payments
    # allocated exactly, a written-off loan owing nothing on its live bills.
    assert books_problems(loan_ids=[loan_id]) == []

    by_kind: dict[str, list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        by_kind[entry.kind].append(entry)
    kind_total = {kind: total(e.total for e in by_kind[kind]) for kind in EntryKind.values}
    repaid = -kind_total[EntryKind.REPAYMENT] - kind_total[EntryKind.REVERSAL]
    written_off = -kind_total[EntryKind.WRITE_OFF]
    reinstated = kind_total[EntryKind.REINSTATEMENT]
    # outstanding = disbursed + accrued − repaid − waived − written off (+ reinstated for recoveries)
    assert total(owed.values()) == (
        kind_total[EntryKind.DISBURSEMENT]
        + kind_total[EntryKind.ACCRUAL]
        - repaid
        + kind_total[EntryKind.WAIVER]
        - written_off
        + reinstated
    )
    for entry in by_kind[EntryKind.WRITE_OFF]:
        assert all(v <= 0 for v in parts(entry).values()) and entry.total < 0, entry
    for entry in by_kind[EntryKind.REINSTATEMENT]:
        assert all(v >= 0 for v in parts(entry).values()) and entry.total > 0, entry

    # The written-off register: bills = −WRITE_OFF − REINSTATEMENT entries = lines − reinstated rows.
    register = column(bills, "written_off")
    assert register == {
        c: -sums(by_kind[EntryKind.WRITE_OFF])[c] - sums(by_kind[EntryKind.REINSTATEMENT])[c]
        for c in COMPONENTS
    }
    lines_to_bill: dict[int, Columns] = defaultdict(lambda: dict.fromkeys(COMPONENTS, ZERO))
    write_offs = list(WriteOff.objects.filter(loan_id=loan_id).prefetch_related("lines"))
    assert len([w for w in write_offs if w.kind == WriteOffKind.APPROVED]) <= 1
    for write_off in write_offs:
        lines = list(write_off.lines.all())
        assert {c: -v for c, v in sums(lines).items()} == parts(write_off.journal_entry)
        assert sums(lines) == parts(write_off)
        for line in lines:
            for c in COMPONENTS:
                lines_to_bill[line.installment_id][c] += getattr(line, c)
    assert len(write_offs) == len(by_kind[EntryKind.WRITE_OFF])
    reinstated_rows = list(
        Allocation.objects.filter(payment__loan_id=loan_id, kind=AllocationKind.REINSTATED)
    )
    for row in reinstated_rows:
        for c in COMPONENTS:
            lines_to_bill[row.installment_id][c] -= getattr(row, c)
    for bill in bills:
        assert {c: getattr(bill, f"{c}_written_off") for c in COMPONENTS} == lines_to_bill[bill.pk]
    summary = services.written_off_summary(loan_id=loan_id)
    assert summary.left == total(register.values())
    assert summary.written_off == written_off and summary.recovered == reinstated

    # Payments: a recovery reinstates exactly what it pays; a reversal gives back what was paid
    # or waived, and on a written-off loan that is written off again at once.
    paid_to_bill: dict[int, Columns] = defaultdict(lambda: dict.fromkeys(COMPONENTS, ZERO))
    for payment in Payment.objects.filter(loan_id=loan_id).prefetch_related(
        "allocations", "journal_entries"
    ):
        rows = list(payment.allocations.all())
        paid_rows = [r for r in rows if r.kind == AllocationKind.PAID]
        back_rows = [r for r in rows if r.kind == AllocationKind.REINSTATED]
        journal = {e.kind: parts(e) for e in payment.journal_entries.all()}
        assert total(r.total for r in paid_rows) == payment.amount, payment
        assert journal[EntryKind.REPAYMENT] == {c: -v for c, v in sums(paid_rows).items()}
        if back_rows:
            assert journal[EntryKind.REINSTATEMENT] == sums(back_rows) == sums(paid_rows)
        if payment.status == PaymentStatus.REVERSED:
            undone = [r for r in rows if r.kind != AllocationKind.REINSTATED]
            assert journal[EntryKind.REVERSAL] == sums(undone), payment
            again = WriteOff.objects.filter(payment=payment).first()
            if again is not None:
                assert journal[EntryKind.WRITE_OFF] == {c: -v for c, v in sums(undone).items()}
        else:
            for row in paid_rows:
                for c in COMPONENTS:
                    paid_to_bill[row.installment_id][c] += getattr(row, c)
    for bill in bills:
        assert {c: getattr(bill, f"{c}_paid") for c in COMPONENTS} == paid_to_bill[bill.pk], bill

    # Statuses follow the money.
    for bill in bills:
        written = any(getattr(bill, f"{c}_written_off") for c in COMPONENTS)
        if bill.total_outstanding > 0:
            assert bill.status not in (InstallmentStatus.PAID, InstallmentStatus.WRITTEN_OFF), bill
        else:
            expected = InstallmentStatus.WRITTEN_OFF if written else InstallmentStatus.PAID
            assert bill.status == expected, bill
    if loan.status == LoanStatus.WRITTEN_OFF:
        assert total(owed.values()) == ZERO
        assert (loan.stage, loan.days_past_due) == (Stage.CURRENT, 0)
    else:
        assert total(register.values()) == ZERO and not write_offs


def post(
    loan: Loan, amount: Decimal | str, day: dt.date, key: str, channel: str = Channel.COURT
) -> Payment:
    return services.payment_post(
        loan_id=loan.pk,
        amount=Decimal(amount),
        channel=channel,
        idempotency_key=key,
        actor=None,
        business_date=day,
    ).payment


def write_off(loan: Loan, day: dt.date = WRITE_OFF_DAY, *, actor: Any = None) -> WriteOff:
    return services.loan_write_off(
        loan_id=loan.pk, business_date=day, actor=actor, reason="uncollectible after 180 days"
    )


# --- Stories ------------------------------------------------------------------------------------


def test_writing_off_moves_what_is_owed_today_to_bad_debt_and_cancels_later_interest(
    alices_loan, charlie
):
    age_to_write_off(alices_loan)
    before = live_bills(alices_loan.pk)
    quote = payoff_quote(before, WRITE_OFF_DAY)
    later_interest = total(
        b.interest_due for b in before if b.due_date > WRITE_OFF_DAY + dt.timedelta(days=31)
    )
    assert Loan.objects.get(pk=alices_loan.pk).stage == Stage.WRITE_OFF_CANDIDATE

    done = write_off(alices_loan, actor=charlie)

    loan = Loan.objects.get(pk=alices_loan.pk)
    assert (loan.status, loan.stage, loan.days_past_due) == (
        LoanStatus.WRITTEN_OFF,
        Stage.CURRENT,
        0,
    )
    assert (done.stage, done.days_past_due, done.kind) == (
        Stage.WRITE_OFF_CANDIDATE,
        181,
        "approved",
    )
    # Written off: exactly what settling today would cost; the interest of later periods waived.
    assert done.total == quote.amount
    assert (
        done.waiver_entry is not None
        and -done.waiver_entry.interest
        == total(a.parts.interest for a in quote.waived)
        >= later_interest
        > 0
    )
    assert all(b.status == InstallmentStatus.WRITTEN_OFF for b in live_bills(loan.pk))
    assert done.lines.count() == len(before)
    assert_books(loan.pk)

    assert StageChange.objects.filter(
        loan=loan, from_stage=Stage.WRITE_OFF_CANDIDATE, to_stage=Stage.CURRENT
    ).exists()
    assert LoanEvent.objects.filter(
        loan=loan, kind=LoanEventKind.STATUS_CHANGED, payload__to=LoanStatus.WRITTEN_OFF
    ).exists()
    event = AuditEvent.objects.get(action="loan.write_off")
    assert event.actor == charlie and (event.after or {})["write_off"] == done.pk


def test_a_loan_under_the_write_off_age_is_not_written_off(alices_loan):
    age_to_write_off(alices_loan, FIRST_DUE + dt.timedelta(days=179))
    entries = JournalEntry.objects.filter(loan=alices_loan).count()
    with pytest.raises(NotAllowed, match="from 180 days past due; this one is 179"):
        write_off(alices_loan, FIRST_DUE + dt.timedelta(days=179))
    assert JournalEntry.objects.filter(loan=alices_loan).count() == entries
    assert Loan.objects.get(pk=alices_loan.pk).status == LoanStatus.ACTIVE


def test_a_loan_is_written_off_once(alices_loan):
    age_to_write_off(alices_loan)
    write_off(alices_loan)
    with pytest.raises(NotAllowed, match="only an active loan can be written off"):
        write_off(alices_loan)
    assert WriteOff.objects.filter(loan=alices_loan).count() == 1


def test_a_write_off_needs_a_reason(alices_loan):
    age_to_write_off(alices_loan)
    with pytest.raises(NotAllowed):
        services.loan_write_off(
            loan_id=alices_loan.pk, business_date=WRITE_OFF_DAY, actor=None, reason=" "
        )


def test_no_penalty_accrues_after_the_write_off(alices_loan):
    age_to_write_off(alices_loan)
    write_off(alices_loan)
    result = services.loan_age(
        loan_id=alices_loan.pk, business_date=WRITE_OFF_DAY + dt.timedelta(days=1)
    )
    assert result.already_aged and result.penalty_accrued == ZERO
    assert_books(alices_loan.pk)


def test_a_recovery_reinstates_what_it_pays_and_the_books_stay_at_zero(alices_loan):
    age_to_write_off(alices_loan)
    done = write_off(alices_loan)
    day = WRITE_OFF_DAY + dt.timedelta(days=20)

    payment = post(alices_loan, "500.00", day, "court-1")

    entries = {e.kind: e for e in payment.journal_entries.all()}
    assert set(entries) == {EntryKind.REINSTATEMENT, EntryKind.REPAYMENT}
    assert (
        entries[EntryKind.REINSTATEMENT].total
        == Decimal("500.00")
        == -entries[EntryKind.REPAYMENT].total
    )
    # The oldest bill's penalty is recovered first, then its interest and principal (art. 561).
    first = live_bills(alices_loan.pk)[0]
    assert first.penalty_paid == first.penalty_due > 0
    summary = services.written_off_summary(loan_id=alices_loan.pk)
    assert summary.recovered == Decimal("500.00") and summary.left == done.total - Decimal("500.00")
    loan = Loan.objects.get(pk=alices_loan.pk)
    assert loan.status == LoanStatus.WRITTEN_OFF and payment.channel == Channel.COURT
    assert_books(loan.pk)


def test_a_recovery_of_more_than_is_written_off_is_refused(alices_loan):
    age_to_write_off(alices_loan)
    done = write_off(alices_loan)
    with pytest.raises(InvalidAmount, match="still written off"):
        post(alices_loan, done.total + FEN, WRITE_OFF_DAY, "too-much")
    assert not Payment.objects.filter(loan=alices_loan).exists()


def test_a_retried_recovery_posts_once(alices_loan):
    age_to_write_off(alices_loan)
    write_off(alices_loan)
    first = post(alices_loan, "300.00", WRITE_OFF_DAY, "court-recovery-7")
    again = services.payment_post(
        loan_id=alices_loan.pk,
        amount=Decimal("300.00"),
        channel=Channel.COURT,
        idempotency_key="court-recovery-7",
        actor=None,
        business_date=WRITE_OFF_DAY,
    )
    assert again.replayed and again.payment.pk == first.pk
    assert Payment.objects.filter(loan=alices_loan).count() == 1
    assert_books(alices_loan.pk)


def test_recovering_everything_marks_the_bills_paid_and_the_loan_stays_written_off(alices_loan):
    age_to_write_off(alices_loan)
    done = write_off(alices_loan)
    post(alices_loan, done.total, WRITE_OFF_DAY + dt.timedelta(days=3), "all-of-it")
    loan = Loan.objects.get(pk=alices_loan.pk)
    assert loan.status == LoanStatus.WRITTEN_OFF
    assert all(b.status == InstallmentStatus.PAID for b in live_bills(loan.pk))
    assert services.written_off_summary(loan_id=loan.pk).left == ZERO
    with pytest.raises(InvalidAmount):
        post(alices_loan, FEN, WRITE_OFF_DAY + dt.timedelta(days=4), "one-more-fen")
    assert_books(loan.pk)


def test_a_bounced_recovery_is_written_off_again_and_restores_the_register(alices_loan):
    age_to_write_off(alices_loan)
    write_off(alices_loan)
    register = column(live_bills(alices_loan.pk), "written_off")
    payment = post(alices_loan, "800.00", WRITE_OFF_DAY, "bounce-me", Channel.BANK_TRANSFER)

    services.payment_reverse(
        payment_id=payment.pk,
        reason="returned by the bank",
        actor=None,
        business_date=WRITE_OFF_DAY + dt.timedelta(days=2),
    )

    assert column(live_bills(alices_loan.pk), "written_off") == register
    again = WriteOff.objects.get(payment=payment)
    assert again.kind == WriteOffKind.AFTER_REVERSAL and again.total == Decimal("800.00")
    assert Loan.objects.get(pk=alices_loan.pk).status == LoanStatus.WRITTEN_OFF
    assert_books(alices_loan.pk)


def test_a_transfer_from_before_the_write_off_that_bounces_later_is_written_off_too(alices_loan):
    age_to_write_off(alices_loan, FIRST_DUE + dt.timedelta(days=100))
    early = post(
        alices_loan, "700.00", FIRST_DUE + dt.timedelta(days=100), "early", Channel.BANK_TRANSFER
    )
    age_to_write_off(alices_loan)
    done = write_off(alices_loan)

    services.payment_reverse(
        payment_id=early.pk, reason="chargeback", actor=None, business_date=WRITE_OFF_DAY
    )

    again = WriteOff.objects.get(payment=early)
    assert again.total == Decimal("700.00")
    assert services.written_off_summary(loan_id=alices_loan.pk).left == done.total + Decimal(
        "700.00"
    )
    assert_books(alices_loan.pk)


def test_write_off_lines_and_journal_rows_are_never_changed(alices_loan):
    from portal.append_only import AppendOnlyError

    age_to_write_off(alices_loan)
    done = write_off(alices_loan)
    with pytest.raises(AppendOnlyError):
        WriteOffLine.objects.filter(write_off=done).update(principal=ZERO)
    with pytest.raises(AppendOnlyError):
        done.delete()


# --- Any sequence --------------------------------------------------------------------------------


# What the random sequences did, so the test can insist they reached write-offs and recoveries.
SEEN: Counter[str] = Counter()


def amounts_up_to(limit: Decimal) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=FEN, max_value=limit, places=2, allow_nan=False, allow_infinity=False
    )


class WrittenOffBook(RuleBasedStateMachine):
    """One loan: ageing (also by long jumps), payments, write-off, recoveries and reversals."""

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.loan_id = 0
        self.today = DISBURSED_ON
        self.standing: list[int] = []
        self.keys = itertools.count(1)

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    @property
    def loan(self) -> Loan:
        return Loan.objects.get(pk=self.loan_id)

    @initialize(
        principal=st.decimals(
            min_value=Decimal("100.00"),
            max_value=Decimal("50000.00"),
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
    )
    def disburse(self, principal: Decimal, annual_rate: Decimal, months: int, method: str) -> None:
        self.loan_id = new_loan(
            principal=principal, annual_rate=annual_rate, months=months, method=method, grace_days=3
        ).pk

    @rule(days=st.integers(min_value=1, max_value=240))
    def age(self, days: int) -> None:
        """The close of business every tenth day and on the last one (penalty accrues on those)."""
        last = self.today + dt.timedelta(days=days)
        while self.today < last:
            self.today = min(last, self.today + dt.timedelta(days=10))
            services.loan_age(loan_id=self.loan_id, business_date=self.today)

    @precondition(lambda self: self.loan_id)
    @rule(data=st.data(), channel=st.sampled_from(Channel.values))
    def pay(self, data: st.DataObject, channel: str) -> None:
        loan = self.loan
        if loan.status == LoanStatus.SETTLED:
            return
        if loan.status == LoanStatus.WRITTEN_OFF:
            limit = services.written_off_summary(loan_id=loan.pk).left
        else:
            limit = payoff_quote(live_bills(loan.pk), self.today).amount
        if limit == 0:
            return
        too_much = data.draw(st.booleans(), label="too much")
        amount = (
            limit + FEN
            if too_much
            else data.draw(st.one_of(st.just(limit), amounts_up_to(limit)), label="amount")
        )
        call = lambda: services.payment_post(  # noqa: E731
            loan_id=loan.pk,
            amount=amount,
            channel=channel,
            idempotency_key=f"k-{next(self.keys)}",
            actor=None,
            business_date=self.today,
        )
        if too_much:
            with pytest.raises(InvalidAmount):
                call()
            return
        self.standing.append(call().payment.pk)
        SEEN["recovery" if loan.status == LoanStatus.WRITTEN_OFF else "payment"] += 1

    @precondition(lambda self: self.loan_id)
    @rule(first_age_it=st.booleans())
    def write_off(self, first_age_it: bool) -> None:
        """Write the loan off (refused unless active at 180+ days); often after ageing it there."""
        loan = self.loan
        unpaid = [b for b in live_bills(loan.pk) if b.total_outstanding > 0]
        if (
            first_age_it
            and loan.status == LoanStatus.ACTIVE
            and loan.days_past_due < 180
            and unpaid
        ):
            self.age(max(1, (unpaid[0].due_date + dt.timedelta(days=181) - self.today).days))
            loan = self.loan
        if loan.status == LoanStatus.ACTIVE and loan.days_past_due >= 180:
            services.loan_write_off(
                loan_id=loan.pk, business_date=self.today, actor=None, reason="bad debt"
            )
            assert self.loan.status == LoanStatus.WRITTEN_OFF
            SEEN["write-off"] += 1
        else:
            entries = JournalEntry.objects.filter(loan_id=loan.pk).count()
            with pytest.raises(NotAllowed):
                services.loan_write_off(
                    loan_id=loan.pk, business_date=self.today, actor=None, reason="x"
                )
            assert JournalEntry.objects.filter(loan_id=loan.pk).count() == entries

    @precondition(lambda self: self.standing)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(self.standing), label="payment")
        written_off = self.loan.status == LoanStatus.WRITTEN_OFF
        services.payment_reverse(
            payment_id=payment_id, reason="bounced", actor=None, business_date=self.today
        )
        self.standing.remove(payment_id)
        SEEN["reversal on a written-off loan" if written_off else "reversal"] += 1

    @invariant()
    def the_books_hold(self) -> None:
        if self.loan_id:
            assert_books(self.loan_id)


def test_the_books_hold_after_any_sequence_with_write_offs_recoveries_and_reversals(
    db: Any,
) -> None:
    SEEN.clear()
    run_state_machine_as_test(
        WrittenOffBook,
        settings=settings(
            max_examples=50,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        ),
    )
    assert SEEN["write-off"] and SEEN["payment"], SEEN


class AfterTheWriteOff(WrittenOffBook):
    """The same rules, starting from a loan that had a payment, then was written off."""

    @initialize(
        principal=st.decimals(
            min_value=Decimal("1000.00"),
            max_value=Decimal("50000.00"),
            places=2,
            allow_nan=False,
            allow_infinity=False,
        ),
        months=st.integers(min_value=1, max_value=12),
        method=st.sampled_from(RepaymentMethod.values),
        share=st.sampled_from([Decimal("0"), Decimal("0.1"), Decimal("0.5")]),
    )
    def disburse(self, principal: Decimal, months: int, method: str, share: Decimal) -> None:  # type: ignore[override]
        super().disburse(principal, Decimal("0.18"), months, method)
        self.age(40)
        if share:
            amount = max(
                FEN,
                (payoff_quote(live_bills(self.loan_id), self.today).amount * share).quantize(FEN),
            )
            self.standing.append(
                post(
                    self.loan, amount, self.today, f"k-{next(self.keys)}", Channel.BANK_TRANSFER
                ).pk
            )
        self.write_off(first_age_it=True)
        assert self.loan.status == LoanStatus.WRITTEN_OFF


def test_the_books_hold_after_any_recoveries_and_reversals_on_a_written_off_loan(db: Any) -> None:
    SEEN.clear()
    run_state_machine_as_test(
        AfterTheWriteOff,
        settings=settings(
            max_examples=25,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
        ),
    )
    assert SEEN["recovery"] and SEEN["reversal on a written-off loan"], SEEN
