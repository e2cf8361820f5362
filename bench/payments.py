"""Payments through `loans.services.payment_post`: the posting rate, and exact books under
concurrent posters.

    .venv/bin/python -m bench.payments [--loans 200] [--payments 2000] [--posters 8] [--seconds 30]
    DATABASE_URL=postgres://…/somedb .venv/bin/python -m bench.payments
    .venv/bin/python -m bench.payments --sqlite

1. Sequential: --payments payments of random amounts, one after another, spread over --loans
   fresh loans. Prints payments per second and the median and p95 of one payment.
   Parallel: as many payments again by --parallel threads (default 2, one a core), each with its
   own connection and its own share of --loans other fresh loans: the rate when every core works.
2. Concurrent: --posters threads, each with its own database connection, post to the same
   --shared-loans fresh loans for --seconds: random amounts, now and then exactly the payoff
   (read without a lock, so it may be stale by the time it posts), and --retries of the
   requests resend one already sent (by any poster, perhaps still in flight): the same
   idempotency key, loan and amount, which must never post twice. A refusal because the loan is
   settled meanwhile, or because the amount is now above the payoff, is fine and is counted.

Then checks, from the database: every accepted payment is there exactly once, under its key and
for its amount, and nothing was posted that no caller was told about; every call for one key
got the same payment (one "posted", the rest "replayed") or all were refused; refusals were
right (the loan is settled, or the amount is above what settles it); no other error reached a
poster (a deadlock, a lock timeout, an integrity error); and the books of every loan add up
(loans/books.py: journal = bills per part, nothing negative, payments = allocations, one journal
entry and one audit event per payment).

Exits non-zero only when a result is wrong, never because the machine was slow. Each run makes
its own borrower and loans, so a database used before is fine (without DATABASE_URL a throwaway
PostgreSQL is started; --sqlite uses a scratch file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bench.harness import arguments, describe, setup

DISBURSED_ON = dt.date(2026, 1, 15)
PAID_ON = dt.date(2026, 2, 10)  # inside the first period: nothing overdue, nothing accrues
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Request:
    key: str
    loan_id: int
    amount: Decimal


@dataclass(frozen=True)
class Outcome:
    request: Request
    result: str  # "posted", "replayed", "settled" (refused: loan not active), "above payoff", "error"
    payment_id: int | None
    seconds: float
    error: str = ""


def main() -> int:
    parser = arguments(__doc__)
    parser.add_argument("--loans", type=int, default=200, help="loans of the sequential part")
    parser.add_argument("--payments", type=int, default=2000, help="payments of the sequential part")
    parser.add_argument("--parallel", type=int, default=2,
                        help="posters (threads) on loans of their own, after the sequential part (1: skip)")
    parser.add_argument("--posters", type=int, default=8, help="concurrent posters (threads)")
    parser.add_argument("--shared-loans", type=int, default=100, help="loans the posters share")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the posters post (0: skip)")
    parser.add_argument("--retries", type=float, default=0.1, help="share of requests that resend one already sent")
    parser.add_argument("--payoffs", type=float, default=0.002, help="share of requests that pay the payoff")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    setup("bench.payments", sqlite=args.sqlite)

    from django.db import connection

    run = start_run()
    print(f"database: {connection.vendor}; run {run.tag}")
    wrong: list[str] = []

    loans = run.disburse(args.loans, random.Random(args.seed), low=20_000, high=50_000)
    wrong += sequential(run, loans, args.payments, random.Random(args.seed + 1))
    if args.parallel > 1:
        own = run.disburse(args.loans, random.Random(args.seed + 3), low=20_000, high=50_000)
        wrong += parallel(run, own, args.payments, args.parallel, random.Random(args.seed + 4))

    if args.seconds > 0:
        shared = run.disburse(args.shared_loans, random.Random(args.seed + 2), low=20_000, high=50_000)
        wrong += concurrent(run, shared, args)

    for line in wrong:
        print(f"WRONG: {line}")
    print("result: " + (f"{len(wrong)} problem(s)" if wrong else "the books add up"))
    return 1 if wrong else 0


# --- Setting up: one borrower and fresh loans per run -------------------------------------------


class Run:
    def __init__(self, tag: str, borrower_id: int, product_id: int) -> None:
        self.tag, self.borrower_id, self.product_id = tag, borrower_id, product_id

    def disburse(self, count: int, rng: random.Random, *, low: int, high: int) -> list[int]:
        from loans import services

        began = time.perf_counter()
        ids = [
            services.loan_disburse(
                borrower_id=self.borrower_id, product_id=self.product_id,
                principal=Decimal(rng.randrange(low, high, 100)), disbursed_on=DISBURSED_ON,
            ).pk
            for _ in range(count)
        ]
        print(f"disbursed {count} loans in {time.perf_counter() - began:.1f} s")
        return ids


def start_run() -> Run:
    """A borrower of its own (the n-th bench borrower of this database) and the bench product."""
    from stdnum.cn import ric

    from loans import services
    from loans.models import Borrower, Product

    product, _ = Product.objects.get_or_create(
        code="bench-12", defaults={"name": "Bench 12", "annual_rate": Decimal("0.18"),
                                   "repayment_method": "equal_installment", "term_months": 12},
    )
    n = Borrower.objects.filter(mobile__startswith="1370").count()
    while True:
        mobile = f"1370{n:07d}"
        born = dt.date(1960, 1, 1) + dt.timedelta(days=n)
        stem = f"110101{born:%Y%m%d}{n % 1000:03d}"
        national_id = stem + ric.calc_check_digit(stem + "0")  # it reads the first 17 digits
        if not Borrower.objects.filter(mobile=mobile).exists() and not Borrower.objects.filter(
            national_id=national_id
        ).exists():
            break
        n += 1
    borrower = services.borrower_register(
        mobile=mobile, real_name="基准", national_id=national_id, password=None
    )
    return Run(f"b{n}", borrower.pk, product.pk)


def backend_cpu_seconds() -> float | None:
    """CPU seconds the PostgreSQL server process of this connection has used (read from /proc,
    so only for a server on this machine); None when it cannot be read."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def random_amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(1, 30_000)) * CENT  # ¥0.01 to ¥300.00


