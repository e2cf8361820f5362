"""The one-time interest-free extension (免息延期) taken from the loan page in a real browser."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from loans.models import Extension
from tests.browser.conftest import OverdueLoan, Web, yuan


def test_take_the_interest_free_extension_from_the_loan_page(web: Web, overdue_loan: OverdueLoan):
    web.start("extension")
    loan, page = overdue_loan.loan, web.page
    new_due = overdue_loan.today + dt.timedelta(days=loan.product.extension_days)
    web.sign_in()
    web.shot("dashboard")

    page.locator(f"section[data-loan='{loan.reference}']").get_by_role(
        "link", name="账单与还款"
    ).click()
    page.wait_for_url(re.compile(rf"/my/loans/{loan.reference}/$"))
    expect(page.locator("main h1")).to_contain_text(loan.reference)
    web.shot("loan")
    page.locator("main").get_by_role("link", name="免息延期", exact=True).click()

    page.wait_for_url(re.compile(rf"/my/loans/{loan.reference}/extension/$"))
    facts = page.locator("main dl.facts")
    expect(page.locator("main h1")).to_have_text("一次性免息延期")
    expect(
        facts.locator("dt", has_text=re.compile("^新到期日$")).locator("xpath=following-sibling::dd[1]")
    ).to_have_text(new_due.isoformat())
    expect(
        facts.locator("dt", has_text="减免的罚息").locator("xpath=following-sibling::dd[1]")
    ).to_have_text(yuan(overdue_loan.penalty))
    expect(facts).to_contain_text(overdue_loan.first_due.isoformat())  # the bill that moves
    web.shot("extension")
    page.get_by_role("button", name="确认申请延期").click()

    page.wait_for_url(re.compile(rf"/my/loans/{loan.reference}/$"))
    expect(page.locator("ul.flash li.flash-success")).to_have_text(
        f"您的免息延期已批准。请在 {new_due.isoformat()} 前还清延期的账单。"
    )
    first_bill = page.locator("main table.schedule tbody tr").filter(
        has=page.locator("td[data-label='#']", has_text=re.compile(r"^1$"))
    )
    expect(first_bill).to_contain_text(new_due.isoformat())
    expect(page.locator("main").get_by_role("link", name="免息延期", exact=True)).to_have_count(0)
    web.shot("granted")

    extension = Extension.objects.get()  # exactly one
    assert extension.loan_id == loan.pk and extension.new_due_date == new_due
    assert extension.penalty_waived == overdue_loan.penalty
    web.expect_clean()
