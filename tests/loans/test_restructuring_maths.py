"""Restructuring maths (loans.restructuring): pure functions, no database.

Alice's schedule is the reference: ¥12,000 at 18 % over 12 months, equal installments, first
bill 2026-02-15. On 2026-03-25 her first two bills are overdue, with penalty on them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from loans.models import COMPONENTS, RepaymentMethod
from loans.restructuring import (
    FIRST_BILL_MIN_DAYS,
    GRACE_PERIOD,
    INSTALMENT_PLAN,
    KINDS,
    TERM_EXTENSION,
    WAIVER,
    Bill,
    Plan,
    PlanRefused,
    bills_fingerprint,
    first_payment_date,
    months_after,
    parse_parameters,
    plan_restructuring,
    split_evenly,
)
from loans.schedule import plan_schedule

ZERO = Decimal("0.00")
RATE = Decimal("0.18")
AS_OF = dt.date(2026, 3, 25)


@pytest.fixture(autouse=True)
def english() -> Any:
    """Refusals are worded in the active language; read them in English."""
    with translation.override("en"):
        yield


def schedule_bills(
    principal: str = "12000.00",
    *,
    rate: Decimal = RATE,
    months: int = 12,
    method: str = RepaymentMethod.EQUAL_INSTALLMENT,
    start: dt.date = dt.date(2026, 1, 15),
) -> list[Bill]:
    return [
        Bill(id=p.number, number=p.number, due_date=p.due_date, principal=p.principal,
             interest=p.interest, penalty=ZERO, fees=ZERO)
        for p in plan_schedule(principal=Decimal(principal), annual_rate=rate, months=months,
                               method=method, start=start)
    ]


def alices_bills_on_25_march() -> list[Bill]:
    bills = schedule_bills()
    bills[0] = replace(bills[0], penalty=Decimal("24.15"))
    bills[1] = replace(bills[1], penalty=Decimal("3.50"))
    return bills


def plan(kind: str, bills: list[Bill] | None = None, **parameters: object) -> Plan:
    return plan_restructuring(
        bills=bills if bills is not None else alices_bills_on_25_march(), as_of=AS_OF, kind=kind,
        parameters=parameters, annual_rate=RATE, method=RepaymentMethod.EQUAL_INSTALLMENT,
        payment_day=15,
    )


def total(values: object) -> Decimal:
    return sum(values, ZERO)  # type: ignore[call-overload, no-any-return]


# --- dates ---------------------------------------------------------------------------------------


def test_the_first_new_bill_is_the_first_payment_day_at_least_ten_days_ahead():
    assert FIRST_BILL_MIN_DAYS == 10
    assert first_payment_date(dt.date(2026, 3, 25), 15) == dt.date(2026, 4, 15)
    assert first_payment_date(dt.date(2026, 3, 6), 15) == dt.date(2026, 4, 15)  # 15 March is too soon
    assert first_payment_date(dt.date(2026, 3, 5), 15) == dt.date(2026, 3, 15)


def test_a_payment_day_of_the_31st_is_the_last_day_of_shorter_months_and_never_drifts():
    assert [months_after(dt.date(2026, 1, 31), k, 31) for k in range(4)] == [
        dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 30)
    ]


# --- each kind -------------------------------------------------------------------------------


def test_a_term_extension_re_spreads_the_principal_over_the_remaining_term_plus_the_extra_months():
    p = plan(TERM_EXTENSION, extra_months=6)
    # Bills 3–12 (April 2026 to January 2027) are still to come: 10 + 6 = 16 months from 15 April.
    assert [r.due_date for r in p.proposed][:2] == [dt.date(2026, 4, 15), dt.date(2026, 5, 15)]
    assert len(p.proposed) == 16 and p.proposed[-1].due_date == dt.date(2027, 7, 15)
    assert p.proposed_totals.principal == p.current_totals.principal == Decimal("12000.00")
    # The amounts are loans.schedule's for the principal still owed over 15 months.
    expected = plan_schedule(principal=Decimal("12000.00"), annual_rate=RATE, months=16,
                             method=RepaymentMethod.EQUAL_INSTALLMENT, start=dt.date(2026, 3, 15))
    assert [r.principal for r in p.proposed] == [e.principal for e in expected]
    # What was due before 15 April (interest of bills 1–2 and their penalty) is carried into
    # the first new bill as interest and penalty: never into principal.
    carried_interest = total(b.interest for b in alices_bills_on_25_march()[:2])
    assert p.proposed[0].interest == expected[0].interest + carried_interest
    assert p.proposed[0].penalty == Decimal("27.65")
    assert all(r.penalty == ZERO for r in p.proposed[1:])
    assert p.waivers == () and p.waiver_share == 0
    assert p.proposed_totals.typical_payment < p.current_totals.typical_payment


def test_an_instalment_plan_splits_the_overdue_amount_over_the_coming_bills_without_interest():
    bills = alices_bills_on_25_march()
    p = plan(INSTALMENT_PLAN, bills, parts=4)
    due_before, coming = bills[:2], bills[2:]  # the first new bill is 15 April
    assert [r.due_date for r in p.proposed] == [b.due_date for b in coming]
    for c in COMPONENTS:
        assert getattr(p.proposed_totals, c) == getattr(p.current_totals, c), c  # no new interest
    added = [r.total - b.total for r, b in zip(p.proposed, coming, strict=True)]
    assert added[:4] == split_evenly(total(b.total for b in due_before), 4)
    assert added[4:] == [ZERO] * (len(coming) - 4)


def test_an_instalment_plan_longer_than_the_coming_bills_adds_monthly_bills_after_the_last():
    bills = alices_bills_on_25_march()[:4]  # a loan with one bill still to come
    p = plan(INSTALMENT_PLAN, bills, parts=3)
    assert [r.due_date for r in p.proposed] == [
        dt.date(2026, 4, 15), dt.date(2026, 5, 15), dt.date(2026, 6, 15)
    ]
    assert p.proposed_totals.total == p.current_totals.total


def test_a_waiver_of_all_penalty_and_some_interest_keeps_every_date():
    p = plan(WAIVER, penalty_share="1", interest_amount="200.00")
    assert p.waived == {"fees": ZERO, "penalty": Decimal("27.65"), "interest": Decimal("200.00"),
                        "principal": ZERO}
    # Oldest bill first: the February bill's 180.00 of interest, then 20.00 of March's.
    assert [(w.bill, w.component, w.amount) for w in p.waivers] == [
        (1, "interest", Decimal("180.00")), (2, "interest", Decimal("20.00")),
        (1, "penalty", Decimal("24.15")), (2, "penalty", Decimal("3.50")),
    ]
    assert [r.due_date for r in p.proposed] == [r.due_date for r in p.current]
    assert p.first_new_due is None
    assert p.proposed_totals.total == p.current_totals.total - Decimal("227.65")
    assert p.waiver_share == (Decimal("227.65") / p.current_totals.total).quantize(
        Decimal("0.000001"), rounding="ROUND_UP"
    )


def test_a_waiver_by_share_is_rounded_once_half_up():
    p = plan(WAIVER, interest_share="0.3333")
    overdue_interest = Decimal("180.00") + Decimal("166.20")
    assert p.waived["interest"] == Decimal("115.39") == (overdue_interest * Decimal("0.3333")).quantize(
        Decimal("0.01"), rounding="ROUND_HALF_UP"
    )


def test_a_grace_period_moves_every_coming_bill_and_the_overdue_amount_after_the_holiday():
    bills = alices_bills_on_25_march()
    p = plan(GRACE_PERIOD, bills, holiday_months=3, holiday_interest="waive")
    coming = bills[2:]
    assert [r.due_date for r in p.proposed] == [b.due_date + relativedelta(months=3) for b in coming]
    assert p.proposed[0].due_date == dt.date(2026, 7, 15)
    assert p.proposed[0].total == coming[0].total + total(b.total for b in bills[:2])
    # Three months of interest on the principal still owed, not charged: a concession.
    assert p.interest_forgone == Decimal("540.00")
    assert p.proposed_totals.total == p.current_totals.total
    assert p.waiver_share > 0


def test_a_grace_period_can_add_the_holiday_interest_to_the_later_bills_instead():
    p = plan(GRACE_PERIOD, holiday_months=3, holiday_interest="add")
    assert p.interest_forgone == ZERO
    assert p.proposed_totals.interest == p.current_totals.interest + Decimal("540.00")
    assert p.waiver_share == 0


def test_waivers_may_come_with_any_kind():
    p = plan(TERM_EXTENSION, extra_months=3, penalty_share="1")
    assert p.waived["penalty"] == Decimal("27.65")
    assert p.proposed_totals.penalty == ZERO


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "parameters", "words"),
    [
        ("refinance", {}, "kind"),
        (TERM_EXTENSION, {}, "extra months"),
        (TERM_EXTENSION, {"extra_months": 61}, "extra months"),
        (INSTALMENT_PLAN, {"parts": 1}, "parts"),
        (GRACE_PERIOD, {"holiday_months": 2}, "waived or added"),
        (GRACE_PERIOD, {"holiday_months": 7, "holiday_interest": "waive"}, "holiday months"),
        (WAIVER, {}, "needs a share or an amount"),
        (WAIVER, {"interest_share": "1.5"}, "at most 1"),
        (WAIVER, {"interest_share": "0.12345"}, "0.0001"),
        (WAIVER, {"penalty_amount": "1.001"}, "two decimal places"),
        (WAIVER, {"penalty_amount": "5", "penalty_share": "0.5"}, "not both"),
        (WAIVER, {"penalty_amount": 1.5}, "float"),
        (WAIVER, {"parts": 3, "penalty_share": "0.5"}, "do not apply"),
    ],
)
def test_parameters_that_make_no_plan_are_refused_with_a_reason(kind, parameters, words):
    with pytest.raises(PlanRefused) as refused:
        parse_parameters(kind, parameters)
    assert words in str(refused.value)


def test_nobody_waives_more_than_is_overdue():
    with pytest.raises(PlanRefused, match="27.65"):
        plan(WAIVER, penalty_amount="27.66")


def test_an_instalment_plan_needs_something_due_before_its_first_bill():
    current = schedule_bills()[3:]  # nothing before 15 April
    with pytest.raises(PlanRefused, match="nothing to split"):
        plan(INSTALMENT_PLAN, current, parts=3)


def test_a_loan_that_owes_nothing_has_nothing_to_restructure():
    with pytest.raises(PlanRefused, match="owes nothing"):
        plan(TERM_EXTENSION, [], extra_months=3)


# --- the snapshot and the fingerprint ---------------------------------------------------------------


def test_a_plan_reads_back_from_its_json_exactly():
    for p in (plan(TERM_EXTENSION, extra_months=6, penalty_share="0.5"),
              plan(GRACE_PERIOD, holiday_months=2, holiday_interest="waive"),
              plan(WAIVER, interest_amount="10.00")):
        assert Plan.from_json(p.to_json()) == p
        assert p.to_json()["totals"]["proposed"]["total"] == str(p.proposed_totals.total)


def test_penalty_accruing_leaves_the_fingerprint_alone_and_money_moving_changes_it():
    bills = alices_bills_on_25_march()
    same = bills_fingerprint(bills)
    aged = [replace(bills[0], penalty=bills[0].penalty + Decimal("0.69")), *bills[1:]]
    assert bills_fingerprint(aged) == same
    paid_penalty = [replace(bills[0], penalty=ZERO, penalty_settled=Decimal("24.15")), *bills[1:]]
    paid_interest = [replace(bills[0], interest=Decimal("80.00")), *bills[1:]]
    assert bills_fingerprint(paid_penalty) != same
    assert bills_fingerprint(paid_interest) != same
    assert bills_fingerprint(bills[1:]) != same


# --- properties ----------------------------------------------------------------------------------

money = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("500.00"), places=2,
                    allow_nan=False, allow_infinity=False)


@st.composite
def situations(draw: st.DrawFn) -> tuple[list[Bill], dt.date, str, dict[str, object], Decimal, str, int]:
    method = draw(st.sampled_from(RepaymentMethod.values))
    rate = draw(st.decimals(min_value=Decimal("0"), max_value=Decimal("0.36"), places=4,
                            allow_nan=False, allow_infinity=False))
    months = draw(st.integers(min_value=1, max_value=24))
    principal = draw(st.decimals(min_value=Decimal("100.00"), max_value=Decimal("500000.00"), places=2,
                                 allow_nan=False, allow_infinity=False))
    day = draw(st.integers(min_value=1, max_value=31))
    start = dt.date(2025, 1, min(day, 28)) if day <= 28 else dt.date(2025, 1, day)
    bills = schedule_bills(str(principal), rate=rate, months=months, method=method, start=start)
    as_of = start + dt.timedelta(days=draw(st.integers(min_value=0, max_value=31 * months + 60)))
    # Bills already due carry some penalty; some of the oldest may be partly paid.
    shaped = []
    for bill in bills:
        if bill.due_date <= as_of:
            paid = draw(st.decimals(min_value=Decimal("0.00"), max_value=bill.principal, places=2,
                                    allow_nan=False, allow_infinity=False))
            bill = replace(bill, principal=bill.principal - paid, penalty=draw(money))
        shaped.append(bill)
    shaped = [b for b in shaped if b.total > 0]
    kind = draw(st.sampled_from(KINDS))
    parameters: dict[str, object] = {}
    if kind == TERM_EXTENSION:
        parameters["extra_months"] = draw(st.integers(min_value=1, max_value=60))
    elif kind == INSTALMENT_PLAN:
        parameters["parts"] = draw(st.integers(min_value=2, max_value=24))
    elif kind == GRACE_PERIOD:
        parameters["holiday_months"] = draw(st.integers(min_value=1, max_value=6))
        parameters["holiday_interest"] = draw(st.sampled_from(["waive", "add"]))
    if kind == WAIVER or draw(st.booleans()):
        parameters["penalty_share"] = str(draw(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1"),
                                                          places=4, allow_nan=False, allow_infinity=False)))
    return shaped, as_of, kind, parameters, rate, method, day


@settings(max_examples=300, deadline=None)
@given(situations())
def test_every_plan_keeps_the_principal_adds_up_exactly_and_moves_forward_in_time(situation):
    bills, as_of, kind, parameters, rate, method, day = situation
    try:
        p = plan_restructuring(bills=bills, as_of=as_of, kind=kind, parameters=parameters,
                               annual_rate=rate, method=method, payment_day=day)
    except PlanRefused:
        return  # nothing overdue to split or to waive, nothing owed: refusals, not plans
    now, then = p.current_totals, p.proposed_totals
    # Principal is preserved: no plan waives principal.
    assert then.principal == now.principal
    assert p.waived["principal"] == p.waived["fees"] == ZERO
    # Penalty and fees only go down by what is waived; interest changes only by the kind's rule.
    assert then.penalty == now.penalty - p.waived["penalty"]
    assert then.fees == now.fees
    if kind in (INSTALMENT_PLAN, WAIVER) or parameters.get("holiday_interest") == "waive":
        assert then.interest == now.interest - p.waived["interest"]
    # Every part is exact to the fen and never negative; each bill asks for something.
    for row in p.proposed:
        for c in COMPONENTS:
            value = getattr(row, c)
            assert value >= 0 and value == value.quantize(Decimal("0.01"))
        assert row.total > 0
    # The waivers add up to what the plan says was waived, per bill within what it owed.
    owed = {(b.id, c): b.part(c) for b in bills for c in COMPONENTS}
    for w in p.waivers:
        assert 0 < w.amount <= owed[(w.bill, w.component)]
    # Dates strictly increase, and nothing new is due before the first new bill.
    dates = [r.due_date for r in p.proposed]
    assert dates == sorted(set(dates))
    if p.first_new_due is not None:
        assert p.first_new_due > as_of and dates[0] >= p.first_new_due
    assert 0 <= p.waiver_share <= 1
    assert Plan.from_json(p.to_json()) == p


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=Decimal("0.00"), max_value=Decimal("999999.99"), places=2,
                   allow_nan=False, allow_infinity=False),
       st.integers(min_value=1, max_value=60))
def test_an_amount_split_in_parts_adds_up_exactly_and_the_parts_differ_by_a_fen_at_most(amount, parts):
    split = split_evenly(amount, parts)
    assert len(split) == parts and sum(split, ZERO) == amount
    assert max(split) - min(split) <= Decimal("0.01")
