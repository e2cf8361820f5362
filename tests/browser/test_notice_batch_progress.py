"""A notice batch's progress page in a real browser: the bar follows the task while the page stays
open, and the download link appears when the combined PDF is ready, without a reload."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from notices.models import NoticeBatch, NoticeKind
from notices.services import notice_batch_run
from portal import roles
from tests.browser.conftest import OverdueLoan, Web
from tests.debt_collections.factories import make_case


def test_the_progress_bar_follows_the_batch_and_offers_the_download(
    web: Web, make_staff: Any, overdue_loan: OverdueLoan, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "private-media"
    legal = make_staff("lena", roles.LEGAL_OFFICER)
    case = make_case(overdue_loan.loan, days_past_due=10)
    batch = NoticeBatch.objects.create(
        kind=NoticeKind.PAYMENT_REMINDER, requested_by=legal, case_ids=[case.pk], total=1
    )
    page = web.page
    web.start("notice-batch")
    progress = f"/admin/notices/noticebatch/{batch.pk}/progress/"
    web.goto(f"/admin/login/?next={progress}")
    page.locator("input[name=username]").fill("lena")
    page.locator("input[name=password]").fill("lena-pass-2026")
    page.locator("input[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(progress) + "$"))
    expect(page.locator("#notice-batch-count")).to_have_text("0/1")
    expect(page.locator("#notice-batch-download")).to_be_hidden()
    expect(page.locator("#notice-batch-error")).to_be_hidden()
    web.shot("queued")
    page.evaluate("window.__notReloaded = true")

    assert notice_batch_run(batch_id=batch.pk) == "done"  # the task, while the page is open

    expect(page.locator("#notice-batch-count")).to_have_text("1/1", timeout=8000)
    expect(page.locator("#notice-batch-download")).to_be_visible()
    expect(page.locator("#notice-batch-error")).to_be_hidden()
    assert page.locator("#notice-batch-bar").get_attribute("value") == "1"
    assert page.evaluate("window.__notReloaded") is True
    web.shot("done")
    with page.expect_download() as download:
        page.locator("#notice-batch-download").click()
    assert download.value.suggested_filename == f"notices-batch-{batch.pk}.pdf"
    web.expect_clean()
