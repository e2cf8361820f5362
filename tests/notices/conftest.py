"""Overdue loans for alice (Chinese) and bob (English), their cases, staff of each role, and
helpers that read a PDF back: its text, its fonts and its page sizes."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import translation
from pypdf import PdfReader

from debt_collections.models import Case
from loans.models import Borrower, Loan
from portal import roles
from portal.models import User
from tests.conftest import FIRST_DUE, age_through
from tests.debt_collections.factories import make_case

# alice's and bob's first bills fell due on 2026-02-15: on 2026-04-01 they are 45 days past due.
TODAY = dt.date(2026, 4, 1)


@pytest.fixture(autouse=True)
def in_english() -> Any:
    """Refusals are read in English here (Chinese is the site's default); the PDFs follow the
    borrower's own language whatever is active."""
    with translation.override("en"):
        yield


@pytest.fixture
def client(client: Any) -> Any:
    """Staff pages in English too."""
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture(autouse=True)
def private_media(settings: Any, tmp_path: Any) -> Any:
    """Notices go to a temporary MEDIA_ROOT, never to var/private-media."""
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def frozen_business_date(monkeypatch: Any) -> dt.date:
    monkeypatch.setattr("notices.services.business_today", lambda: TODAY)
    return TODAY


@pytest.fixture
def overdue_loan(alices_loan: Loan) -> Loan:
    age_through(alices_loan, FIRST_DUE, TODAY)
    alices_loan.refresh_from_db()
    return alices_loan


@pytest.fixture
def bobs_overdue_loan(bob: Borrower, make_loan: Any) -> Loan:
    loan = make_loan(bob, principal="8000.00")
    age_through(loan, FIRST_DUE, TODAY)
    loan.refresh_from_db()
    return loan


@pytest.fixture
def alices_case(overdue_loan: Loan) -> Case:
    return make_case(overdue_loan, days_past_due=45)


@pytest.fixture
def bobs_case(bobs_overdue_loan: Loan) -> Case:
    return make_case(bobs_overdue_loan, days_past_due=45)


@pytest.fixture
def legal(make_staff: Any) -> User:
    return make_staff("lena", roles.LEGAL_OFFICER)


def pdf_reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pdf_reader(data).pages)


def squash(text: str) -> str:
    """Without any whitespace: a line break may fall inside a phrase."""
    return "".join(text.split())


def assert_printed(text: str, *phrases: str) -> None:
    flat = squash(text)
    missing = [phrase for phrase in phrases if squash(phrase) not in flat]
    assert not missing, f"not in the PDF: {missing}\n---\n{text}"


def pdf_fonts(data: bytes) -> set[str]:
    """The base names of the fonts the pages use, without the subset prefix (ABCDEF+)."""
    names: set[str] = set()
    for page in pdf_reader(data).pages:
        resources: Any = page["/Resources"].get_object()
        fonts: Any = resources.get("/Font", {})
        for ref in fonts.values():
            name = str(ref.get_object()["/BaseFont"]).lstrip("/")
            names.add(name.split("+", 1)[-1])
    return names


def page_sizes(data: bytes) -> set[tuple[float, float]]:
    return {
        (round(float(p.mediabox.width), 1), round(float(p.mediabox.height), 1))
        for p in pdf_reader(data).pages
    }
