"""The daily django-q2 schedule of the lecture reminders, created once, by name."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations

NAME = "lecture-reminders"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    # 10:00 Beijing time: the day before each lecture, at an hour a text message is welcome.
    shanghai = ZoneInfo("Asia/Shanghai")
    now = dt.datetime.now(shanghai)
    first = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if first <= now:
        first += dt.timedelta(days=1)
    Schedule.objects.get_or_create(
        name=NAME,
        defaults={"func": "education.tasks.queue_lecture_reminders", "schedule_type": "D",
                  "next_run": first, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("education", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
