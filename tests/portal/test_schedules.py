"""The recurring work's django-q2 schedules: created once each, by name, pointing at real tasks."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils.module_loading import import_string
from django_q.models import Schedule

pytestmark = pytest.mark.django_db

migration = importlib.import_module("portal.migrations.0006_schedules")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_each_schedule_is_created_once_however_often_the_migration_runs():
    Schedule.objects.filter(name__in=list(migration.SCHEDULES)).delete()  # transactional tests flush
    migration.create_schedules(apps, None)
    migration.create_schedules(apps, None)
    assert Schedule.objects.filter(name__in=list(migration.SCHEDULES)).count() == len(migration.SCHEDULES)


def test_the_close_of_business_runs_daily_at_half_past_midnight_beijing_time():
    Schedule.objects.filter(name__in=list(migration.SCHEDULES)).delete()
    migration.create_schedules(apps, None)
    schedule = Schedule.objects.get(name="close-of-business")
    assert schedule.func == "debt_collections.tasks.run_close_of_business" and schedule.schedule_type == "D"
    assert schedule.next_run.astimezone(SHANGHAI).strftime("%H:%M") == "00:30"
    sms = Schedule.objects.get(name="send-due-sms")
    assert sms.schedule_type == "I" and sms.minutes == 5


@pytest.mark.parametrize("name", list(migration.SCHEDULES))
def test_every_scheduled_function_exists(name):
    assert callable(import_string(migration.SCHEDULES[name][0]))


def test_the_scheduled_close_of_business_closes_yesterday(monkeypatch, product):
    from debt_collections import tasks
    from debt_collections.models import CloseOfBusinessRun, RunStatus

    monkeypatch.setattr(tasks, "business_today", lambda: dt.date(2026, 6, 21))
    assert tasks.run_close_of_business() == ["2026-06-20"]
    assert CloseOfBusinessRun.objects.get(business_date=dt.date(2026, 6, 20)).status == RunStatus.COMPLETED
    assert tasks.run_close_of_business() == []


def test_expired_idempotency_records_are_purged_hourly():
    purge = importlib.import_module("portal.migrations.0008_api_schedules")
    Schedule.objects.filter(name=purge.NAME).delete()
    purge.create_schedule(apps, None)
    purge.create_schedule(apps, None)
    schedule = Schedule.objects.get(name=purge.NAME)
    assert schedule.schedule_type == "H" and callable(import_string(schedule.func))
