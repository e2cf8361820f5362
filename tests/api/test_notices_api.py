"""Borrowers list their printed notices and download each archived PDF; nobody else can."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from notices.services import notice_generate
from tests.api.conftest import overdue

pytestmark = pytest.mark.django_db


@pytest.fixture
def notice(alices_loan):
    overdue(alices_loan, dt.date(2026, 3, 1))
    return notice_generate(kind="payment_reminder", actor=None, loan_id=alices_loan.pk, as_of=dt.date(2026, 3, 2))


def test_a_borrower_lists_their_notices_newest_first(as_alice, notice):
    body = as_alice.get("/api/v1/notices/").json()
    assert [n["reference"] for n in body["results"]] == [notice.reference]
    assert body["results"][0]["sha256"] == notice.sha256


def test_a_borrower_downloads_the_pdf_exactly_as_archived(as_alice, notice):
    response = as_alice.get(f"/api/v1/notices/{notice.reference}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == notice.sha256


def test_another_borrower_gets_not_found_in_the_json_shape(as_bob, notice):
    response = as_bob.get(f"/api/v1/notices/{notice.reference}/pdf/")
    assert response.status_code == 404 and response.json()["error"]["code"]
    assert as_bob.get("/api/v1/notices/").json()["results"] == []


def test_the_notice_list_costs_the_same_queries_for_one_or_three_notices(as_alice, notice, alices_loan):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert as_alice.get("/api/v1/notices/").status_code == 200
        return len(queries)

    count()  # the first request of a token also records its first use
    one = count()
    for _ in range(2):
        notice_generate(kind="payment_reminder", actor=None, loan_id=alices_loan.pk, as_of=dt.date(2026, 3, 2))
    assert count() == one
