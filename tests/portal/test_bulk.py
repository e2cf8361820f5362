"""bulk_update_rows and BulkRows write exactly the given values, of every column type, on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from loans.models import Installment, JournalEntry
from portal.bulk import BulkRows, bulk_update_rows

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


def test_many_rows_take_one_statement(alices_loan, django_assert_num_queries):
    bills = list(Installment.objects.filter(loan=alices_loan).order_by("number"))
    with django_assert_num_queries(1):
        bulk_update_rows(Installment, ["penalty_due"], [[Decimal(n), b.pk] for n, b in enumerate(bills, 1)])
    assert [b.penalty_due for b in Installment.objects.filter(loan=alices_loan).order_by("number")] == [
        Decimal(n) for n in range(1, len(bills) + 1)]


def test_bulk_rows_inserts_tuples_with_the_defaults_of_the_columns_not_given(alices_loan):
    now = timezone.now()
    rows = BulkRows(JournalEntry, ["loan", "kind", "business_date", "penalty"], now)
    rows.add(alices_loan.pk, "accrual", dt.date(2026, 2, 20), Decimal("1.25"))
    rows.add(alices_loan.pk, "accrual", dt.date(2026, 2, 21), Decimal("1.26"))
    assert rows.write() == 2
    assert rows.write() == 0  # written once
    written = list(JournalEntry.objects.filter(kind="accrual").order_by("id").values_list(
        "business_date", "penalty", "principal", "memo", "payment", "created_at"))
    assert written == [(dt.date(2026, 2, 20), Decimal("1.25"), Decimal("0.00"), "", None, now),
                       (dt.date(2026, 2, 21), Decimal("1.26"), Decimal("0.00"), "", None, now)]


def test_nothing_to_write_runs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk_update_rows(Installment, ["status"], []) == 0
