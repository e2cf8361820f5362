"""Text people typed (a borrower's name, the reason for a restructuring) prints as the characters
they typed: never as markup, and never making the renderer fetch anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from loans.models import Borrower
from notices.models import NoticeKind
from notices.rendering import StaticFilesFetcher, notice_html
from notices.services import notice_generate

from .conftest import TODAY, assert_printed, pdf_text
from .test_rendering import RESTRUCTURING_TERMS

pytestmark = pytest.mark.django_db

HOSTILE_NAME = "王丽<img src=http://evil/>"
HOSTILE_REASON = (
    '<script>alert(1)</script><img src="http://evil.example/x.png"> & '
    "<link rel=stylesheet href=http://evil/>"
)
PDF_TEMPLATES = Path(settings.BASE_DIR) / "templates" / "pdf"


@pytest.fixture
def fetched(monkeypatch: Any) -> list[str]:
    """Every URL the renderer asks for, whether served or refused."""
    asked: list[str] = []
    original = StaticFilesFetcher.fetch

    def spy(self: StaticFilesFetcher, url: str, headers: Any = None) -> Any:
        asked.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticFilesFetcher, "fetch", spy)
    return asked


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_hostile_text_prints_as_typed_and_nothing_outside_is_fetched(
    overdue_loan, legal, fetched, language
):
    Borrower.objects.filter(pk=overdue_loan.borrower_id).update(
        real_name=HOSTILE_NAME, preferred_language=language
    )
    terms = {**RESTRUCTURING_TERMS, "reason": HOSTILE_REASON}
    for kind, extra in (
        (NoticeKind.LAWYER_LETTER, None),
        (NoticeKind.RESTRUCTURING_AGREEMENT, terms),
    ):
        notice = notice_generate(
            kind=kind, actor=legal, loan_id=overdue_loan.pk, as_of=TODAY, extra_context=extra
        )
        text = pdf_text(notice.file.read())
        assert_printed(text, HOSTILE_NAME)
        if extra:
            assert_printed(text, HOSTILE_REASON)
        # The HTML the PDF came from holds the text escaped.
        html = notice_html(kind=kind, language=language, anchor="notice-x", facts=notice.facts).html
        assert (
            "&lt;img src=http://evil/&gt;" in html and "<img" not in html and "<script" not in html
        )
    # The stylesheet, and nothing else, was asked for: no http:, no file outside the static files.
    assert fetched and all(url.startswith("file:") for url in fetched)
    assert all(StaticFilesFetcher.resolve(url) for url in fetched)
    assert not any("evil" in url for url in fetched)


def test_no_pdf_template_turns_autoescaping_off():
    for template in PDF_TEMPLATES.rglob("*.html"):
        source = template.read_text()
        assert (
            "|safe" not in source and "autoescape off" not in source and "safeseq" not in source
        ), template
