"""Each status code at its boundaries, computed as the run computes it: from the bills' dates and
the journal at the month end (N, 1–7, C, G, B), with the amounts reported beside it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from loans import services
from loans.models import EntryKind, Installment, JournalEntry, Loan, LoanStatus
from loans.selectors import repay_amounts
from reporting.models import CreditRecord
from reporting.services import credit_report_month
from reporting.status import Bill, JournalFacts, month_figures, status_for_days, worst_days_past_due
from tests.conftest import age_through

from .conftest import JUNE, JUNE_END, REPORTED_ON, overdue_loan

THRESHOLDS = {"reminder": 1, "collections": 30, "non_performing": 90, "write_off_candidate": 180}


@pytest.mark.parametrize(("days", "status"), [
    (0, "N"), (1, "1"), (30, "1"), (31, "2"), (60, "2"), (61, "3"), (90, "3"), (91, "4"), (120, "4"),
    (121, "5"), (150, "5"), (151, "6"), (180, "6"), (181, "7"), (400, "7"),
])
def test_days_past_due_map_to_the_central_bank_codes(days, status):
    assert status_for_days(days) == status


def bill(due: str, settled: str | None = None, principal: str = "100.00") -> Bill:
    return Bill(due_date=dt.date.fromisoformat(due), settled_on=dt.date.fromisoformat(settled) if settled else None,
                principal=Decimal(principal), other=Decimal("0.00"), scheduled=Decimal(principal))


def test_the_worst_days_past_due_in_the_month_counts_a_bill_until_the_day_before_it_was_paid():
    # Due 04-30, grace 3: overdue from 05-04; paid on 06-10, so the worst in June is 06-09: 40 days.
    bills = [bill("2026-04-30", "2026-06-10"), bill("2026-05-31")]
    assert worst_days_past_due(bills, 3, JUNE, JUNE_END) == 40
    # Paid before June began: nothing in June from it; the second bill is 30 days late at 06-30.
    assert worst_days_past_due([bill("2026-04-30", "2026-05-20"), bill("2026-05-31")], 3, JUNE, JUNE_END) == 30


def test_a_loan_cured_before_the_month_end_is_on_time_but_its_worst_days_are_kept():
    figures = month_figures(
        month=JUNE, month_end=JUNE_END, grace_days=3, bills=[bill("2026-04-30", "2026-06-10"), bill("2026-07-31")],
        journal=JournalFacts(principal=Decimal("100.00"), total=Decimal("100.00")), written_off_now=False,
        thresholds=THRESHOLDS,
    )
    assert (figures.status, figures.days_past_due, figures.worst_days_past_due) == ("N", 0, 40)
    assert figures.overdue_amount == 0 and figures.month_end_state == "current"


def test_a_bill_in_its_grace_days_at_the_month_end_is_not_overdue():
    figures = month_figures(
        month=JUNE, month_end=JUNE_END, grace_days=3, bills=[bill("2026-06-28")],
        journal=JournalFacts(principal=Decimal("100.00"), total=Decimal("100.00")), written_off_now=False,
        thresholds=THRESHOLDS,
    )
    assert figures.status == "N" and figures.scheduled_amount == Decimal("100.00")


# --- The same codes from real loans, through the run ---------------------------------------------


def run_june() -> dict[str, CreditRecord]:
    credit_report_month(month=JUNE, reporting_date=REPORTED_ON)
    return {r.loan.reference: r for r in CreditRecord.objects.select_related("loan").filter(month=JUNE)}


@pytest.mark.django_db
def test_each_overdue_code_at_its_boundaries(borrowers, no_grace):
    days = [1, 30, 31, 60, 61, 90, 91, 120, 121, 150, 151, 180, 181]
    loans = {d: overdue_loan(borrowers(), no_grace, days=d) for d in days}
    current = overdue_loan(borrowers(), no_grace, days=0)  # due on the month end itself: not late
    records = run_june()
    assert {d: (records[loans[d].reference].status, records[loans[d].reference].days_past_due) for d in days} == {
        1: ("1", 1), 30: ("1", 30), 31: ("2", 31), 60: ("2", 60), 61: ("3", 61), 90: ("3", 90), 91: ("4", 91),
        120: ("4", 120), 121: ("5", 121), 150: ("5", 150), 151: ("6", 151), 180: ("6", 180), 181: ("7", 181),
    }
    assert records[current.reference].status == "N"
    assert records[loans[61].reference].month_end_state == "collections"
    assert records[loans[181].reference].month_end_state == "write_off_candidate"


@pytest.mark.django_db
def test_grace_days_delay_the_first_overdue_code(borrowers, product):
    in_grace = overdue_loan(borrowers(), product, days=3)
    past_grace = overdue_loan(borrowers(), product, days=4)
    records = run_june()
    assert records[in_grace.reference].status == "N"
    assert (records[past_grace.reference].status, records[past_grace.reference].days_past_due) == ("1", 4)


@pytest.mark.django_db
def test_overdue_amounts_and_balances_at_the_month_end(borrowers, interest_free):
    # ¥1,200 at 0 %: twelve bills of ¥100; the first two are past their grace days on 06-30.
    loan = overdue_loan(borrowers(), interest_free, days=45, principal="1200.00")
    Installment.objects.filter(loan=loan, number=2).update(due_date=dt.date(2026, 6, 15))
    Installment.objects.filter(loan=loan, number=3).update(due_date=dt.date(2026, 6, 28))  # in grace
    services.payment_post(loan_id=loan.pk, amount="30.00", channel="app", idempotency_key="k1",
                          actor=None, business_date=dt.date(2026, 6, 20))
    # A payment after the month end changes nothing in June's record.
    services.payment_post(loan_id=loan.pk, amount="50.00", channel="app", idempotency_key="k2",
                          actor=None, business_date=dt.date(2026, 7, 1))
    record = run_june()[loan.reference]
    assert (record.status, record.days_past_due, record.overdue_installments) == ("2", 45, 2)
    assert record.principal_balance == Decimal("1170.00")   # 1,200 lent − 30 paid by 06-30
    assert record.overdue_amount == Decimal("170.00")       # bills 1 and 2 (¥200) less ¥30
    assert record.overdue_principal == Decimal("170.00")
    assert record.balance == Decimal("1170.00")             # no interest, penalty or fees overdue
    assert record.scheduled_amount == Decimal("200.00")     # bills 2 and 3 fell due in June
    assert record.paid_amount == Decimal("30.00")


def pay_off(loan: Loan, on: dt.date, key: str = "payoff") -> None:
    amount = repay_amounts(loan=loan, as_of=on)["payoff"]
    services.payment_post(loan_id=loan.pk, amount=amount, channel="app", idempotency_key=key, actor=None,
                          business_date=on)


@pytest.mark.django_db
def test_settled_in_full_is_c_and_the_loan_is_not_reported_after_that_month(borrowers, product):
    settled = overdue_loan(borrowers(), product, days=20)
    pay_off(settled, dt.date(2026, 6, 25))
    later = overdue_loan(borrowers(), product, days=20)
    pay_off(later, dt.date(2026, 7, 2))  # settled after the month end: still overdue at 06-30
    records = run_june()
    assert (records[settled.reference].status, records[settled.reference].month_end_state) == ("C", "closed")
    assert records[settled.reference].principal_balance == 0
    assert records[later.reference].status == "1"
    credit_report_month(month=dt.date(2026, 7, 1), reporting_date=dt.date(2026, 8, 1))
    july = set(CreditRecord.objects.filter(month=dt.date(2026, 7, 1)).values_list("loan__reference", "status"))
    assert (later.reference, "C") in july
    assert settled.reference not in {ref for ref, _ in july}


@pytest.mark.django_db
def test_an_early_settlement_waiver_and_the_extension_waiver_are_not_concessions(borrowers, product):
    # Settling early waives later interest: contractual, so C.
    early = services.loan_disburse(borrower_id=borrowers().pk, product_id=product.pk, principal="6000.00",
                                   disbursed_on=dt.date(2026, 3, 10))
    pay_off(early, dt.date(2026, 6, 5))
    assert JournalEntry.objects.filter(loan=early, kind=EntryKind.WAIVER).exists()
    # The one-time interest-free extension waives the penalty: a product term, so C as well.
    extended = services.loan_disburse(borrower_id=borrowers().pk, product_id=product.pk, principal="6000.00",
                                      disbursed_on=dt.date(2026, 4, 20))  # first bill 05-20
    age_through(extended, dt.date(2026, 5, 20), dt.date(2026, 6, 5))
    services.extension_grant(borrower_id=extended.borrower_id, loan_id=extended.pk,
                             business_date=dt.date(2026, 6, 5), actor=None)
    assert JournalEntry.objects.get(loan=extended, kind=EntryKind.WAIVER).penalty < 0
    pay_off(extended, dt.date(2026, 6, 10))
    records = run_june()
    assert records[early.reference].status == "C" and records[extended.reference].status == "C"


@pytest.mark.django_db
def test_ended_with_part_of_the_debt_forgiven_is_g(borrowers, product):
    loan = overdue_loan(borrowers(), product, days=20)
    interest = Installment.objects.get(loan=loan, number=1).interest_due
    services.loan_waive(loan_id=loan.pk, reason="hardship: illness", actor=None,
                        business_date=dt.date(2026, 6, 10), interest=interest)
    pay_off(loan, dt.date(2026, 6, 20))
    record = run_june()[loan.reference]
    assert (record.status, record.month_end_state) == ("G", "closed")


def write_off(loan: Loan, on: dt.date) -> None:
    """The books after a write-off, as loans.services.write_off leaves them (status and entry)."""
    JournalEntry.objects.create(loan=loan, kind=EntryKind.WRITE_OFF, business_date=on,
                                principal=-loan.principal, memo="written off")
    Loan.objects.filter(pk=loan.pk).update(status=LoanStatus.WRITTEN_OFF, stage="current", days_past_due=0)


@pytest.mark.django_db
def test_written_off_by_the_month_end_is_b_every_month_after(borrowers, product):
    bad = overdue_loan(borrowers(), product, days=200)
    write_off(bad, dt.date(2026, 6, 15))
    later = overdue_loan(borrowers(), product, days=200)
    write_off(later, dt.date(2026, 7, 3))  # still 200 days overdue on 06-30
    records = run_june()
    assert (records[bad.reference].status, records[bad.reference].month_end_state) == ("B", "written_off")
    assert records[bad.reference].written_off_amount == bad.principal
    assert records[later.reference].status == "7"
    credit_report_month(month=dt.date(2026, 7, 1), reporting_date=dt.date(2026, 8, 1))
    july = dict(CreditRecord.objects.filter(month=dt.date(2026, 7, 1)).values_list("loan__reference", "status"))
    assert july[bad.reference] == "B" and july[later.reference] == "B"


@pytest.mark.django_db
def test_loans_disbursed_after_the_month_end_are_not_reported(borrowers, product):
    early = services.loan_disburse(borrower_id=borrowers().pk, product_id=product.pk, principal="6000.00",
                                   disbursed_on=JUNE_END)
    late = services.loan_disburse(borrower_id=borrowers().pk, product_id=product.pk, principal="6000.00",
                                  disbursed_on=dt.date(2026, 7, 1))
    records = run_june()
    assert records[early.reference].status == "N" and late.reference not in records
