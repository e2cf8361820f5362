"""Repayment schedules, checked against the textbook: numpy-financial for the annuity (等额本息),
exact Decimal arithmetic for equal principal (等额本金), the calendar for due dates.

`plan_schedule` is pure, so nothing here touches the database.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from loans.models import RepaymentMethod
from loans.schedule import PlannedInstallment, plan_schedule

FEN = Decimal("0.01")
START = dt.date(2026, 1, 15)

principals = st.decimals(
    min_value=Decimal("100.00"),
    max_value=Decimal("5000000.00"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)
# Annual rates from 0 to the 36 % ceiling, with up to four decimal places (0.1825 = 18.25 %).
annual_rates = st.one_of(
    st.just(Decimal("0")),
    st.decimals(
        min_value=Decimal("0"),
        max_value=Decimal("0.36"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    ),
)
terms = st.one_of(st.integers(min_value=1, max_value=60), st.sampled_from([120, 240, 360]))
start_dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))


def plan(
    principal: Decimal, annual_rate: Decimal, months: int, method: str, start: dt.date = START
) -> list[PlannedInstallment]:
    return plan_schedule(
        principal=principal, annual_rate=annual_rate, months=months, method=method, start=start
    )


def half_up(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def exact_monthly_interest(balance: Decimal, annual_rate: Decimal) -> Decimal:
    """balance × annual / 12, rounded half-up to the fen.

    balance × annual is exact (at most 9 + 6 digits); dividing by 12 last keeps a half fen
    exactly a half fen, so the rounding sees the true value, not 0.00499999….
    """
    with localcontext() as ctx:
        ctx.prec = 50
        return half_up(balance * annual_rate / 12)


def from_float(value: float) -> Decimal:
    """numpy-financial's floats carry ~1e-10 of noise here: keep micro-yuan, drop the rest."""
    return Decimal(repr(float(value))).quantize(Decimal("0.000001"))


def annuity_oracle(
    principal: Decimal, annual_rate: Decimal, months: int
) -> tuple[list[Decimal], list[Decimal], Decimal]:
    """Textbook principal, interest and level payment of every period, as positive Decimals."""
    rate = float(annual_rate) / 12
    periods = np.arange(1, months + 1)
    with np.errstate(divide="ignore", invalid="ignore"):  # rate 0 takes numpy's other branch
        ppmt = npf.ppmt(rate, periods, months, float(principal))
        ipmt = npf.ipmt(rate, periods, months, float(principal))
        pmt = npf.pmt(rate, months, float(principal))
    return [-from_float(p) for p in ppmt], [-from_float(i) for i in ipmt], -from_float(pmt)


# --- Equal installment (等额本息) -----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(principal=principals, annual_rate=annual_rates, months=terms)
def test_every_equal_installment_is_within_a_fen_of_the_textbook_annuity(
    principal: Decimal, annual_rate: Decimal, months: int
) -> None:
    schedule = plan(principal, annual_rate, months, RepaymentMethod.EQUAL_INSTALLMENT)
    expected_principal, expected_interest, level_payment = annuity_oracle(
        principal, annual_rate, months
    )

    assert [i.number for i in schedule] == list(range(1, months + 1))
    for bill, principal_part, interest_part in zip(
        schedule, expected_principal, expected_interest, strict=True
    ):
        assert abs(bill.principal - principal_part) <= FEN, bill
        assert abs(bill.interest - interest_part) <= FEN, bill
        # Principal and interest are each rounded to the fen on their own (principal by running
        # totals, so it moves up to one fen; interest up to half a fen), so their sum can stray
        # from the level payment by up to 1.5 fen: a one-fen bound on the total would be false.
        assert abs(bill.total - level_payment) <= Decimal("0.02"), bill


@settings(max_examples=300, deadline=None)
@given(
    principal=principals,
    annual_rate=annual_rates,
    months=terms,
    method=st.sampled_from(RepaymentMethod.values),
)
def test_principals_sum_exactly_to_the_amount_lent(
    principal: Decimal, annual_rate: Decimal, months: int, method: str
) -> None:
    schedule = plan(principal, annual_rate, months, method)

    assert sum((bill.principal for bill in schedule), Decimal("0")) == principal


