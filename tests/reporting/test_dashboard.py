"""Each dashboard figure against a small hand-built portfolio whose right answers are worked out
here; permissions per role; the page's query count with two data sizes; CSV downloads; caching."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from debt_collections.models import Case, CaseStatus, ContactLog, PromiseToPay
from loans import services
from loans.models import (
    Extension,
    Installment,
    JournalEntry,
    Loan,
    LoanStatus,
    Product,
    Stage,
    StageChange,
)
from reporting import dashboard
from reporting.dashboard import Filters
from reporting.models import CreditRecord, ReportingRun
from tests.debt_collections.factories import make_case

from .conftest import Borrowers, overdue_loan

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 3, 1)
FEB, MAY = dt.date(2026, 2, 1), dt.date(2026, 5, 1)
PERIOD = Filters(product_id=None, segment=None, first_month=FEB, last_month=MAY)


def figure(key: str, filters: Filters = PERIOD, today: dt.date = TODAY) -> dashboard.Figure:
    return dashboard.FIGURES[key](filters, today)


def rows_by_first(fig: dashboard.Figure) -> dict[Any, list[Any]]:
    return {row[0]: row[1:] for row in fig.rows}


def D(value: str) -> Decimal:  # noqa: N802
    return Decimal(value)


# --- Loans and balances per stage, overdue rate --------------------------------------------------


def set_stage(loan: Loan, stage: str, days: int) -> None:
    Loan.objects.filter(pk=loan.pk).update(stage=stage, days_past_due=days)


@pytest.fixture
def staged(borrowers: Borrowers, interest_free: Product) -> dict[str, Loan]:
    """Four active loans at 0 %, nothing paid (principal outstanding = amount lent), one settled."""
    loans = {
        "current": overdue_loan(borrowers(), interest_free, days=-10, principal="1200.00"),
        "reminder": overdue_loan(borrowers(), interest_free, days=5, principal="2400.00"),
        "collections": overdue_loan(borrowers(), interest_free, days=45, principal="3600.00"),
        "non_performing": overdue_loan(borrowers(), interest_free, days=100, principal="4800.00"),
        "settled": overdue_loan(borrowers(), interest_free, days=-10, principal="6000.00"),
    }
    for stage, days in (("reminder", 5), ("collections", 45), ("non_performing", 100)):
        set_stage(loans[stage], stage, days)
    Loan.objects.filter(pk=loans["settled"].pk).update(status=LoanStatus.SETTLED)
    return loans


def test_loans_and_balances_per_stage(staged):
    rows = rows_by_first(figure("stages"))
    label = {s.value: str(s.label) for s in Stage}
    # 4 active loans, ¥12,000 of principal; the settled loan is left out.
    assert rows[label["current"]] == [1, D("25.0"), D("1200.00"), D("10.0"), D("1200.00")]
    assert rows[label["reminder"]] == [1, D("25.0"), D("2400.00"), D("20.0"), D("2400.00")]
    assert rows[label["collections"]] == [1, D("25.0"), D("3600.00"), D("30.0"), D("3600.00")]
    assert rows[label["non_performing"]] == [1, D("25.0"), D("4800.00"), D("40.0"), D("4800.00")]
    assert rows[label["write_off_candidate"]] == [0, D("0.0"), D("0.00"), D("0.0"), D("0.00")]
    assert rows["Total"][:3] == [4, D("100.0"), D("12000.00")]


def test_overdue_rate_by_count_and_by_principal(staged):
    rows = figure("overdue_rate").rows
    # 1+ days: 3 of 4 loans, ¥10,800 of ¥12,000; 30+: 2 loans, ¥8,400; 90+: 1, ¥4,800; 180+: none.
    assert [r[1:] for r in rows] == [
        [3, D("75.0"), D("10800.00"), D("90.0")],
        [2, D("50.0"), D("8400.00"), D("70.0")],
        [1, D("25.0"), D("4800.00"), D("40.0")],
        [0, D("0.0"), D("0.00"), D("0.0")],
    ]


def test_stage_figures_follow_the_product_and_segment_filters(staged, product, borrowers):
    other = overdue_loan(borrowers(), product, days=5)
    set_stage(other, "reminder", 5)
    only_zero = Filters(product_id=staged["current"].product_id, segment=None, first_month=FEB, last_month=MAY)
    assert rows_by_first(figure("stages", only_zero))["Total"][0] == 4
    assert rows_by_first(figure("stages"))["Total"][0] == 5
    small_business = Filters(product_id=None, segment="small_business", first_month=FEB, last_month=MAY)
    assert rows_by_first(figure("stages", small_business))["Total"][0] == 0


# --- Roll rates ----------------------------------------------------------------------------------


def snapshot_rows(month: dt.date, moves: list[tuple[str, str, int]], product: Product, borrowers: Borrowers) -> None:
    run, _ = ReportingRun.objects.get_or_create(month=month, defaults={"reporting_date": month})
    for previous, state, count in moves:
        for _i in range(count):
            loan = services.loan_disburse(borrower_id=borrowers().pk, product_id=product.pk, principal="1000.00",
                                          disbursed_on=dt.date(2026, 1, 5))
            CreditRecord.objects.create(
                run=run, loan=loan, month=month, status="N", days_past_due=0, worst_days_past_due=0,
                overdue_installments=0, month_end_state=state, previous_state=previous, product=product,
                segment="individual",
            )


def test_roll_rates_month_on_month(product, borrowers):
    snapshot_rows(dt.date(2026, 4, 1), [
        ("current", "current", 4), ("current", "reminder", 1),
        ("reminder", "collections", 1), ("reminder", "current", 1),
        ("collections", "non_performing", 1), ("collections", "closed", 1), ("collections", "collections", 2),
        ("", "current", 3),  # new loans have no previous month: left out
    ], product, borrowers)
    snapshot_rows(dt.date(2026, 5, 1), [
        ("current", "current", 3), ("reminder", "reminder", 1),
        ("non_performing", "written_off", 1), ("non_performing", "write_off_candidate", 1),
    ], product, borrowers)
    fig = figure("roll_rates")
    rows = {(r[0], r[1]): r[2:] for r in fig.rows}
    label = {s.value: str(s.label) for s in Stage}
    # April: current 1 of 5 rolled forward (20 %), none cured; reminder 1 of 2 forward, 1 cured;
    # collections 1 of 4 forward (25 %), 1 cured (closed counts as cured).
    assert rows[("2026-04", label["current"])] == [5, 1, D("20.0"), 0, D("0.0")]
    assert rows[("2026-04", label["reminder"])] == [2, 1, D("50.0"), 1, D("50.0")]
    assert rows[("2026-04", label["collections"])] == [4, 1, D("25.0"), 1, D("25.0")]
    # May: non-performing 2, both worse (write-off candidate, written off).
    assert rows[("2026-05", label["non_performing"])] == [2, 2, D("100.0"), 0, D("0.0")]
    assert rows[("2026-05", label["reminder"])] == [1, 0, D("0.0"), 0, D("0.0")]
    assert len(fig.rows) == 6  # April: 3 stages; May: current, reminder, non-performing
    # The chart: one line per stage, a point per month (None where the stage had no loans).
    series = {d["label"]: d["data"] for d in fig.chart["data"]["datasets"]}
    assert fig.chart["data"]["labels"] == ["2026-04", "2026-05"]
    assert series[label["current"]] == [20.0, 0.0] and series[label["collections"]] == [25.0, None]
    # The matrix of the last month and the CSV of every move.
    assert fig.extra_tables[0]["rows"][-1][0] == label["non_performing"]
    assert ["2026-05", "non_performing", "written_off", 1, D("50.0")] in fig.csv()[1]


def test_roll_rates_follow_the_period(product, borrowers):
    snapshot_rows(dt.date(2026, 1, 1), [("current", "reminder", 1)], product, borrowers)
    assert figure("roll_rates").rows == []


# --- Recovery curve ------------------------------------------------------------------------------


def bill_due(borrowers: Borrowers, product: Product, due: dt.date, payments: list[tuple[dt.date, str]]) -> Loan:
    """A ¥1,200 loan at 0 % whose first bill (¥100) fell due on `due`, went overdue after its 3
    grace days, and was paid as listed."""
    loan = services.loan_disburse(borrower_id=borrowers().pk, product_id=product.pk, principal="1200.00",
                                  disbursed_on=due - dt.timedelta(days=31))
    Installment.objects.filter(loan=loan, number=1).update(due_date=due, overdue_since=due + dt.timedelta(days=4))
    # The other bills fall due long after: payments never find them overdue.
    Installment.objects.filter(loan=loan, number__gte=2).update(due_date=dt.date(2027, 12, 1))
    for n, (on, amount) in enumerate(payments):
        services.payment_post(loan_id=loan.pk, amount=amount, channel="app", idempotency_key=f"p{n}",
                              actor=None, business_date=on)
    return loan


@pytest.fixture
def recoveries(borrowers, interest_free):
    due = dt.date(2026, 2, 10)
    day = lambda n: due + dt.timedelta(days=n)  # noqa: E731
    bill_due(borrowers, interest_free, due, [(day(10), "100.00")])             # A: paid at 10 days
    bill_due(borrowers, interest_free, due, [(day(50), "100.00")])             # B: at 50 days
    bill_due(borrowers, interest_free, due, [(day(120), "100.00")])            # C: at 120 days
    bill_due(borrowers, interest_free, due, [(day(210), "50.00")])             # D: half, at 210 days
    bill_due(borrowers, interest_free, due, [])                                # E: never
    bill_due(borrowers, interest_free, due, [(day(1), "40.00")])               # F: 40 in its grace days
    bill_due(borrowers, interest_free, dt.date(2026, 5, 20), [])               # G: due later, never paid
    # A reversed payment never counts.
    reversed_loan = bill_due(borrowers, interest_free, due, [(day(20), "100.00")])
    services.payment_reverse(payment_id=reversed_loan.payments.get().pk, reason="bounced", actor=None,
                             business_date=day(25))


def test_the_recovery_curve_from_the_journal(recoveries):
    rows = {r[0]: r[1:] for r in figure("recovery").rows}
    # Bills: A–F and the reversed one due 02-10, G due 05-20. On 2027-02-28 (the last close) every
    # bill is at least 180 days past its due date; only the 02-10 bills are 360 days past it.
    # Became overdue = ¥100 a bill − F's ¥40 paid in its grace days.
    # 30 days: 8 bills, 800 − 40 = 760; within 30: A 100 → 13.2 %; owed at 30: 660; after: B 100 +
    #          C 100 + D 50 = 250 → 37.9 %.
    assert rows[30] == [8, D("760.00"), D("100.00"), D("13.2"), D("660.00"), D("250.00"), D("37.9"), ""]
    # 60 days: within A + B = 200 → 26.3 %; owed 560; after C + D = 150 → 26.8 %.
    assert rows[60] == [8, D("760.00"), D("200.00"), D("26.3"), D("560.00"), D("150.00"), D("26.8"), ""]
    # 90 days: the same, beside the article's "below 50 %".
    assert rows[90] == [8, D("760.00"), D("200.00"), D("26.3"), D("560.00"), D("150.00"), D("26.8"), "below 50 %"]
    # 180 days: within A + B + C = 300 → 39.5 %; owed 460; after D 50 → 10.9 %, beside "about 10 %".
    assert rows[180] == [8, D("760.00"), D("300.00"), D("39.5"), D("460.00"), D("50.00"), D("10.9"), "about 10 %"]
    # 360 days: G is not 360 days old: 7 bills, 700 − 40 = 660; within 350 → 53.0 %; owed 310; after 0.
    assert rows[360] == [7, D("660.00"), D("350.00"), D("53.0"), D("310.00"), D("0.00"), D("0.0"), ""]


def test_the_recovery_curve_counts_only_payments_before_today(recoveries, borrowers, interest_free):
    before = figure("recovery").rows
    loan = Loan.objects.filter(installments__due_date=dt.date(2026, 5, 20)).get()
    services.payment_post(loan_id=loan.pk, amount="100.00", channel="app", idempotency_key="today",
                          actor=None, business_date=TODAY)
    from django.core.cache import cache

    cache.clear()
    assert figure("recovery").rows == before


# --- Promises ------------------------------------------------------------------------------------


def promise(
    case: Case, agent: Any, due: dt.date, amount: str, status: str, made: dt.date | None = None
) -> PromiseToPay:
    return PromiseToPay.objects.create(
        case=case, loan=case.loan, amount=Decimal(amount), promised_date=due, paid_before=Decimal("0.00"),
        status=status, made_by=agent, resolved_on=due if status in ("kept", "broken") else None,
        created_at=timezone.make_aware(dt.datetime.combine(made or due - dt.timedelta(days=3), dt.time(10))),
    )


def test_promises_kept_and_broken(alices_loan, agent):
    case = make_case(alices_loan)
    promise(case, agent, dt.date(2026, 3, 5), "500.00", "kept")
    promise(case, agent, dt.date(2026, 3, 20), "300.00", "broken")
    promise(case, agent, dt.date(2026, 4, 2), "200.00", "kept")
    promise(case, agent, dt.date(2026, 4, 15), "100.00", "cancelled")
    promise(case, agent, dt.date(2026, 4, 28), "50.00", "pending")
    promise(case, agent, dt.date(2026, 6, 1), "999.00", "kept")  # after the period
    promise(case, agent, dt.date(2026, 1, 31), "999.00", "broken")  # before it
    rows = rows_by_first(figure("promises"))
    # March: 1 kept (500), 1 broken (300): 50 %. April: 1 kept, a pending and a cancelled one: 100 %.
    assert rows["2026-03"] == [1, D("500.00"), 1, D("300.00"), 0, 0, D("50.0")]
    assert rows["2026-04"] == [1, D("200.00"), 0, D("0.00"), 1, 1, D("100.0")]
    assert rows["Total"] == [2, D("700.00"), 1, D("300.00"), 1, 1, D("66.7")]


# --- Agents --------------------------------------------------------------------------------------


def contact(case: Case, agent: Any, on: dt.date, outcome: str) -> None:
    ContactLog.objects.create(case=case, agent=agent, at=timezone.make_aware(dt.datetime.combine(on, dt.time(11))),
                              channel="call", party="borrower", outcome=outcome)


def test_agents_workload_and_results(borrowers, product, make_staff):
    from portal.roles import AGENT

    ann, bao = make_staff("ann", AGENT), make_staff("bao", AGENT)
    loans = [overdue_loan(borrowers(), product, days=40) for _ in range(5)]
    c1 = make_case(loans[0], assigned_to=ann, overdue_amount=D("100.00"))
    make_case(loans[1], assigned_to=ann, overdue_amount=D("200.00"))
    make_case(loans[2], assigned_to=ann, status=CaseStatus.CLOSED, closed_on=dt.date(2026, 3, 3), close_reason="cured")
    make_case(loans[3], assigned_to=bao, overdue_amount=D("50.00"))
    make_case(loans[4], assigned_to=bao, status=CaseStatus.CLOSED, closed_on=dt.date(2026, 4, 3),
              close_reason="written off")
    for outcome in ("no_answer", "busy", "promised"):
        contact(c1, ann, dt.date(2026, 3, 10), outcome)
    contact(c1, ann, dt.date(2026, 1, 10), "promised")  # before the period
    contact(c1, bao, dt.date(2026, 4, 10), "callback")
    promise(c1, ann, dt.date(2026, 3, 20), "500.00", "kept", made=dt.date(2026, 3, 10))
    promise(c1, ann, dt.date(2026, 4, 20), "300.00", "broken", made=dt.date(2026, 4, 10))
    rows = rows_by_first(figure("agents"))
    # ann: 2 open cases (¥300 overdue), 1 closed and resolved (cured), 3 contacts in the period of
    # which 1 reached (33.3 %), 2 promises: 1 kept (¥500), 1 broken.
    assert rows["ann"] == [2, D("300.00"), 1, 1, 3, D("33.3"), 2, 1, 1, D("500.00")]
    # bao: 1 open (¥50), 1 closed but written off (not resolved), 1 contact reached, no promises.
    assert rows["bao"] == [1, D("50.00"), 1, 0, 1, D("100.0"), 0, 0, 0, D("0.00")]


# --- Extensions and restructurings ---------------------------------------------------------------


def test_extensions_and_restructurings_and_how_they_did_afterwards(borrowers, product):
    def loan_with(status: str = LoanStatus.ACTIVE, days: int = 0) -> Loan:
        loan = overdue_loan(borrowers(), product, days=-5)
        Loan.objects.filter(pk=loan.pk).update(status=status, days_past_due=days)
        return loan

    def extension(loan: Loan, on: dt.date) -> None:
        Extension.objects.create(borrower_id=loan.borrower_id, loan=loan, business_date=on, days=30,
                                 new_due_date=on + dt.timedelta(days=30), deferred=[],
                                 penalty_waived=D("0.00"), interest_not_charged=D("0.00"))

    def relapse(loan: Loan, on: dt.date) -> None:
        StageChange.objects.create(loan=loan, from_stage="current", to_stage="reminder", business_date=on,
                                   days_past_due=1, reason="test")

    x1, x2 = loan_with(), loan_with(days=20)
    extension(x1, dt.date(2026, 3, 1))
    extension(x2, dt.date(2026, 3, 5))
    relapse(x2, dt.date(2026, 4, 20))
    relapse(x1, dt.date(2026, 2, 1))  # before its extension: not a relapse
    extension(loan_with(), dt.date(2026, 7, 1))  # after the period
    r1, r2 = loan_with(LoanStatus.SETTLED), loan_with(LoanStatus.WRITTEN_OFF)
    for loan, on in ((r1, dt.date(2026, 4, 1)), (r2, dt.date(2026, 4, 10))):
        JournalEntry.objects.create(loan=loan, kind="restructuring", business_date=on, memo="test")
    relapse(r2, dt.date(2026, 5, 1))
    rows = [r[1:] for r in figure("concessions").rows]
    # Extensions: 2 granted, 1 went overdue again (50 %), 1 current, 1 overdue now: 50 % performing.
    assert rows[0] == [2, 1, D("50.0"), 1, 1, 0, 0, D("50.0")]
    # Restructurings: 2, 1 relapsed, 1 settled, 1 written off: 50 % performing.
    assert rows[1] == [2, 1, D("50.0"), 0, 0, 1, 1, D("50.0")]


# --- The page: permissions, query counts, CSV, caching ------------------------------------------


URL = "admin:reporting_monitoringdashboard_changelist"


def test_only_supervisors_see_the_dashboard(client, supervisor, auditor, agent):
    for user, status in ((supervisor, 200), (auditor, 403), (agent, 403)):
        client.force_login(user)
        assert client.get(reverse(URL)).status_code == status, user
        assert client.get(reverse("admin:reporting_dashboard_csv", args=["stages"])).status_code == status
    client.force_login(supervisor)
    index = client.get(reverse("admin:index")).text
    assert reverse(URL) in index


def test_reports_per_role(client, supervisor, auditor, agent):
    for user, view, correct in ((supervisor, 200, True), (auditor, 200, False), (agent, 403, False)):
        client.force_login(user)
        for name in ("reportingrun", "reportfile", "creditrecord", "heldbackrecord", "creditnotice",
                     "creditcorrection"):
            assert client.get(reverse(f"admin:reporting_{name}_changelist")).status_code == view, (user, name)
        assert user.has_perm("reporting.correct_record") is correct
        assert user.has_perm("reporting.submit_reportfile") is correct


def build(borrowers: Borrowers, product: Product, size: int, agent: Any) -> None:
    """`size` of everything each figure reads."""
    for i in range(size):
        loan = overdue_loan(borrowers(), product, days=40 + i)
        set_stage(loan, "collections", 40 + i)
        case = make_case(loan, assigned_to=agent)
        contact(case, agent, dt.date(2026, 3, 10), "promised")
        promise(case, agent, dt.date(2026, 3, 20 + i % 5), "100.00", "kept")
        Installment.objects.filter(loan=loan, number=1).update(overdue_since=dt.date(2026, 5, 1))
        services.payment_post(loan_id=loan.pk, amount="10.00", channel="app", idempotency_key="x", actor=None,
                              business_date=dt.date(2026, 6, 1))
        JournalEntry.objects.create(loan=loan, kind="restructuring", business_date=dt.date(2026, 4, 1), memo="t")
        run, _ = ReportingRun.objects.get_or_create(month=dt.date(2026, 4, 1), defaults={"reporting_date": TODAY})
        CreditRecord.objects.create(run=run, loan=loan, month=dt.date(2026, 4, 1), status="2", days_past_due=40,
                                    worst_days_past_due=40, overdue_installments=1, month_end_state="collections",
                                    previous_state="reminder", product=product, segment="individual")


def page_queries(client: Any, query: str = "") -> tuple[int, str]:
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(URL) + query)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.text


def test_the_page_costs_the_same_queries_whatever_the_data_size(client, supervisor, borrowers, product, agent,
                                                                 monkeypatch):
    monkeypatch.setattr("reporting.admin.business_today", lambda: TODAY)
    client.force_login(supervisor)
    query = "?first_month=2026-02&last_month=2026-06"
    build(borrowers, product, 2, agent)
    small, page = page_queries(client, query)
    build(borrowers, product, 6, agent)
    large, page = page_queries(client, query)
    assert small == large
    # Every figure is there, with its chart (Chart.js from static/, no CDN), table and CSV link.
    assert "vendor/chartjs/chart.umd.min.js" in page and "cdn" not in page.lower()
    for key in dashboard.FIGURES:
        assert f'id="figure-{key}"' in page and f'id="chart-data-{key}"' in page
        assert reverse("admin:reporting_dashboard_csv", args=[key]) + query in page.replace("&amp;", "&")
    # Served from a cache once computed: the same page again reads far less.
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse(URL) + query)
    assert len(ctx.captured_queries) < large


def test_csv_downloads_hold_the_figures_numbers(client, supervisor, staged, monkeypatch):
    monkeypatch.setattr("reporting.admin.business_today", lambda: TODAY)
    client.force_login(supervisor)
    response = client.get(reverse("admin:reporting_dashboard_csv", args=["overdue_rate"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 5 and rows[1][1:] == ["3", "75.0", "10800.00", "90.0"]
    assert client.get(reverse("admin:reporting_dashboard_csv", args=["nothing"])).status_code == 404


def test_figures_that_cannot_change_within_the_day_are_cached_by_date_and_filters(product, borrowers, settings):
    settings.PORTAL_DASHBOARD_LIVE_CACHE_SECONDS = 0
    snapshot_rows(dt.date(2026, 4, 1), [("current", "reminder", 1)], product, borrowers)
    first = figure("roll_rates")
    snapshot_rows(dt.date(2026, 4, 1), [("current", "current", 1)], product, borrowers)
    assert figure("roll_rates").rows == first.rows  # same day, same filters: cached
    assert figure("roll_rates", today=TODAY + dt.timedelta(days=1)).rows != first.rows  # a new day
    other = Filters(product_id=product.pk, segment=None, first_month=FEB, last_month=MAY)
    assert figure("roll_rates", other).rows != first.rows  # other filters: their own entry



def test_the_kept_numbers_are_in_no_language_each_reader_gets_their_own(staged):
    from django.utils import translation

    with translation.override("zh-hans"):
        chinese = figure("stages")  # computes and keeps the numbers
    english = figure("stages")  # the same numbers, in English
    assert english.title == "Loans and balances per stage" and chinese.title != english.title
    assert english.rows[0][0] == "Current" and chinese.rows[0][0] != "Current"
    assert [row[1:] for row in english.rows] == [row[1:] for row in chinese.rows]


def test_the_background_refresh_computes_the_opening_page_before_anyone_asks(staged, client, supervisor, monkeypatch):
    from debt_collections.models import CloseOfBusinessRun, RunStatus
    from reporting import tasks

    monkeypatch.setattr(tasks, "business_today", lambda: TODAY)
    monkeypatch.setattr("reporting.admin.business_today", lambda: TODAY)
    live = ["stages", "agents", "concessions"]
    # Yesterday is not closed yet: the figures "as of the close of yesterday" wait for it.
    assert tasks.refresh_dashboard() == live
    CloseOfBusinessRun.objects.create(business_date=TODAY - dt.timedelta(days=1), status=RunStatus.COMPLETED)
    assert tasks.refresh_dashboard() == ["stages", "roll_rates", "recovery", "promises", "agents", "concessions"]
    assert tasks.refresh_dashboard() == live  # the daily ones are kept for the day
    # The page as it opens (no filters) computes nothing: no bill, allocation or loan is read.
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(URL))
    assert response.status_code == 200 and "Loans and balances per stage" in response.text
    read = " ".join(query["sql"] for query in ctx.captured_queries)
    assert "loans_installment" not in read and "loans_allocation" not in read and "loans_loan" not in read


def test_the_refresh_runs_every_five_minutes_created_once():
    import importlib

    from django.apps import apps
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    migration = importlib.import_module("reporting.migrations.0003_dashboard_refresh_schedule")
    Schedule.objects.filter(name=migration.NAME).delete()  # transactional tests flush
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    schedule = Schedule.objects.get(name=migration.NAME)
    assert schedule.schedule_type == "I" and schedule.minutes == dashboard.REFRESH_MINUTES == migration.MINUTES
    assert callable(import_string(schedule.func))
