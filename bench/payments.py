"""Payment posting rate through `loans.services.payment_post`, and its exactness.

    .venv/bin/python -m bench.payments [--loans 200] [--payments 2000]
    scripts/with-postgres.sh .venv/bin/python -m bench.payments

Prints payments per second. Exits non-zero only when a result is wrong (journal and bills
disagree, a payment lost), never because the machine was slow. Uses a scratch database:
the SQLite file var/bench.sqlite3, or the database of DATABASE_URL (which it migrates).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=200)
    parser.add_argument("--payments", type=int, default=2000)
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

    from loans import services
    from loans.models import Installment, JournalEntry, Loan, Payment, Product
    from portal.money import ZERO

    call_command("migrate", verbosity=0)
    product, _ = Product.objects.get_or_create(
        code="bench-12", defaults={"name": "Bench 12", "annual_rate": Decimal("0.18"),
                                   "repayment_method": "equal_installment", "term_months": 12},
    )
    borrower = services.borrower_register(
        mobile="13700000000", real_name="基准", national_id="110101198001010010", password=None
    )
    start_date = dt.date(2026, 1, 15)
    loan_ids = [
        services.loan_disburse(borrower_id=borrower.pk, product_id=product.pk,
                               principal=Decimal("50000.00"), disbursed_on=start_date).pk
        for _ in range(args.loans)
    ]
    paid_on = dt.date(2026, 2, 10)
    began = time.perf_counter()
    for n in range(args.payments):
        services.payment_post(
            loan_id=loan_ids[n % len(loan_ids)], amount=Decimal("10.00"), channel="app",
            idempotency_key=f"bench-{n}", actor=None, business_date=paid_on,
        )
    elapsed = time.perf_counter() - began

    posted = Payment.objects.count()
    journal = JournalEntry.objects.aggregate(p=Sum("principal"), i=Sum("interest"))
    bills = Installment.objects.aggregate(
        p=Sum("principal_due") - Sum("principal_paid") - Sum("principal_waived"),
        i=Sum("interest_due") - Sum("interest_paid") - Sum("interest_waived"),
    )
    wrong = []
    if posted != args.payments:
        wrong.append(f"{posted} payments posted, {args.payments} sent")
    for part in ("p", "i"):
        if Decimal(journal[part] or ZERO).quantize(Decimal("0.01")) != Decimal(bills[part] or ZERO).quantize(Decimal("0.01")):
            wrong.append(f"journal and bills disagree: {journal} vs {bills}")
    total_paid = Decimal(Payment.objects.aggregate(s=Sum("amount"))["s"]).quantize(Decimal("0.01"))
    if total_paid != Decimal("10.00") * args.payments:
        wrong.append(f"payments add up to {total_paid}")

    print(f"database: {connection.vendor}")
    print(f"loans: {Loan.objects.count()}, payments: {args.payments}")
    print(f"posting: {args.payments / elapsed:.0f} payments/s ({elapsed * 1000 / args.payments:.2f} ms each)")
    for line in wrong:
        print(f"WRONG: {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
