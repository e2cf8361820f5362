"""The queue's priority score: which open case an agent should work first.

    priority = amount weight × overdue amount / ¥1,000   (rounded down to the cent)
             + days weight   × days past due
             + promise weight × broken promises

The weights are settings (`PORTAL_PRIORITY_WEIGHTS`, each at most two decimal places). The same
formula exists twice: `Weights.score` in Python (for the screen's explanation, and the close of
business, which scores the cases it refreshes) and `case_priority_expression` in SQL (for bulk
UPDATEs of cases whose promises changed). Both count in
whole hundredths of a point with integer arithmetic, so they agree to the cent on SQLite (whose
decimals are doubles) as on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import BigIntegerField, DecimalField, ExpressionWrapper, F, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Round
from django.utils.translation import gettext as _

AMOUNT_UNIT = 1000  # yuan: the amount weight is points per ¥1,000 overdue
_HUNDREDTHS = 100


@dataclass(frozen=True)
class Weights:
    """The weights in hundredths of a point (integers)."""

    amount: int
    days_past_due: int
    broken_promises: int

    @classmethod
    def from_settings(cls) -> Weights:
        weights = settings.PORTAL_PRIORITY_WEIGHTS
        return cls(
            **{
                name: int(Decimal(weights[name]) * _HUNDREDTHS)
                for name in ("amount", "days_past_due", "broken_promises")
            }
        )

    def points(self, name: str) -> Decimal:
        return Decimal(getattr(self, name)) / _HUNDREDTHS

    def hundredths(self, *, overdue_amount: Decimal, days_past_due: int, broken_promises: int) -> tuple[int, int, int]:
        """The three parts of the score, in hundredths of a point (integers)."""
        fen = int(Decimal(overdue_amount).quantize(Decimal("0.01")) * 100)
        return (
            self.amount * fen // (AMOUNT_UNIT * _HUNDREDTHS),
            self.days_past_due * days_past_due,
            self.broken_promises * broken_promises,
        )

    def score(self, *, overdue_amount: Decimal, days_past_due: int, broken_promises: int) -> Decimal:
        return _cents(sum(self.hundredths(
            overdue_amount=overdue_amount, days_past_due=days_past_due, broken_promises=broken_promises
        )))


@dataclass(frozen=True)
class PriorityExplanation:
    score: Decimal
    amount_points: Decimal
    days_points: Decimal
    promise_points: Decimal
    text: str


def _cents(hundredths: int) -> Decimal:
    return (Decimal(hundredths) / _HUNDREDTHS).quantize(Decimal("0.01"))


def priority_explain(
    *, overdue_amount: Decimal, days_past_due: int, broken_promises: int
) -> PriorityExplanation:
    """The score of one case, part by part, with a sentence for the screen."""
    amount_h, days_h, promise_h = Weights.from_settings().hundredths(
        overdue_amount=overdue_amount, days_past_due=days_past_due, broken_promises=broken_promises
    )
    score = _cents(amount_h + days_h + promise_h)
    text = _(
        "¥%(amount)s overdue: %(amount_points)s + %(days)s days past due: %(days_points)s "
        "+ %(broken)s broken promises: %(promise_points)s = %(score)s"
    ) % {
        "amount": overdue_amount,
        "amount_points": _cents(amount_h),
        "days": days_past_due,
        "days_points": _cents(days_h),
        "broken": broken_promises,
        "promise_points": _cents(promise_h),
        "score": score,
    }
    return PriorityExplanation(score, _cents(amount_h), _cents(days_h), _cents(promise_h), text)


def priority_score(*, overdue_amount: Decimal, days_past_due: int, broken_promises: int) -> Decimal:
    return Weights.from_settings().score(
        overdue_amount=overdue_amount, days_past_due=days_past_due, broken_promises=broken_promises
    )


def priority_formula() -> str:
    """The formula with today's weights, shown above the queue."""
    weights = Weights.from_settings()
    return _(
        "Cases are sorted by priority, highest first. Priority = %(amount)s × overdue amount in "
        "thousands of yuan (rounded down to the cent) + %(days)s × days past due + %(promise)s × "
        "broken promises. The close of business recomputes it every day."
    ) % {
        "amount": weights.points("amount"),
        "days": weights.points("days_past_due"),
        "promise": weights.points("broken_promises"),
    }


def case_priority_expression() -> Combinable:
    """The score as an expression over a Case row's overdue_amount, days_past_due and
    broken_promises: `Case.objects.filter(...).update(priority=case_priority_expression())`."""
    weights = Weights.from_settings()
    # The amount in fen as an integer: ROUND first, because SQLite's doubles are not exact.
    fen = Cast(Round(F("overdue_amount") * Value(100)), BigIntegerField())
    # Integer division on both databases: the amount's points, rounded down to the cent.
    amount_h = ExpressionWrapper(
        Value(weights.amount) * fen / Value(AMOUNT_UNIT * _HUNDREDTHS),
        output_field=BigIntegerField(),
    )
    total_h = ExpressionWrapper(
        amount_h
        + Value(weights.days_past_due) * F("days_past_due")
        + Value(weights.broken_promises) * F("broken_promises"),
        output_field=BigIntegerField(),
    )
    # Hundredths to points: exact numeric on PostgreSQL; on SQLite a double that the column's
    # two decimal places give back exactly.
    return ExpressionWrapper(
        total_h * Value(Decimal("0.01")), output_field=DecimalField(max_digits=12, decimal_places=2)
    )
