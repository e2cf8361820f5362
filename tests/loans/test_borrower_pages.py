"""The borrower's dashboard, loan page and messages: their own data only, fixed query counts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans import services
from portal.models import SmsMessage
from tests.conftest import FIRST_DUE, age_through

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 1)  # alice's first bill (2026-02-15) is 14 days past due


@pytest.fixture(autouse=True)
def frozen_business_date(monkeypatch):
    monkeypatch.setattr("loans.views.business_today", lambda: TODAY)


@pytest.fixture
def overdue_alice(alices_loan):
    age_through(alices_loan, FIRST_DUE, TODAY)
    alices_loan.refresh_from_db()
    return alices_loan


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response
    return len(ctx.captured_queries)


def test_the_dashboard_explains_what_is_overdue_and_what_happens_next(client, alice, overdue_alice):
    client.force_login(alice.user)
    page = client.get(reverse("loans:dashboard")).text
    bill = overdue_alice.installments.get(number=1)
    assert "已逾期 14 天" in page
    assert f"¥{bill.total_outstanding:,.2f}" in page
    daily = (bill.principal_due * overdue_alice.penalty_rate / 360).quantize(Decimal("0.01"))
    assert f"约 ¥{daily:,.2f} 的罚息" in page
    # Collections at 30 days past the due date, legal review at 60. The credit bureau had
    # February's report: overdue since 02-19, told that day, reportable after 7 days.
    assert "逾期记录将报送中国人民银行征信中心" not in page
    assert "自 2026-03-17 起，将由催收专员跟进" in page
    assert "自 2026-04-16 起" in page


def test_a_current_borrower_sees_the_next_bill(client, bob, make_loan):
    loan = make_loan(bob, on=dt.date(2026, 2, 10))
    client.force_login(bob.user)
    page = client.get(reverse("loans:dashboard")).text
    bill = loan.installments.get(number=1)
    assert "Next bill due 2026-03-10" in page
    assert f"¥{bill.total_due:,.2f}" in page
    assert "overdue" not in page.lower().replace("what overdue means", "")


def test_the_loan_page_shows_schedule_payments_and_payoff(client, alice, overdue_alice):
    services.payment_post(loan_id=overdue_alice.pk, amount="100.00", channel="web",
                          idempotency_key="p1", actor=None, business_date=TODAY)
    client.force_login(alice.user)
    page = client.get(reverse("loans:loan", args=[overdue_alice.reference])).text
    from loans.allocation import payoff_quote

    quote = payoff_quote(list(overdue_alice.installments.all()), TODAY)
    assert f"¥{quote.amount:,.2f}" in page
    assert page.count('data-label="#"') == 12
    assert "¥100.00" in page and "已逾期" in page


def test_the_loan_page_shows_payments_twenty_at_a_time_newest_first(client, alice, alices_loan):
    from loans.models import Payment
    from loans.views import PAYMENTS_PER_PAGE

    for n in range(PAYMENTS_PER_PAGE + 5):
        services.payment_post(loan_id=alices_loan.pk, amount="10.00", channel="web",
                              idempotency_key=f"p{n}", actor=None, business_date=TODAY)
    newest_first = list(Payment.objects.filter(loan=alices_loan).order_by("-received_at", "-id"))
    url = reverse("loans:loan", args=[alices_loan.reference])
    client.force_login(alice.user)

    def receipts(page):
        return [p for p in newest_first if reverse("loans:receipt", args=[p.pk]) + '"' in page]

    first = client.get(url).text
    assert receipts(first) == newest_first[:PAYMENTS_PER_PAGE]
    assert "第 1 页，共 2 页" in first and 'href="?page=2#payments"' in first
    second = client.get(url, {"page": 2}).text
    assert receipts(second) == newest_first[PAYMENTS_PER_PAGE:]
    assert 'href="?page=1#payments"' in second and "?page=3" not in second
    assert receipts(client.get(url, {"page": "99"}).text) == newest_first[PAYMENTS_PER_PAGE:]


def test_the_loan_page_costs_the_same_queries_for_one_payment_or_many(client, alice, alices_loan):
    def post(n):
        services.payment_post(loan_id=alices_loan.pk, amount="10.00", channel="web",
                              idempotency_key=f"q{n}", actor=None, business_date=TODAY)

    client.force_login(alice.user)
    url = reverse("loans:loan", args=[alices_loan.reference])
    post(0)
    one = count_queries(client, url)
    for n in range(1, 45):
        post(n)
    assert count_queries(client, url) == one
    assert count_queries(client, url + "?page=3") == one


def test_another_borrowers_loan_is_not_found(client, alice, bob, alices_loan):
    client.force_login(bob.user)
    assert client.get(reverse("loans:loan", args=[alices_loan.reference])).status_code == 404


def test_borrower_pages_ask_visitors_to_sign_in_and_refuse_staff(client, charlie):
    for name in ("loans:dashboard", "loans:messages"):
        assert client.get(reverse(name))["Location"].startswith("/sign-in/?next=")
    client.force_login(charlie)
    assert client.get(reverse("loans:dashboard")).status_code == 403


def test_messages_show_only_the_borrowers_own_texts(client, alice, bob):
    SmsMessage.objects.create(recipient=alice.user, mobile=alice.mobile, language="zh-hans",
                              kind="t", body="给王丽的短信", dedupe_key="a")
    SmsMessage.objects.create(recipient=bob.user, mobile=bob.mobile, language="en",
                              kind="t", body="for Bob only", dedupe_key="b")
    client.force_login(alice.user)
    page = client.get(reverse("loans:messages")).text
    assert "给王丽的短信" in page and "for Bob only" not in page


def test_dashboard_and_loan_page_cost_fixed_queries_however_many_loans(client, alice, make_loan, product):
    from loans.models import Product

    client.force_login(alice.user)
    first = make_loan(alice)
    # A loan without payments skips reading its (empty) page of payments: compare like with like.
    services.payment_post(loan_id=first.pk, amount="50.00", channel="web", idempotency_key="first",
                          actor=None, business_date=TODAY)
    dashboard_one = count_queries(client, reverse("loans:dashboard"))
    loan_one = count_queries(client, reverse("loans:loan", args=[first.reference]))
    long_product = Product.objects.create(code="p36", name="36", annual_rate=Decimal("0.2"),
                                          repayment_method="equal_principal", term_months=36)
    for _ in range(4):
        make_loan(alice, product_=long_product)
    long_loan = make_loan(alice, product_=long_product)
    services.payment_post(loan_id=long_loan.pk, amount="50.00", channel="web", idempotency_key="x",
                          actor=None, business_date=TODAY)
    assert count_queries(client, reverse("loans:dashboard")) == dashboard_one
    assert count_queries(client, reverse("loans:loan", args=[long_loan.reference])) == loan_one


def test_messages_cost_fixed_queries(client, alice):
    client.force_login(alice.user)
    few = count_queries(client, reverse("loans:messages"))
    for n in range(20):
        SmsMessage.objects.create(recipient=alice.user, mobile=alice.mobile, language="zh-hans",
                                  kind="t", body=f"m{n}", dedupe_key=f"k{n}")
    assert count_queries(client, reverse("loans:messages")) == few


@pytest.mark.parametrize(("first_overdue", "reported"), [
    (dt.date(2026, 2, 19), dt.date(2026, 2, 28)),  # told on 02-19, reportable from 02-26
    (dt.date(2026, 2, 22), dt.date(2026, 3, 31)),  # reportable from 03-01: March's report
    (dt.date(2026, 12, 25), dt.date(2027, 1, 31)),
])
def test_the_credit_report_date_is_the_first_month_end_after_the_notice_period(first_overdue, reported, settings):
    from loans.selectors import credit_report_date

    settings.PORTAL_CREDIT_NOTICE_DAYS = 7
    assert credit_report_date(first_overdue) == reported
