"""The borrowers' and the agents' pages on a seeded portfolio: time and queries of each page.

    .venv/bin/python -m bench.pages [--loans 1000000] [--cases 100000] [--requests 200]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.pages --loans 20000

Seeds the demo (`seed_demo --loans N`, as of today) into an empty database, or uses a database
seeded before as it is. Then adds, once (a second run finds them again by their references):

- borrower 13800000700 with the loan BENCH-J700, disbursed 745 days ago and aged one date at a
  time through `loan_age` since, with ¥100 paid every 30 days (over 700 journal entries: daily
  penalty accruals and repayments), its open case (opened by `cases_sync`, as the close of
  business does), and the loan BENCH-J1, disbursed 20 days ago with one payment (two journal entries);
- open cases up to --cases when the portfolio has fewer (a 1M-loan portfolio has about 80,000):
  borrowers with one loan each (BP000000000…, 30 to 229 days past due), its overdue bill, its
  disbursement entry and its open case (bulk inserts, as bench/case_queue.py does; the close of
  business would have made the same), every other one assigned to an agent in turn.

Each page is requested through Django's test client in this process (middleware, sessions,
templates: everything but the network), a few times to warm up, then --requests times, timed
one by one; the query count is that of one more request. Pages: a persona borrower's
dashboard (13800000003, 45 days overdue), the loan page of BENCH-J700, the agents' queue (the
first page of every open case in the admin, as a supervisor), the admin's page of BENCH-J700's
case, and the supervisors' monitoring dashboard: as supervisors get it, its figures kept by the
background refresh (schedule "dashboard-refresh"), and with its figures computed (the cache
emptied before each of --cold-requests requests), which is what the refresh does every few
minutes and what a request with other filters costs once; then one refresh, timed.

Prints median and p95 per page in milliseconds, the median CPU time of this process (Python's
share; the rest is waiting for the database, or for a core on a busy machine) and the page's
number of queries. Exits non-zero only when a page is wrong: not 200, or a query count that
differs from the same page's for another object that must cost the same (the dashboard of
borrower 13800000700 with the 700-entry loan, the loan page of BENCH-J1, the queue of
unassigned cases, the page of DEMO-DPD45's case, the monitoring dashboard for one segment),
never because the machine was slow.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bench.harness import arguments, describe, seeded, setup

REFRESH_MINUTES = 5  # reporting.dashboard.REFRESH_MINUTES, not imported before Django is set up

J700 = "BENCH-J700"
J1 = "BENCH-J1"
J700_MOBILE = "13800000700"
BENCH_CASES = "BP"  # reference prefix of the loans added for the queue
BENCH_ORDINALS = 100_000_000  # demo.portfolio_identity of the borrowers added for the queue


@dataclass
class Page:
    label: str
    url: str
    user: Any
    params: dict[str, str]
    # The same page for another object of the same cost: its query count must be the same.
    twin: tuple[str, str, Any, dict[str, str]] | None = None
    before_each: Callable[[], None] | None = None  # outside the timing
    cold: bool = False  # measured --cold-requests times (its cache emptied each time)

    def prepare(self) -> None:
        if self.before_each is not None:
            self.before_each()


def main() -> int:
    parser = arguments(__doc__)
    add_data_arguments(parser)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--cold-requests", type=int, default=10,
                        help="timed requests of the monitoring dashboard with its cache emptied (default 10)")
    parser.add_argument("--warm-up", type=int, default=5, help="untimed requests per page first (default 5)")
    parser.add_argument("--slowest", action="store_true", help="print each page's slowest query")
    args = parser.parse_args()
    setup("bench.pages", sqlite=args.sqlite)

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    prepare(loans=args.loans, cases=args.cases)
    client = Client()
    wrong: list[str] = []
    print(f"\n{'page':<34} {'requests':>8}   {'wall time':<33}   {'cpu':>7}   queries")
    for page in bench_pages():
        requests = args.cold_requests if page.cold else args.requests
        client.force_login(page.user)
        for _ in range(args.warm_up):
            page.prepare()
            client.get(page.url, page.params)
        samples, cpu = [], []
        statuses = set()
        for _ in range(requests):
            page.prepare()
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.get(page.url, page.params)
            samples.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - began_cpu) * 1000)
            statuses.add(response.status_code)
        count, slowest = count_queries(client, page, page.url, page.params, CaptureQueriesContext, connection)
        print(f"{page.label:<34} {requests:>8}   {describe(samples)}   {statistics.median(cpu):4.1f} ms   {count:>4}")
        if args.slowest and slowest:
            print(f"    slowest query {slowest[0] * 1000:.1f} ms: {slowest[1][:300]}")
        if statuses != {200}:
            wrong.append(f"{page.label}: status {sorted(statuses)}")
        if page.twin:
            label, url, user, params = page.twin
            client.force_login(user)
            page.prepare()
            status = client.get(url, params).status_code  # warm up
            twin_count, _slowest = count_queries(client, page, url, params, CaptureQueriesContext, connection)
            print(f"    {label}: {twin_count} queries")
            if status != 200:
                wrong.append(f"{page.label}, {label}: status {status}")
            if twin_count != count:
                wrong.append(f"{page.label}: {count} queries, but {twin_count} for {label}")
    print(f"\nthe dashboard's background refresh (every {REFRESH_MINUTES} minutes): {time_refresh():.2f} s")
    for line in wrong:
        print(f"WRONG: {line}")
    return 1 if wrong else 0


def time_refresh() -> float:
    """Seconds that one run of the schedule "dashboard-refresh" takes, nothing kept before it."""
    from django.core.cache import cache

    from reporting.tasks import refresh_dashboard

    cache.clear()
    began = time.perf_counter()
    refresh_dashboard()
    return time.perf_counter() - began


def add_data_arguments(parser: Any) -> None:
    parser.add_argument("--loans", type=int, default=1_000_000, help="portfolio size to seed (default 1,000,000)")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases in the agents' queue (default 100,000)")


def prepare(*, loans: int, cases: int) -> None:
    """The seeded portfolio, the bench's own loans and cases, static files' manifest, a vacuum."""
    from django.core.management import call_command
    from django.db import connection

    from debt_collections.models import Case, CaseStatus
    from loans.models import JournalEntry, Loan

    seeded(loans)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: the manifest names the files
    j700, _j1 = bench_loans()
    top_up_cases(cases)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As autovacuum leaves tables in service: pages are not timed against a vacuum of
            # the rows just added, and index-only scans find their pages all-visible.
            cursor.execute("VACUUM ANALYZE")
    open_cases = Case.objects.filter(status=CaseStatus.OPEN).count()
    entries = JournalEntry.objects.filter(loan=j700).count()
    print(f"database: {connection.vendor}; {Loan.objects.count():,} loans, {open_cases:,} open cases; "
          f"{J700}: {entries} journal entries")


def bench_pages() -> list[Page]:
    """The pages measured, each with its twin of the same cost."""
    from django.core.cache import cache
    from django.urls import reverse

    from debt_collections.models import Case, CaseStatus
    from loans.models import Borrower, JournalEntry, Loan, Segment
    from portal import demo_logins
    from portal.models import User

    j700 = Loan.objects.select_related("borrower__user").get(reference=J700)
    entries = JournalEntry.objects.filter(loan=j700).count()
    persona = Borrower.objects.select_related("user").get(mobile=demo_logins.DPD45_BORROWER).user
    bench_borrower = j700.borrower.user
    supervisor = User.objects.get(username="supervisor")
    j700_case = Case.objects.get(loan=j700, status=CaseStatus.OPEN)
    persona_case = Case.objects.get(loan__reference="DEMO-DPD45", status=CaseStatus.OPEN)
    queue = reverse("admin:collections_case_changelist")
    dashboard = reverse("admin:reporting_monitoringdashboard_changelist")
    segment = {"segment": Segment.SMALL_BUSINESS.value}
    return [
        Page("borrower dashboard", reverse("loans:dashboard"), persona, {},
             twin=("with the 700-entry loan", reverse("loans:dashboard"), bench_borrower, {})),
        Page(f"loan page ({entries} entries)", reverse("loans:loan", args=[J700]), bench_borrower, {},
             twin=(f"{J1} (2 entries)", reverse("loans:loan", args=[J1]), bench_borrower, {})),
        Page("agents' queue, first page", queue, supervisor, {},
             twin=("unassigned cases", queue, supervisor, {"queue": "unassigned"})),
        Page("case page", reverse("admin:collections_case_change", args=[j700_case.pk]), supervisor, {},
             twin=("DEMO-DPD45's case", reverse("admin:collections_case_change", args=[persona_case.pk]),
                   supervisor, {})),
        Page("monitoring dashboard", dashboard, supervisor, {},
             twin=("one segment", dashboard, supervisor, segment)),
        Page("monitoring dashboard, computing", dashboard, supervisor, {},
             twin=("one segment", dashboard, supervisor, segment), before_each=cache.clear, cold=True),
    ]


def count_queries(client: Any, page: Page, url: str, params: dict[str, str], capture: Any,
                  connection: Any) -> tuple[int, tuple[float, str] | None]:
    """The number of queries of one request, and its slowest query (seconds, SQL)."""
    page.prepare()
    with capture(connection) as queries:
        client.get(url, params)
    timed = [(float(q["time"]), q["sql"]) for q in queries.captured_queries]
    return len(queries), max(timed, default=None)


def bench_borrower(mobile: str, sequence: int) -> Any:
    from loans import demo, services
    from loans.models import Borrower

    found = Borrower.objects.filter(mobile=mobile).first()
    if found is not None:
        return found
    return services.borrower_register(
        mobile=mobile, real_name="基准测试", national_id=demo.national_id("110107", dt.date(1985, 5, 5), sequence),
        password=None,
    )


def bench_loans() -> tuple[Any, Any]:
    """BENCH-J700 (over 700 journal entries, with its open case) and BENCH-J1 (one payment), made once."""
    from django.db import transaction

    from debt_collections.services.case_sync import cases_sync
    from loans import demo, services
    from loans.models import Channel, Loan
    from portal.calendar import business_today

    today = business_today()
    yesterday = today - dt.timedelta(days=1)
    existing = {loan.reference: loan for loan in Loan.objects.filter(reference__in=[J700, J1])}
    if len(existing) == 2:
        return existing[J700], existing[J1]
    began = time.perf_counter()
    borrower = bench_borrower(J700_MOBILE, 701)
    product_id = demo.ensure_products()["classic-12"].product_id
    loan = services.loan_disburse(
        borrower_id=borrower.pk, product_id=product_id, principal=Decimal("20000.00"),
        disbursed_on=today - dt.timedelta(days=745), reference=J700,
    )
    day = loan.disbursed_on
    while day <= yesterday:
        if (day - loan.disbursed_on).days % 30 == 29:
            services.payment_post(
                loan_id=loan.pk, amount=Decimal("100.00"), channel=Channel.APP,
                idempotency_key=f"bench-j700-{day.isoformat()}", actor=None, business_date=day,
            )
        services.loan_age(loan_id=loan.pk, business_date=day)
        day += dt.timedelta(days=1)
    with transaction.atomic():
        cases_sync(loan_ids=[loan.pk], business_date=yesterday)
    small = services.loan_disburse(
        borrower_id=borrower.pk, product_id=product_id, principal=Decimal("5000.00"),
        disbursed_on=today - dt.timedelta(days=20), reference=J1,
    )
    for offset in range(20, 0, -1):
        services.loan_age(loan_id=small.pk, business_date=today - dt.timedelta(days=offset))
    # One payment, so both loan pages read a page of payments (a loan without any skips it).
    services.payment_post(
        loan_id=small.pk, amount=Decimal("50.00"), channel=Channel.APP,
        idempotency_key="bench-j1", actor=None, business_date=yesterday,
    )
    print(f"made {J700} and {J1} in {time.perf_counter() - began:.0f} s")
    loan.refresh_from_db()
    small.refresh_from_db()
    return loan, small


def top_up_cases(wanted: int) -> None:
    """Open cases up to `wanted`: borrowers with one loan, its overdue bill and its case, in bulk."""
    import random

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction

    from debt_collections.models import Case, CaseStatus
    from debt_collections.priority import case_priority_expression
    from loans import demo, services
    from loans.models import (
        Borrower,
        EntryKind,
        Installment,
        InstallmentStatus,
        JournalEntry,
        Loan,
        Product,
        RepaymentMethod,
    )
    from portal.calendar import business_today
    from portal.models import User
    from portal.roles import AGENT

    missing = wanted - Case.objects.filter(status=CaseStatus.OPEN).count()
    if missing <= 0:
        return
    began = time.perf_counter()
    today = business_today()
    product, _ = Product.objects.get_or_create(
        code="bench-1",
        defaults={"name": "Bench 1", "annual_rate": Decimal("0.18"),
                  "repayment_method": RepaymentMethod.EQUAL_INSTALLMENT, "term_months": 1},
    )
    agents = list(User.objects.filter(groups=Group.objects.get(name=AGENT), is_active=True).order_by("pk"))
    no_password = make_password(None)
    first = Loan.objects.filter(reference__startswith=BENCH_CASES).count()
    chunk = 5000
    for start in range(first, first + missing, chunk):
        numbers = range(start, min(start + chunk, first + missing))
        # Identities far past the seeded portfolio's ordinals: unique by construction too.
        who = [demo.portfolio_identity(BENCH_ORDINALS + n, random.Random(n)) for n in numbers]
        with transaction.atomic():
            users = User.objects.bulk_create(User(username=i.mobile, password=no_password) for i in who)
            borrowers = Borrower.objects.bulk_create(
                Borrower(user=user, real_name=i.real_name, national_id=i.national_id, mobile=i.mobile,
                         segment=i.segment, preferred_language=i.language)
                for user, i in zip(users, who, strict=True)
            )
            plans = []
            for n, borrower in zip(numbers, borrowers, strict=True):
                dpd = 30 + n % 200
                plans.append((n, borrower, dpd, today - dt.timedelta(days=dpd), Decimal(1000 + n * 7919 % 49000)))
            loans = Loan.objects.bulk_create(
                Loan(
                    reference=f"{BENCH_CASES}{n:09d}", borrower=borrower, product=product, principal=principal,
                    annual_rate=product.annual_rate, penalty_rate=product.penalty_rate,
                    repayment_method=product.repayment_method, term_months=1, grace_days=product.grace_days,
                    disbursed_on=due - dt.timedelta(days=30), stage=services.stage_for(dpd), days_past_due=dpd,
                    aged_through=today - dt.timedelta(days=1),
                )
                for n, borrower, dpd, due, principal in plans
            )
            interest = {loan.pk: (loan.principal * Decimal("0.015")).quantize(Decimal("0.01")) for loan in loans}
            Installment.objects.bulk_create(
                Installment(
                    loan=loan, number=1, due_date=due, status=InstallmentStatus.OVERDUE,
                    principal_due=loan.principal, interest_due=interest[loan.pk],
                    overdue_since=due + dt.timedelta(days=product.grace_days + 1),
                )
                for loan, (_n, _borrower, _dpd, due, _principal) in zip(loans, plans, strict=True)
            )
            JournalEntry.objects.bulk_create(
                JournalEntry(loan=loan, kind=EntryKind.DISBURSEMENT, business_date=loan.disbursed_on,
                             principal=loan.principal, interest=interest[loan.pk], memo="bench: one bill")
                for loan in loans
            )
            Case.objects.bulk_create(
                Case(
                    loan=loan, borrower=loan.borrower, stage=loan.stage, days_past_due=loan.days_past_due,
                    overdue_amount=loan.principal + interest[loan.pk],
                    outstanding_amount=loan.principal + interest[loan.pk], opened_on=today - dt.timedelta(days=1),
                    assigned_to=agents[n // 2 % len(agents)] if agents and n % 2 == 0 else None,
                    write_off_candidate=loan.stage == "write_off_candidate",
                )
                for loan, (n, *_rest) in zip(loans, plans, strict=True)
            )
            Case.objects.filter(loan__in=loans).update(priority=case_priority_expression())
    print(f"added {missing:,} open cases (borrowers with one loan each, {BENCH_CASES}…) "
          f"in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
