"""Demo data for `manage.py seed_demo`: staff logins, four borrower personas, and a portfolio.

The personas are made through the real services (`borrower_register`, `loan_disburse`,
`payment_post`, and `loan_age` for every business date up to the day before the as-of date),
so their rows, journal and audit trail are exactly what the system produces.

The portfolio of N loans is too large for that: it is planned in memory with a seeded
`random.Random` (same seed, same as-of date: same loans) and written in bulk (an executemany
INSERT per table on SQLite, COPY on PostgreSQL; see `portal.bulk.BulkRows`), one transaction per chunk.
`simulate_loan` computes, for one loan and the dates its borrower paid, what the services
would have left behind after ageing every business date from the disbursement to the day
before the as-of date (`last_aged`) and posting each payment on its date: statuses,
`overdue_since`, `settled_on`, penalty interest, days past due, stage and `aged_through`.
The invariants the services keep hold for every seeded loan:

- the journal per component (principal, interest, penalty, fees) equals the sum over the
  bills of due - paid - waived;
- each payment pays one bill in full (its penalty, interest and principal), with one 'paid'
  allocation of exactly its amount;
- the penalty of a bill is the daily charge round-half-up(unpaid principal × penalty rate / 360)
  times the number of business dates it was past its grace days and unpaid at the close.
  Consecutive daily accruals are written as one accrual entry per stretch between payments,
  dated its last day, memo "penalty accrued <from>..<to> (seeded history)";
- `aged_through` is the day before the as-of date for every active loan, so the close of
  business of the as-of date still runs (and accrues one day's penalty).

Assumption: the close of business ages every active loan every calendar day, starting on the
day of disbursement (the personas are aged that way too). Portfolio loans get no audit events.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from stdnum.cn import ric

from portal import demo_logins
from portal.bulk import BulkRows
from portal.demo_logins import Writable
from portal.models import User
from portal.money import ZERO, round_money

from . import services
from .models import (
    Allocation,
    AllocationKind,
    Borrower,
    Channel,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Language,
    Loan,
    LoanStatus,
    Payment,
    Product,
    RepaymentMethod,
    Segment,
    Stage,
)
from .schedule import due_dates, plan_schedule
from .services.book import payment_fingerprint

ONE_DAY = dt.timedelta(days=1)
DAYS_PER_YEAR = Decimal(360)  # as loans.services: daily rate = annual rate / 360
DEFAULT_SEED = 2026
DEFAULT_LOANS = 3000
DEFAULT_CHUNK = 5000

# --- Products -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSpec:
    code: str
    name: str
    annual_rate: Decimal
    method: str
    months: int
    weight_individual: int  # how often individuals / small-business owners take it
    weight_business: int


EI, EP = RepaymentMethod.EQUAL_INSTALLMENT, RepaymentMethod.EQUAL_PRINCIPAL
PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec("quick-6", "闪借 6 期 (Quick 6)", Decimal("0.24"), EI, 6, 30, 0),
    ProductSpec("classic-12", "安心贷 12 期 (Classic 12)", Decimal("0.18"), EI, 12, 40, 10),
    ProductSpec("steady-12", "稳还贷 12 期·等额本金 (Steady 12)", Decimal("0.15"), EP, 12, 15, 10),
    ProductSpec("home-24", "家装贷 24 期 (Home 24)", Decimal("0.135"), EI, 24, 15, 0),
    ProductSpec("business-24", "经营贷 24 期·等额本金 (Business 24)", Decimal("0.12"), EP, 24,
                0, 80),
)


@dataclass(frozen=True)
class Terms:
    """A product's contract terms as stored (a loan copies them at disbursement)."""

    code: str
    product_id: int
    annual_rate: Decimal
    penalty_rate: Decimal
    method: str
    months: int
    grace_days: int
    weight_individual: int
    weight_business: int

    @property
    def daily_penalty_rate(self) -> Decimal:
        return self.penalty_rate / DAYS_PER_YEAR


