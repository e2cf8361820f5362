"""The borrower's loan page shows what was reported for each month, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reporting.models import CreditRecord
from reporting.services import credit_notice_send, credit_record_correct, credit_report_month

from .conftest import JUNE, REPORTED_ON, overdue_loan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_business_date(monkeypatch):
    monkeypatch.setattr("loans.views.business_today", lambda: dt.date(2026, 8, 10))


def page_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.text


def test_the_loan_page_lists_each_reported_month_with_its_meaning(alice, product, client, supervisor):
    client.force_login(alice.user)
    client.post(reverse("portal:language"), {"language": "en", "next": "/"})
    loan = overdue_loan(alice, product, days=-3, month_end=dt.date(2026, 5, 31))
    url = reverse("loans:loan", args=[loan.reference])
    before, page = page_queries(client, url)
    assert "Nothing has been reported for this loan yet." in page
    credit_report_month(month=dt.date(2026, 5, 1), reporting_date=dt.date(2026, 6, 1))  # N for May
    credit_notice_send(borrower_id=alice.pk, loan_id=loan.pk, notified_on=dt.date(2026, 6, 1))
    credit_report_month(month=JUNE, reporting_date=REPORTED_ON)  # overdue in June: "1"
    credit_report_month(month=dt.date(2026, 7, 1), reporting_date=dt.date(2026, 8, 1))
    june = CreditRecord.objects.get(loan=loan, month=JUNE)
    credit_record_correct(record_id=june.pk, actor=supervisor, status="N", balance=june.balance,
                          principal_balance=june.principal_balance, overdue_amount="0", overdue_principal="0",
                          reason="paid on time at the bank", business_date=dt.date(2026, 8, 2))
    credit_report_month(month=dt.date(2026, 8, 1), reporting_date=dt.date(2026, 9, 1))
    after, with_en = page_queries(client, url)
    assert after == before  # the same queries with no months and with four
    assert "What we reported to the credit bureau" in with_en
    assert "2026-05" in with_en and "2026-06" in with_en and "2026-07" in with_en
    assert "Paid on time: nothing was overdue at the end of the month." in with_en
    assert "(corrected)" in with_en  # June: reported "1", corrected to N and the correction sent
    assert "Overdue at the end of the month, by 31 to 60 days." in with_en  # July
    assert "Notice sent to you on 2026-06-01" in with_en


def test_a_month_held_back_says_when_it_will_be_reported(alice, product, client):
    loan = overdue_loan(alice, product, days=15)
    credit_report_month(month=JUNE, reporting_date=REPORTED_ON)
    client.force_login(alice.user)
    client.post(reverse("portal:language"), {"language": "en", "next": "/"})
    page = client.get(reverse("loans:loan", args=[loan.reference])).text
    assert "Not reported yet: it will be reported from 2026-07-08" in page


def test_another_borrowers_loan_is_not_found(alice, bob, product, client):
    loan = overdue_loan(bob, product, days=15)
    credit_report_month(month=JUNE, reporting_date=REPORTED_ON)
    client.force_login(alice.user)
    assert client.get(reverse("loans:loan", args=[loan.reference])).status_code == 404