@settings(max_examples=300, deadline=None)
@given(
    principal=principals,
    annual_rate=annual_rates,
    months=terms,
    method=st.sampled_from(RepaymentMethod.values),
)
def test_no_part_of_any_installment_is_negative_or_finer_than_a_fen(
    principal: Decimal, annual_rate: Decimal, months: int, method: str
) -> None:
    for bill in plan(principal, annual_rate, months, method):
        assert bill.principal >= 0 and bill.interest >= 0, bill
        assert bill.principal == bill.principal.quantize(FEN), bill
        assert bill.interest == bill.interest.quantize(FEN), bill


@settings(max_examples=200, deadline=None)
@given(
    principal=principals,
    annual_rate=annual_rates,
    months=terms,
    method=st.sampled_from(RepaymentMethod.values),
)
# 100.20 × 10 % / 12 = 0.835 exactly: half a fen, which rounds up to 0.84.
@example(
    principal=Decimal("100.20"),
    annual_rate=Decimal("0.1"),
    months=12,
    method=RepaymentMethod.EQUAL_INSTALLMENT,
)
@example(
    principal=Decimal("100.20"),
    annual_rate=Decimal("0.1"),
    months=12,
    method=RepaymentMethod.EQUAL_PRINCIPAL,
)
def test_the_first_months_interest_is_the_amount_lent_times_the_monthly_rate_rounded_half_up(
    principal: Decimal, annual_rate: Decimal, months: int, method: str
) -> None:
    first = plan(principal, annual_rate, months, method)[0]

    assert first.interest == exact_monthly_interest(principal, annual_rate)


def test_a_zero_rate_loan_is_repaid_in_equal_parts_without_interest() -> None:
    schedule = plan(Decimal("1000.00"), Decimal("0"), 3, RepaymentMethod.EQUAL_INSTALLMENT)

    assert [bill.principal for bill in schedule] == [
        Decimal("333.33"),
        Decimal("333.34"),
        Decimal("333.33"),
    ]
    assert [bill.interest for bill in schedule] == [Decimal("0.00")] * 3


def test_the_standard_loan_pays_the_textbook_level_payment() -> None:
    # ¥12,000 at 18 % over 12 months: 1,100.16 a month (1,100.1597…), 180.00 interest first.
    schedule = plan(Decimal("12000.00"), Decimal("0.18"), 12, RepaymentMethod.EQUAL_INSTALLMENT)

    assert schedule[0].interest == Decimal("180.00")
    assert schedule[0].principal == Decimal("920.16")
    assert all(abs(bill.total - Decimal("1100.16")) <= FEN for bill in schedule)


# --- Equal principal (等额本金) ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(principal=principals, annual_rate=annual_rates, months=terms)
@example(principal=Decimal("200.40"), annual_rate=Decimal("0.1"), months=2)  # 100.20 left: 0.835
def test_equal_principal_charges_the_monthly_rate_on_what_is_still_owed(
    principal: Decimal, annual_rate: Decimal, months: int
) -> None:
    schedule = plan(principal, annual_rate, months, RepaymentMethod.EQUAL_PRINCIPAL)

    still_owed = principal
    for bill in schedule:
        assert bill.interest == exact_monthly_interest(still_owed, annual_rate), bill
        still_owed -= bill.principal
    assert still_owed == 0


@settings(max_examples=300, deadline=None)
@given(principal=principals, annual_rate=annual_rates, months=terms)
def test_equal_principal_parts_are_within_a_fen_of_an_even_split(
    principal: Decimal, annual_rate: Decimal, months: int
) -> None:
    schedule = plan(principal, annual_rate, months, RepaymentMethod.EQUAL_PRINCIPAL)
    with localcontext() as ctx:
        ctx.prec = 50
        even_split = principal / months

    assert all(abs(bill.principal - even_split) < FEN for bill in schedule)
    # Running totals are rounded, so the parts are the even split rounded down or up: two
    # neighbouring fen values at most.
    assert max(b.principal for b in schedule) - min(b.principal for b in schedule) <= FEN


