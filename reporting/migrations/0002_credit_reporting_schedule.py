"""The daily django-q2 schedule of credit reporting, created once, by name.

Daily rather than monthly ("M"): the run for a month waits until the close of business has closed
the month's last day, which a fixed monthly time cannot know; on the other days the task only sends
the advance notices and finds the month already reported (idempotent).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations

NAME = "credit-reporting"
FUNC = "reporting.tasks.run_credit_reporting"
AT = dt.time(3, 0)  # after the close of business (00:30) has closed yesterday


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    shanghai = ZoneInfo("Asia/Shanghai")
    now = dt.datetime.now(shanghai)
    first = now.replace(hour=AT.hour, minute=AT.minute, second=0, microsecond=0)
    if first <= now:
        first += dt.timedelta(days=1)
    Schedule.objects.get_or_create(
        name=NAME,
        defaults={"func": FUNC, "schedule_type": "D", "next_run": first, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
