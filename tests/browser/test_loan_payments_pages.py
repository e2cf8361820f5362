"""A loan with many payments shows them a page at a time in a real browser, newest first."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from loans import services
from loans.models import Borrower, Payment
from loans.views import PAYMENTS_PER_PAGE
from portal.calendar import business_today
from tests.browser.conftest import Web, yuan


def test_a_borrower_pages_through_many_payments(web: Web, alice: Borrower, make_loan) -> None:
    loan = make_loan(alice)
    for n in range(PAYMENTS_PER_PAGE + 3):
        services.payment_post(loan_id=loan.pk, amount=Decimal(10 + n), channel="app", idempotency_key=f"p{n}",
                              actor=None, business_date=business_today())
    newest_first = list(Payment.objects.filter(loan=loan).order_by("-received_at", "-id"))
    web.start("loan-payments")
    web.sign_in()
    page = web.page
    web.goto(f"/my/loans/{loan.reference}/")
    rows = page.locator("table.payments tbody tr")
    expect(rows).to_have_count(PAYMENTS_PER_PAGE)
    expect(rows.first).to_contain_text(yuan(newest_first[0].amount))
    pager = page.get_by_role("navigation", name="还款记录分页")
    expect(pager).to_contain_text("第 1 页，共 2 页")
    web.shot("first-page")

    pager.get_by_role("link", name="较早的").click()
    page.wait_for_url(re.compile(r"\?page=2#payments$"))
    expect(rows).to_have_count(3)
    expect(rows.last).to_contain_text(yuan(newest_first[-1].amount))
    expect(pager.get_by_role("link", name="较早的")).to_have_count(0)
    web.shot("older")

    pager.get_by_role("link", name="较新的").click()
    page.wait_for_url(re.compile(r"\?page=1#payments$"))
    expect(rows).to_have_count(PAYMENTS_PER_PAGE)