def ensure_products() -> dict[str, Terms]:
    """The demo products (created when missing), with the terms the database holds."""
    terms: dict[str, Terms] = {}
    for spec in PRODUCTS:
        product, _ = Product.objects.get_or_create(
            code=spec.code,
            defaults={"name": spec.name, "annual_rate": spec.annual_rate,
                      "repayment_method": spec.method, "term_months": spec.months,
                      "grace_days": 3, "extension_days": 30},
        )
        product.refresh_from_db()
        terms[spec.code] = Terms(
            code=spec.code, product_id=product.pk, annual_rate=product.annual_rate,
            penalty_rate=product.penalty_rate, method=product.repayment_method,
            months=product.term_months, grace_days=product.grace_days,
            weight_individual=spec.weight_individual, weight_business=spec.weight_business,
        )
    return terms


# --- Identities ---------------------------------------------------------------------------------

# Region codes that python-stdnum accepts for every birth year 1955-2008 (checked by the tests).
# 110107 (Shijingshan) is kept for the personas, so they never collide with the portfolio.
REGIONS = (
    "110101", "110102", "110105", "110106", "110108", "120101", "120103", "120104",
    "310101", "310104", "310105", "310106", "310107", "310109", "310110", "330122",
    "340121", "350121", "360121", "360122", "430121", "430122", "430321", "510121",
    "510122", "610323", "620123", "210122", "210421", "140121", "422826", "340621",
)
# Mainland mobile prefixes valid for every following digit (phonenumbers); 138 and 139 are
# left to the personas and the test fixtures.
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "175", "176", "177", "180", "181", "182", "183",
    "185", "186", "187", "188", "189", "191", "198", "199",
)
BIRTH_FIRST = dt.date(1965, 1, 1)
BIRTH_DAYS = (dt.date(2004, 12, 31) - BIRTH_FIRST).days + 1  # 14,610 = 2·3·5·487