@settings(max_examples=300, deadline=None)
@given(principal=principals, annual_rate=annual_rates, months=terms)
def test_equal_principal_interest_never_rises_and_a_bill_rises_by_at_most_a_fen(
    principal: Decimal, annual_rate: Decimal, months: int
) -> None:
    schedule = plan(principal, annual_rate, months, RepaymentMethod.EQUAL_PRINCIPAL)

    for earlier, later in zip(schedule, schedule[1:], strict=False):
        # What is owed only falls, so the interest on it never rises.
        assert later.interest <= earlier.interest
        # The total usually falls too, but not always: when a month's interest drops by less
        # than the fen a principal part may gain from rounding (e.g. at a 0 % rate), a bill can
        # be one fen more than the one before. Never more than that.
        assert later.total <= earlier.total + FEN


def test_an_equal_principal_bill_can_be_a_fen_more_than_the_one_before() -> None:
    # Why the bound above is "+ one fen" and not "never rises": 100 / 3 = 33.33, 33.34, 33.33.
    schedule = plan(Decimal("100.00"), Decimal("0"), 3, RepaymentMethod.EQUAL_PRINCIPAL)

    assert [bill.total for bill in schedule] == [
        Decimal("33.33"),
        Decimal("33.34"),
        Decimal("33.33"),
    ]


def test_equal_principal_interest_falls_by_the_monthly_rate_on_each_part_repaid() -> None:
    # ¥12,000 over 12 months at 18 %: 1,000 a month, interest 180, 165, 150, … 15.
    schedule = plan(Decimal("12000.00"), Decimal("0.18"), 12, RepaymentMethod.EQUAL_PRINCIPAL)

    assert [bill.principal for bill in schedule] == [Decimal("1000.00")] * 12
    assert [bill.interest for bill in schedule] == [
        Decimal(180 - 15 * k).quantize(FEN) for k in range(12)
    ]


# --- Due dates -----------------------------------------------------------------------------------


def same_day_months_later(start: dt.date, months: int) -> dt.date:
    """The start's day of month, `months` later; the month's last day if that day does not exist."""
    month_index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(start.day, last_day))


@settings(max_examples=200, deadline=None)
@given(start=start_dates, months=terms, method=st.sampled_from(RepaymentMethod.values))
@example(start=dt.date(2026, 1, 31), months=12, method=RepaymentMethod.EQUAL_INSTALLMENT)
@example(start=dt.date(2028, 1, 31), months=12, method=RepaymentMethod.EQUAL_PRINCIPAL)
def test_bills_fall_due_once_a_month_on_the_day_of_the_start(
    start: dt.date, months: int, method: str
) -> None:
    dates = [
        bill.due_date for bill in plan(Decimal("1000.00"), Decimal("0.18"), months, method, start)
    ]

    assert dates == [same_day_months_later(start, k) for k in range(1, months + 1)]
    assert all(earlier < later for earlier, later in zip([start, *dates], dates, strict=False))


@pytest.mark.parametrize(
    ("start", "first_four"),
    [
        (dt.date(2026, 1, 31), ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]),
        (dt.date(2028, 1, 31), ["2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"]),
        (dt.date(2026, 1, 15), ["2026-02-15", "2026-03-15", "2026-04-15", "2026-05-15"]),
    ],
)
def test_a_loan_started_on_the_31st_falls_due_on_each_months_last_day_or_the_31st(
    start: dt.date, first_four: list[str]
) -> None:
    schedule = plan(
        Decimal("1200.00"), Decimal("0.18"), 12, RepaymentMethod.EQUAL_INSTALLMENT, start
    )

    assert [bill.due_date.isoformat() for bill in schedule[:4]] == first_four


# --- Bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "months", "method"),
    [
        (Decimal("0.00"), 12, RepaymentMethod.EQUAL_INSTALLMENT),
        (Decimal("-100.00"), 12, RepaymentMethod.EQUAL_PRINCIPAL),
        (Decimal("1000.00"), 0, RepaymentMethod.EQUAL_INSTALLMENT),
        (Decimal("1000.00"), -1, RepaymentMethod.EQUAL_PRINCIPAL),
        (Decimal("1000.00"), 12, "balloon"),
        (Decimal("1000.00"), 12, ""),
    ],
    ids=[
        "zero-principal",
        "negative-principal",
        "zero-term",
        "negative-term",
        "unknown-method",
        "no-method",
    ],
)
def test_a_schedule_for_nothing_no_time_or_an_unknown_method_is_refused(
    principal: Decimal, months: int, method: str
) -> None:
    with pytest.raises(ValueError):
        plan(principal, Decimal("0.18"), months, method)
