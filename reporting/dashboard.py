"""The supervisors' monitoring dashboard: each figure is one or two aggregate queries in the
database (conditional aggregation, never a row per loan in Python), with the numbers as a table,
a chart configuration for Chart.js and a CSV export.

Two kinds of figures:

- **live** (loans and balances per stage, overdue rate, agents' workload, how extended and
  restructured loans are doing now): payments and case work change them during the day; they are
  kept for PORTAL_DASHBOARD_LIVE_CACHE_SECONDS;
- **as of the last close** (roll rates from the monthly snapshots, the recovery curve and
  promises, which count only business dates before today): nothing can change them within the
  day, so they are kept until the business date changes (the cache key holds it and the filters).

What is kept is each figure's numbers (`_SOURCES`), in no language: the page puts them in the
reader's words each time. On a large book the numbers take seconds to compute (they add up
millions of bills and allocations), so the schedule "dashboard-refresh" (`refresh`) computes them
again in the background for the page as it opens (no filters) before they expire, in the cache
that every web process shares (settings.CACHES): a supervisor never waits for them. Other
filters are computed on the first request and kept the same way.

Every figure's method is explained on the page (`Figure.method`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from debt_collections.models import (
    FAILED_OUTCOMES,
    Case,
    CaseStatus,
    ContactLog,
    PromiseStatus,
    PromiseToPay,
)
from loans.models import (
    Allocation,
    AllocationKind,
    EntryKind,
    Extension,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanStatus,
    PaymentStatus,
    Stage,
    StageChange,
)
from portal.money import ZERO, round_money

from .models import CreditRecord, MonthEndState, month_end

RECOVERY_BUCKETS = (30, 60, 90, 180, 360)
# The source article: "past 90 days the recovery rate usually falls below 50 %; past 180 days
# to about 10 %".
ARTICLE_RECOVERY = {90: Decimal("50"), 180: Decimal("10")}
STAGES = [s.value for s in Stage]
# Roll rates: a later state in this order is worse; "closed" counts as cured.
STATE_ORDER = [*STAGES, MonthEndState.WRITTEN_OFF.value]
DAILY_TIMEOUT = 26 * 3600
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class Filters:
    product_id: int | None
    segment: str | None
    first_month: dt.date
    last_month: dt.date

    @property
    def period_end(self) -> dt.date:
        return month_end(self.last_month)

    def key(self) -> str:
        return f"{self.product_id or '-'}|{self.segment or '-'}|{self.first_month:%Y-%m}|{self.last_month:%Y-%m}"

    def loans(self, prefix: str = "") -> Q:
        """The product and segment filter on loans, reached through `prefix` ("loan__" …)."""
        q = Q()
        if self.product_id:
            q &= Q(**{f"{prefix}product_id": self.product_id})
        if self.segment:
            q &= Q(**{f"{prefix}borrower__segment": self.segment})
        return q


@dataclass
class Figure:
    key: str
    title: str
    method: str
    columns: list[str]
    rows: list[list[Any]]
    chart: dict[str, Any]
    as_of: str
    csv_columns: list[str] = field(default_factory=list)
    csv_rows: list[list[Any]] = field(default_factory=list)
    extra_tables: list[dict[str, Any]] = field(default_factory=list)

    def csv(self) -> tuple[list[str], list[list[Any]]]:
        return (self.csv_columns or self.columns), (self.csv_rows or self.rows)


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _money(value: Any) -> Decimal:
    # SQLite sums decimals as doubles: round back to the fen (exact on PostgreSQL already).
    return round_money(Decimal(value or 0))


def _sum(expression: Any, **kwargs: Any) -> Any:
    return Coalesce(Sum(expression, **kwargs), ZERO, output_field=MONEY)


def _outstanding(component: str) -> Any:
    return F(f"{component}_due") - F(f"{component}_paid") - F(f"{component}_waived") - F(f"{component}_written_off")


def _chart(kind: str, labels: list[str], datasets: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "data": {"labels": labels, "datasets": datasets},
        "options": {"responsive": True, "maintainAspectRatio": False, "animation": False, **options},
    }


def _cache_key(name: str, filters: Filters, today: dt.date, daily: bool) -> str:
    raw = f"{name}|{filters.key()}|{today.isoformat() if daily else 'live'}"
    return "reporting:dashboard:" + hashlib.sha256(raw.encode()).hexdigest()


def _cached(name: str, filters: Filters, today: dt.date) -> dict[str, Any]:
    """The numbers of one figure: kept ones, else computed now and kept."""
    daily, compute = _SOURCES[name]
    timeout = DAILY_TIMEOUT if daily else settings.PORTAL_DASHBOARD_LIVE_CACHE_SECONDS
    if not timeout:
        return compute(filters, today)
    key = _cache_key(name, filters, today, daily)
    value: dict[str, Any] | None = cache.get(key)
    if value is None:
        value = compute(filters, today)
        cache.set(key, value, timeout)
    return value


# The schedule "dashboard-refresh" runs every REFRESH_MINUTES (reporting/migrations/0003); what it
# computes is kept that much longer than PORTAL_DASHBOARD_LIVE_CACHE_SECONDS, so that it is still
# there when the next run replaces it.
REFRESH_MINUTES = 5


def refresh(*, filters: Filters, today: dt.date) -> list[str]:
    """Compute again the live figures' numbers and keep them; the daily ones only once the close of
    yesterday has completed and when they were not computed after it. Returns what it computed."""
    from debt_collections.models import CloseOfBusinessRun, RunStatus

    live = settings.PORTAL_DASHBOARD_LIVE_CACHE_SECONDS
    closed = CloseOfBusinessRun.objects.filter(
        business_date=today - dt.timedelta(days=1), status=RunStatus.COMPLETED
    ).exists()
    computed = []
    for name, (daily, compute) in _SOURCES.items():
        key = _cache_key(name, filters, today, daily)
        if daily:
            kept = cache.get(key)
            if not closed or (kept is not None and kept.get("after_close")):
                continue
            cache.set(key, {**compute(filters, today), "after_close": True}, DAILY_TIMEOUT)
        elif live:
            cache.set(key, compute(filters, today), live + REFRESH_MINUTES * 60)
        else:
            continue
        computed.append(name)
    return computed


def _live_label(computed_at: dt.datetime) -> str:
    return _("live, computed at %(time)s") % {"time": timezone.localtime(computed_at).strftime("%H:%M")}


def _closed_label(today: dt.date) -> str:
    return _("as of the close of %(date)s") % {"date": (today - dt.timedelta(days=1)).isoformat()}


# --- Loans and balances per stage; overdue rate (live, two queries) ------------------------------


def _stage_data(filters: Filters, today: dt.date) -> dict[str, Any]:
    loans = Loan.objects.filter(filters.loans(), status=LoanStatus.ACTIVE)
    counts = dict(loans.values("stage").annotate(n=Count("id")).order_by().values_list("stage", "n"))
    balances = {
        row["loan__stage"]: row
        for row in Installment.objects.filter(filters.loans("loan__"), loan__status=LoanStatus.ACTIVE)
        .exclude(status__in=[InstallmentStatus.PAID, InstallmentStatus.SUPERSEDED])
        .values("loan__stage")
        .annotate(
            principal=_sum(_outstanding("principal")),
            owed=_sum(_outstanding("principal") + _outstanding("interest") + _outstanding("penalty")
                      + _outstanding("fees")),
        )
        .order_by()
    }
    return {"computed_at": timezone.now(), "counts": counts, "balances": balances}


def stage_figures(filters: Filters, today: dt.date) -> list[Figure]:
    computed = _cached("stages", filters, today)
    counts = computed["counts"]
    balances = computed["balances"]
    total_loans = sum(counts.values())
    total_principal = sum((_money(b["principal"]) for b in balances.values()), ZERO)
    labels = {s.value: str(s.label) for s in Stage}
    rows = []
    for stage in STAGES:
        n = counts.get(stage, 0)
        principal = _money(balances.get(stage, {}).get("principal"))
        owed = _money(balances.get(stage, {}).get("owed"))
        rows.append([labels[stage], n, percent(n, total_loans), principal, percent(principal, total_principal), owed])
    rows.append([_("Total"), total_loans, percent(total_loans, total_loans), total_principal,
                 percent(total_principal, total_principal),
                 sum((_money(b["owed"]) for b in balances.values()), ZERO)])
    stage_chart = _chart(
        "bar", [labels[s] for s in STAGES],
        [
            {"label": _("principal outstanding (¥)"), "data": [float(r[3]) for r in rows[:-1]], "yAxisID": "y"},
            {"label": _("loans"), "data": [r[1] for r in rows[:-1]], "yAxisID": "y1"},
        ],
        scales={"y": {"position": "left", "beginAtZero": True},
                "y1": {"position": "right", "beginAtZero": True, "grid": {"drawOnChartArea": False}}},
    )
    stages = Figure(
        key="stages",
        title=_("Loans and balances per stage"),
        method=_(
            "Active loans by their delinquency stage now, with the principal and everything "
            "owed on their unpaid bills (contractual interest of bills not yet due included)."
        ),
        columns=[
            _("stage"),
            _("loans"),
            _("share of loans (%)"),
            _("principal outstanding"),
            _("share of principal (%)"),
            _("owed on open bills"),
        ],
        rows=rows,
        chart=stage_chart,
        as_of=_live_label(computed["computed_at"]),
    )
    thresholds = settings.PORTAL_STAGE_THRESHOLDS
    rate_rows = []
    for index, stage in enumerate(STAGES[1:], start=1):
        later = STAGES[index:]
        n = sum(counts.get(s, 0) for s in later)
        principal = sum((_money(balances.get(s, {}).get("principal")) for s in later), ZERO)
        rate_rows.append([
            _("%(days)s+ days past due") % {"days": thresholds[stage]}, n, percent(n, total_loans),
            principal, percent(principal, total_principal),
        ])
    rate_chart = _chart(
        "bar", [r[0] for r in rate_rows],
        [
            {"label": _("share of loans (%)"), "data": [float(r[2] or 0) for r in rate_rows]},
            {"label": _("share of principal (%)"), "data": [float(r[4] or 0) for r in rate_rows]},
        ],
        scales={"y": {"beginAtZero": True, "title": {"display": True, "text": "%"}}},
    )
    rate = Figure(
        key="overdue_rate", title=_("Overdue rate"),
        method=_("Share of active loans, and of their principal outstanding, at or past each stage "
                 "threshold of days past due (PORTAL_STAGE_THRESHOLDS)."),
        columns=[_("days past due"), _("loans"), _("share of loans (%)"), _("principal outstanding"),
                 _("share of principal (%)")],
        rows=rate_rows, chart=rate_chart, as_of=_live_label(computed["computed_at"]),
    )
    return [stages, rate]


# --- Roll rates between stages, month on month (as of the last close, one query) -----------------


def _roll_rate_data(filters: Filters, today: dt.date) -> dict[str, Any]:
    record_filter = Q(month__gte=filters.first_month, month__lte=filters.last_month)
    if filters.product_id:
        record_filter &= Q(product_id=filters.product_id)
    if filters.segment:
        record_filter &= Q(segment=filters.segment)
    moves = list(
        CreditRecord.objects.filter(record_filter)
        .exclude(previous_state="")
        .values("month", "previous_state", "month_end_state")
        .annotate(n=Count("id"))
        .order_by("month", "previous_state", "month_end_state")
    )
    return {"moves": moves}


def roll_rate_figure(filters: Filters, today: dt.date) -> Figure:
    computed = _cached("roll_rates", filters, today)
    moves = computed["moves"]
    labels = dict(MonthEndState.choices)
    by_month: dict[dt.date, dict[str, dict[str, int]]] = {}
    for move in moves:
        by_month.setdefault(move["month"], {}).setdefault(move["previous_state"], {})[move["month_end_state"]] = move[
            "n"
        ]
    months = sorted(by_month)
    rows = []
    csv_rows = []
    for month in months:
        for origin in STAGES:
            targets = by_month[month].get(origin, {})
            total = sum(targets.values())
            if not total:
                continue
            worse = sum(n for state, n in targets.items()
                        if state in STATE_ORDER and STATE_ORDER.index(state) > STATE_ORDER.index(origin))
            cured = sum(n for state, n in targets.items() if state in (Stage.CURRENT.value, MonthEndState.CLOSED.value)
                        and origin != Stage.CURRENT.value)
            rows.append([f"{month:%Y-%m}", str(labels[origin]), total, worse, percent(worse, total), cured,
                         percent(cured, total)])
            for state, n in sorted(targets.items(), key=lambda item: _state_rank(item[0])):
                csv_rows.append([f"{month:%Y-%m}", origin, state, n, percent(n, total)])
    datasets = []
    for origin in STAGES[:-1]:  # the last stage can only roll to written off: shown in the table
        data = []
        for month in months:
            targets = by_month[month].get(origin, {})
            total = sum(targets.values())
            worse = sum(n for state, n in targets.items()
                        if state in STATE_ORDER and STATE_ORDER.index(state) > STATE_ORDER.index(origin))
            data.append(float(percent(worse, total) or 0) if total else None)
        datasets.append({"label": str(labels[origin]), "data": data, "spanGaps": True})
    chart = _chart("line", [f"{m:%Y-%m}" for m in months], datasets,
                   scales={"y": {"beginAtZero": True, "title": {"display": True, "text": "%"}}})
    matrix: dict[str, Any] = {}
    if months:
        last = months[-1]
        states = [s.value for s in MonthEndState]

        def cell(origin: str, state: str) -> str:
            moved = by_month[last].get(origin, {})
            return f"{moved.get(state, 0)} ({percent(moved.get(state, 0), sum(moved.values())) or 0} %)"

        matrix = {
            "title": _("Where loans went in %(month)s (rows: state at the previous month end)")
            % {"month": f"{last:%Y-%m}"},
            "columns": ["", *[str(labels[s]) for s in states]],
            "rows": [
                [
                    str(labels[origin]),
                    *[cell(origin, s) for s in states],
                ]
                for origin in STAGES
                if by_month[last].get(origin)
            ],
        }
    return Figure(
        key="roll_rates", title=_("Roll rates between stages, month on month"),
        method=_("From the monthly credit-report snapshots: each loan's stage at a month end (or "
                 "closed, written off) against its stage at the previous month end. Roll-forward "
                 "rate = share of the loans in a stage that were in a worse state a month later; "
                 "cure rate = share back to current or closed. Months without a report run are "
                 "missing; corrections are not applied to the snapshots."),
        columns=[_("month"), _("stage at previous month end"), _("loans"), _("rolled forward"),
                 _("roll-forward rate (%)"), _("cured"), _("cure rate (%)")],
        rows=rows, chart=chart, as_of=_closed_label(today),
        csv_columns=["month", "from_state", "to_state", "loans", "share_percent"], csv_rows=csv_rows,
        extra_tables=[matrix] if matrix else [],
    )


def _state_rank(state: str) -> int:
    order = [*STATE_ORDER, MonthEndState.CLOSED.value]
    return order.index(state) if state in order else len(order)


# --- Recovery curve (as of the last close, two queries) -----------------------------------------


def _recovery_data(filters: Filters, today: dt.date) -> dict[str, Any]:
    yesterday = today - dt.timedelta(days=1)
    bills = Installment.objects.filter(
        filters.loans("loan__"), overdue_since__isnull=False,
        due_date__gte=filters.first_month, due_date__lte=min(filters.period_end, yesterday),
    ).exclude(status=InstallmentStatus.SUPERSEDED)
    scheduled = F("principal_due") + F("interest_due") + F("fees_due")
    base = bills.aggregate(**{
        **{f"base_{x}": _sum(scheduled, filter=Q(due_date__lte=yesterday - dt.timedelta(days=x)))
           for x in RECOVERY_BUCKETS},
        **{f"bills_{x}": Count("id", filter=Q(due_date__lte=yesterday - dt.timedelta(days=x)))
           for x in RECOVERY_BUCKETS},
    })
    amount = F("principal") + F("interest") + F("fees")
    paid = Allocation.objects.filter(
        kind=AllocationKind.PAID, payment__status=PaymentStatus.POSTED, payment__business_date__lte=yesterday,
        installment__in=bills,
    )
    sums: dict[str, Any] = {}
    for x in RECOVERY_BUCKETS:
        mature = Q(installment__due_date__lte=yesterday - dt.timedelta(days=x))
        before_overdue = Q(payment__business_date__lt=F("installment__overdue_since"))
        within = Q(payment__business_date__lte=F("installment__due_date") + dt.timedelta(days=x))
        sums[f"pre_{x}"] = _sum(amount, filter=mature & before_overdue)
        sums[f"by_{x}"] = _sum(amount, filter=mature & ~before_overdue & within)
        sums[f"after_{x}"] = _sum(amount, filter=mature & ~within)
    recovered = paid.aggregate(**sums)
    return {"base": base, "recovered": recovered}


def recovery_figure(filters: Filters, today: dt.date) -> Figure:
    computed = _cached("recovery", filters, today)
    base = computed["base"]
    recovered = computed["recovered"]
    rows = []
    for x in RECOVERY_BUCKETS:
        became_overdue = _money(base[f"base_{x}"]) - _money(recovered[f"pre_{x}"])
        by_x = _money(recovered[f"by_{x}"])
        owed_at_x = became_overdue - by_x
        after_x = _money(recovered[f"after_{x}"])
        article = ARTICLE_RECOVERY.get(x)
        rows.append([
            x, base[f"bills_{x}"], became_overdue, by_x, percent(by_x, became_overdue), owed_at_x, after_x,
            percent(after_x, owed_at_x),
            (_("below %(n)s %%") if x == 90 else _("about %(n)s %%")) % {"n": article} if article else "",
        ])
    labels = [_("%(days)s days") % {"days": x} for x in RECOVERY_BUCKETS]
    chart = _chart(
        "line", labels,
        [
            {"label": _("recovery rate after N days (%)"),
             "data": [float(r[7]) if r[7] is not None else None for r in rows]},
            {"label": _("recovered within N days (%)"),
             "data": [float(r[4]) if r[4] is not None else None for r in rows]},
            {"label": _("the article (past 90 and 180 days)"),
             "data": [float(ARTICLE_RECOVERY[x]) if x in ARTICLE_RECOVERY else None for x in RECOVERY_BUCKETS],
             "showLine": False, "pointStyle": "rectRot", "pointRadius": 7},
        ],
        scales={"y": {"beginAtZero": True, "max": 100, "title": {"display": True, "text": "%"}}},
    )
    return Figure(
        key="recovery", title=_("Recovery curve by days past due"),
        method=_(
            "From the journal's repayments, split per bill by their allocations (reversed payments "
            "left out), for bills that went overdue and fell due in the period (bills a "
            "restructuring replaced are left out: their remainder lives on in the new bills). "
            "Amounts are principal, interest and fees (penalty is left out on both sides). For N "
            "days, only bills due at least N days before the last close count. “Became overdue” "
            "is what the bills asked for less what was paid before they went overdue; “recovered "
            "within N days” is what was paid from then until N days after the due date; “still "
            "owed at N days” is the difference, and “recovery rate after N days” is the share of "
            "that paid since. The last column is the source article's figure for comparison."
        ),
        columns=[_("days past due"), _("bills"), _("became overdue"), _("recovered within"),
                 _("recovered within (%)"), _("still owed at"), _("recovered after"),
                 _("recovery rate after (%)"), _("the article")],
        rows=rows, chart=chart, as_of=_closed_label(today),
    )


# --- Promises to pay (as of the last close, one query) ----------------------------------------


def _promises_data(filters: Filters, today: dt.date) -> dict[str, Any]:
    yesterday = today - dt.timedelta(days=1)
    promises = PromiseToPay.objects.filter(
        filters.loans("loan__"), promised_date__gte=filters.first_month,
        promised_date__lte=min(filters.period_end, yesterday),
    )
    per_status: dict[str, Any] = {}
    for status in (PromiseStatus.KEPT, PromiseStatus.BROKEN, PromiseStatus.PENDING, PromiseStatus.CANCELLED):
        per_status[f"n_{status}"] = Count("id", filter=Q(status=status))
        per_status[f"amount_{status}"] = _sum("amount", filter=Q(status=status))
    months = list(
        promises.annotate(month=TruncMonth("promised_date")).values("month").annotate(**per_status).order_by("month")
    )
    return {"months": months}


def promises_figure(filters: Filters, today: dt.date) -> Figure:
    computed = _cached("promises", filters, today)
    months = computed["months"]
    rows = []
    totals = {key: 0 for key in ("kept", "broken", "pending", "cancelled")}
    amounts = {key: ZERO for key in totals}
    for row in months:
        for key in totals:
            totals[key] += row[f"n_{key}"]
            amounts[key] += _money(row[f"amount_{key}"])
        month = row["month"]
        rows.append([
            f"{month:%Y-%m}", row["n_kept"], _money(row["amount_kept"]), row["n_broken"],
            _money(row["amount_broken"]), row["n_pending"], row["n_cancelled"],
            percent(row["n_kept"], row["n_kept"] + row["n_broken"]),
        ])
    rows.append([_("Total"), totals["kept"], amounts["kept"], totals["broken"], amounts["broken"],
                 totals["pending"], totals["cancelled"], percent(totals["kept"], totals["kept"] + totals["broken"])])
    chart = _chart(
        "bar", [r[0] for r in rows[:-1]],
        [
            {"label": _("kept"), "data": [r[1] for r in rows[:-1]], "stack": "promises"},
            {"label": _("broken"), "data": [r[3] for r in rows[:-1]], "stack": "promises"},
            {"label": _("not yet judged"), "data": [r[5] for r in rows[:-1]], "stack": "promises"},
        ],
        scales={"x": {"stacked": True}, "y": {"stacked": True, "beginAtZero": True}},
    )
    return Figure(
        key="promises", title=_("Promises to pay kept and broken"),
        method=_("Promises whose promised date is in the period and before today, by the month of "
                 "that date, as the close of business judged them (kept once the payments since the "
                 "promise reach its amount; broken when its day ends without that). Kept rate = kept "
                 "/ (kept + broken); cancelled promises were replaced by a newer one."),
        columns=[_("month"), _("kept"), _("amount kept"), _("broken"), _("amount broken"),
                 _("not yet judged"), _("cancelled"), _("kept rate (%)")],
        rows=rows, chart=chart, as_of=_closed_label(today),
    )


# --- Agents' workload and results (live, three queries) -------------------------------------------


def _agents_data(filters: Filters, today: dt.date) -> dict[str, Any]:
    first, last = filters.first_month, filters.period_end
    in_period = Q(closed_on__gte=first, closed_on__lte=last)
    cases = {
        row["assigned_to"]: row
        for row in Case.objects.filter(filters.loans("loan__"), assigned_to__isnull=False)
        .values("assigned_to", "assigned_to__username")
        .annotate(
            open=Count("id", filter=Q(status=CaseStatus.OPEN)),
            overdue=_sum("overdue_amount", filter=Q(status=CaseStatus.OPEN)),
            closed=Count("id", filter=in_period & Q(status=CaseStatus.CLOSED)),
            resolved=Count("id", filter=in_period & Q(status=CaseStatus.CLOSED, close_reason__in=["cured", "settled"])),
        )
        .order_by()
    }
    contacts = {
        row["agent"]: row
        for row in ContactLog.objects.filter(
            filters.loans("case__loan__"), at__date__gte=first, at__date__lte=last
        )
        .values("agent", "agent__username")
        .annotate(n=Count("id"), reached=Count("id", filter=~Q(outcome__in=FAILED_OUTCOMES)))
        .order_by()
    }
    promises = {
        row["made_by"]: row
        for row in PromiseToPay.objects.filter(
            filters.loans("loan__"), created_at__date__gte=first, created_at__date__lte=last
        )
        .values("made_by", "made_by__username")
        .annotate(
            n=Count("id"), kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
            broken=Count("id", filter=Q(status=PromiseStatus.BROKEN)),
            kept_amount=_sum("amount", filter=Q(status=PromiseStatus.KEPT)),
        )
        .order_by()
    }
    return {"computed_at": timezone.now(), "cases": cases, "contacts": contacts, "promises": promises}


def agents_figure(filters: Filters, today: dt.date) -> Figure:
    computed = _cached("agents", filters, today)
    cases = computed["cases"]
    contacts = computed["contacts"]
    promises = computed["promises"]
    names: dict[int, str] = {}
    for source, name_key in ((cases, "assigned_to__username"), (contacts, "agent__username"),
                             (promises, "made_by__username")):
        for user_id, row in source.items():
            names[user_id] = row[name_key]
    rows = []
    for user_id, name in sorted(names.items(), key=lambda item: item[1]):
        c, k, p = cases.get(user_id, {}), contacts.get(user_id, {}), promises.get(user_id, {})
        rows.append([
            name, c.get("open", 0), _money(c.get("overdue")), c.get("closed", 0), c.get("resolved", 0),
            k.get("n", 0), percent(k.get("reached", 0), k.get("n", 0)), p.get("n", 0), p.get("kept", 0),
            p.get("broken", 0), _money(p.get("kept_amount")),
        ])
    chart = _chart(
        "bar", [r[0] for r in rows],
        [
            {"label": _("open cases"), "data": [r[1] for r in rows]},
            {"label": _("cases resolved in the period"), "data": [r[4] for r in rows]},
            {"label": _("promises kept"), "data": [r[8] for r in rows]},
        ],
        scales={"y": {"beginAtZero": True}},
    )
    return Figure(
        key="agents", title=_("Agents' workload and results"),
        method=_("Workload: open cases assigned to each agent now and what is overdue on them. "
                 "Results in the period: their cases closed (resolved = cured or settled), contacts "
                 "logged (reached = anything but no answer, busy or wrong number), promises recorded "
                 "and how they turned out."),
        columns=[_("agent"), _("open cases"), _("overdue on open cases"), _("cases closed"),
                 _("resolved (cured or settled)"), _("contacts"), _("reached (%)"), _("promises"),
                 _("kept"), _("broken"), _("amount kept")],
        rows=rows, chart=chart, as_of=_live_label(computed["computed_at"]),
    )


# --- Extensions and restructurings, and how those loans did afterwards (live, two queries) -------


def _relapsed(date_field: str) -> Exists:
    """The loan left the current stage after the date (it went overdue again)."""
    return Exists(StageChange.objects.filter(
        loan_id=OuterRef("loan_id"), business_date__gt=OuterRef(date_field), from_stage=Stage.CURRENT
    ))


def _concessions_data(filters: Filters, today: dt.date) -> dict[str, Any]:
    def aggregate(queryset: Any, loan: str) -> dict[str, Any]:
        distinct = {"distinct": True}
        return dict(queryset.aggregate(
            granted=Count(loan, **distinct),
            # In the filter itself: an annotation is lost when Django wraps a distinct aggregate.
            relapsed=Count(loan, filter=Q(_relapsed("business_date")), **distinct),
            current=Count(loan, filter=Q(loan__status=LoanStatus.ACTIVE, loan__days_past_due=0), **distinct),
            overdue=Count(loan, filter=Q(loan__status=LoanStatus.ACTIVE, loan__days_past_due__gt=0), **distinct),
            settled=Count(loan, filter=Q(loan__status=LoanStatus.SETTLED), **distinct),
            written_off=Count(loan, filter=Q(loan__status=LoanStatus.WRITTEN_OFF), **distinct),
        ))

    period = {"business_date__gte": filters.first_month, "business_date__lte": filters.period_end}
    extensions = aggregate(
        Extension.objects.filter(filters.loans("loan__"), **period),
        "loan_id",
    )
    restructurings = aggregate(
        JournalEntry.objects.filter(filters.loans("loan__"), kind=EntryKind.RESTRUCTURING, **period),
        "loan_id",
    )
    return {"computed_at": timezone.now(), "extensions": extensions, "restructurings": restructurings}


def concessions_figure(filters: Filters, today: dt.date) -> Figure:
    computed = _cached("concessions", filters, today)
    extensions = computed["extensions"]
    restructurings = computed["restructurings"]
    rows = []
    for label, data in ((_("interest-free extensions"), extensions), (_("restructurings"), restructurings)):
        granted = data["granted"]
        rows.append([
            label, granted, data["relapsed"], percent(data["relapsed"], granted), data["current"],
            data["overdue"], data["settled"], data["written_off"],
            percent(data["current"] + data["settled"], granted),
        ])
    chart = _chart(
        "bar", [r[0] for r in rows],
        [
            {"label": _("current now"), "data": [r[4] for r in rows], "stack": "now"},
            {"label": _("settled"), "data": [r[6] for r in rows], "stack": "now"},
            {"label": _("overdue now"), "data": [r[5] for r in rows], "stack": "now"},
            {"label": _("written off"), "data": [r[7] for r in rows], "stack": "now"},
        ],
        indexAxis="y", scales={"x": {"stacked": True, "beginAtZero": True}, "y": {"stacked": True}},
    )
    return Figure(
        key="concessions", title=_("Extensions and restructurings, and how those loans did afterwards"),
        method=_("Loans granted an interest-free extension, or restructured (a restructuring entry in "
                 "the journal), in the period; “went overdue again” = the loan left the current stage "
                 "after that date; the rest is each loan's state now. Performing = current or settled."),
        columns=[_("kind of help"), _("loans"), _("went overdue again"), _("overdue again (%)"), _("current now"),
                 _("overdue now"), _("settled"), _("written off"), _("performing (%)")],
        rows=rows, chart=chart, as_of=_live_label(computed["computed_at"]),
    )


def dashboard_figures(*, filters: Filters, today: dt.date) -> list[Figure]:
    """Every figure of the dashboard, in the page's order."""
    return [
        *stage_figures(filters, today),
        roll_rate_figure(filters, today),
        recovery_figure(filters, today),
        promises_figure(filters, today),
        agents_figure(filters, today),
        concessions_figure(filters, today),
    ]


FIGURES: dict[str, Callable[[Filters, dt.date], Figure]] = {
    "stages": lambda f, d: stage_figures(f, d)[0],
    "overdue_rate": lambda f, d: stage_figures(f, d)[1],
    "roll_rates": roll_rate_figure,
    "recovery": recovery_figure,
    "promises": promises_figure,
    "agents": agents_figure,
    "concessions": concessions_figure,
}


# Each figure's numbers: (cannot change within the day, the queries that compute them).
_SOURCES: dict[str, tuple[bool, Callable[[Filters, dt.date], dict[str, Any]]]] = {
    "stages": (False, _stage_data),
    "roll_rates": (True, _roll_rate_data),
    "recovery": (True, _recovery_data),
    "promises": (True, _promises_data),
    "agents": (False, _agents_data),
    "concessions": (False, _concessions_data),
}


def chart_json(figure: Figure) -> str:
    return json.dumps(figure.chart, default=str)
