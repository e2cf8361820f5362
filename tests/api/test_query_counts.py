"""Every list endpoint costs the same number of queries whatever the data size."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from debt_collections import services as collections
from debt_collections.models import AlertKind, CaseNote, ContactLog, PromiseToPay
from loans import services as loans
from portal import roles
from portal.calendar import business_today
from portal.models import User
from portal.sms import sms_queue
from tests.debt_collections.factories import bulk_cases, make_case

pytestmark = pytest.mark.django_db


def queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


def grow(add, url, client, sizes=(1, 6)):
    """Queries for `url` after adding sizes[0] rows, then sizes[1] more: must be equal."""
    client.get(url)  # warm the per-user caches (permissions) that a first request fills
    counts = []
    done = 0
    for size in sizes:
        add(done, size)
        done += size
        counts.append(queries(client, url))
    assert counts[0] == counts[1], f"{url}: {counts}"
    return counts[0]


@pytest.fixture
def session_alice(alice):
    client = APIClient()
    client.force_authenticate(alice.user)
    return client


@pytest.fixture
def session_agent(make_staff):
    client = APIClient()
    client.force_authenticate(make_staff("agnes", roles.AGENT))
    return client


def test_loans(session_alice, alice, make_loan):
    grow(lambda start, n: [make_loan(alice) for _ in range(n)], "/api/v1/loans/", session_alice)


def test_payments_and_repayments(session_alice, alice, alices_loan):
    def add(start, n):
        for i in range(start, start + n):
            loans.payment_post(loan_id=alices_loan.pk, amount="10.00", channel="web", idempotency_key=f"k{i}",
                               actor=None, business_date=business_today())
            loans.payment_intent_create(borrower_id=alice.pk, loan_id=alices_loan.pk, option="custom",
                                        method="bank_transfer", custom_amount="5.00",
                                        business_date=business_today(), actor=None)

    grow(add, f"/api/v1/loans/{alices_loan.reference}/payments/", session_alice)
    assert queries(session_alice, "/api/v1/repayments/") == queries(session_alice, "/api/v1/repayments/?page=1")


def test_repayments(session_alice, alice, alices_loan):
    grow(lambda start, n: [loans.payment_intent_create(
        borrower_id=alice.pk, loan_id=alices_loan.pk, option="custom", method="online", custom_amount="5.00",
        business_date=business_today(), actor=None) for _ in range(n)], "/api/v1/repayments/", session_alice)


def test_messages(session_alice, alice):
    grow(lambda start, n: [sms_queue(recipient=alice.user, mobile=alice.mobile, language="zh-hans", kind="t",
                                     text="x", params={}, dedupe_key=f"m{start + i}") for i in range(n)],
         "/api/v1/messages/", session_alice)


def test_hardship_requests(session_alice, alice, make_loan, make_staff):
    decider = make_staff("sue", roles.SUPERVISOR)

    def add(start, n):
        for _ in range(n):
            request = collections.hardship_request_submit(
                borrower_id=alice.pk, loan_id=make_loan(alice).pk, reason="illness", description="病了。",
                help_wanted=["grace_period"], actor=alice.user)
            collections.hardship_offer_make(request_id=request.pk, actor=decider, kind="grace_period",
                                            terms_zh="宽限。", grace_days=10,
                                            expires_at=timezone.now() + dt.timedelta(days=3))

    grow(add, "/api/v1/hardship-requests/", session_alice)


def test_case_queue_and_children(session_agent, alice, product, alices_loan):
    assert grow(lambda start, n: bulk_cases(alice, product, n, start=start), "/api/v1/staff/cases/",
                session_agent, sizes=(2, 60)) <= 6
    case = make_case(alices_loan)
    agent = User.objects.get(username="agnes")

    def add(start, n):
        for i in range(start, start + n):
            ContactLog.objects.create(case=case, agent=agent, channel="visit", party="borrower", outcome="refused")
            CaseNote.objects.create(case=case, author=agent, text=f"n{i}")
            PromiseToPay.objects.create(case=case, loan=alices_loan, amount="10.00", paid_before="0.00",
                                        promised_date=business_today(), made_by=agent, status="cancelled")

    for child in ("contacts", "promises", "notes"):
        grow(add, f"/api/v1/staff/cases/{case.pk}/{child}/", session_agent)
    grow(add, f"/api/v1/staff/cases/{case.pk}/", session_agent)


def test_alerts(session_agent):
    grow(lambda start, n: [collections.alert_raise(kind=AlertKind.STAGE_ENTERED, role=roles.AGENT, message="m",
                                                   dedupe_key=f"a{start + i}") for i in range(n)],
         "/api/v1/staff/alerts/", session_agent)


def test_articles_categories_and_lectures(session_alice, make_article, make_lecture):
    grow(lambda start, n: [make_article(f"article-{start + i}") for i in range(n)], "/api/v1/articles/",
         session_alice)
    grow(lambda start, n: [make_article(f"more-{start + i}") for i in range(n)], "/api/v1/categories/", session_alice)
    grow(lambda start, n: [make_lecture(f"lecture {start + i}") for i in range(n)], "/api/v1/lectures/", session_alice)
