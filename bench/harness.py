"""What every benchmark script shares: its database, Django, a seeded portfolio, and figures.

A script calls `setup(module, sqlite=...)` before it imports anything of Django. Without
`DATABASE_URL` (and without `--sqlite`) the script runs itself again under
`scripts/with-postgres.sh`, which starts a throwaway PostgreSQL cluster and removes it
afterwards; with `DATABASE_URL` it uses that database; with `--sqlite` a scratch file of its own,
`var/<script>.sqlite3`, made anew.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def arguments(doc: str | None) -> argparse.ArgumentParser:
    """A parser with the options every script takes."""
    parser = argparse.ArgumentParser(
        description=(doc or "").split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Without DATABASE_URL a throwaway PostgreSQL is started for the run.",
    )
    parser.add_argument("--sqlite", action="store_true", help="use a scratch SQLite file instead of PostgreSQL")
    return parser


def setup(module: str, *, sqlite: bool, debug: bool = False) -> None:
    """Point Django at the benchmark's database and set it up (migrated)."""
    if not sqlite and not os.environ.get("DATABASE_URL"):
        wrapper = str(ROOT / "scripts" / "with-postgres.sh")
        sys.stdout.flush()
        os.execv(wrapper, [wrapper, sys.executable, "-m", module, *sys.argv[1:]])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    # No per-query logging while measuring, unless the script serves the admin's static files.
    os.environ.setdefault("DJANGO_DEBUG", "true" if debug else "false")
    if sqlite:
        # BENCH_SQLITE names another scratch file; BENCH_REUSE=1 keeps it (a script's child process).
        os.environ.pop("DATABASE_URL", None)
        # One file a script: two scripts at once must not replace each other's database.
        scratch = Path(os.environ.get("BENCH_SQLITE", ROOT / "var" / f"{module.rsplit('.', 1)[-1]}.sqlite3"))
        scratch.parent.mkdir(exist_ok=True)
        if os.environ.get("BENCH_REUSE") != "1":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{scratch}{suffix}").unlink(missing_ok=True)
        os.environ["PORTAL_SQLITE_PATH"] = str(scratch)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 for p95) of the samples."""
    ordered = sorted(samples)
    rank = max(1, round(share * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def describe(samples_ms: Sequence[float]) -> str:
    return f"median {statistics.median(samples_ms):7.1f} ms   p95 {percentile(samples_ms, 0.95):7.1f} ms"


def peak_memory_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seeded(loans: int) -> int:
    """Seed the demo (staff, personas and a portfolio of `loans` loans, as of today) into an
    empty database; a database seeded before with at least as many loans is used as it is.
    Returns the number of loans."""
    import time

    from django.core.management import call_command

    from loans.models import Loan

    count = Loan.objects.count()
    if count == 0:
        began = time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command("seed_demo", loans=loans, stdout=quiet)
        count = Loan.objects.count()
        print(f"seeded {count:,} loans in {time.perf_counter() - began:.0f} s")
    elif count < loans:
        raise SystemExit(f"the database holds {count:,} loans, fewer than {loans:,}: use an empty one")
    else:
        print(f"using the {count:,} loans already in the database")
    return count
