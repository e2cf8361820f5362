"""bulk_update_rows writes exactly the given values, of every column type, on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from loans.models import Installment
from portal import bulk
from portal.bulk import bulk_update_rows

pytestmark = pytest.mark.django_db


def test_it_updates_each_row_with_its_own_values_and_leaves_the_others(alices_loan):
    bills = list(Installment.objects.filter(loan=alices_loan).order_by("number"))
    rows: list[list[Any]] = [["overdue", dt.date(2026, 2, 19), None, Decimal("12.34"), bills[0].pk],
            ["due", None, dt.date(2026, 3, 1), Decimal("0.01"), bills[1].pk]]
    assert bulk_update_rows(Installment, ["status", "overdue_since", "settled_on", "penalty_due"], rows) == 2
    first, second, third = (Installment.objects.get(pk=b.pk) for b in bills[:3])
    assert (first.status, first.overdue_since, first.settled_on, first.penalty_due) == (
        "overdue", dt.date(2026, 2, 19), None, Decimal("12.34"))
    assert (second.status, second.overdue_since, second.settled_on, second.penalty_due) == (
        "due", None, dt.date(2026, 3, 1), Decimal("0.01"))
    assert (third.status, third.penalty_due) == ("pending", Decimal("0.00"))


def test_more_rows_than_one_statement_takes_are_all_written(alices_loan, monkeypatch):
    monkeypatch.setattr(bulk, "_MAX_PARAMETERS", 6)  # three rows of one column + id per statement
    bills = list(Installment.objects.filter(loan=alices_loan).order_by("number"))
    bulk_update_rows(Installment, ["penalty_due"], [[Decimal(n), b.pk] for n, b in enumerate(bills, 1)])
    assert [b.penalty_due for b in Installment.objects.filter(loan=alices_loan).order_by("number")] == [
        Decimal(n) for n in range(1, len(bills) + 1)]


def test_nothing_to_write_runs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk_update_rows(Installment, ["status"], []) == 0
