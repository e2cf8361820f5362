"""A batch chunk laid out by more than one process: the helper processes (real subprocesses
here) render consecutive slices, and the notices, their files and the combined PDF come out as
from one process: in the cases' order, each notice with only its own pages and text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.utils.safestring import mark_safe

from notices import render_pool
from notices.models import BatchStatus, Notice, NoticeBatch, NoticeKind
from notices.render_pool import RenderHelperError, RenderPool, render_slices, slices
from notices.rendering import FetchRefused, NoticePart, pdf_render
from notices.services import notice_batch_create

from .conftest import assert_printed, pdf_reader, pdf_text


def part(anchor: str, body: str) -> NoticePart:
    return NoticePart(
        anchor=anchor,
        title=anchor,
        html=mark_safe(
            f'<section class="notice" id="{anchor}" lang="zh-Hans"><p>{body}</p></section>'
        ),
    )


def test_slices_are_consecutive_nearly_equal_and_never_too_small(monkeypatch):
    monkeypatch.setattr(render_pool, "MIN_SLICE", 8)
    parts = [part(f"n-{i}", "x") for i in range(21)]
    cut = slices(parts, 2)
    assert [len(s) for s in cut] == [11, 10] and [p for s in cut for p in s] == parts
    assert [len(s) for s in slices(parts, 4)] == [11, 10]  # none smaller than MIN_SLICE
    assert [len(s) for s in slices(parts[:15], 2)] == [15]
    assert [len(s) for s in slices(parts, 1)] == [21]


def test_helpers_render_their_slices_in_order_and_stop_with_the_pool(monkeypatch):
    monkeypatch.setattr(render_pool, "MIN_SLICE", 1)
    parts = [part(f"notice-{name}", f"{name}的通知") for name in "甲乙丙"]
    with RenderPool(3) as pool:
        results = render_slices(pool, parts, title="batch", render_here=pdf_render)
        helpers = [helper.process for helper in pool._helpers]
    assert len(results) == 3 and len(helpers) == 2
    assert all(process.poll() is not None for process in helpers)  # ended with the pool
    for name, result in zip("甲乙丙", results, strict=True):
        assert [p.anchor for p in result.parts] == [f"notice-{name}"]
        assert_printed(pdf_text(result.combined), f"{name}的通知")
        assert_printed(pdf_text(result.parts[0].pdf), f"{name}的通知")


def test_an_error_in_a_helper_stops_the_chunk_and_ends_the_helpers(monkeypatch):
    monkeypatch.setattr(render_pool, "MIN_SLICE", 1)
    bad = NoticePart(
        anchor="notice-X",
        title="x",
        html=mark_safe(
            '<section class="notice" id="notice-X"><img src="http://evil.example/x.png"></section>'
        ),
    )
    with pytest.raises(FetchRefused), RenderPool(2) as pool:
        render_slices(pool, [part("notice-A", "甲"), bad], title="x", render_here=pdf_render)
    assert not pool._helpers


def test_a_helper_that_dies_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setattr(render_pool, "MIN_SLICE", 1)
    parts = [part("notice-A", "甲"), part("notice-B", "乙")]
    with RenderPool(2) as pool:
        render_slices(pool, parts, title="x", render_here=pdf_render)  # the helper is up
        pool._helpers[0].process.kill()
        pool._helpers[0].process.wait()
        with pytest.raises(RenderHelperError):
            render_slices(pool, parts, title="x", render_here=pdf_render)


@pytest.mark.django_db
def test_a_batch_rendered_by_two_processes_reads_as_one(
    alices_case,
    bobs_case,
    legal,
    settings,
    monkeypatch,
    private_media,
    django_capture_on_commit_callbacks,
):
    settings.PORTAL_NOTICE_BATCH_CHUNK = 10
    settings.PORTAL_NOTICE_RENDER_PROCESSES = 2
    monkeypatch.setattr(render_pool, "MIN_SLICE", 1)
    seen: list[int] = []
    original = render_pool._Helper.receive

    def receive(self: Any) -> Any:
        result = original(self)
        seen.append(len(result.parts))
        return result

    monkeypatch.setattr(render_pool._Helper, "receive", receive)
    cases = [alices_case, bobs_case]
    with django_capture_on_commit_callbacks(execute=True):
        batch = notice_batch_create(
            kind=NoticeKind.LAWYER_LETTER, case_ids=[c.pk for c in cases], actor=legal
        )
    batch = NoticeBatch.objects.get(pk=batch.pk)

    assert batch.status == BatchStatus.DONE and batch.generated == 2
    assert seen == [1]  # bob's letter came from the helper
    notices = list(Notice.objects.filter(batch=batch).order_by("id"))
    assert [n.case_id for n in notices] == [c.pk for c in cases]
    for notice, (mine, theirs) in zip(notices, [("王丽", "李强"), ("李强", "王丽")], strict=True):
        data = Path(notice.file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == notice.sha256
        assert notice.pages == len(pdf_reader(data).pages)
        text = pdf_text(data)
        assert_printed(text, mine, notice.reference)
        assert theirs not in text and notices[1 - notices.index(notice)].reference not in text
    combined = Path(batch.file.path).read_bytes()
    assert hashlib.sha256(combined).hexdigest() == batch.sha256
    pages = pdf_reader(combined).pages
    assert len(pages) == sum(n.pages for n in notices)
    first = "".join(page.extract_text() for page in pages[: notices[0].pages])
    assert_printed(first, "王丽", notices[0].reference)
    assert "李强" not in first
    left = sorted(str(p.relative_to(private_media)) for p in private_media.rglob("*.pdf"))
    assert left == sorted([batch.file.name, *(n.file.name for n in notices)])
