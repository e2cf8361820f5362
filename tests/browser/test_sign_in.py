"""Signing in and out in a real browser: the dashboard tells an overdue borrower what is due and
what happens next, in Chinese; a wrong password is refused in Chinese and keeps the number."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import ALICE_MOBILE, OverdueLoan, Web, yuan


def test_sign_in_shows_the_overdue_amount_and_what_happens_next_then_sign_out(
    web: Web, overdue_loan: OverdueLoan
):
    web.start("sign-in")
    web.sign_in()
    page = web.page
    assert web.html_lang() == "zh-hans"
    expect(page.locator("h1")).to_have_text("您好，王丽")
    card = page.locator(f"section[data-loan='{overdue_loan.loan.reference}']")
    expect(card.locator(".badge.overdue")).to_contain_text("逾期")
    facts = card.locator("dl.facts")
    expect(facts).to_contain_text("当前逾期金额")
    expect(facts.locator("dd.amount.big")).to_have_text(yuan(overdue_loan.overdue_total))
    expect(card.locator("h3")).to_have_text("接下来会发生什么")
    steps = card.locator("ul.next-steps li")
    assert steps.count() >= 3  # daily penalty, at least one coming milestone, the way out
    expect(steps.first).to_contain_text("罚息")
    expect(card.get_by_role("link", name="还款", exact=True)).to_be_visible()
    web.shot("dashboard")

    web.sign_out()
    expect(page.locator("main h1")).to_have_text("登录")
    web.shot("signed-out")
    web.goto("/my/")  # the dashboard is closed again
    page.wait_for_url(re.compile(r"/sign-in/\?next=/my/"))
    web.expect_clean()


def test_a_wrong_password_is_refused_in_chinese_and_keeps_the_number(
    web: Web, overdue_loan: OverdueLoan
):
    web.start("wrong-password")
    web.goto("/sign-in/")
    page = web.page
    web.shot("sign-in")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(ALICE_MOBILE)
    form.locator("input[name=password]").fill("not-the-password")
    form.locator("button[type=submit]").click()
    expect(page.locator(".form-error")).to_have_text("手机号码或密码不正确，请重试。")
    assert re.search(r"/sign-in/$", web.path())
    expect(form.locator("input[name=username]")).to_have_value(ALICE_MOBILE)
    expect(form.locator("input[name=password]")).to_have_value("")
    web.shot("refused")
    web.expect_clean()
