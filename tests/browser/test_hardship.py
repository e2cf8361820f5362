"""Filing a hardship request with a photo as evidence, in a real browser."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import expect

from debt_collections.models import HardshipRequest
from tests.browser.conftest import OverdueLoan, Web


def a_photo(folder: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "PNG")
    path = folder / "hospital-note.png"
    path.write_bytes(buffer.getvalue())
    return path


def test_file_a_hardship_request_with_a_photo(web: Web, overdue_loan: OverdueLoan, settings: Any, tmp_path: Path):
    settings.MEDIA_ROOT = tmp_path / "private-media"  # the live server runs in this process
    web.start("hardship")
    page = web.page
    web.sign_in()
    page.locator("header").get_by_role("link", name="困难帮扶").click()
    page.wait_for_url(re.compile(r"/my/hardship/$"))
    web.shot("list")
    page.locator("main").get_by_role("link", name="申请困难帮扶").first.click()
    page.wait_for_url(re.compile(r"/my/hardship/new/$"))
    web.shot("form")

    page.get_by_label("疾病").check()
    page.get_by_label("宽限期").check()
    page.get_by_label("说说您的情况").fill("我住院六周，出院后每月能还 300 元。")
    page.locator("input[type=file]").set_input_files(str(a_photo(tmp_path)))
    page.get_by_role("button", name="提交申请").click()

    page.wait_for_url(re.compile(r"/my/hardship/[0-9a-f-]{36}/$"))
    expect(page.locator("main")).to_contain_text("hospital-note.png")
    expect(page.locator("main")).to_contain_text("已提交")
    web.shot("submitted")
    request = HardshipRequest.objects.get()
    assert request.reason == "illness" and request.help_wanted == ["grace_period"]
    evidence = request.evidence.get()
    assert evidence.content_type == "image/png" and evidence.original_name == "hospital-note.png"
    web.expect_clean()
