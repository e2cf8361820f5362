"""The agents' case queue with many open cases: queries and time of a first page, and its plan.

    .venv/bin/python -m bench.case_queue [--cases 100000] [--sqlite]

Prints, for each queue (all open, mine, unassigned, one stage), the number of queries of its
first page in the admin, the time it took, and the query plan of the page's SELECT. Exits
non-zero only when a page is wrong (not 200, or a query count that depends on the queue), never
because the machine was slow. Its cases are bare rows made for this script; `bench.pages`
measures the queue on a seeded book.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from decimal import Decimal

from bench import harness


def main() -> int:
    parser = harness.arguments(__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    # DEBUG on: the admin's static files are served from the finders, no collectstatic needed.
    harness.setup("bench.case_queue", sqlite=args.sqlite, debug=True)

    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from debt_collections.models import Case
    from debt_collections.priority import case_priority_expression
    from loans import services
    from loans.models import Loan, Product
    from portal.models import User
    from portal.roles import AGENT, SUPERVISOR

    product, _ = Product.objects.get_or_create(
        code="bench-12",
        defaults={
            "name": "Bench 12",
            "annual_rate": Decimal("0.18"),
            "repayment_method": "equal_installment",
            "term_months": 12,
        },
    )
    borrower = services.borrower_register(
        mobile="13700000001", real_name="基准", national_id="110101198001010053", password=None
    )
    supervisor = User.objects.create_user("bench-supervisor", password="x", is_staff=True)
    supervisor.groups.add(Group.objects.get(name=SUPERVISOR))
    agents = [
        User.objects.create_user(f"bench-agent-{i}", password="x", is_staff=True) for i in range(20)
    ]
    for agent in agents:
        agent.groups.add(Group.objects.get(name=AGENT))

    began = time.perf_counter()
    chunk = 5000
    for first in range(0, args.cases, chunk):
        count = min(chunk, args.cases - first)
        loans = Loan.objects.bulk_create(
            Loan(
                reference=f"BQ{first + i:09d}",
                borrower=borrower,
                product=product,
                principal=Decimal("10000.00"),
                annual_rate=product.annual_rate,
                penalty_rate=product.penalty_rate,
                repayment_method=product.repayment_method,
                term_months=12,
                grace_days=3,
                disbursed_on=dt.date(2025, 12, 1),
                days_past_due=30 + (first + i) % 200,
                stage=services.stage_for(30 + (first + i) % 200),
            )
            for i in range(count)
        )
        Case.objects.bulk_create(
            Case(
                loan=loan,
                borrower=borrower,
                stage=loan.stage,
                days_past_due=loan.days_past_due,
                overdue_amount=Decimal((first + i) * 7919 % 50000) + Decimal("0.50"),
                outstanding_amount=Decimal("10000.00"),
                opened_on=dt.date(2026, 1, 1),
                assigned_to=agents[(first + i) % 40] if (first + i) % 40 < 20 else None,
            )
            for i, loan in enumerate(loans)
        )
    Case.objects.update(priority=case_priority_expression())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"database: {connection.vendor}, open cases: {Case.objects.count()} "
        f"(built in {time.perf_counter() - began:.0f} s)"
    )

    client = Client()
    client.force_login(supervisor)
    wrong = []
    counts = set()
    for label, params in [
        ("all open", {}),
        ("mine (agent 0)", {"queue": "mine"}),
        ("unassigned", {"queue": "unassigned"}),
        ("team: non-performing", {"queue": "stage-non_performing"}),
        (
            "unassigned, 60-89 days, ¥5,000-¥20,000",
            {"queue": "unassigned", "dpd": "60-90", "amount": "5000-20000"},
        ),
    ]:
        if label.startswith("mine"):
            client.force_login(agents[0])
        else:
            client.force_login(supervisor)
        client.get(reverse("admin:collections_case_changelist"), params)  # warm up
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(reverse("admin:collections_case_changelist"), params)
            elapsed = time.perf_counter() - start
        if response.status_code != 200:
            wrong.append(f"{label}: status {response.status_code}")
            continue
        counts.add(len(queries))
        # The page's SELECT: the widest query on cases (the count and the filters' are narrower).
        page_sql = max((q["sql"] for q in queries.captured_queries if "collections_case" in q["sql"]), key=len)
        with connection.cursor() as cursor:
            cursor.execute(
                ("EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN ")
                + page_sql
            )
            plan = [" ".join(str(part) for part in row) for row in cursor.fetchall()]
        print(f"\n{label}: {len(queries)} queries, {elapsed * 1000:.0f} ms")
        for line in plan[:8]:
            print(f"    {line}")
    if len(counts) != 1:
        wrong.append(f"query counts differ between queues: {sorted(counts)}")
    for line in wrong:
        print(f"WRONG: {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
