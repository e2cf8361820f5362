"""The first SMS reminder goes out on the first working day after a bill's due date, once."""

from __future__ import annotations

import datetime as dt

import pytest
from django_q.models import Schedule

from loans import services
from loans.services.reminders import due_dates_reminded_on, reminders_queue_first
from portal.models import SmsMessage

pytestmark = pytest.mark.django_db

HOTLINE = "400-800-8888"


def test_a_monday_reminds_the_bills_due_on_friday_saturday_and_sunday():
    assert due_dates_reminded_on(dt.date(2026, 6, 8)) == [dt.date(2026, 6, 7), dt.date(2026, 6, 6), dt.date(2026, 6, 5)]


def test_no_reminder_goes_out_on_a_holiday_and_the_golden_week_is_reminded_after_it():
    assert due_dates_reminded_on(dt.date(2026, 10, 3)) == []
    reminded = due_dates_reminded_on(dt.date(2026, 10, 8))  # first working day after 1–7 October
    assert reminded[0] == dt.date(2026, 10, 7) and reminded[-1] == dt.date(2026, 9, 30)


def test_a_swapped_working_saturday_sends_reminders():
    assert due_dates_reminded_on(dt.date(2026, 10, 10)) == [dt.date(2026, 10, 9)]  # Saturday, 调休


def test_it_texts_the_borrower_of_an_unpaid_bill_once_in_their_language(bob, make_loan):
    loan = make_loan(bob, on=dt.date(2026, 5, 5))  # first bill due Friday 2026-06-05
    assert reminders_queue_first(business_date=dt.date(2026, 6, 8), hotline=HOTLINE) == 1
    assert reminders_queue_first(business_date=dt.date(2026, 6, 8), hotline=HOTLINE) == 0  # a rerun
    message = SmsMessage.objects.get()
    bill = loan.installments.get(number=1)
    assert message.mobile == bob.mobile and message.kind == "first_reminder"
    assert message.body.startswith(
        f"Your bill of ¥{bill.total_due:,.2f} for loan {loan.reference} was due on 2026-06-05"
    )


def test_a_paid_bill_gets_no_reminder(alice, make_loan):
    loan = make_loan(alice, on=dt.date(2026, 5, 5))
    bill = loan.installments.get(number=1)
    services.payment_post(loan_id=loan.pk, amount=bill.total_due, channel="app", idempotency_key="k",
                          actor=None, business_date=dt.date(2026, 6, 5))
    assert reminders_queue_first(business_date=dt.date(2026, 6, 8), hotline=HOTLINE) == 0


def test_the_chinese_reminder_reads_in_chinese(alice, make_loan):
    make_loan(alice, on=dt.date(2026, 5, 5))
    reminders_queue_first(business_date=dt.date(2026, 6, 8), hotline=HOTLINE)
    assert "已于 2026-06-05 到期" in SmsMessage.objects.get().body


def test_the_daily_schedule_is_created_once_however_often_migrations_run():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("loans.migrations.0006_first_reminder_schedule")
    Schedule.objects.filter(name="first-reminders").delete()  # transactional tests may have flushed it
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    schedule = Schedule.objects.get(name="first-reminders")
    assert schedule.func == "loans.tasks.queue_first_reminders" and schedule.schedule_type == "D"
    assert schedule.next_run.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H:%M") == "09:30"