# --- Part 1: one after another -----------------------------------------------------------------


def sequential(run: Run, loan_ids: list[int], count: int, rng: random.Random) -> list[str]:

    from loans import services

    amounts = [random_amount(rng) for _ in range(count)]
    timings = []
    database_cpu = backend_cpu_seconds()
    cpu = time.process_time()
    began = time.perf_counter()
    for n, amount in enumerate(amounts):
        start = time.perf_counter()
        services.payment_post(
            loan_id=loan_ids[n % len(loan_ids)], amount=amount, channel="app",
            idempotency_key=f"{run.tag}-seq-{n}", actor=None, business_date=PAID_ON,
        )
        timings.append((time.perf_counter() - start) * 1000)
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    print(f"sequential: {count} payments on {len(loan_ids)} loans in {elapsed:.1f} s: "
          f"{count / elapsed:.0f} payments/s   {describe(timings)}")
    # CPU time per payment hardly depends on what else the machine runs, unlike the rate.
    spent = f"  cpu per payment: {cpu * 1000 / count:.2f} ms in Python"
    if database_cpu is not None and (after := backend_cpu_seconds()) is not None:
        spent += f", {(after - database_cpu) * 1000 / count:.2f} ms in the database server"
    print(spent)

    return [f"sequential: {line}" for line in posted_problems(loan_ids, amounts)]


def posted_problems(loan_ids: list[int], amounts: list[Decimal]) -> list[str]:
    """What is wrong after every one of `amounts` was posted once to these (fresh) loans: as many
    payments in the database, adding up to the same, and books that add up."""
    from django.db.models import Count, Sum

    from loans.books import books_problems
    from loans.models import Payment

    wrong = []
    found = Payment.objects.filter(loan_id__in=loan_ids).aggregate(n=Count("id"), s=Sum("amount"))
    if found["n"] != len(amounts):
        wrong.append(f"{found['n']} payments in the database, {len(amounts)} posted")
    total = Decimal(found["s"] or 0).quantize(CENT)
    if total != sum(amounts, Decimal(0)):
        wrong.append(f"payments add up to {total}, {sum(amounts, Decimal(0))} were sent")
    return wrong + books_problems(loan_ids=loan_ids)


