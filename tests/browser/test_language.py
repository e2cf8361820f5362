"""Switching the page language in a real browser: it sticks on reload, on the next page, and
across sign-out and sign-in, even in another browser (it is saved on the borrower's profile)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from loans.models import Borrower
from tests.browser.conftest import VIEWPORTS, OverdueLoan, Web, watch


def test_switch_to_english_and_back(
    web: Web, overdue_loan: OverdueLoan, browser: Browser, alice: Borrower
):
    web.start("language")
    loan, page = overdue_loan.loan, web.page
    header = page.locator("header.site-header")
    web.sign_in()
    expect(page.locator("main h1")).to_have_text("您好，王丽")
    web.shot("dashboard-zh")

    header.get_by_role("button", name="English").click()
    page.wait_for_url(re.compile(r"/my/$"))
    expect(page.locator("main h1")).to_have_text("Hello, 王丽")
    assert web.html_lang() == "en"
    expect(header.get_by_role("link", name="My loans")).to_be_visible()
    expect(header.get_by_role("button", name="中文")).to_be_visible()
    expect(page.locator("main")).to_contain_text("What happens next")
    web.shot("dashboard-en")
    alice.refresh_from_db()
    assert alice.preferred_language == "en"

    page.reload()
    expect(page.locator("main h1")).to_have_text("Hello, 王丽")
    page.locator(f"section[data-loan='{loan.reference}']").get_by_role(
        "link", name="Bills and payments"
    ).click()
    page.wait_for_url(re.compile(rf"/my/loans/{loan.reference}/$"))
    assert web.html_lang() == "en"
    expect(page.locator("main")).to_contain_text("Schedule")
    web.shot("loan-en")

    web.sign_out()
    assert web.html_lang() == "en"  # the language cookie stays in this browser
    web.sign_in(shot="sign-in-en")
    expect(page.locator("main h1")).to_have_text("Hello, 王丽")

    # Another browser with a Chinese phone's settings and no cookie: the profile decides.
    other = browser.new_context(**VIEWPORTS[web.viewport], locale="zh-CN", base_url=web.base_url)
    try:
        elsewhere = Web(
            page=other.new_page(),
            viewport=web.viewport,
            base_url=web.base_url,
            flow="language-other",
        )
        watch(elsewhere)
        elsewhere.goto("/sign-in/")
        assert elsewhere.html_lang() == "zh-hans"  # signed out, the phone's language
        form = elsewhere.page.locator("main form")
        form.locator("input[name=username]").fill(alice.mobile)
        form.locator("input[name=password]").fill("alice-pass-2026")
        form.locator("button[type=submit]").click()
        elsewhere.page.wait_for_url(re.compile(r"/my/$"))
        assert elsewhere.html_lang() == "en"
        expect(elsewhere.page.locator("main h1")).to_have_text("Hello, 王丽")
        elsewhere.expect_clean()
    finally:
        other.close()

    header.get_by_role("button", name="中文").click()
    page.wait_for_url(re.compile(r"/my/$"))
    expect(page.locator("main h1")).to_have_text("您好，王丽")
    assert web.html_lang() == "zh-hans"
    web.shot("dashboard-zh-again")
    alice.refresh_from_db()
    assert alice.preferred_language == "zh-hans"
    web.expect_clean()
