"""The hourly purge of expired API idempotency records, created once, by name."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations

NAME = "purge-idempotency-records"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name=NAME,
        defaults={"func": "portal.api.tasks.purge_expired_idempotency_records", "schedule_type": "H",
                  "next_run": dt.datetime.now(ZoneInfo("Asia/Shanghai")), "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_apitoken_idempotencyrecord"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