def parallel(run: Run, loan_ids: list[int], count: int, posters: int, rng: random.Random) -> list[str]:
    """The same work split between `posters` threads, each with its own connection and its own
    loans: what the service posts when the machine's cores are all in use (a web or task process
    per core) and no two payments wait for one loan."""
    from django.db import connection

    from loans import services

    amounts = [random_amount(rng) for _ in range(count)]
    errors: list[str] = []
    barrier = threading.Barrier(posters + 1)

    def poster(index: int) -> None:
        mine = loan_ids[index::posters]
        try:
            barrier.wait()
            for n in range(index, count, posters):
                services.payment_post(
                    loan_id=mine[(n // posters) % len(mine)], amount=amounts[n], channel="app",
                    idempotency_key=f"{run.tag}-par-{n}", actor=None, business_date=PAID_ON,
                )
        except Exception as error:  # noqa: BLE001 - reported as a wrong result
            errors.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=poster, args=(i,), name=f"parallel-{i}") for i in range(posters)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    print(f"parallel: {count} payments by {posters} posters, each on its own {len(loan_ids) // posters} loans, "
          f"in {elapsed:.1f} s: {count / elapsed:.0f} payments/s")
    return [f"parallel: {line}" for line in [*errors[:10], *posted_problems(loan_ids, amounts)]]


# --- Part 2: concurrent posters -----------------------------------------------------------------


def concurrent(run: Run, loan_ids: list[int], args: argparse.Namespace) -> list[str]:
    from django.db import connection

    from loans import services
    from loans.allocation import payoff_quote
    from loans.models import Installment
    from portal.errors import InvalidAmount, NotAllowed

    posters: int = args.posters
    seconds: float = args.seconds
    sent: list[Request] = []  # every request made, for others to resend
    sent_lock = threading.Lock()
    outcomes: list[list[Outcome]] = [[] for _ in range(posters)]
    barrier = threading.Barrier(posters + 1)
    deadline = [0.0]

    def poster(index: int) -> None:
        rng = random.Random(args.seed * 1000 + index)
        mine = outcomes[index]
        made = 0
        try:
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                if sent and rng.random() < args.retries:
                    with sent_lock:
                        request = rng.choice(sent[-50:])  # recent: perhaps still in flight elsewhere
                else:
                    loan_id = rng.choice(loan_ids)
                    if rng.random() < args.payoffs:
                        bills = list(Installment.objects.filter(loan_id=loan_id))
                        amount = payoff_quote(bills, PAID_ON).amount
                    else:
                        amount = random_amount(rng)
                    if amount <= 0:
                        continue
                    request = Request(f"{run.tag}-p{index}-{made}", loan_id, amount)
                    made += 1
                    with sent_lock:
                        sent.append(request)
                start = time.perf_counter()
                try:
                    result = services.payment_post(
                        loan_id=request.loan_id, amount=request.amount, channel="app",
                        idempotency_key=request.key, actor=None, business_date=PAID_ON,
                    )
                    outcome = Outcome(request, "replayed" if result.replayed else "posted", result.payment.pk,
                                      time.perf_counter() - start)
                except NotAllowed as refused:
                    outcome = Outcome(request, "settled", None, time.perf_counter() - start, str(refused))
                except InvalidAmount as refused:
                    outcome = Outcome(request, "above payoff", None, time.perf_counter() - start, str(refused))
                except Exception as error:  # noqa: BLE001 - every other error is a wrong result
                    outcome = Outcome(request, "error", None, time.perf_counter() - start,
                                      f"{type(error).__name__}: {error}")
                mine.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=poster, args=(i,), name=f"poster-{i}") for i in range(posters)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began

    everything = [o for mine in outcomes for o in mine]
    counts = Counter(o.result for o in everything)
    print(f"concurrent: {posters} posters on {len(loan_ids)} loans for {elapsed:.1f} s: "
          f"{counts['posted'] / elapsed:.0f} payments/s posted, {len(everything) / elapsed:.0f} calls/s   "
          f"{describe([o.seconds * 1000 for o in everything])}")
    print(
        "  calls: " + ", ".join(f"{counts[k]} {k}" for k in ("posted", "replayed", "settled", "above payoff", "error"))
    )
    return check_concurrent(loan_ids, everything)


