"""The monitoring dashboard's background refresh, every 5 minutes, created once, by name.

Its figures add up millions of bills and allocations on a large book (seconds each): the task
computes them before the kept ones expire, so that the page never waits for them
(reporting.dashboard.refresh).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations

NAME = "dashboard-refresh"
FUNC = "reporting.tasks.refresh_dashboard"
MINUTES = 5  # reporting.dashboard.REFRESH_MINUTES


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=NAME,
        defaults={"func": FUNC, "schedule_type": "I", "minutes": MINUTES,
                  "next_run": dt.datetime.now(ZoneInfo("Asia/Shanghai")), "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_credit_reporting_schedule"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
