"""Paying an overdue bill online in a real browser: choose, see the allocation, confirm, the
sandbox bank, back to the payment page until it shows paid, then the receipt. One payment,
however the confirm button is clicked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from loans.models import IntentStatus, Payment, PaymentIntent
from tests.browser.conftest import OverdueLoan, Web, yuan


def wait_until_paid(web: Web) -> None:
    """The payment page refreshes itself every 3 s while the provider confirms; in tests the
    confirmation runs synchronously, so it is paid at once. Reload a few times if not."""
    card = web.page.locator("section[data-status]")
    for _attempt in range(4):
        if card.get_attribute("data-status") == IntentStatus.SUCCEEDED:
            return
        web.page.wait_for_timeout(1000)
        web.page.reload()
    expect(card).to_have_attribute("data-status", IntentStatus.SUCCEEDED)


@pytest.mark.parametrize("confirm_with", ["click", "dblclick"])
def test_pay_the_overdue_bill_online_and_open_the_receipt(
    web: Web, overdue_loan: OverdueLoan, confirm_with: str
):
    web.start("pay" if confirm_with == "click" else "pay-dblclick")
    loan, amount = overdue_loan.loan, overdue_loan.due_now
    page = web.page
    web.sign_in()
    web.shot("dashboard")

    page.locator(f"section[data-loan='{loan.reference}']").get_by_role(
        "link", name="还款", exact=True
    ).click()
    page.wait_for_url(re.compile(rf"/my/loans/{loan.reference}/repay/$"))
    option = page.get_by_role("radio", name=re.compile(r"^当前全部应还款"))
    expect(option).to_be_checked()  # the page preselects what is overdue
    expect(page.locator("label", has=option)).to_contain_text(yuan(amount))
    online = page.get_by_role("radio", name="在线支付")
    web.shot("repay")
    option.check()
    online.check()
    page.get_by_role("button", name="继续").click()

    page.wait_for_url(re.compile(r"/my/payments/[0-9a-f-]{36}/$"))
    intent_url = page.url
    card = page.locator("section[data-status]")
    expect(card).to_have_attribute("data-status", IntentStatus.CREATED)
    expect(card.locator("h1")).to_contain_text(yuan(amount))
    expect(card.get_by_role("heading", name="本次还款的分配方式")).to_be_visible()
    rows = card.locator("table.allocation tbody tr")
    expect(rows).to_have_count(1)  # the one overdue bill
    expect(rows.first).to_contain_text(overdue_loan.first_due.isoformat())
    expect(rows.first).to_contain_text(yuan(overdue_loan.penalty))
    confirm = card.get_by_role("button", name=f"确认并支付 {yuan(amount)}")
    web.shot("confirm")
    if confirm_with == "dblclick":
        confirm.dblclick()  # the second click must not post a second confirmation
    else:
        confirm.click()

    page.wait_for_url(re.compile(r"/sandbox/checkout/[0-9a-f-]{36}/$"))
    expect(page.locator("main h1")).to_have_text("沙箱银行")
    expect(page.locator("main .amount.big")).to_have_text(yuan(amount))
    web.shot("sandbox-bank")
    page.get_by_role("button", name="支付", exact=True).click()

    page.wait_for_url(intent_url)
    declined = PaymentIntent.objects.filter(
        status=IntentStatus.FAILED, failure_reason__contains="declined"
    ).exists()
    assert not declined, (
        "Pressing 支付 on the sandbox bank page declined the payment: its form's onsubmit disables "
        "every button before the browser builds the form data, so the pressed button's "
        "outcome=pay is never posted (templates/loans/sandbox_checkout.html)."
    )
    wait_until_paid(web)
    expect(card.locator(".badge")).to_have_text("支付成功")
    expect(card).to_contain_text("谢谢！您的还款已入账。")
    web.shot("paid")
    card.get_by_role("link", name="回单").click()

    page.wait_for_url(re.compile(r"/my/receipts/\d+/$"))
    receipt = page.locator("section.receipt")
    expect(receipt.locator("dd.amount")).to_have_text(yuan(amount))
    expect(receipt).to_contain_text(loan.reference)
    web.shot("receipt")

    payment = Payment.objects.get()  # exactly one, however the button was clicked
    assert payment.amount == amount and payment.loan_id == loan.pk
    intent = PaymentIntent.objects.get()
    assert intent.status == IntentStatus.SUCCEEDED and intent.payment_id == payment.pk
    assert page.url.endswith(f"/my/receipts/{payment.pk}/")
    loan.refresh_from_db()
    assert loan.days_past_due == 0
    web.expect_clean()
