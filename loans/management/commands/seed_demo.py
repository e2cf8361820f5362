"""`manage.py seed_demo`: demo staff, four borrower personas and a portfolio of loans.

    manage.py seed_demo [--loans N] [--seed S] [--if-empty] [--as-of YYYY-MM-DD] [--overdue-share 0.1]

The work is in `loans.demo`; the demo logins (printed at the end, every time) are in
`portal.demo_logins`.
"""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from debt_collections.demo import seed_case_work
from education.demo import seed_education
from loans import demo
from loans.models import Loan
from portal.calendar import business_today
from portal.demo_logins import print_demo_logins


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ArgumentTypeError(f"{value!r} is not a date like 2026-03-31") from None


def _count(value: str) -> int:
    number = int(value.replace("_", "").replace(",", ""))
    if number < 0:
        raise ArgumentTypeError("the number of loans cannot be negative")
    return number


def _share(text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        raise ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= share <= 1:
        raise ArgumentTypeError("the overdue share is between 0 and 1")
    return share


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo data: staff in each role, four borrower personas "
        "(current, first-time overdue, 45 and 95 days overdue) and a seeded portfolio of loans. "
        "Prints the demo logins."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add = parser.add_argument
        add("--loans", type=_count, default=demo.DEFAULT_LOANS,
            help="loans in the portfolio besides the personas (default %(default)s)")
        add("--seed", type=int, default=demo.DEFAULT_SEED,
            help="random seed: the same seed and date give the same loans (default %(default)s)")
        add("--if-empty", action="store_true",
            help="do nothing but print the logins when the database has loans")
        add("--as-of", type=_date, default=None,
            help="business date the data is aged to, the day before being the last closed one "
                 "(default: today in Asia/Shanghai)")
        add("--overdue-share", type=_share, default=demo.OVERDUE_SHARE,
            help="share of the portfolio's loans overdue, spread over the stages (default %(default)s)")
        add("--chunk", type=_count, default=demo.DEFAULT_CHUNK,
            help="loans written per transaction (default %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of: dt.date = options["as_of"] or business_today()
        existing = Loan.objects.count()
        if existing:
            if not options["if_empty"]:
                raise CommandError(
                    f"The database already holds {existing:,} loans; seed_demo fills an empty "
                    "one. Start afresh (rm -f var/portal.sqlite3*; manage.py migrate) or pass "
                    "--if-empty."
                )
            self.stdout.write(f"The database already holds {existing:,} loans: nothing seeded.")
        else:
            began = time.perf_counter()
            result = demo.seed_demo(
                loans=options["loans"], seed=options["seed"], as_of=as_of, stdout=self.stdout,
                chunk_size=max(1, options["chunk"]), overdue_share=options["overdue_share"],
            )
            rate = result.loans / result.portfolio_seconds if result.portfolio_seconds else 0.0
            self.stdout.write(self.style.SUCCESS(
                f"Seeded {result.loans:,} portfolio loans ({result.overdue:,} overdue) for "
                f"{result.borrowers:,} borrowers, plus {len(demo.PERSONAS)} personas, as of "
                f"{as_of} (aged through {as_of - dt.timedelta(days=1)}), in "
                f"{time.perf_counter() - began:.1f} s ({rate:,.0f} portfolio loans/s)."
            ))
        seed_education(as_of=as_of, stdout=self.stdout)  # articles and lectures; idempotent
        seed_case_work(as_of=as_of, stdout=self.stdout)  # cases, assignments, persona history; idempotent
        print_demo_logins(self.stdout)