def check_concurrent(loan_ids: list[int], everything: list[Outcome]) -> list[str]:
    from loans.allocation import payoff_quote
    from loans.books import books_problems
    from loans.models import Installment, Loan, LoanStatus, Payment

    wrong: list[str] = []
    errors = [o for o in everything if o.result == "error"]
    for o in errors[:10]:
        wrong.append(f"concurrent: {o.request.key} on loan {o.request.loan_id}: {o.error}")
    if len(errors) > 10:
        wrong.append(f"concurrent: {len(errors) - 10} more errors")

    by_key: dict[str, list[Outcome]] = defaultdict(list)
    for o in everything:
        by_key[o.request.key].append(o)
    in_db = {
        key: (pk, loan_id, amount)
        for key, pk, loan_id, amount in Payment.objects.filter(loan_id__in=loan_ids).values_list(
            "idempotency_key", "id", "loan_id", "amount"
        )
    }
    if len(in_db) != Payment.objects.filter(loan_id__in=loan_ids).count():
        wrong.append("concurrent: one idempotency key holds two payments")
    status = dict(Loan.objects.filter(pk__in=loan_ids).values_list("id", "status"))
    bills: dict[int, list[Installment]] = defaultdict(list)
    for bill in Installment.objects.filter(loan_id__in=loan_ids):
        bills[bill.loan_id].append(bill)
    payoff = {loan_id: payoff_quote(bills[loan_id], PAID_ON).amount for loan_id in loan_ids}

    for key, calls in by_key.items():
        request = calls[0].request
        accepted = [o for o in calls if o.result in ("posted", "replayed")]
        refused = [o for o in calls if o.result in ("settled", "above payoff")]
        stored = in_db.get(key)
        if accepted:
            ids = {o.payment_id for o in accepted if o.payment_id is not None}
            if sum(o.result == "posted" for o in accepted) != 1 or len(ids) != 1:
                wrong.append(f"concurrent: {key}: {Counter(o.result for o in calls)}, payments {sorted(ids)}")
            elif stored is None or stored[0] not in ids:
                wrong.append(f"concurrent: {key}: accepted as payment {ids}, the database holds {stored}")
            elif (stored[1], stored[2]) != (request.loan_id, request.amount):
                wrong.append(f"concurrent: {key}: sent {request.amount} to loan {request.loan_id}, stored {stored}")
            if refused:
                wrong.append(f"concurrent: {key}: accepted and also refused ({Counter(o.result for o in calls)})")
        elif stored is not None and not any(o.result == "error" for o in calls):
            wrong.append(f"concurrent: {key}: payment {stored[0]} is posted but every call was refused")
        for o in refused:  # settled stays settled and the payoff only falls: a refusal still holds
            if o.result == "settled" and status[request.loan_id] != LoanStatus.SETTLED:
                wrong.append(f"concurrent: {key}: refused as settled, the loan is {status[request.loan_id]}")
            if o.result == "above payoff" and not (
                status[request.loan_id] == LoanStatus.SETTLED or request.amount > payoff[request.loan_id]
            ):
                wrong.append(f"concurrent: {key}: {request.amount} refused as above the payoff "
                             f"{payoff[request.loan_id]}")
    unknown = set(in_db) - set(by_key)
    if unknown:
        wrong.append(f"concurrent: {len(unknown)} payments posted under keys nobody sent")
    settled = sum(1 for s in status.values() if s == LoanStatus.SETTLED)
    print(f"  {len(in_db)} payments in the database for {len(by_key)} keys; {settled} of {len(loan_ids)} loans settled")
    wrong += [f"concurrent: {line}" for line in books_problems(loan_ids=loan_ids)]
    return wrong[:50]


if __name__ == "__main__":
    sys.exit(main())
