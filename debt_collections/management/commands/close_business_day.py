"""`manage.py close_business_day [--date YYYY-MM-DD]`: run (or resume) one close of business by hand."""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from debt_collections.close_of_business import close_business_day
from portal.calendar import business_today
from portal.errors import DomainError


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Close one business date (default: yesterday). Resumes a failed or killed run; a closed date is left as it is."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--date", type=_date, help="business date to close (YYYY-MM-DD); default yesterday")
        parser.add_argument("--chunk-size", type=int, default=None, help="loans per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        business_date = options["date"] or business_today() - dt.timedelta(days=1)
        try:
            run = close_business_day(business_date=business_date, chunk_size=options["chunk_size"])
        except DomainError as refusal:
            raise CommandError(str(refusal)) from None
        if run is None:
            self.stdout.write(f"{business_date} was already closed; nothing changed.")
            return
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
        self.stdout.write(f"{business_date} closed (attempt {run.attempts}, {seconds:.1f} s):")
        self.stdout.write(json.dumps(run.counts, indent=2, sort_keys=True))
