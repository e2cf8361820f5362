"""The close of business of one business date: wall time and peak memory on a large book, how
it scales with the book, and how it compares with ageing one loan at a time.

    .venv/bin/python -m bench.close_of_business                      # 1,000,000 loans, PostgreSQL
    .venv/bin/python -m bench.close_of_business --loans 100000 --compare 0 --sample 1000
    .venv/bin/python -m bench.close_of_business --sqlite --loans 20000 --compare 0

1. Seeds the demo as of yesterday (`seed_demo --as-of`): the book is aged through the day
   before, and seeding closes that day, which opens the cases of every collecting loan. A
   database seeded so before (and not closed since) is used as it is.
2. Does the close's work for a sample of the loans due for ageing yesterday one loan at a
   time through the ORM: `loan_age`, then the loan's case (`cases_sync`): the yardstick. The
   ratio is printed against the whole of it and against `loan_age` alone.
3. Closes yesterday for the rest of the book in a child process (`--close`), which reports its
   wall time and peak memory (ru_maxrss) alone, not the seeding's, and its helper processes'
   (PORTAL_COB_WORKERS) largest peak.
4. With `--compare N`, does 1 and 3 again on a second database of N loans with as many
   overdue loans as the big book (a larger overdue share): the close should cost the same.

Afterwards the database is as `seed_demo` leaves it as of today, for `bench.pages`.
Exits non-zero when a result is wrong (a loan aged twice or not at all, journal and bills
disagreeing), never because it was slow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

from bench import harness

MODULE = "bench.close_of_business"


def main() -> int:
    parser = harness.arguments(__doc__)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--overdue-share", type=float, default=0.10)
    parser.add_argument("--sample", type=int, default=10_000, help="loans aged one at a time for the ratio")
    parser.add_argument("--compare", type=int, default=100_000,
                        help="loans of the second book with as many overdue (0: no comparison)")
    parser.add_argument("--close", metavar="DATE", help=argparse.SUPPRESS)  # the child's work
    args = parser.parse_args()
    harness.setup(MODULE, sqlite=args.sqlite)
    if args.close:
        return close_in_this_process(dt.date.fromisoformat(args.close))

    from portal.calendar import business_today

    day = business_today() - dt.timedelta(days=1)
    big = measure(loans=args.loans, overdue_share=args.overdue_share, sample=args.sample, day=day,
                  sqlite=args.sqlite)
    wrong = big["wrong"]
    if args.compare:
        share = min(1.0, args.overdue_share * args.loans / args.compare)
        small = measure_elsewhere(loans=args.compare, overdue_share=share, sqlite=args.sqlite)
        wrong += small["wrong"]
        print(f"\nscaling: {args.loans:,} loans ({big['due']:,} due for ageing) closed in {big['seconds']:.1f} s; "
              f"{args.compare:,} loans ({small['due']:,} due for ageing) in {small['seconds']:.1f} s; "
              f"per loan aged {big['ms_per_loan']:.3f} vs {small['ms_per_loan']:.3f} ms")
    for line in wrong:
        print(f"WRONG: {line}")
    print("RESULT " + json.dumps(big))  # read by a parent run comparing two books
    return 1 if wrong else 0


def measure(*, loans: int, overdue_share: float, sample: int, day: dt.date, sqlite: bool) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from loans.models import Loan
    from loans.services.ageing import loans_due_for_ageing

    if not Loan.objects.exists():
        began = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", loans=loans, as_of=day, overdue_share=overdue_share, stdout=quiet)
        print(f"\n{connection.vendor}: seeded {Loan.objects.count():,} loans ({overdue_share:.0%} overdue) "
              f"as of {day} and closed {day - dt.timedelta(days=1)} in {time.perf_counter() - began:.0f} s")
    elif seeded_as_of(day):  # seeded before (`seed_demo --as-of`), this date not closed yet
        print(f"\n{connection.vendor}: using the {Loan.objects.count():,} loans seeded as of {day}")
    else:
        raise SystemExit(f"the database holds loans not seeded as of {day}: give an empty one")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    due = loans_due_for_ageing(business_date=day)
    picked = due[:: max(1, len(due) // sample)][:sample] if sample else []
    ageing, following = one_at_a_time(picked, day)
    one_by_one = ageing + following

    result = close_in_child(day, sqlite=sqlite)
    aged = result["counts"].get("age", {}).get("loans_aged", 0)
    result.update(due=len(due), ms_per_loan=result["seconds"] / max(aged, 1) * 1000,
                  wrong=check(due=due, sampled=len(picked), aged=aged, day=day))
    print(f"close of business {day}: {len(due):,} loans due for ageing of {Loan.objects.count():,}")
    if picked:
        per_loan_orm = one_by_one / len(picked) * 1000
        per_loan_age = ageing / len(picked) * 1000
        print(f"  one at a time:             {len(picked):,} loans in {one_by_one:.1f} s = {per_loan_orm:.3f} ms/loan "
              f"(loan_age {per_loan_age:.3f} ms, then the loan's case {per_loan_orm - per_loan_age:.3f} ms)")
    print(f"  close of business (child): {aged:,} loans in {result['seconds']:.1f} s = "
          f"{result['ms_per_loan']:.3f} ms/loan, whole run (cases, reminders, alerts); "
          f"peak memory {result['peak_mb']:,.0f} MB"
          + (f" (+ {result['helper_peak_mb']:,.0f} MB a helper process)" if result.get("helper_peak_mb") else ""))
    if picked:
        print(f"  ratio: {per_loan_orm / result['ms_per_loan']:.0f}x faster per loan than one at a time "
              f"({per_loan_age / result['ms_per_loan']:.0f}x faster than loan_age alone)")
    print(f"  counts: {json.dumps(result['counts'], sort_keys=True)}")
    return result


def one_at_a_time(loan_ids: list[int], day: dt.date) -> tuple[float, float]:
    """The close's work for each loan through the ORM, one loan a transaction: `loan_age`, then
    the loan's case (`cases_sync`). Seconds spent in each of the two."""
    from django.db import transaction

    from debt_collections.services.case_sync import cases_sync
    from loans import services

    ageing = following = 0.0
    for loan_id in loan_ids:
        began = time.perf_counter()
        with transaction.atomic():
            services.loan_age(loan_id=loan_id, business_date=day)
            aged = time.perf_counter()
            cases_sync(loan_ids=[loan_id], business_date=day)
        ageing += aged - began
        following += time.perf_counter() - aged
    return ageing, following


