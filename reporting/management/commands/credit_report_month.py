"""`manage.py credit_report_month [--month YYYY-MM]`: make (or resume) one month's credit report."""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from portal.calendar import business_today
from portal.errors import DomainError
from reporting.services import credit_report_month, previous_month


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"not a month (YYYY-MM): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Report one month to the credit bureau (default: last month): records for every loan, the "
        "CSV and JSON files. Resumes a failed or killed run; a reported month is left as it is."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--month", type=_month, help="month to report (YYYY-MM); default last month")
        parser.add_argument("--chunk-size", type=int, default=None, help="loans per transaction")

    def handle(self, *args: Any, **options: Any) -> None:
        month = options["month"] or previous_month(business_today())
        label = month.strftime("%Y-%m")
        try:
            run = credit_report_month(month=month, chunk_size=options["chunk_size"])
        except DomainError as refusal:
            raise CommandError(str(refusal)) from None
        if run is None:
            self.stdout.write(f"{label} was already reported; nothing changed.")
            return
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
        self.stdout.write(f"{label} reported (attempt {run.attempts}, {seconds:.1f} s):")
        self.stdout.write(json.dumps(run.counts, indent=2, sort_keys=True))
