"""The django-q2 schedules of the portal's recurring work, created once each, by name.

Every schedule is get-or-create by name (never twice, whatever is run again), with
`catch_up` off in the cluster settings: after an outage a schedule runs once, not once per
missed turn (the close of business catches up missed dates itself, in order).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import migrations

SHANGHAI = ZoneInfo("Asia/Shanghai")

# name: (function, schedule type, minutes between runs for "I", local time of day for "D"/"H")
SCHEDULES = {
    "close-of-business": ("debt_collections.tasks.run_close_of_business", "D", None, dt.time(0, 30)),
    "send-due-sms": ("portal.tasks.send_due_sms", "I", 5, None),
    "alert-events": ("debt_collections.tasks.consume_alert_events", "I", 1, None),
    "calendar-check": ("debt_collections.tasks.check_calendar", "D", None, dt.time(8, 0)),
    "expire-hardship-offers": ("debt_collections.tasks.expire_hardship_offers", "H", None, dt.time(0, 5)),
}


def _first_run(at: dt.time | None) -> dt.datetime:
    now = dt.datetime.now(SHANGHAI)
    if at is None:
        return now
    first = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return first if first > now else first + dt.timedelta(days=1)


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, (func, kind, minutes, at) in SCHEDULES.items():
        Schedule.objects.get_or_create(
            name=name,
            defaults={"func": func, "schedule_type": kind, "minutes": minutes, "next_run": _first_run(at),
                      "repeats": -1},
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=list(SCHEDULES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_staff_role_groups"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
