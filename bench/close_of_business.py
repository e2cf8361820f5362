"""The close of business on a seeded portfolio: wall time, peak memory, and the set-based run
against the same work done one loan at a time through `loan_age`.

    .venv/bin/python -m bench.close_of_business [--loans 100000] [--sample 2000]
    scripts/with-postgres.sh .venv/bin/python -m bench.close_of_business --loans 1000000

Seeds a portfolio aged through four days ago, closes three days ago (which opens the cases of
every collecting loan), then ages a sample of the loans due two days ago one at a time
(`loan_age`) and runs the close of business for that date over the rest: the steady state. Prints both rates per loan and their ratio. Exits non-zero only when a result is wrong
(a loan aged twice or not at all, journal and bills disagreeing), never because it was slow.
Uses a scratch database: var/bench.sqlite3, or the database of DATABASE_URL (migrated).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000, help="loans aged one at a time for the ratio")
    args = parser.parse_args()

    root = Path(__file__).resolve().parent.parent
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "false")  # no per-query logging while measuring
    if not os.environ.get("DATABASE_URL"):
        scratch = root / "var" / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
        os.environ["PORTAL_SQLITE_PATH"] = str(scratch)
    sys.path.insert(0, str(root))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum

    from debt_collections.close_of_business import close_business_day
    from loans import demo, services
    from loans.models import COMPONENTS, EntryKind, Installment, JournalEntry, Loan
    from loans.services.ageing import loans_due_for_ageing
    from portal.calendar import business_today

    call_command("migrate", verbosity=0)
    if Loan.objects.exists():
        print("the scratch database already holds loans; point DATABASE_URL at an empty one")
        return 2
    first = business_today() - dt.timedelta(days=3)
    day = first + dt.timedelta(days=1)
    began = time.perf_counter()
    demo.seed_portfolio(loans=args.loans, seed=demo.DEFAULT_SEED, as_of=first, terms=demo.ensure_products())
    print(f"database: {connection.vendor}; seeded {Loan.objects.count():,} loans in {time.perf_counter() - began:.1f} s")
    # The first close opens the cases of every collecting loan (a one-off after seeding);
    # the measured one is the next day's, the steady state.
    began = time.perf_counter()
    close_business_day(business_date=first)
    print(f"first close ({first}, opens the portfolio's cases): {time.perf_counter() - began:.1f} s")

    due = loans_due_for_ageing(business_date=day)
    sample = due[: args.sample]
    began = time.perf_counter()
    for loan_id in sample:
        services.loan_age(loan_id=loan_id, business_date=day)
    one_by_one = time.perf_counter() - began

    began = time.perf_counter()
    run = close_business_day(business_date=day)
    set_based = time.perf_counter() - began
    assert run is not None
    aged = run.counts.get("age", {}).get("loans_aged", 0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    wrong = []
    if aged + len(sample) != len(due):
        wrong.append(f"{aged} + {len(sample)} loans aged, {len(due)} were due")
    if Loan.objects.filter(pk__in=due).exclude(aged_through=day).exists():
        wrong.append("a loan due for ageing was not aged")
    accruals = JournalEntry.objects.filter(kind=EntryKind.ACCRUAL, business_date=day)
    if accruals.values("loan_id").distinct().count() != accruals.count():
        wrong.append("a loan accrued twice")
    journal = JournalEntry.objects.aggregate(**{c: Sum(c) for c in COMPONENTS})
    for c in COMPONENTS:
        owed = Installment.objects.exclude(status="superseded").aggregate(
            s=Sum(f"{c}_due") - Sum(f"{c}_paid") - Sum(f"{c}_waived"))["s"]
        if Decimal(journal[c] or 0).quantize(Decimal("0.01")) != Decimal(owed or 0).quantize(Decimal("0.01")):
            wrong.append(f"journal and bills disagree on {c}: {journal[c]} vs {owed}")

    per_loan_orm = one_by_one / max(len(sample), 1) * 1000
    per_loan_set = set_based / max(aged, 1) * 1000
    print(f"business date {day}: {len(due):,} loans due for ageing of {Loan.objects.count():,}")
    print(f"one at a time (loan_age): {len(sample):,} loans in {one_by_one:.2f} s = {per_loan_orm:.3f} ms/loan")
    print(f"close of business:        {aged:,} loans in {set_based:.2f} s = {per_loan_set:.3f} ms/loan "
          f"(whole run, cases and reminders included)")
    print(f"ratio: {per_loan_orm / per_loan_set:.1f}x faster per loan; peak memory {peak_mb:,.0f} MB")
    print(f"counts: {run.counts}")
    for line in wrong:
        print(f"WRONG: {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
