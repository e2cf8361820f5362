"""Close of business for one loan (`loan_age`): grace days, penalty, days past due, stages.

Alice's first bill is due 2026-02-15 with 3 grace days: 02-15 to 02-18 are in grace, 02-19 is
the first day past it. Days past due count from the due date, so on 02-19 they are 4.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings

from loans import services
from loans.models import (
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanStatus,
    Stage,
)
from portal.models import AuditEvent
from tests.conftest import FIRST_DUE, age_through

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
LAST_GRACE_DAY = FIRST_DUE + dt.timedelta(days=3)  # 2026-02-18
FIRST_OVERDUE_DAY = dt.date(2026, 2, 19)


def bills(loan: Loan) -> list[Installment]:
    return list(Installment.objects.filter(loan_id=loan.pk).order_by("due_date", "number"))


def age(loan: Loan, day: dt.date) -> services.AgeingResult:
    return services.loan_age(loan_id=loan.pk, business_date=day)


def book(loan: Loan) -> dict[str, Any]:
    return {
        "loan": Loan.objects.filter(pk=loan.pk)
        .values("status", "stage", "days_past_due", "aged_through")
        .get(),
        "installments": list(Installment.objects.filter(loan_id=loan.pk).order_by("id").values()),
        "journal": list(JournalEntry.objects.filter(loan_id=loan.pk).order_by("id").values()),
        "audit_events": AuditEvent.objects.count(),
    }


def daily_penalty(principal: Decimal, annual_penalty_rate: Decimal) -> Decimal:
    """Overdue principal × annual penalty rate / 360, rounded half-up to the fen."""
    return (principal * annual_penalty_rate / Decimal(360)).quantize(FEN, rounding=ROUND_HALF_UP)


def stage_changes(loan: Loan) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action="loan.stage_change", object_id=str(loan.pk)).order_by(
            "at", "id"
        )
    )


# --- Grace days ---------------------------------------------------------------------------------


def test_before_its_due_date_a_bill_is_pending(alices_loan):
    result = age(alices_loan, FIRST_DUE - dt.timedelta(days=1))

    assert result.days_past_due == 0 and result.penalty_accrued == ZERO
    assert bills(alices_loan)[0].status == InstallmentStatus.PENDING


def test_nothing_is_charged_during_the_grace_days(alices_loan):
    for offset in range(4):  # the due date and the three grace days
        day = FIRST_DUE + dt.timedelta(days=offset)
        result = age(alices_loan, day)
        assert (result.penalty_accrued, result.days_past_due, result.stage) == (
            ZERO,
            0,
            Stage.CURRENT,
        ), day

    first = bills(alices_loan)[0]
    assert first.status == InstallmentStatus.DUE
    assert first.penalty_due == ZERO
    assert first.overdue_since is None
    assert not JournalEntry.objects.filter(loan=alices_loan, kind=EntryKind.ACCRUAL).exists()
    alices_loan.refresh_from_db()
    assert (alices_loan.days_past_due, alices_loan.stage) == (0, Stage.CURRENT)
    assert alices_loan.aged_through == LAST_GRACE_DAY
    assert not stage_changes(alices_loan)


def test_the_day_after_grace_the_bill_is_overdue_and_charged_one_days_penalty(alices_loan):
    age_through(alices_loan, FIRST_DUE, LAST_GRACE_DAY)
    first_before = bills(alices_loan)[0]
    expected_penalty = daily_penalty(first_before.principal_due, Decimal("0.18") * Decimal("1.5"))
    assert expected_penalty > ZERO

    result = age(alices_loan, FIRST_OVERDUE_DAY)

    first, second, *_ = bills(alices_loan)
    assert first.status == InstallmentStatus.OVERDUE
    assert first.overdue_since == FIRST_OVERDUE_DAY
    assert second.status == InstallmentStatus.PENDING and second.penalty_due == ZERO
    assert result.days_past_due == 4 == (FIRST_OVERDUE_DAY - FIRST_DUE).days
    assert result.stage == Stage.REMINDER
    assert result.penalty_accrued == expected_penalty == first.penalty_due
    [accrual] = JournalEntry.objects.filter(loan=alices_loan, kind=EntryKind.ACCRUAL)
    assert (accrual.business_date, accrual.penalty) == (FIRST_OVERDUE_DAY, expected_penalty)
    assert accrual.principal == accrual.interest == accrual.fees == ZERO


def test_penalty_is_charged_on_the_principal_still_unpaid(alices_loan):
    age_through(alices_loan, FIRST_DUE, FIRST_OVERDUE_DAY)
    first = bills(alices_loan)[0]
    # Pay the penalty, the interest and ¥500 of principal: ¥500 less principal is overdue.
    amount = first.penalty_due + first.interest_due + Decimal("500.00")
    services.payment_post(
        loan_id=alices_loan.pk,
        amount=amount,
        channel="app",
        idempotency_key="part",
        actor=None,
        business_date=FIRST_OVERDUE_DAY,
    )
    unpaid_principal = first.principal_due - Decimal("500.00")
    assert bills(alices_loan)[0].outstanding("principal") == unpaid_principal

    result = age(alices_loan, FIRST_OVERDUE_DAY + dt.timedelta(days=1))

    assert result.penalty_accrued == daily_penalty(unpaid_principal, alices_loan.penalty_rate)
    assert result.penalty_accrued < daily_penalty(first.principal_due, alices_loan.penalty_rate)
    assert result.days_past_due == 5


def test_penalty_rounds_half_up_to_the_fen():
    # 1,000.00 × 0.27 / 360 = 0.75 exactly; 1,002.00 × 0.27 / 360 = 0.7515 → 0.75;
    # 1,006.00 × 0.27 / 360 = 0.7545 → 0.75; 1,007.00 × 0.27 / 360 = 0.75525 → 0.76.
    rate = Decimal("0.27")
    assert [
        daily_penalty(Decimal(p), rate) for p in ("1000.00", "1002.00", "1006.00", "1007.00")
    ] == [
        Decimal("0.75"),
        Decimal("0.75"),
        Decimal("0.75"),
        Decimal("0.76"),
    ]


def test_two_overdue_bills_are_each_charged_and_days_past_due_count_from_the_oldest(alices_loan):
    second_due = dt.date(2026, 3, 15)
    day = second_due + dt.timedelta(days=4)  # first day past grace of bill 2
    age(alices_loan, FIRST_OVERDUE_DAY)
    first, second, *_ = bills(alices_loan)

    result = age(alices_loan, day)

    rate = alices_loan.penalty_rate
    assert result.penalty_accrued == daily_penalty(first.principal_due, rate) + daily_penalty(
        second.principal_due, rate
    )
    assert result.days_past_due == (day - FIRST_DUE).days == 32
    assert result.stage == Stage.COLLECTIONS
    assert bills(alices_loan)[1].overdue_since == day


# --- Idempotency ---------------------------------------------------------------------------------


def test_ageing_the_same_date_twice_changes_nothing(alices_loan):
    age_through(alices_loan, FIRST_DUE, FIRST_OVERDUE_DAY + dt.timedelta(days=2))
    before = book(alices_loan)

    again = age(alices_loan, FIRST_OVERDUE_DAY + dt.timedelta(days=2))

    assert again.already_aged is True
    assert again.penalty_accrued == ZERO
    assert again.days_past_due == before["loan"]["days_past_due"]
    assert book(alices_loan) == before


def test_ageing_an_earlier_date_again_does_not_move_the_loan_back_in_time(alices_loan):
    """A retried close-of-business job for an old date must not undo the days past due and
    the stage that a later date already reached."""
    later = FIRST_DUE + dt.timedelta(days=35)
    age(alices_loan, FIRST_OVERDUE_DAY)
    age(alices_loan, later)
    before = book(alices_loan)
    assert before["loan"]["stage"] == Stage.COLLECTIONS

    stale = age(alices_loan, FIRST_OVERDUE_DAY)

    assert stale.already_aged is True and stale.penalty_accrued == ZERO
    assert book(alices_loan) == before


def test_a_settled_loan_is_left_alone(alices_loan):
    quote_day = dt.date(2026, 2, 1)
    from loans.allocation import payoff_quote

    payoff = payoff_quote(bills(alices_loan), quote_day).amount
    services.payment_post(
        loan_id=alices_loan.pk,
        amount=payoff,
        channel="app",
        idempotency_key="settle",
        actor=None,
        business_date=quote_day,
    )
    before = book(alices_loan)
    assert before["loan"]["status"] == LoanStatus.SETTLED

    result = age(alices_loan, dt.date(2026, 6, 1))

    assert result.penalty_accrued == ZERO and result.days_past_due == 0
    assert book(alices_loan) == before


# --- Stages ---------------------------------------------------------------------------------------

ORDER = [
    Stage.CURRENT,
    Stage.REMINDER,
    Stage.COLLECTIONS,
    Stage.NON_PERFORMING,
    Stage.WRITE_OFF_CANDIDATE,
]


def test_the_default_stage_thresholds_are_those_of_the_design():
    assert django_settings.PORTAL_STAGE_THRESHOLDS == {
        "reminder": 1,
        "collections": 30,
        "non_performing": 90,
        "write_off_candidate": 180,
    }


@pytest.mark.parametrize("stage", ORDER[1:], ids=lambda s: s.value)
def test_each_stage_begins_exactly_at_its_threshold(stage):
    threshold = django_settings.PORTAL_STAGE_THRESHOLDS[stage.value]
    previous = ORDER[ORDER.index(stage) - 1]

    assert services.stage_for(threshold - 1) == previous
    assert services.stage_for(threshold) == stage
    assert services.stage_for(threshold + 1) == stage


def test_no_days_past_due_is_current_and_years_past_due_is_a_write_off_candidate():
    assert services.stage_for(0) == Stage.CURRENT
    assert services.stage_for(3650) == Stage.WRITE_OFF_CANDIDATE


def test_stages_follow_the_thresholds_in_settings(settings):
    settings.PORTAL_STAGE_THRESHOLDS = {
        "reminder": 5,
        "collections": 10,
        "non_performing": 20,
        "write_off_candidate": 40,
    }

    assert [services.stage_for(d) for d in (4, 5, 9, 10, 19, 20, 39, 40)] == [
        Stage.CURRENT,
        Stage.REMINDER,
        Stage.REMINDER,
        Stage.COLLECTIONS,
        Stage.COLLECTIONS,
        Stage.NON_PERFORMING,
        Stage.NON_PERFORMING,
        Stage.WRITE_OFF_CANDIDATE,
    ]


def test_ageing_moves_the_loan_through_the_stages_and_audits_each_change(alices_loan):
    thresholds = django_settings.PORTAL_STAGE_THRESHOLDS
    # With 3 grace days the first day past due that ageing sees is day 4 (reminder from day 1).
    first = age(alices_loan, FIRST_OVERDUE_DAY)
    assert (first.days_past_due, first.stage) == (4, Stage.REMINDER)
    for stage in ORDER[2:]:
        dpd = thresholds[stage.value]
        for day_count, expected in ((dpd - 1, ORDER[ORDER.index(stage) - 1]), (dpd, stage)):
            result = age(alices_loan, FIRST_DUE + dt.timedelta(days=day_count))
            assert (result.days_past_due, result.stage) == (day_count, expected)

    events = stage_changes(alices_loan)
    assert all(e.before is not None and e.after is not None for e in events)
    assert [(e.before["stage"], e.after["stage"]) for e in events] == [  # type: ignore[index]
        (Stage.CURRENT, Stage.REMINDER),
        (Stage.REMINDER, Stage.COLLECTIONS),
        (Stage.COLLECTIONS, Stage.NON_PERFORMING),
        (Stage.NON_PERFORMING, Stage.WRITE_OFF_CANDIDATE),
    ]
    assert [e.after["days_past_due"] for e in events] == [4, 30, 90, 180]  # type: ignore[index]
    assert all(e.actor is None and e.actor_label == "close-of-business" for e in events)


def test_a_day_that_changes_no_stage_writes_no_audit_event(alices_loan):
    age(alices_loan, FIRST_OVERDUE_DAY)
    assert len(stage_changes(alices_loan)) == 1
    events_before = AuditEvent.objects.count()

    result = age(alices_loan, FIRST_OVERDUE_DAY + dt.timedelta(days=1))

    assert result.days_past_due == 5 and result.stage == Stage.REMINDER
    assert AuditEvent.objects.count() == events_before


# --- A payment that clears the overdue bill ------------------------------------------------------


def test_paying_the_overdue_bill_brings_the_loan_back_to_current(alices_loan):
    pay_day = FIRST_OVERDUE_DAY + dt.timedelta(days=3)
    age_through(alices_loan, FIRST_DUE, pay_day)
    alices_loan.refresh_from_db()
    assert (alices_loan.days_past_due, alices_loan.stage) == (7, Stage.REMINDER)
    first = bills(alices_loan)[0]

    services.payment_post(
        loan_id=alices_loan.pk,
        amount=first.total_outstanding,
        channel="app",
        idempotency_key="clear",
        actor=None,
        business_date=pay_day,
    )

    alices_loan.refresh_from_db()
    assert (alices_loan.days_past_due, alices_loan.stage) == (0, Stage.CURRENT)
    first_after = bills(alices_loan)[0]
    assert first_after.status == InstallmentStatus.PAID
    assert first_after.settled_on == pay_day
    assert first_after.overdue_since == FIRST_OVERDUE_DAY  # "was ever overdue" is kept

    next_day = age(alices_loan, pay_day + dt.timedelta(days=1))
    assert (next_day.penalty_accrued, next_day.days_past_due, next_day.stage) == (
        ZERO,
        0,
        Stage.CURRENT,
    )
    assert bills(alices_loan)[0].overdue_since == FIRST_OVERDUE_DAY
