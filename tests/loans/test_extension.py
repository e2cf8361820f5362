"""The one-time interest-free extension for borrowers overdue for the first time."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from loans import services
from loans.models import EntryKind, Extension, JournalEntry
from loans.services.extensions import extension_quote
from portal.errors import NotAllowed
from tests.conftest import FIRST_DUE, age_through

TODAY = dt.date(2026, 3, 1)  # the first bill is 14 days overdue


@pytest.fixture
def overdue_loan(alices_loan):
    age_through(alices_loan, FIRST_DUE, TODAY)
    alices_loan.refresh_from_db()
    return alices_loan


def grant(borrower, loan):
    return services.extension_grant(borrower_id=borrower.pk, loan_id=loan.pk, business_date=TODAY, actor=borrower.user)


@pytest.mark.django_db
def test_it_defers_the_overdue_bill_and_waives_its_penalty(alice, overdue_loan):
    bill = overdue_loan.installments.get(number=1)
    penalty = bill.penalty_due
    assert penalty > 0
    extension = grant(alice, overdue_loan)
    bill.refresh_from_db()
    overdue_loan.refresh_from_db()
    assert bill.due_date == TODAY + dt.timedelta(days=30) == extension.new_due_date
    assert bill.penalty_waived == penalty and bill.status == "pending"
    assert overdue_loan.days_past_due == 0 and overdue_loan.stage == "current"
    assert JournalEntry.objects.get(loan=overdue_loan, kind=EntryKind.WAIVER).penalty == -penalty
    expected_interest = (bill.principal_due * overdue_loan.annual_rate / 360 * 30).quantize(Decimal("0.01"))
    assert extension.interest_not_charged == expected_interest
    assert alice.user.sms_messages.get().kind == "extension_granted"


@pytest.mark.django_db
def test_it_refuses_a_second_extension(alice, overdue_loan):
    grant(alice, overdue_loan)
    age_through(overdue_loan, TODAY, TODAY + dt.timedelta(days=40))
    with pytest.raises(NotAllowed, match="only once|只能使用一次"):
        services.extension_grant(borrower_id=alice.pk, loan_id=overdue_loan.pk,
                                 business_date=TODAY + dt.timedelta(days=40), actor=None)
    assert Extension.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_a_borrower_who_was_overdue_before(alice, overdue_loan):
    bill = overdue_loan.installments.get(number=1)
    services.payment_post(loan_id=overdue_loan.pk, amount=bill.total_outstanding, channel="web",
                          idempotency_key="late-pay", actor=None, business_date=TODAY)
    later = dt.date(2026, 3, 20)  # the second bill (2026-03-15) is now past grace
    age_through(overdue_loan, TODAY + dt.timedelta(days=1), later)
    quote = extension_quote(borrower=alice, loan=overdue_loan,
                            installments=list(overdue_loan.installments.all()), as_of=later)
    assert not quote.eligible and "首次逾期" in quote.refusal


@pytest.mark.django_db
def test_it_refuses_a_loan_that_is_not_overdue(alice, alices_loan):
    with pytest.raises(NotAllowed):
        services.extension_grant(borrower_id=alice.pk, loan_id=alices_loan.pk,
                                 business_date=dt.date(2026, 2, 17), actor=None)  # inside grace
    assert Extension.objects.count() == 0


@pytest.mark.django_db
def test_the_page_shows_the_rule_the_new_date_and_the_waiver_before_confirming(
    client, alice, overdue_loan, monkeypatch
):
    monkeypatch.setattr("loans.views_repay.business_today", lambda: TODAY)
    client.force_login(alice.user)
    page = client.get(reverse("loans:extension", args=[overdue_loan.reference])).text
    penalty = overdue_loan.installments.get(number=1).penalty_due
    assert "2026-03-31" in page and f"¥{penalty:,.2f}" in page and "仅限使用一次" in page
    assert Extension.objects.count() == 0
    client.post(reverse("loans:extension", args=[overdue_loan.reference]))
    client.post(reverse("loans:extension", args=[overdue_loan.reference]))  # double click
    assert Extension.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_grant_one_extension(alice, make_loan):
    first, second = make_loan(alice), make_loan(alice)
    for loan in (first, second):
        age_through(loan, FIRST_DUE, TODAY)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def ask(loan):
        try:
            barrier.wait()
            grant(alice, loan)
            outcomes.append("granted")
        except NotAllowed:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(loan,)) for loan in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["granted", "refused"]
    assert Extension.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.WAIVER).count() == 1
