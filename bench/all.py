"""Every benchmark of docs/PERFORMANCE.md, in order, on one PostgreSQL: the figures of that page.

    .venv/bin/python -m bench.all [--loans 1000000] [--compare 100000] [--sample 10000]
    make bench

Starts a throwaway PostgreSQL (unless DATABASE_URL names a server), then runs, each as its own
process: the close of business (which seeds the big book and leaves it as of today), the pages
through the test client and under gunicorn on that book, then payments and notices on
databases of their own, and the least a letter could cost WeasyPrint (no database). Prints
everything and keeps a copy in var/bench-<time>.txt. Exits non-zero when any script found a
wrong result.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

from bench import harness


def main() -> int:
    parser = harness.arguments(__doc__)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--compare", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=10_000)
    args = parser.parse_args()
    if args.sqlite:
        raise SystemExit("bench.all measures PostgreSQL; run the scripts one by one with --sqlite")
    harness.setup("bench.all", sqlite=False)
    from django.db import connection

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    runs: list[tuple[str, list[str]]] = [
        ("bench_book", ["bench.close_of_business", "--loans", str(args.loans), "--compare", str(args.compare),
                        "--sample", str(args.sample)]),
        ("bench_book", ["bench.pages", "--loans", str(args.loans)]),
        ("bench_book", ["bench.pages_load", "--loans", str(args.loans)]),
        ("bench_payments", ["bench.payments"]),
        ("bench_notices", ["bench.notices_render"]),
        ("bench_notices", ["bench.notices_floor"]),  # no database: WeasyPrint alone
    ]
    harness.ROOT.joinpath("var").mkdir(exist_ok=True)
    report = harness.ROOT / "var" / f"bench-{dt.datetime.now():%Y%m%d-%H%M}.txt"
    failed = []
    with report.open("w") as out, connection.cursor() as cursor:
        for database in sorted({db for db, _ in runs}):
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if database != "bench_book" or cursor.fetchone() is None:  # a book seeded ahead is kept
                cursor.execute(f'DROP DATABASE IF EXISTS "{database}"')
                cursor.execute(f'CREATE DATABASE "{database}"')
        for database, command in runs:
            title = f"=== {' '.join(command)} ({database}) ==="
            print(title, flush=True)
            out.write(title + "\n")
            began = time.perf_counter()
            child = subprocess.Popen([sys.executable, "-m", *command], cwd=harness.ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env={**os.environ, "DATABASE_URL": f"{base}/{database}"})
            assert child.stdout is not None
            for line in child.stdout:
                sys.stdout.write(line)
                out.write(line)
            if child.wait() != 0:
                failed.append(command[0])
            footer = f"--- {command[0]}: exit {child.returncode} after {time.perf_counter() - began:.0f} s\n\n"
            print(footer, flush=True)
            out.write(footer)
    print(f"figures kept in {report}")
    if failed:
        print(f"WRONG results in: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
