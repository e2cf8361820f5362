"""The close of business: set-based ageing that agrees with `loan_age`, cases, promises,
stage reminders, run records, idempotency and resume after a failure or a kill."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import translation

from debt_collections import close_of_business as cob
from debt_collections.models import (
    Alert,
    CallTask,
    Case,
    CaseStatus,
    CloseOfBusinessRun,
    PromiseState,
    PromiseStatus,
    PromiseToPay,
    RunStatus,
)
from loans import services
from loans.models import (
    EntryKind,
    Installment,
    JournalEntry,
    Loan,
    LoanEvent,
    LoanEventKind,
    Stage,
    StageChange,
)
from portal.append_only import AppendOnlyError
from portal.errors import NotAllowed
from portal.models import SmsMessage
from tests.debt_collections.cob_helpers import BUSINESS_DATE, make_borrower, make_portfolio, snapshot

pytestmark = pytest.mark.django_db

D = BUSINESS_DATE


@pytest.fixture(autouse=True)
def in_english():
    """Refusals are read in English here (Chinese is the site's default)."""
    with translation.override("en"):
        yield


def close(day: dt.date = D, chunk_size: int = 3) -> CloseOfBusinessRun | None:
    return cob.close_business_day(business_date=day, chunk_size=chunk_size)


def loan_state(loan: Loan) -> tuple[Any, ...]:
    loan.refresh_from_db()
    bills = list(Installment.objects.filter(loan=loan).order_by("number").values_list(
        "status", "penalty_due", "overdue_since"))
    journal = list(JournalEntry.objects.filter(loan=loan).order_by("business_date", "kind").values_list(
        "kind", "business_date", "penalty"))
    return loan.status, loan.stage, loan.days_past_due, loan.aged_through, bills, journal


# --- The ageing itself ---------------------------------------------------------------------------


def test_it_ages_many_loans_exactly_as_loan_age_does_one_at_a_time(product, make_loan):
    by_service = make_loan(make_borrower(1), principal="8000.00", on=dt.date(2026, 1, 10))
    by_close = make_loan(make_borrower(2), principal="8000.00", on=dt.date(2026, 1, 10))
    day = dt.date(2026, 2, 8)
    while day <= dt.date(2026, 4, 20):  # through grace, overdue, a second bill, collections
        services.loan_age(loan_id=by_service.pk, business_date=day)
        close(day)
        day += dt.timedelta(days=1)
    service_state, close_state = loan_state(by_service), loan_state(by_close)
    assert close_state == service_state
    assert close_state[1] == Stage.COLLECTIONS and close_state[2] == 69  # first bill 02-10
    assert list(StageChange.objects.filter(loan=by_close).values_list("from_stage", "to_stage")) == list(
        StageChange.objects.filter(loan=by_service).values_list("from_stage", "to_stage")
    ) == [(Stage.CURRENT, Stage.REMINDER), (Stage.REMINDER, Stage.COLLECTIONS)]


def test_a_current_loan_with_nothing_due_is_not_even_read(product, make_loan):
    loan = make_loan(make_borrower(1), on=dt.date(2026, 5, 25))  # first bill 06-25
    run = close(D)
    assert run is not None and "age" not in run.counts
    loan.refresh_from_db()
    assert loan.aged_through is None


def test_the_run_records_what_each_step_did(product):
    make_portfolio(product)
    run = close(D)
    assert run is not None and run.status == RunStatus.COMPLETED and run.finished_at is not None
    assert run.steps_done == ["age", "cases", "promises", "alerts"]
    age = run.counts["age"]
    # Eleven loans have a bill whose date has come; the one first due on 06-21 is not read.
    assert age["loans_aged"] == 11
    assert age["cases_opened"] == 6  # 30, 41, 61, 92, 151 and 182 days past due
    charged = JournalEntry.objects.filter(kind=EntryKind.ACCRUAL, business_date=D)
    assert age["penalty_fen"] == int(sum(e.penalty for e in charged) * 100) > 0


def test_stages_follow_the_thresholds(product):
    loans = make_portfolio(product)
    close(D)
    stages = {loan.reference: Loan.objects.get(pk=loan.pk).stage for loan in loans}
    assert [stages[loan.reference] for loan in loans] == [
        Stage.REMINDER, Stage.REMINDER, Stage.CURRENT, Stage.CURRENT, Stage.CURRENT, Stage.COLLECTIONS,
        Stage.COLLECTIONS, Stage.COLLECTIONS, Stage.NON_PERFORMING, Stage.NON_PERFORMING,
        Stage.WRITE_OFF_CANDIDATE, Stage.REMINDER,
    ]


# --- Idempotency and resume ----------------------------------------------------------------------


def test_a_second_run_of_a_closed_date_changes_nothing_and_sends_nothing(product):
    make_portfolio(product)
    close(D)
    before = snapshot()
    assert close(D) is None
    assert snapshot() == before


def test_a_date_that_has_not_ended_cannot_be_closed(product):
    from portal.calendar import business_today

    with pytest.raises(NotAllowed):
        close(business_today())


class Killed(BaseException):
    """Stands for the process being killed: nothing in the run catches it."""


def _run_interrupted(monkeypatch: Any, error: BaseException, after_chunks: int) -> None:
    calls = {"n": 0}
    real = cob.loans_age_chunk

    def failing(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > after_chunks:
            raise error
        return real(**kwargs)

    monkeypatch.setattr(cob, "loans_age_chunk", failing)
    with pytest.raises(type(error)):
        close(D)
    monkeypatch.setattr(cob, "loans_age_chunk", real)


@pytest.mark.parametrize("error", [RuntimeError("disk full"), Killed()], ids=["failed", "killed"])
def test_a_run_stopped_halfway_and_started_again_ends_as_an_uninterrupted_run(product, monkeypatch, settings, error):
    settings.PORTAL_COB_STALE_SECONDS = 0  # a killed run's silence counts as death at once
    make_portfolio(product)
    savepoint = transaction.savepoint()
    close(D)
    uninterrupted = snapshot()
    transaction.savepoint_rollback(savepoint)

    _run_interrupted(monkeypatch, error, after_chunks=2)
    half = CloseOfBusinessRun.objects.get(business_date=D)
    assert half.counts["age"]["loans_aged"] == 6  # two chunks of three committed
    assert half.status == (RunStatus.FAILED if isinstance(error, Exception) else RunStatus.RUNNING)

    run = close(D)
    assert run is not None and run.status == RunStatus.COMPLETED and run.attempts == 2
    assert snapshot() == uninterrupted


def test_a_failed_run_records_the_error_and_alerts_supervisors(product, monkeypatch):
    make_portfolio(product)
    _run_interrupted(monkeypatch, RuntimeError("disk full"), after_chunks=0)
    run = CloseOfBusinessRun.objects.get(business_date=D)
    assert run.status == RunStatus.FAILED and "disk full" in run.errors
    assert Alert.objects.filter(kind="cob_failed", role="supervisor").count() == 1


def test_a_run_that_is_still_alive_is_not_started_twice(product, settings):
    make_portfolio(product)
    CloseOfBusinessRun.objects.create(business_date=D)  # another process is working on it
    with pytest.raises(NotAllowed, match="already running"):
        close(D)


# --- Cases, promises, reminders ------------------------------------------------------------------


def test_a_case_opens_at_the_collections_stage_and_closes_when_the_loan_is_cured(product, make_loan):
    loan = make_loan(make_borrower(1), principal="6000.00", on=dt.date(2026, 4, 21))  # 30 days on D
    close(D - dt.timedelta(days=1))
    assert not Case.objects.exists()
    close(D)
    case = Case.objects.get(loan=loan)
    assert case.status == CaseStatus.OPEN and case.stage == Stage.COLLECTIONS and case.days_past_due == 30
    bill = Installment.objects.get(loan=loan, number=1)
    assert case.overdue_amount == bill.total_outstanding > 0
    assert case.priority > 0

    services.payment_post(loan_id=loan.pk, amount=case.overdue_amount, channel="app", idempotency_key="cure",
                          actor=None, business_date=D + dt.timedelta(days=1))
    close(D + dt.timedelta(days=1))
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.close_reason == "cured"
    assert LoanEvent.objects.filter(loan=loan, kind=LoanEventKind.CASE_CLOSED).count() == 1


def _case_with_promise(make_loan: Any, charlie: Any, amount: str, by: dt.date) -> tuple[Loan, PromiseToPay]:
    loan = make_loan(make_borrower(1), principal="6000.00", on=dt.date(2026, 4, 10))
    close(D - dt.timedelta(days=1))
    case = Case.objects.get(loan=loan)
    promise = PromiseToPay.objects.create(case=case, loan=loan, amount=Decimal(amount), promised_date=by,
                                          paid_before=Decimal("0"), made_by=charlie)
    Case.objects.filter(pk=case.pk).update(promise_state=PromiseState.PENDING)
    return loan, promise


def test_a_promise_is_kept_when_the_money_arrives_and_broken_when_its_day_passes(product, make_loan, charlie):
    loan, promise = _case_with_promise(make_loan, charlie, "300.00", by=D)
    services.payment_post(loan_id=loan.pk, amount="200.00", channel="app", idempotency_key="part",
                          actor=None, business_date=D)
    close(D)
    promise.refresh_from_db()
    case = Case.objects.get(loan=loan)
    assert promise.status == PromiseStatus.BROKEN and promise.resolved_on == D
    assert case.promise_state == PromiseState.BROKEN and case.broken_promises == 1
    assert LoanEvent.objects.filter(loan=loan, kind=LoanEventKind.PROMISE_BROKEN).count() == 1


def test_a_promise_paid_before_its_day_is_kept_at_once(product, make_loan, charlie):
    loan, promise = _case_with_promise(make_loan, charlie, "300.00", by=D + dt.timedelta(days=5))
    services.payment_post(loan_id=loan.pk, amount="300.00", channel="app", idempotency_key="all",
                          actor=None, business_date=D)
    close(D)
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.KEPT
    assert Case.objects.get(loan=loan).broken_promises == 0


def test_a_pending_promise_before_its_day_waits(product, make_loan, charlie):
    _, promise = _case_with_promise(make_loan, charlie, "300.00", by=D + dt.timedelta(days=5))
    close(D)
    promise.refresh_from_db()
    assert promise.status == PromiseStatus.PENDING


def test_stage_reminders_and_call_tasks_fire_once_on_their_day(product, make_loan, settings):
    settings.PORTAL_STAGE_ACTIONS = [(7, "sms_week"), (10, "call")]
    week = make_loan(make_borrower(1, "en"), principal="6000.00", on=dt.date(2026, 5, 13))  # 7 days on D
    ten = make_loan(make_borrower(2), principal="6000.00", on=dt.date(2026, 5, 10))  # 10 days on D
    close(D)
    sms = SmsMessage.objects.get(kind="stage_sms_week")
    assert sms.recipient_id == week.borrower.user_id and "7 days overdue" in sms.body and week.reference in sms.body
    assert list(CallTask.objects.values_list("loan_id", "rule")) == [(ten.pk, "call_10")]
    close(D + dt.timedelta(days=1))  # day 8 and 11: nothing new
    assert SmsMessage.objects.filter(kind__startswith="stage_").count() == 1 and CallTask.objects.count() == 1


def test_stage_reminders_queued_at_night_wait_for_the_morning():
    from django.utils import timezone

    night = dt.datetime(2026, 6, 21, 0, 30, tzinfo=timezone.get_current_timezone())
    evening = dt.datetime(2026, 6, 21, 22, 15, tzinfo=timezone.get_current_timezone())
    noon = dt.datetime(2026, 6, 21, 12, 0, tzinfo=timezone.get_current_timezone())
    from debt_collections.stage_actions import sms_not_before

    assert sms_not_before(night) == night.replace(hour=9, minute=0)
    assert sms_not_before(evening) == (evening + dt.timedelta(days=1)).replace(hour=9, minute=0)
    assert sms_not_before(noon) is None


# --- History, outbox, command --------------------------------------------------------------------


def test_stage_history_is_append_only(product):
    make_portfolio(product)
    close(D)
    change = StageChange.objects.first()
    assert change is not None
    with pytest.raises(AppendOnlyError):
        change.save()
    with pytest.raises(AppendOnlyError):
        change.delete()
    with pytest.raises(AppendOnlyError):
        StageChange.objects.all().delete()


def test_every_stage_change_is_also_an_outbox_event_in_order(product):
    make_portfolio(product)
    close(D)
    changes = StageChange.objects.count()
    events = list(LoanEvent.objects.filter(kind=LoanEventKind.STAGE_CHANGED).values_list("id", flat=True))
    assert len(events) == changes > 0 and events == sorted(events)


def test_the_command_closes_yesterday_by_default_and_reports_a_closed_date(product, capsys, monkeypatch):
    from debt_collections.management.commands import close_business_day as command

    monkeypatch.setattr(command, "business_today", lambda: D + dt.timedelta(days=1))
    make_portfolio(product)
    call_command("close_business_day")
    assert f"{D} closed" in capsys.readouterr().out
    call_command("close_business_day", "--date", D.isoformat())
    assert "already closed" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("close_business_day", "--date", "2026-13-01")


def test_the_scheduled_run_catches_up_missed_dates_in_order(product, settings):
    settings.PORTAL_COB_MAX_CATCH_UP_DAYS = 3
    CloseOfBusinessRun.objects.create(business_date=D - dt.timedelta(days=10), status=RunStatus.COMPLETED)
    assert cob.dates_to_close(today=D + dt.timedelta(days=1)) == [D - dt.timedelta(days=2), D - dt.timedelta(days=1), D]
    CloseOfBusinessRun.objects.create(business_date=D - dt.timedelta(days=1), status=RunStatus.COMPLETED)
    assert cob.dates_to_close(today=D + dt.timedelta(days=1)) == [D]


@pytest.mark.parametrize(("days", "stage"), [
    (3, Stage.CURRENT),  # the last grace day
    (4, Stage.REMINDER),
    (29, Stage.REMINDER),
    (30, Stage.COLLECTIONS),
    (89, Stage.COLLECTIONS),
    (90, Stage.NON_PERFORMING),
    (179, Stage.NON_PERFORMING),
    (180, Stage.WRITE_OFF_CANDIDATE),
])
def test_each_stage_begins_on_its_threshold_day(product, make_loan, days, stage):
    from dateutil.relativedelta import relativedelta

    first_due = D - dt.timedelta(days=days)
    loan = make_loan(make_borrower(1), principal="6000.00", on=first_due - relativedelta(months=1))
    assert Installment.objects.get(loan=loan, number=1).due_date == first_due
    close(D)
    loan.refresh_from_db()
    assert loan.stage == stage
    assert loan.days_past_due == (days if days > 3 else 0)
    assert Case.objects.filter(loan=loan, status=CaseStatus.OPEN).exists() == (days >= 30)


def test_supervisors_read_the_runs_in_the_admin_and_nobody_changes_them(product, make_staff, client):
    make_portfolio(product)
    run = close(D)
    assert run is not None
    client.force_login(make_staff("sue", "supervisor"))
    listing = client.get("/admin/collections/closeofbusinessrun/")
    assert listing.status_code == 200 and str(run.counts["age"]["loans_aged"]) in listing.text
    page = client.get(f"/admin/collections/closeofbusinessrun/{run.pk}/change/")
    assert page.status_code == 200 and "penalty_fen" in page.text and "cases_opened" in page.text
    assert client.post(f"/admin/collections/closeofbusinessrun/{run.pk}/delete/").status_code == 403
    client.force_login(make_staff("ed", "editor"))
    assert client.get("/admin/collections/closeofbusinessrun/").status_code == 403
