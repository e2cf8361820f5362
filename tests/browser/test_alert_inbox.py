"""The alert inbox in a real browser: an alert raised while an agent looks at the inbox appears
without a reload, the count follows, and acknowledging it takes it away."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from debt_collections.models import AlertKind
from debt_collections.services.alerts import alert_raise
from portal import roles
from tests.browser.conftest import Web

POLL_SECONDS = 1


def test_a_new_alert_appears_in_the_open_inbox_without_a_reload(web: Web, make_staff: Any, settings: Any) -> None:
    settings.PORTAL_ALERT_POLL_SECONDS = POLL_SECONDS
    make_staff("agnes", roles.AGENT)
    alert_raise(kind=AlertKind.STAGE_ENTERED, role=roles.AGENT, message="第一条提醒 · The first alert",
                dedupe_key="browser:1")
    page = web.page
    web.start("alert-inbox")

    web.goto("/admin/login/?next=/admin/collections/alert/inbox/")
    page.locator("input[name=username]").fill("agnes")
    page.locator("input[name=password]").fill("agnes-pass-2026")
    page.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/collections/alert/inbox/$"))
    rows = page.locator("#alert-rows tr.alert-row")
    expect(rows).to_have_count(1)
    expect(page.locator("#alert-count")).to_have_text("1")
    expect(page.locator("#alert-badge")).to_have_text("1")
    web.shot("one-alert")
    page.evaluate("window.__notReloaded = true")

    alert_raise(kind=AlertKind.PROMISE_BROKEN, role=roles.AGENT, message="<b>案件 #7</b> · Case #7: promise broken",
                dedupe_key="browser:2")
    alert_raise(kind=AlertKind.PAYMENT_REVERSED, role=roles.SUPERVISOR, message="Not for agents",
                dedupe_key="browser:3")

    expect(rows).to_have_count(2, timeout=POLL_SECONDS * 1000 * 8)
    newest = rows.first
    expect(newest).to_contain_text("<b>案件 #7</b> · Case #7: promise broken")  # shown as text, never as HTML
    assert newest.locator("b").count() == 0
    expect(page.locator("#alert-count")).to_have_text("2")
    expect(page.locator("#alert-badge")).to_have_text("2")
    expect(page.get_by_text("Not for agents")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    web.shot("new-alert")

    newest.locator("form.alert-acknowledge button").click()
    page.wait_for_url(re.compile(r"/admin/collections/alert/inbox/$"))
    expect(rows).to_have_count(1)
    expect(page.get_by_text("Case #7: promise broken")).to_have_count(0)
    web.shot("acknowledged")
    web.expect_clean()