SURNAMES = (
    "王王王王李李李李张张张张刘刘刘陈陈陈杨杨黄黄赵赵吴吴周周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
    "彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段"
    "雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_CHARS = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志文海东峰亮成晨博"
FEMALE_CHARS = "芳娜敏静丽艳娟霞秀燕玲桂丹萍红玉兰琳雪婷颖洁倩慧佳欣怡梅莉晶蕾璐薇月"


def national_id(region: str, birth: dt.date, sequence: int) -> str:
    """An 18-character resident ID: region, birth date, sequence (odd for men), check digit."""
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    # calc_check_digit ignores the last character it is given: it expects all 18.
    return first17 + ric.calc_check_digit(first17 + "0")


def chinese_name(rng: random.Random, female: bool) -> str:
    chars = FEMALE_CHARS if female else MALE_CHARS
    given = rng.choice(chars) if rng.random() < 0.3 else rng.choice(chars) + rng.choice(chars)
    return rng.choice(SURNAMES) + given


@dataclass(frozen=True)
class Identity:
    real_name: str
    national_id: str
    mobile: str
    segment: str
    language: str


def portfolio_identity(ordinal: int, rng: random.Random) -> Identity:
    """Borrower number `ordinal` of the portfolio: ID and mobile unique by construction."""
    region = REGIONS[ordinal % len(REGIONS)]
    j = ordinal // len(REGIONS)
    r, block = j % BIRTH_DAYS, j // BIRTH_DAYS
    if block >= 499:
        raise ValueError("more portfolio borrowers than unique national IDs")
    birth = BIRTH_FIRST + dt.timedelta(days=r * 7919 % BIRTH_DAYS)  # a bijection: 7919 is prime
    female = rng.random() < 0.5
    pair = (block * 101 + r * 7 + 13) % 499  # a bijection of block for each (region, birth)
    sequence = 2 * pair + (2 if female else 1)  # odd: men, even: women
    prefix = MOBILE_PREFIXES[ordinal % len(MOBILE_PREFIXES)]
    suffix = (j * 4999 + 31415926) % 100_000_000  # a bijection of j
    return Identity(
        real_name=chinese_name(rng, female),
        national_id=national_id(region, birth, sequence),
        mobile=f"{prefix}{suffix:08d}",
        segment=(Segment.SMALL_BUSINESS if rng.random() < 0.12 else Segment.INDIVIDUAL).value,
        language=(Language.EN if rng.random() < 0.08 else Language.ZH_HANS).value,
    )


# --- One loan's life, as the services would leave it --------------------------------------------

_PARTS_CACHE: dict[tuple[Decimal, Decimal, int, str], list[tuple[Decimal, Decimal]]] = {}
_DUES_CACHE: dict[tuple[dt.date, int], list[dt.date]] = {}


def schedule_parts(terms: Terms, principal: Decimal) -> list[tuple[Decimal, Decimal]]:
    """(principal, interest) of each bill from `plan_schedule`; they do not depend on the date."""
    key = (principal, terms.annual_rate, terms.months, terms.method)
    parts = _PARTS_CACHE.get(key)
    if parts is None:
        if len(_PARTS_CACHE) > 50_000:
            _PARTS_CACHE.clear()
        plan = plan_schedule(principal=principal, annual_rate=terms.annual_rate,
                             months=terms.months, method=terms.method, start=dt.date(2000, 1, 1))
        parts = _PARTS_CACHE[key] = [(p.principal, p.interest) for p in plan]
    return parts


def schedule_dues(disbursed_on: dt.date, months: int) -> list[dt.date]:
    key = (disbursed_on, months)
    dues = _DUES_CACHE.get(key)
    if dues is None:
        if len(_DUES_CACHE) > 50_000:
            _DUES_CACHE.clear()
        dues = _DUES_CACHE[key] = due_dates(disbursed_on, months)
    return dues


def disbursement_for(due: dt.date, bill: int, months: int) -> tuple[dt.date, int] | None:
    """A disbursement date whose bill number `bill` (or a neighbour) falls due exactly on `due`."""
    for number in (bill, bill + 1, bill - 1, bill + 2):
        if not 1 <= number <= months:
            continue
        base = due - relativedelta(months=number)
        for shift in (0, -1, 1, -2, 2, -3, 3):
            start = base + dt.timedelta(days=shift)
            if schedule_dues(start, number)[number - 1] == due:
                return start, number
    return None


@dataclass
class Bill:
    number: int
    due_date: dt.date
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    paid_on: dt.date | None
    status: str
    overdue_since: dt.date | None

    @property
    def amount(self) -> Decimal:
        """What the payment of this bill was: everything it owed on the day."""
        return self.principal + self.interest + self.penalty


@dataclass(frozen=True)
class Accrual:
    first: dt.date
    last: dt.date  # the entry's business date
    penalty: Decimal


@dataclass
class Outcome:
    bills: list[Bill]
    accruals: list[Accrual]
    status: str
    stage: str
    days_past_due: int
    aged_through: dt.date | None


def simulate_loan(
    *, terms: Terms, principal: Decimal, disbursed_on: dt.date,
    paid_on: Sequence[dt.date | None], last_aged: dt.date,
) -> Outcome:
    """What the services leave after disbursing on `disbursed_on`, paying bill n in full on
    `paid_on[n-1]` (None: not paid) and ageing every date from disbursement to `last_aged`.

    Bills are paid oldest first (a paid prefix), each on or after the previous one's date.
    """
    parts = schedule_parts(terms, principal)
    dues = schedule_dues(disbursed_on, terms.months)
    if len(paid_on) != len(parts) or disbursed_on > last_aged:
        raise ValueError("one payment date per bill, and ageing from the disbursement on")
    grace = dt.timedelta(days=terms.grace_days + 1)
    daily_rate = terms.daily_penalty_rate
    bills: list[Bill] = []
    windows: list[tuple[dt.date, dt.date, Decimal]] = []
    previous: dt.date = disbursed_on
    stopped = False
    for number, ((part_principal, part_interest), due, paid) in enumerate(
        zip(parts, dues, paid_on, strict=True), start=1
    ):
        if paid is not None:
            if stopped or paid > last_aged or paid < previous or paid <= disbursed_on:
                raise ValueError(f"bill {number}: payments must be in order and by {last_aged}")
            previous = paid
        else:
            stopped = True
        first_late = due + grace  # the first close at which the bill is past its grace days
        last_accrual = min(paid - ONE_DAY, last_aged) if paid is not None else last_aged
        late_days = (last_accrual - first_late).days + 1
        penalty = ZERO
        if late_days > 0:
            charge = round_money(part_principal * daily_rate)
            penalty = charge * late_days
            if charge > 0:
                windows.append((first_late, last_accrual, charge))
        overdue_since = first_late if late_days > 0 else None
        if paid is not None:
            status = InstallmentStatus.PAID.value
        elif first_late <= last_aged:
            status = InstallmentStatus.OVERDUE.value
        elif due <= last_aged:
            status = InstallmentStatus.DUE.value
        else:
            status = InstallmentStatus.PENDING.value
        bills.append(Bill(number, due, part_principal, part_interest, penalty, paid, status,
                          overdue_since))

    accruals: list[Accrual] = []
    if windows:
        # One entry per stretch of closes between payments (a payment changes the charge).
        cuts = sorted({b.paid_on - ONE_DAY for b in bills if b.paid_on is not None} | {last_aged})
        low = disbursed_on
        for high in cuts:
            total, first, last = ZERO, None, None
            for start, end, charge in windows:
                s, e = max(start, low + ONE_DAY), min(end, high)
                if s <= e:
                    total += charge * ((e - s).days + 1)
                    first = s if first is None else min(first, s)
                    last = e if last is None else max(last, e)
            if total > 0 and first is not None and last is not None:
                accruals.append(Accrual(first, last, total))
            low = high

    unpaid = [b for b in bills if b.paid_on is None]
    if unpaid:
        oldest = unpaid[0]
        late = oldest.due_date + grace <= last_aged
        days_past_due = (last_aged - oldest.due_date).days if late else 0
        stage = services.stage_for(days_past_due).value
        return Outcome(bills, accruals, LoanStatus.ACTIVE.value, stage, days_past_due, last_aged)
    # Settled by the last payment; the close of that day skipped the loan.
    return Outcome(bills, accruals, LoanStatus.SETTLED.value, Stage.CURRENT.value, 0,
                   previous - ONE_DAY)


# --- Planning the portfolio ---------------------------------------------------------------------

OVERDUE_SHARE = 0.10
# Days past due of the overdue loans, cycled so every stage is represented. Below grace + 1
# days nothing is past due yet, so the first band starts at 4.
DPD_BANDS = ((4, 29), (30, 59), (60, 89), (90, 179), (180, 420))
PUNCTUAL_LAGS = (-3, -2, -1, 0, 0, 0, 0, 0)  # days after the due date a bill is paid
RELAXED_LAGS = (-1, 0, 0, 1, 1, 2, 3)  # inside the grace days: never penalised
CHANNELS = (Channel.APP.value,) * 6 + (Channel.WEB.value,) * 2 + (Channel.BANK_TRANSFER.value,) * 2


@dataclass
class PlannedLoan:
    ordinal: int
    reference: str
    terms: Terms
    principal: Decimal
    disbursed_on: dt.date
    outcome: Outcome
    channels: list[str]  # one per paid bill


@dataclass
class PlannedBorrower:
    ordinal: int
    identity: Identity
    loans: list[PlannedLoan]


def loan_reference(ordinal: int, disbursed_on: dt.date) -> str:
    """Unique by construction (a bijection of the ordinal), shaped like the services' ones."""
    return f"L{disbursed_on:%y%m%d}{(ordinal * 2654435761 + 0x5EED) % 2**32:08X}"


@functools.cache
def _ln(value: int) -> Decimal:
    return Decimal(value).ln()


class PortfolioPlanner:
    """Plans `loans` loans from `seed`, in order, without touching the database."""

    def __init__(self, *, loans: int, seed: int, as_of: dt.date, terms: dict[str, Terms],
                 overdue_share: float = OVERDUE_SHARE) -> None:
        self.total = loans
        self.overdue_share = overdue_share
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.last_aged = as_of - ONE_DAY
        self.products = [terms[spec.code] for spec in PRODUCTS]
        self.planned = 0
        self.overdue = 0
        self.borrowers = 0

    def borrowers_in_chunks(self, size: int) -> Iterator[list[PlannedBorrower]]:
        chunk: list[PlannedBorrower] = []
        loans_in_chunk = 0
        while self.planned < self.total:
            borrower = self._plan_borrower(max_loans=min(2, self.total - self.planned))
            chunk.append(borrower)
            loans_in_chunk += len(borrower.loans)
            if loans_in_chunk >= size:
                yield chunk
                chunk, loans_in_chunk = [], 0
        if chunk:
            yield chunk

    def _plan_borrower(self, max_loans: int) -> PlannedBorrower:
        rng = self.rng
        identity = portfolio_identity(self.borrowers, rng)
        borrower = PlannedBorrower(self.borrowers, identity, [])
        self.borrowers += 1
        count = 2 if max_loans > 1 and rng.random() < 0.2 else 1
        for _ in range(count):
            borrower.loans.append(self._plan_loan(identity.segment))
        return borrower

    def _plan_loan(self, segment: str) -> PlannedLoan:
        rng = self.rng
        business = segment == Segment.SMALL_BUSINESS
        weights = [t.weight_business if business else t.weight_individual for t in self.products]
        terms = rng.choices(self.products, weights=weights)[0]
        low, high, step = (20_000, 300_000, 1000) if business else (1_000, 50_000, 100)
        # Log-uniform; Decimal's ln and exp are correctly rounded, so every platform agrees.
        log_low, log_high = _ln(low), _ln(high)
        amount = (log_low + Decimal(rng.random()) * (log_high - log_low)).exp()
        steps = max(low // step, int((amount / step).to_integral_value()))
        principal = Decimal(steps * step).quantize(Decimal("0.01"))
        months = terms.months

        if rng.random() < self.overdue_share:
            band = DPD_BANDS[self.overdue % len(DPD_BANDS)]
            self.overdue += 1
            while True:
                days = rng.randint(*band)
                most = max(1, min(months, (700 - days) // 31))
                found = disbursement_for(self.last_aged - dt.timedelta(days=days),
                                         rng.randint(1, most), months)
                if found is not None:
                    break
            disbursed_on, first_unpaid = found
        else:
            disbursed_on = self.last_aged - dt.timedelta(days=rng.randint(0, 729))
            first_unpaid = months + 1

        style = rng.random()
        lags = PUNCTUAL_LAGS if style < 0.75 else RELAXED_LAGS
        late_bills: set[int] = set()
        if style > 0.9:  # paid a bill or two past the grace days once, then caught up
            late_bills = {rng.randint(1, months) for _ in range(rng.randint(1, 2))}
        paid_on: list[dt.date | None] = []
        previous = disbursed_on
        stopped = False
        for number, due in enumerate(schedule_dues(disbursed_on, months), start=1):
            lag = rng.randint(4, 25) if number in late_bills else rng.choice(lags)
            pay = max(due + dt.timedelta(days=lag), previous)
            if due <= self.last_aged:
                pay = min(pay, self.last_aged)  # a performing borrower has paid what is due
            if stopped or number >= first_unpaid or pay > self.last_aged:
                stopped = True
                paid_on.append(None)
                continue
            paid_on.append(pay)
            previous = pay
        outcome = simulate_loan(terms=terms, principal=principal, disbursed_on=disbursed_on,
                                paid_on=paid_on, last_aged=self.last_aged)
        channels = [rng.choice(CHANNELS) for b in outcome.bills if b.paid_on is not None]
        ordinal = self.planned
        self.planned += 1
        return PlannedLoan(ordinal, loan_reference(ordinal, disbursed_on), terms, principal,
                           disbursed_on, outcome, channels)


# --- Writing the portfolio ----------------------------------------------------------------------


_BULK_MODELS: tuple[type[models.Model], ...] = (
    User, Borrower, Loan, Installment, Payment, Allocation, JournalEntry,
)
_MONEY = ("principal", "interest", "penalty", "fees")
_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    User: ("id", "username", "password"),
    Borrower: ("id", "user", "real_name", "national_id", "mobile", "segment",
               "preferred_language"),
    Loan: ("id", "reference", "borrower", "product", "principal", "annual_rate", "penalty_rate",
           "repayment_method", "term_months", "grace_days", "disbursed_on", "status", "stage",
           "days_past_due", "aged_through"),
    Installment: ("id", "loan", "number", "due_date", "status", "principal_due", "interest_due",
                  "penalty_due", "principal_paid", "interest_paid", "penalty_paid",
                  "overdue_since", "settled_on"),
    Payment: ("id", "loan", "borrower", "amount", "channel", "idempotency_key",
              "request_fingerprint", "business_date"),
    Allocation: ("id", "payment", "installment", "kind", "penalty", "interest", "principal"),
    JournalEntry: ("id", "loan", "kind", "business_date", "payment", *_MONEY, "memo"),
}


def _next_ids() -> dict[type[models.Model], int]:
    return {m: (m._default_manager.aggregate(top=Max("id"))["top"] or 0) + 1 for m in _BULK_MODELS}


def write_borrowers(planned: list[PlannedBorrower], password_hash: str) -> None:
    """Write planned borrowers and their loans in one transaction, with ids assigned here.

    Ids follow the largest in each table, read inside the transaction (on SQLite it holds the
    write lock from its start); on PostgreSQL the sequences are moved past them afterwards.
    """
    with transaction.atomic():
        ids = _next_ids()
        now = timezone.now()
        tables = {m: BulkRows(m, _FIELDS[m], now) for m in _BULK_MODELS}
        for pb in planned:
            who = pb.identity
            user_id, borrower_id = ids[User], ids[Borrower]
            ids[User] += 1
            ids[Borrower] += 1
            tables[User].add(user_id, who.mobile, password_hash)
            tables[Borrower].add(borrower_id, user_id, who.real_name, who.national_id,
                                 who.mobile, who.segment, who.language)
            for pl in pb.loans:
                _add_loan(pl, borrower_id, ids, tables)
        for model in _BULK_MODELS:
            tables[model].write()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # explicit ids: move the sequences past them
                for sql in connection.ops.sequence_reset_sql(no_style(), list(_BULK_MODELS)):
                    cursor.execute(sql)


def _add_loan(pl: PlannedLoan, borrower_id: int, ids: dict[type[models.Model], int],
              tables: dict[type[models.Model], BulkRows]) -> None:
    terms, outcome = pl.terms, pl.outcome
    loan_id = ids[Loan]
    ids[Loan] += 1
    tables[Loan].add(
        loan_id, pl.reference, borrower_id, terms.product_id, pl.principal, terms.annual_rate,
        terms.penalty_rate, terms.method, terms.months, terms.grace_days, pl.disbursed_on,
        outcome.status, outcome.stage, outcome.days_past_due, outcome.aged_through,
    )
    installments, payments, allocations = tables[Installment], tables[Payment], tables[Allocation]
    # Journal rows in the order the system writes them: by date, payments before the close.
    events: list[tuple[dt.date, int, tuple[Any, ...]]] = []
    total_interest = ZERO
    channels = iter(pl.channels)
    for bill in outcome.bills:
        total_interest += bill.interest
        installment_id = ids[Installment]
        ids[Installment] += 1
        paid_on = bill.paid_on
        if paid_on is None:
            installments.add(
                installment_id, loan_id, bill.number, bill.due_date, bill.status, bill.principal,
                bill.interest, bill.penalty, ZERO, ZERO, ZERO, bill.overdue_since, None,
            )
            continue
        installments.add(
            installment_id, loan_id, bill.number, bill.due_date, bill.status, bill.principal,
            bill.interest, bill.penalty, bill.principal, bill.interest, bill.penalty,
            bill.overdue_since, paid_on,
        )
        payment_id, amount, channel = ids[Payment], bill.amount, next(channels)
        ids[Payment] += 1
        payments.add(
            payment_id, loan_id, borrower_id, amount, channel,
            f"seed-{pl.reference}-{bill.number}", payment_fingerprint(loan_id, amount, channel, ""),
            paid_on,
        )
        allocations.add(ids[Allocation], payment_id, installment_id, AllocationKind.PAID.value,
                        bill.penalty, bill.interest, bill.principal)
        ids[Allocation] += 1
        events.append((paid_on, 0, (
            EntryKind.REPAYMENT.value, paid_on, payment_id, -bill.principal, -bill.interest,
            -bill.penalty, ZERO, "",
        )))
    for accrual in outcome.accruals:
        events.append((accrual.last, 1, (
            EntryKind.ACCRUAL.value, accrual.last, None, ZERO, ZERO, accrual.penalty, ZERO,
            f"penalty accrued {accrual.first}..{accrual.last} (seeded history)",
        )))
    journal = tables[JournalEntry]
    journal.add(ids[JournalEntry], loan_id, EntryKind.DISBURSEMENT.value, pl.disbursed_on, None,
                pl.principal, total_interest, ZERO, ZERO,
                f"schedule of {len(outcome.bills)} installments")
    ids[JournalEntry] += 1
    events.sort(key=lambda e: (e[0], e[1]))
    for _, _, entry in events:
        journal.add(ids[JournalEntry], loan_id, *entry)
        ids[JournalEntry] += 1


def seed_portfolio(
    *, loans: int, seed: int, as_of: dt.date, terms: dict[str, Terms],
    stdout: Writable | None = None, chunk_size: int = DEFAULT_CHUNK, overdue_share: float = OVERDUE_SHARE,
) -> PortfolioPlanner:
    """Plan and write `loans` loans, chunk by chunk; prints progress after each chunk."""
    planner = PortfolioPlanner(loans=loans, seed=seed, as_of=as_of, terms=terms, overdue_share=overdue_share)
    password_hash = make_password(None)  # unusable: portfolio borrowers do not sign in
    began = time.perf_counter()
    for chunk in planner.borrowers_in_chunks(chunk_size):
        write_borrowers(chunk, password_hash)
        if stdout is not None:
            elapsed = time.perf_counter() - began
            stdout.write(
                f"  {planner.planned:>9,} / {loans:,} loans written  {elapsed:7.1f} s  "
                f"({planner.planned / elapsed:,.0f} loans/s)\n"
            )
            stdout.flush()
    return planner


# --- Staff and personas -------------------------------------------------------------------------


def create_staff(stdout: Writable | None = None) -> list[User]:
    """The staff demo logins, each in its group; an existing username is left untouched."""
    password_hash = make_password(demo_logins.DEMO_PASSWORD)  # hashed once for all of them
    made = []
    for login in demo_logins.DEMO_LOGINS:
        if login.is_borrower:
            continue
        if User.objects.filter(username=login.username).exists():
            if stdout is not None:
                stdout.write(f"  user {login.username!r} already exists; left as it is\n")
            continue
        user = User.objects.create(
            username=login.username, password=password_hash, is_staff=True,
            is_superuser=login.is_superuser, first_name=login.first_name,
            last_name=login.last_name,
        )
        if login.group:
            user.groups.add(Group.objects.get(name=login.group))
        made.append(user)
    return made


@dataclass(frozen=True)
class Persona:
    username: str
    real_name: str
    national_id: str
    segment: str
    product: str
    principal: Decimal
    reference: str
    anchor_bill: int  # this bill falls due `anchor_days` days before the last aged date...
    anchor_days: int
    stops_paying: bool  # ...and is, with every later bill, left unpaid


PERSONAS = (
    Persona(demo_logins.CURRENT_BORROWER, "陈晓明", national_id("110107", dt.date(1990, 3, 15), 21),
            Segment.INDIVIDUAL, "classic-12", Decimal("12000.00"), "DEMO-CURRENT", 5, 12, False),
    Persona(demo_logins.FIRST_TIME_OVERDUE_BORROWER, "林小红",
            national_id("110107", dt.date(1995, 8, 8), 46), Segment.INDIVIDUAL, "classic-12",
            Decimal("8000.00"), "DEMO-FIRSTLATE", 4, 5, True),
    Persona(demo_logins.DPD45_BORROWER, "王建国", national_id("110107", dt.date(1978, 11, 2), 13),
            Segment.INDIVIDUAL, "classic-12", Decimal("30000.00"), "DEMO-DPD45", 3, 45, True),
    Persona(demo_logins.DPD95_BORROWER, "刘志强", national_id("110107", dt.date(1982, 6, 20), 35),
            Segment.SMALL_BUSINESS, "business-24", Decimal("150000.00"), "DEMO-DPD95", 4, 95, True),
)


def create_personas(*, as_of: dt.date, terms: dict[str, Terms]) -> list[Loan]:
    """The four borrower personas, through the services, aged every date to the day before as-of."""
    last_aged = as_of - ONE_DAY
    loans = []
    for persona in PERSONAS:
        product = terms[persona.product]
        found = disbursement_for(last_aged - dt.timedelta(days=persona.anchor_days),
                                 persona.anchor_bill, product.months)
        if found is None:  # cannot happen: some bill number always fits
            raise RuntimeError(f"no disbursement date for {persona.reference}")
        disbursed_on, anchor = found
        borrower = services.borrower_register(
            mobile=persona.username, real_name=persona.real_name,
            national_id=persona.national_id, password=demo_logins.DEMO_PASSWORD,
            segment=persona.segment,
        )
        loan = services.loan_disburse(
            borrower_id=borrower.pk, product_id=product.product_id, principal=persona.principal,
            disbursed_on=disbursed_on, reference=persona.reference,
        )
        pays_on: dict[dt.date, list[int]] = {}
        for bill in loan.installments.all():
            if persona.stops_paying and bill.number >= anchor:
                continue
            if bill.due_date <= last_aged:  # on the due date, before the close
                pays_on.setdefault(bill.due_date, []).append(bill.number)
        day = disbursed_on
        while day <= last_aged:
            for number in pays_on.get(day, []):
                bill = Installment.objects.get(loan=loan, number=number)
                services.payment_post(
                    loan_id=loan.pk, amount=bill.total_outstanding, channel=Channel.APP,
                    idempotency_key=f"demo-{persona.reference}-{number}", actor=None,
                    business_date=day,
                )
            services.loan_age(loan_id=loan.pk, business_date=day)
            day += ONE_DAY
        loan.refresh_from_db()
        loans.append(loan)
    return loans


# --- Everything ---------------------------------------------------------------------------------


class DatabaseNotEmpty(Exception):
    pass


@dataclass
class SeedResult:
    loans: int
    borrowers: int
    overdue: int
    personas_seconds: float
    portfolio_seconds: float


def seed_demo(
    *, loans: int = DEFAULT_LOANS, seed: int = DEFAULT_SEED, as_of: dt.date,
    stdout: Writable | None = None, chunk_size: int = DEFAULT_CHUNK, overdue_share: float = OVERDUE_SHARE,
) -> SeedResult:
    """Products, staff, personas and a portfolio of `loans` loans, into a database with no loans."""
    if Loan.objects.exists():
        raise DatabaseNotEmpty(f"the database already holds {Loan.objects.count():,} loans")
    began = time.perf_counter()
    terms = ensure_products()
    create_staff(stdout)
    create_personas(as_of=as_of, terms=terms)
    personas_seconds = time.perf_counter() - began
    if stdout is not None:
        stdout.write(f"Staff and {len(PERSONAS)} borrower personas: {personas_seconds:.1f} s\n")
        stdout.write(f"Portfolio of {loans:,} loans (seed {seed}, as of {as_of}):\n")
    began = time.perf_counter()
    planner = seed_portfolio(loans=loans, seed=seed, as_of=as_of, terms=terms, stdout=stdout,
                             chunk_size=chunk_size, overdue_share=overdue_share)
    return SeedResult(loans=planner.planned, borrowers=planner.borrowers,
                      overdue=planner.overdue, personas_seconds=personas_seconds,
                      portfolio_seconds=time.perf_counter() - began)