def seeded_as_of(day: dt.date) -> bool:
    from django.db.models import Max

    from debt_collections.models import CloseOfBusinessRun, RunStatus
    from loans.models import Loan

    last = Loan.objects.filter(status="active").aggregate(last=Max("aged_through"))["last"]
    closed = CloseOfBusinessRun.objects.filter(business_date=day - dt.timedelta(days=1), status=RunStatus.COMPLETED)
    return last == day - dt.timedelta(days=1) and closed.exists() and not CloseOfBusinessRun.objects.filter(
        business_date=day).exists()


def measure_elsewhere(*, loans: int, overdue_share: float, sqlite: bool) -> dict[str, Any]:
    """This script again, without the sample, on a second database of the same server, `<name>_compare`
    (empty, or seeded before as of the same date), or on a second SQLite file."""
    from django.db import connection

    env = dict(os.environ)
    if connection.vendor == "postgresql":
        other = f"{connection.settings_dict['NAME']}_compare"
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [other])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{other}"')
        env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{other}"
    else:
        env["BENCH_SQLITE"] = str(harness.ROOT / "var" / "bench-compare.sqlite3")
    command = [sys.executable, "-m", MODULE, "--loans", str(loans), "--overdue-share", str(overdue_share),
               "--sample", "0", "--compare", "0", *(["--sqlite"] if sqlite else [])]
    out = subprocess.run(command, env=env, cwd=harness.ROOT, capture_output=True, text=True)
    lines = out.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("RESULT ")))
    if not any(line.startswith("RESULT ") for line in lines):
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit("the comparison run failed")
    result: dict[str, Any] = json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])
    return result


def close_in_child(day: dt.date, *, sqlite: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", MODULE, "--close", day.isoformat(), *(["--sqlite"] if sqlite else [])]
    env = {**os.environ, "BENCH_REUSE": "1"}  # the child works on this database, not a fresh one
    out = subprocess.run(command, env=env, cwd=harness.ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit("the close of business failed")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def close_in_this_process(day: dt.date) -> int:
    from debt_collections.close_of_business import close_business_day

    began = time.perf_counter()
    run = close_business_day(business_date=day)
    seconds = time.perf_counter() - began
    helpers_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest helper
    print(json.dumps({"seconds": seconds, "peak_mb": harness.peak_memory_mb(), "helper_peak_mb": helpers_mb,
                      "counts": run.counts if run else {}}))
    return 0


def check(*, due: list[int], sampled: int, aged: int, day: dt.date) -> list[str]:
    from django.db.models import Count, Sum

    from loans.models import COMPONENTS, EntryKind, Installment, JournalEntry, Loan

    wrong = []
    if aged + sampled != len(due):
        wrong.append(f"{aged:,} + {sampled:,} loans aged, {len(due):,} were due")
    if Loan.objects.filter(status="active", pk__in=due).exclude(aged_through=day).exists():
        wrong.append("a loan due for ageing was not aged")
    twice = (JournalEntry.objects.filter(kind=EntryKind.ACCRUAL, business_date=day)
             .values("loan_id").annotate(n=Count("id")).filter(n__gt=1))
    if twice.exists():
        wrong.append("a loan accrued twice")
    journal = JournalEntry.objects.aggregate(**{c: Sum(c) for c in COMPONENTS})
    for c in COMPONENTS:
        owed = Installment.objects.exclude(status="superseded").aggregate(
            s=Sum(f"{c}_due") - Sum(f"{c}_paid") - Sum(f"{c}_waived") - Sum(f"{c}_written_off"))["s"]
        if Decimal(journal[c] or 0).quantize(Decimal("0.01")) != Decimal(owed or 0).quantize(Decimal("0.01")):
            wrong.append(f"journal and bills disagree on {c}: {journal[c]} vs {owed}")
    return wrong


if __name__ == "__main__":
    sys.exit(main())
