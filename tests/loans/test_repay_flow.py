"""Repaying from the borrower pages: choose, confirm, provider or bank transfer, receipt.

Double clicks, reloads and retries post one payment; bad input changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from loans.allocation import payoff_quote
from loans.models import IntentStatus, JournalEntry, Payment, PaymentIntent
from tests.conftest import FIRST_DUE, age_through

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def frozen_business_date(monkeypatch):
    for module in ("loans.views", "loans.views_repay", "loans.tasks", "loans.admin"):
        monkeypatch.setattr(f"{module}.business_today", lambda: TODAY)


@pytest.fixture
def overdue_loan(alices_loan):
    age_through(alices_loan, FIRST_DUE, TODAY)
    return alices_loan


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice.user)
    return client


def due_now(loan) -> Decimal:
    return sum((i.total_outstanding for i in loan.installments.all() if i.due_date <= TODAY), Decimal(0))


def choose(client, loan, **data):
    return client.post(reverse("loans:repay", args=[loan.reference]), {"method": "online", **data})


def test_the_repay_page_offers_what_is_due_the_next_bill_and_the_payoff(signed_in, overdue_loan):
    page = signed_in.get(reverse("loans:repay", args=[overdue_loan.reference])).text
    quote = payoff_quote(list(overdue_loan.installments.all()), TODAY)
    assert f"¥{due_now(overdue_loan):,.2f}" in page
    assert f"¥{quote.amount:,.2f}" in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "不是有效的金额"),
        ("-5", "金额必须大于零"),
        ("0", "金额必须大于零"),
        ("12.345", "最多只能有两位小数"),
        ("abc", "不是有效的金额"),
        ("99999999", "超过了今日结清"),
        ("<script>alert(1)</script>", "不是有效的金额"),
    ],
)
def test_a_bad_custom_amount_is_refused_in_chinese_keeps_the_input_and_changes_nothing(
    signed_in, overdue_loan, typed, message
):
    response = choose(signed_in, overdue_loan, option="custom", custom_amount=typed)
    assert response.status_code == 200
    assert message in response.text
    assert "<script>alert(1)</script>" not in response.text
    if typed and "<" not in typed:
        assert f'value="{typed}"' in response.text
    assert PaymentIntent.objects.count() == 0 and Payment.objects.count() == 0


def test_paying_online_posts_once_however_often_it_is_clicked(
    signed_in, overdue_loan, django_capture_on_commit_callbacks
):
    amount = due_now(overdue_loan)
    response = choose(signed_in, overdue_loan, option="overdue")
    intent = PaymentIntent.objects.get()
    assert intent.amount == amount and response["Location"] == reverse("loans:intent", args=[intent.public_id])
    confirm_page = signed_in.get(response["Location"]).text
    assert "确认并支付" in confirm_page

    confirm = reverse("loans:intent-confirm", args=[intent.public_id])
    first = signed_in.post(confirm)
    second = signed_in.post(confirm)  # a double click
    assert first["Location"] == reverse("loans:sandbox-checkout", args=[intent.public_id])
    assert second["Location"] == reverse("loans:intent", args=[intent.public_id])

    checkout = reverse("loans:sandbox-checkout", args=[intent.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(checkout, {"outcome": "pay"})
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(checkout, {"outcome": "pay"})  # a retried callback
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SUCCEEDED
    payment = Payment.objects.get()
    assert payment.amount == amount and intent.payment == payment
    assert JournalEntry.objects.filter(kind="repayment").count() == 1
    overdue_loan.refresh_from_db()
    assert overdue_loan.days_past_due == 0

    receipt = signed_in.get(reverse("loans:receipt", args=[payment.pk])).text
    assert f"¥{amount:,.2f}" in receipt and overdue_loan.reference in receipt


def test_a_declined_payment_posts_nothing_and_offers_to_try_again(
    signed_in, overdue_loan, django_capture_on_commit_callbacks
):
    choose(signed_in, overdue_loan, option="overdue")
    intent = PaymentIntent.objects.get()
    signed_in.post(reverse("loans:intent-confirm", args=[intent.public_id]))
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("loans:sandbox-checkout", args=[intent.public_id]), {"outcome": "decline"})
    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED
    assert Payment.objects.count() == 0
    assert "重试" in signed_in.get(reverse("loans:intent", args=[intent.public_id])).text


def test_paying_the_payoff_settles_the_loan(signed_in, overdue_loan, django_capture_on_commit_callbacks):
    choose(signed_in, overdue_loan, option="payoff")
    intent = PaymentIntent.objects.get()
    assert "结清" in signed_in.get(reverse("loans:intent", args=[intent.public_id])).text
    signed_in.post(reverse("loans:intent-confirm", args=[intent.public_id]))
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.post(reverse("loans:sandbox-checkout", args=[intent.public_id]), {"outcome": "pay"})
    overdue_loan.refresh_from_db()
    assert overdue_loan.status == "settled"


def test_a_cancelled_payment_cannot_be_confirmed(signed_in, overdue_loan):
    choose(signed_in, overdue_loan, option="overdue")
    intent = PaymentIntent.objects.get()
    signed_in.post(reverse("loans:intent-cancel", args=[intent.public_id]))
    signed_in.post(reverse("loans:intent-confirm", args=[intent.public_id]))
    intent.refresh_from_db()
    assert intent.status == IntentStatus.CANCELLED


def test_every_payment_url_of_another_borrower_is_not_found(
    client, bob, overdue_loan, alice, django_capture_on_commit_callbacks
):
    client.force_login(alice.user)
    choose(client, overdue_loan, option="overdue")
    intent = PaymentIntent.objects.get()
    client.post(reverse("loans:intent-confirm", args=[intent.public_id]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("loans:sandbox-checkout", args=[intent.public_id]), {"outcome": "pay"})
    payment = Payment.objects.get()
    client.force_login(bob.user)
    ref, uid = overdue_loan.reference, intent.public_id
    for method, url in [
        ("get", reverse("loans:loan", args=[ref])), ("get", reverse("loans:repay", args=[ref])),
        ("post", reverse("loans:repay", args=[ref])), ("get", reverse("loans:extension", args=[ref])),
        ("post", reverse("loans:extension", args=[ref])), ("get", reverse("loans:intent", args=[uid])),
        ("post", reverse("loans:intent-confirm", args=[uid])), ("post", reverse("loans:intent-cancel", args=[uid])),
        ("get", reverse("loans:sandbox-checkout", args=[uid])), ("get", reverse("loans:receipt", args=[payment.pk])),
    ]:
        assert getattr(client, method)(url).status_code == 404, url


def test_a_bank_transfer_shows_the_account_and_a_reference_code(signed_in, overdue_loan):
    choose(signed_in, overdue_loan, option="overdue", method="bank_transfer")
    intent = PaymentIntent.objects.get()
    signed_in.post(reverse("loans:intent-confirm", args=[intent.public_id]))
    intent.refresh_from_db()
    assert intent.status == IntentStatus.AWAITING_TRANSFER
    page = signed_in.get(reverse("loans:intent", args=[intent.public_id])).text
    assert intent.reference_code in page and "0200 0000 0000 0000 000" in page
    assert Payment.objects.count() == 0


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_money_pages_cost_fixed_queries_however_long_the_history(
    signed_in, alice, make_loan, django_capture_on_commit_callbacks
):
    from loans import services

    def pages_of(loan):
        choose(signed_in, loan, option="custom", custom_amount="10.00")
        intent = PaymentIntent.objects.filter(loan=loan).latest("id")
        with django_capture_on_commit_callbacks(execute=True):
            services.payment_intent_confirm(intent_id=intent.pk, actor=None)
            services.payment_intent_succeed(intent_id=intent.pk, business_date=TODAY)
        intent.refresh_from_db()
        return [
            reverse("loans:repay", args=[loan.reference]),
            reverse("loans:extension", args=[loan.reference]),
            reverse("loans:intent", args=[intent.public_id]),
            reverse("loans:receipt", args=[intent.payment_id]),
        ]

    small = make_loan(alice)
    age_through(small, FIRST_DUE, TODAY)
    baseline = [count_queries(signed_in, url) for url in pages_of(small)]
    big = make_loan(alice, principal="90000.00")
    age_through(big, FIRST_DUE, TODAY)
    for n in range(15):  # a long payment history spread over many bills
        services.payment_post(loan_id=big.pk, amount="300.00", channel="web", idempotency_key=f"h{n}",
                              actor=None, business_date=TODAY)
    assert [count_queries(signed_in, url) for url in pages_of(big)] == baseline
