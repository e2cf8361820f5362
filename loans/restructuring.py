"""Restructuring maths: pure functions from a loan's open bills to a proposed schedule.

Nothing here reads or writes the database. `plan_restructuring` takes what the open bills
still owe (per component), the business date and a kind with its parameters, and returns a
`Plan`: the current and proposed schedule rows, the waivers (which bill, which part, how
much), the totals of both schedules and a fingerprint of the bills it was computed from.
`loans.services.loan_restructure` applies a plan; the proposal keeps it as JSON.

Rules shared by every kind
--------------------------
- **Money** is Decimal with two places. The only roundings are `round_money` of a share
  (waiver share × amount, holiday interest) and the schedule's own (loans.schedule); every
  split into parts uses cumulative rounding, so parts add up exactly to what they split.
- **Principal is preserved**: the proposed rows ask for exactly the principal the open bills
  still owe. Principal is never waived.
- **The first new bill** falls on the loan's payment day (the day of the month of its
  disbursement, clamped to the month's last day), at least `FIRST_BILL_MIN_DAYS` after the
  business date: a borrower is never asked to pay a restructured bill tomorrow, and an offer
  can wait for the borrower's answer. Everything the open bills ask for before that date (the
  overdue bills, and a bill due within those days) is "the amount due before the plan".
- **Waivers** (any kind may carry them; the waiver kind is only them) forgive a share or an
  amount of the interest and/or penalty of the bills due on or before the business date,
  oldest bill first. They are recorded on those bills (their `*_waived` columns) when applied.
- **Dates strictly increase**; two bills on one date (an interest-free extension can move
  several bills to one date) become one row.

The kinds
---------
- **Term extension** (`extra_months`): all the principal still owed is re-spread at the
  contract rate and repayment method (loans.schedule) over the remaining periods plus
  `extra_months`, monthly from the first new bill. Interest due before the plan, and penalty
  and fees of any bill, are *carried into the first new bill* as the same components (not
  capitalised into principal: no interest is charged on interest or penalty). The interest of
  later old bills is replaced by the new schedule's interest (after an earlier instalment
  plan, that includes overdue interest it had moved to later bills: the approver sees the
  difference in the totals, and the journal records it).
- **Instalment plan** (`parts`): the amount due before the plan is split, component by
  component, into `parts` monthly parts added to the coming bills from the first new bill on
  (extra monthly bills after the last one when there are fewer coming bills). No new interest.
- **Waiver**: interest and/or penalty reduced by `*_share` (a fraction, 0–1) or `*_amount`.
  Nothing is rescheduled: the bills keep their dates (overdue bills stay overdue).
- **Grace period** (`holiday_months`, `holiday_interest`): nothing is due for the holiday;
  every coming bill moves `holiday_months` later and the amount due before the plan moves into
  the first bill after the holiday. The interest of the holiday (the principal still owed ×
  the contract rate / 12 × months) is either not charged (`waive`: shown as interest forgone,
  which counts as a concession for approvals) or added (`add`), spread over the moved bills.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_UP, Decimal, InvalidOperation, localcontext
from typing import Any, Protocol

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext as _

from portal.errors import DomainError
from portal.money import ZERO, round_money

from .models import COMPONENTS, RepaymentMethod
from .schedule import _cumulative_rounding, plan_schedule

TERM_EXTENSION = "term_extension"
INSTALMENT_PLAN = "instalment_plan"
WAIVER = "waiver"
GRACE_PERIOD = "grace_period"
KINDS = (TERM_EXTENSION, INSTALMENT_PLAN, WAIVER, GRACE_PERIOD)

HOLIDAY_WAIVE = "waive"
HOLIDAY_ADD = "add"

FIRST_BILL_MIN_DAYS = 10
MAX_EXTRA_MONTHS = 60
MAX_PARTS = 24
MAX_HOLIDAY_MONTHS = 6
PLAN_VERSION = 1

SHARE_PLACES = Decimal("0.0001")
RATIO_PLACES = Decimal("0.000001")
WAIVABLE = ("interest", "penalty")


class PlanRefused(DomainError):
    """The kind, its parameters or the bills do not make a plan (the message says why)."""

    code = "plan_refused"


class _InstallmentLike(Protocol):
    pk: Any
    number: int
    due_date: dt.date
    penalty_paid: Decimal
    penalty_waived: Decimal

    def outstanding(self, component: str) -> Decimal: ...


# --- Inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bill:
    """What one open bill still asks for, per component, and what identifies its state."""

    id: int
    number: int
    due_date: dt.date
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    fees: Decimal
    # Penalty paid + waived: with the other parts, it changes only when money moves. Penalty
    # *charged* grows every day an overdue bill ages, which must not make a plan stale.
    penalty_settled: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees

    def part(self, component: str) -> Decimal:
        value: Decimal = getattr(self, component)
        return value


def bills_from_installments(installments: Sequence[_InstallmentLike]) -> list[Bill]:
    """The open bills (caller's choice: `loans.allocation.open_installments`) as the maths sees them."""
    return [
        Bill(
            id=int(i.pk),
            number=i.number,
            due_date=i.due_date,
            penalty_settled=i.penalty_paid + i.penalty_waived,
            **{c: i.outstanding(c) for c in COMPONENTS},
        )
        for i in installments
    ]


def bills_fingerprint(bills: Sequence[Bill]) -> str:
    """Changes when a payment, waiver, reversal or reschedule touches the open bills; not when
    penalty accrues (see `Bill.penalty_settled`)."""
    rows = sorted(
        (b.id, b.number, b.due_date.isoformat(), str(b.principal), str(b.interest), str(b.fees),
         str(b.penalty_settled))
        for b in bills
    )
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


@dataclass(frozen=True)
class Parameters:
    """A kind's parameters, validated. Shares are fractions (0.25 = 25 %)."""

    extra_months: int | None = None
    parts: int | None = None
    holiday_months: int | None = None
    holiday_interest: str | None = None
    interest_share: Decimal | None = None
    interest_amount: Decimal | None = None
    penalty_share: Decimal | None = None
    penalty_amount: Decimal | None = None

    def to_json(self) -> dict[str, str | int]:
        out: dict[str, str | int] = {}
        for name, value in vars(self).items():
            if value is None:
                continue
            out[name] = str(value) if isinstance(value, Decimal) else value
        return out

    def waiver_of(self, component: str) -> tuple[Decimal | None, Decimal | None]:
        share: Decimal | None = getattr(self, f"{component}_share")
        amount: Decimal | None = getattr(self, f"{component}_amount")
        return share, amount

    @property
    def has_waiver(self) -> bool:
        return any(v is not None for c in WAIVABLE for v in self.waiver_of(c))


_KIND_FIELDS = {
    TERM_EXTENSION: {"extra_months"},
    INSTALMENT_PLAN: {"parts"},
    WAIVER: set(),
    GRACE_PERIOD: {"holiday_months", "holiday_interest"},
}
_WAIVER_FIELDS = {f"{c}_{k}" for c in WAIVABLE for k in ("share", "amount")}


def _int(raw: Any, name: str, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raw = None
    try:
        value = int(str(raw).strip()) if raw is not None else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise PlanRefused(
            _("%(name)s must be a whole number from %(low)s to %(high)s.")
            % {"name": _label(name), "low": low, "high": high}
        )
    return value


def _decimal(raw: Any, name: str) -> Decimal:
    if isinstance(raw, float):
        raise PlanRefused(_("%(name)s must be given as text, not as a float.") % {"name": _label(name)})
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise PlanRefused(_("%(name)s is not a number.") % {"name": _label(name)}) from None
    if not value.is_finite():
        raise PlanRefused(_("%(name)s is not a number.") % {"name": _label(name)})
    return value


def _label(name: str) -> str:
    labels = {
        "extra_months": _("The number of extra months"),
        "parts": _("The number of parts"),
        "holiday_months": _("The number of holiday months"),
        "holiday_interest": _("The holiday's interest"),
        "interest_share": _("The share of interest waived"),
        "interest_amount": _("The interest waived"),
        "penalty_share": _("The share of penalty waived"),
        "penalty_amount": _("The penalty waived"),
    }
    return labels.get(name, name)


def parse_parameters(kind: str, raw: Mapping[str, Any]) -> Parameters:
    """Validate a kind's parameters (from a form or a stored proposal); refuse with a reason."""
    if kind not in KINDS:
        raise PlanRefused(_("Please choose the kind of restructuring from the list."))
    given = {k: v for k, v in raw.items() if v is not None and str(v).strip() != ""}
    allowed = _KIND_FIELDS[kind] | _WAIVER_FIELDS
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise PlanRefused(
            _("These parameters do not apply to this kind of restructuring: %(names)s.")
            % {"names": ", ".join(unknown)}
        )
    values: dict[str, Any] = {}
    if kind == TERM_EXTENSION:
        values["extra_months"] = _int(given.get("extra_months"), "extra_months", 1, MAX_EXTRA_MONTHS)
    elif kind == INSTALMENT_PLAN:
        values["parts"] = _int(given.get("parts"), "parts", 2, MAX_PARTS)
    elif kind == GRACE_PERIOD:
        values["holiday_months"] = _int(given.get("holiday_months"), "holiday_months", 1, MAX_HOLIDAY_MONTHS)
        treatment = str(given.get("holiday_interest", "")).strip()
        if treatment not in (HOLIDAY_WAIVE, HOLIDAY_ADD):
            raise PlanRefused(_("Choose whether the holiday's interest is waived or added."))
        values["holiday_interest"] = treatment
    for component in WAIVABLE:
        share_name, amount_name = f"{component}_share", f"{component}_amount"
        if share_name in given and amount_name in given:
            raise PlanRefused(
                _("Give either a share or an amount of %(part)s to waive, not both.")
                % {"part": _part_label(component)}
            )
        if share_name in given:
            share = _decimal(given[share_name], share_name)
            if not Decimal(0) < share <= 1 or share != share.quantize(SHARE_PLACES):
                raise PlanRefused(
                    _("%(name)s must be more than 0 and at most 1 (100 %%), in steps of 0.0001.")
                    % {"name": _label(share_name)}
                )
            values[share_name] = share
        if amount_name in given:
            amount = _decimal(given[amount_name], amount_name)
            if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise PlanRefused(
                    _("%(name)s must be an amount above zero with at most two decimal places.")
                    % {"name": _label(amount_name)}
                )
            values[amount_name] = amount
    parameters = Parameters(**values)
    if kind == WAIVER and not parameters.has_waiver:
        raise PlanRefused(_("A waiver needs a share or an amount of interest or penalty to waive."))
    return parameters


def _part_label(component: str) -> str:
    return {"interest": _("interest"), "penalty": _("penalty interest"), "fees": _("fees"),
            "principal": _("principal")}[component]


# --- Outputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One bill of a schedule: its date and what it asks for."""

    due_date: dt.date
    principal: Decimal = ZERO
    interest: Decimal = ZERO
    penalty: Decimal = ZERO
    fees: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees

    def plus(self, **parts: Decimal) -> Row:
        return replace(self, **{c: getattr(self, c) + v for c, v in parts.items()})

    def to_json(self) -> dict[str, str]:
        return {"due_date": self.due_date.isoformat(), **{c: str(getattr(self, c)) for c in COMPONENTS}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Row:
        return cls(
            due_date=dt.date.fromisoformat(data["due_date"]),
            **{c: Decimal(data[c]) for c in COMPONENTS},
        )


@dataclass(frozen=True)
class Totals:
    """A schedule in a few figures: what it asks for in all, per part, how long, how much a month."""

    principal: Decimal
    interest: Decimal
    penalty: Decimal
    fees: Decimal
    bills: int
    first_due: dt.date | None
    end_date: dt.date | None
    first_payment: Decimal
    # The middle bill's amount (lower middle), a fair "monthly amount" whatever the first bill carries.
    typical_payment: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees

    @classmethod
    def of(cls, rows: Sequence[Row]) -> Totals:
        amounts = sorted(r.total for r in rows)
        return cls(
            bills=len(rows),
            first_due=rows[0].due_date if rows else None,
            end_date=rows[-1].due_date if rows else None,
            first_payment=rows[0].total if rows else ZERO,
            typical_payment=amounts[(len(amounts) - 1) // 2] if amounts else ZERO,
            **{c: sum((getattr(r, c) for r in rows), ZERO) for c in COMPONENTS},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **{c: str(getattr(self, c)) for c in COMPONENTS},
            "total": str(self.total),
            "bills": self.bills,
            "first_due": self.first_due.isoformat() if self.first_due else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "first_payment": str(self.first_payment),
            "typical_payment": str(self.typical_payment),
        }


@dataclass(frozen=True)
class Waiver:
    """A part of one bill forgiven by the plan."""

    bill: int
    component: str
    amount: Decimal


@dataclass(frozen=True)
class Plan:
    kind: str
    parameters: Parameters
    as_of: dt.date
    fingerprint: str
    current_bills: tuple[Bill, ...]
    proposed: tuple[Row, ...]
    waivers: tuple[Waiver, ...] = ()
    # Holiday interest the borrower is not charged (a grace period with `waive`): never charged,
    # so not in the journal, but a concession all the same.
    interest_forgone: Decimal = ZERO
    # The first date the plan asks for something new; None when nothing is rescheduled.
    first_new_due: dt.date | None = None
    version: int = PLAN_VERSION
    current: tuple[Row, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "current", tuple(
            Row(b.due_date, **{c: b.part(c) for c in COMPONENTS}) for b in self.current_bills
        ))

    @property
    def waived(self) -> dict[str, Decimal]:
        """Per component, what the plan forgives of what the bills charged."""
        out = dict.fromkeys(COMPONENTS, ZERO)
        for waiver in self.waivers:
            out[waiver.component] += waiver.amount
        return out

    @property
    def waived_total(self) -> Decimal:
        return sum(self.waived.values(), ZERO)

    @property
    def current_totals(self) -> Totals:
        return Totals.of(self.current)

    @property
    def proposed_totals(self) -> Totals:
        return Totals.of(self.proposed)

    @property
    def concession(self) -> Decimal:
        """Waived and forgone amounts: what second approvals are measured on."""
        return self.waived_total + self.interest_forgone

    @property
    def waiver_share(self) -> Decimal:
        """The concession over what the current schedule asks for, rounded up to 6 places."""
        owed = self.current_totals.total
        if owed <= 0:
            return Decimal(0)
        return min(Decimal(1), (self.concession / owed).quantize(RATIO_PLACES, rounding=ROUND_UP))

    @property
    def difference(self) -> dict[str, Decimal]:
        """Per component, proposed − current (what the journal's restructuring + waiver record)."""
        now, then = self.current_totals, self.proposed_totals
        return {c: getattr(then, c) - getattr(now, c) for c in COMPONENTS}

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "kind": self.kind,
            "parameters": self.parameters.to_json(),
            "as_of": self.as_of.isoformat(),
            "fingerprint": self.fingerprint,
            "first_new_due": self.first_new_due.isoformat() if self.first_new_due else None,
            "current_bills": [
                {"id": b.id, "number": b.number, "due_date": b.due_date.isoformat(),
                 "penalty_settled": str(b.penalty_settled), **{c: str(b.part(c)) for c in COMPONENTS}}
                for b in self.current_bills
            ],
            "proposed": [r.to_json() for r in self.proposed],
            "waivers": [
                {"bill": w.bill, "component": w.component, "amount": str(w.amount)} for w in self.waivers
            ],
            "interest_forgone": str(self.interest_forgone),
            # Derived, kept for readers of the snapshot (the admin, the agreement, auditors).
            "waived": {c: str(v) for c, v in self.waived.items()},
            "waiver_share": str(self.waiver_share),
            "totals": {"current": self.current_totals.to_json(), "proposed": self.proposed_totals.to_json()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        if data.get("version") != PLAN_VERSION:
            raise PlanRefused(_("This plan was stored in a format this version cannot read."))
        first = data.get("first_new_due")
        return cls(
            kind=data["kind"],
            parameters=parse_parameters(data["kind"], data["parameters"]),
            as_of=dt.date.fromisoformat(data["as_of"]),
            fingerprint=data["fingerprint"],
            current_bills=tuple(
                Bill(
                    id=b["id"], number=b["number"], due_date=dt.date.fromisoformat(b["due_date"]),
                    penalty_settled=Decimal(b["penalty_settled"]),
                    **{c: Decimal(b[c]) for c in COMPONENTS},
                )
                for b in data["current_bills"]
            ),
            proposed=tuple(Row.from_json(r) for r in data["proposed"]),
            waivers=tuple(
                Waiver(bill=w["bill"], component=w["component"], amount=Decimal(w["amount"]))
                for w in data["waivers"]
            ),
            interest_forgone=Decimal(data["interest_forgone"]),
            first_new_due=dt.date.fromisoformat(first) if first else None,
        )


# --- Dates -------------------------------------------------------------------------------------


def payment_date(year: int, month: int, payment_day: int) -> dt.date:
    """The payment day in that month, the month's last day when it has fewer days."""
    first = dt.date(year, month, 1)
    last = (first + relativedelta(months=1) - dt.timedelta(days=1)).day
    return first.replace(day=min(payment_day, last))


def months_after(first: dt.date, months: int, payment_day: int) -> dt.date:
    """The payment date `months` months after the payment date `first` (never drifting: the 31st
    stays the 31st, or the month's last day)."""
    moved = first.replace(day=1) + relativedelta(months=months)
    return payment_date(moved.year, moved.month, payment_day)


def first_payment_date(as_of: dt.date, payment_day: int, min_days: int = FIRST_BILL_MIN_DAYS) -> dt.date:
    """The first payment date at least `min_days` after `as_of`."""
    earliest = as_of + dt.timedelta(days=min_days)
    candidate = payment_date(earliest.year, earliest.month, payment_day)
    if candidate < earliest:
        candidate = months_after(candidate, 1, payment_day)
    return candidate


# --- Splitting money ---------------------------------------------------------------------------


def split_evenly(amount: Decimal, parts: int) -> list[Decimal]:
    """`amount` in `parts` parts that differ by at most a fen and add up exactly."""
    with localcontext() as ctx:
        ctx.prec = 40
        return _cumulative_rounding([amount / parts] * parts)


def _merge_same_dates(rows: Sequence[Row]) -> list[Row]:
    merged: list[Row] = []
    for row in sorted(rows, key=lambda r: r.due_date):
        if merged and merged[-1].due_date == row.due_date:
            merged[-1] = merged[-1].plus(**{c: getattr(row, c) for c in COMPONENTS})
        else:
            merged.append(row)
    return [r for r in merged if r.total > 0]


def _sum(bills: Sequence[Bill], component: str) -> Decimal:
    return sum((b.part(component) for b in bills), ZERO)


# --- The plan ----------------------------------------------------------------------------------


def _waivers(bills: Sequence[Bill], as_of: dt.date, parameters: Parameters) -> list[Waiver]:
    """Shares and amounts of interest and penalty of the bills due on or before `as_of`,
    forgiven oldest bill first."""
    due = [b for b in bills if b.due_date <= as_of]
    waivers: list[Waiver] = []
    for component in WAIVABLE:
        share, amount = parameters.waiver_of(component)
        if share is None and amount is None:
            continue
        owed = _sum(due, component)
        if owed <= 0:
            raise PlanRefused(
                _("No overdue %(part)s is owed: there is nothing of it to waive.")
                % {"part": _part_label(component)}
            )
        wanted = round_money(owed * share) if share is not None else amount
        assert wanted is not None
        if wanted > owed:
            raise PlanRefused(
                _("You cannot waive ¥%(wanted)s of %(part)s: ¥%(owed)s is overdue.")
                % {"wanted": wanted, "part": _part_label(component), "owed": owed}
            )
        remaining = wanted
        for bill in due:
            take = min(remaining, bill.part(component))
            if take > 0:
                waivers.append(Waiver(bill=bill.id, component=component, amount=take))
                remaining -= take
    return waivers


def _after_waivers(bills: Sequence[Bill], waivers: Sequence[Waiver]) -> list[Bill]:
    taken: dict[tuple[int, str], Decimal] = {}
    for w in waivers:
        taken[(w.bill, w.component)] = taken.get((w.bill, w.component), ZERO) + w.amount
    return [
        replace(
            b,
            interest=b.interest - taken.get((b.id, "interest"), ZERO),
            penalty=b.penalty - taken.get((b.id, "penalty"), ZERO),
        )
        for b in bills
    ]


def _row(bill: Bill, due_date: dt.date | None = None) -> Row:
    return Row(due_date or bill.due_date, **{c: bill.part(c) for c in COMPONENTS})


def plan_restructuring(
    *,
    bills: Sequence[Bill],
    as_of: dt.date,
    kind: str,
    parameters: Mapping[str, Any] | Parameters,
    annual_rate: Decimal,
    method: str,
    payment_day: int,
    first_bill_min_days: int = FIRST_BILL_MIN_DAYS,
) -> Plan:
    """The proposed schedule for these open bills on `as_of` (see the module's docstring)."""
    params = parameters if isinstance(parameters, Parameters) else parse_parameters(kind, parameters)
    if kind not in KINDS:
        raise PlanRefused(_("Please choose the kind of restructuring from the list."))
    if method not in RepaymentMethod.values:
        raise PlanRefused(_("Unknown repayment method."))
    if not 1 <= payment_day <= 31:
        raise PlanRefused(_("The payment day must be from 1 to 31."))
    ordered = sorted((b for b in bills if b.total > 0), key=lambda b: (b.due_date, b.number))
    if not ordered:
        raise PlanRefused(_("This loan owes nothing: there is nothing to restructure."))
    waivers = _waivers(ordered, as_of, params)
    left = _after_waivers(ordered, waivers)

    first_due = first_payment_date(as_of, payment_day, first_bill_min_days)
    before = [b for b in left if b.due_date < first_due]  # the amount due before the plan
    coming = [b for b in left if b.due_date >= first_due]

    forgone = ZERO
    first_new_due: dt.date | None = first_due
    if kind == WAIVER:
        proposed = [_row(b) for b in left]
        first_new_due = None
    elif kind == TERM_EXTENSION:
        proposed = _term_extension(before, coming, params, annual_rate, method, first_due, payment_day)
    elif kind == INSTALMENT_PLAN:
        proposed = _instalment_plan(before, coming, params, first_due, payment_day)
    else:
        proposed, forgone = _grace_period(before, coming, params, annual_rate, first_due, payment_day)

    proposed = _merge_same_dates(proposed)
    plan = Plan(
        kind=kind,
        parameters=params,
        as_of=as_of,
        fingerprint=bills_fingerprint(ordered),
        current_bills=tuple(ordered),
        proposed=tuple(proposed),
        waivers=tuple(waivers),
        interest_forgone=forgone,
        first_new_due=first_new_due,
    )
    _check(plan)
    return plan


def _term_extension(
    before: list[Bill], coming: list[Bill], params: Parameters, annual_rate: Decimal, method: str,
    first_due: dt.date, payment_day: int,
) -> list[Row]:
    assert params.extra_months is not None
    principal = _sum(before, "principal") + _sum(coming, "principal")
    if principal <= 0:
        raise PlanRefused(_("No principal is left to re-spread over a longer term."))
    months = len(coming) + params.extra_months
    # loans.schedule gives the amounts (principals adding up exactly); the dates are the
    # loan's payment days from the first new bill.
    amounts = plan_schedule(
        principal=principal, annual_rate=annual_rate, months=months, method=method, start=first_due
    )
    rows = [
        Row(months_after(first_due, k, payment_day), principal=p.principal, interest=p.interest)
        for k, p in enumerate(amounts)
    ]
    # Interest due before the plan is earned: carried. Penalty and fees are carried from every
    # bill (a bill of an earlier plan can carry them to a later date). The interest of later
    # bills is the contract's interest of later periods: the new schedule's replaces it.
    carried = {
        "interest": _sum(before, "interest"),
        "penalty": _sum(before, "penalty") + _sum(coming, "penalty"),
        "fees": _sum(before, "fees") + _sum(coming, "fees"),
    }
    rows[0] = rows[0].plus(**carried)
    return rows


def _instalment_plan(
    before: list[Bill], coming: list[Bill], params: Parameters, first_due: dt.date, payment_day: int
) -> list[Row]:
    assert params.parts is not None
    if sum((b.total for b in before), ZERO) <= 0:
        raise PlanRefused(_("Nothing is overdue or due before the plan's first bill: there is nothing to split."))
    parts = params.parts
    split = {c: split_evenly(_sum(before, c), parts) for c in COMPONENTS}
    rows = [_row(b) for b in coming]
    previous = rows[-1].due_date if rows else None
    k = len(rows)
    while len(rows) < parts:  # fewer coming bills than parts: monthly bills after the last one
        date = months_after(first_due, k, payment_day)
        k += 1
        if previous is not None and date <= previous:
            continue
        rows.append(Row(date))
        previous = date
    for i in range(parts):
        rows[i] = rows[i].plus(**{c: split[c][i] for c in COMPONENTS})
    return rows


def _grace_period(
    before: list[Bill], coming: list[Bill], params: Parameters, annual_rate: Decimal,
    first_due: dt.date, payment_day: int,
) -> tuple[list[Row], Decimal]:
    assert params.holiday_months is not None
    months = params.holiday_months
    rows = [_row(b, b.due_date + relativedelta(months=months)) for b in coming]
    if not rows:
        rows = [Row(months_after(first_due, months, payment_day))]
    carried = {c: _sum(before, c) for c in COMPONENTS}
    rows[0] = rows[0].plus(**carried)
    principal = _sum(before, "principal") + _sum(coming, "principal")
    with localcontext() as ctx:
        ctx.prec = 40
        holiday_interest = round_money(principal * annual_rate * months / 12)
    if params.holiday_interest == HOLIDAY_ADD:
        for i, part in enumerate(split_evenly(holiday_interest, len(rows))):
            rows[i] = rows[i].plus(interest=part)
        return rows, ZERO
    return rows, holiday_interest


def _check(plan: Plan) -> None:
    """What every plan promises; a failure here is a bug, never a refusal."""
    now, then = plan.current_totals, plan.proposed_totals
    assert then.principal == now.principal, "principal is preserved"
    for c in ("penalty", "fees"):
        assert getattr(then, c) == getattr(now, c) - plan.waived[c], c
    dates = [r.due_date for r in plan.proposed]
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False)), "dates increase"
    assert all(getattr(r, c) >= 0 for r in plan.proposed for c in COMPONENTS), "no negative part"
    if plan.first_new_due is not None:
        assert all(d >= plan.first_new_due for d in dates), "nothing new is due before the first new bill"
