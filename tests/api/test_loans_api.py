"""The borrower's loan endpoints: the same figures and rules as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from loans import selectors, services
from loans.models import Extension, IntentStatus
from portal.calendar import business_today
from portal.sms import sms_queue

pytestmark = pytest.mark.django_db


def test_profile_and_language(as_alice, alice):
    me = as_alice.get("/api/v1/me/").json()
    assert me["mobile"] == alice.masked_mobile and me["national_id"] == alice.masked_national_id
    changed = as_alice.patch("/api/v1/me/", {"preferred_language": "en"}, format="json")
    assert changed.status_code == 200 and changed.json()["preferred_language"] == "en"
    alice.refresh_from_db()
    assert alice.preferred_language == "en"
    assert as_alice.patch("/api/v1/me/", {"preferred_language": "fr"}, format="json").status_code == 400


def test_loans_show_the_dashboards_figures(as_alice, alice, alices_loan):
    [row] = as_alice.get("/api/v1/loans/").json()["results"]
    [summary] = selectors.borrower_loans(borrower=alice, as_of=business_today())
    assert row["reference"] == alices_loan.reference
    assert Decimal(row["payoff_amount"]) == summary.payoff.amount
    assert Decimal(row["overdue"]["total"]) == summary.overdue.total
    assert row["days_past_due"] == summary.days_past_due
    detail = as_alice.get(f"/api/v1/loans/{alices_loan.reference}/").json()
    assert detail == row


def test_schedule_payoff_options_and_preview(as_alice, alices_loan):
    ref = alices_loan.reference
    schedule = as_alice.get(f"/api/v1/loans/{ref}/schedule/").json()
    assert [i["number"] for i in schedule["installments"]] == list(range(1, 13))
    assert sum(Decimal(i["principal_due"]) for i in schedule["installments"]) == Decimal("12000.00")
    quote = as_alice.get(f"/api/v1/loans/{ref}/payoff-quote/").json()
    options = {o["option"]: o for o in as_alice.get(f"/api/v1/loans/{ref}/repayment-options/").json()["options"]}
    assert options["payoff"]["amount"] == quote["amount"] and options["custom"]["available"] is True
    preview = as_alice.get(f"/api/v1/loans/{ref}/repayment-preview/", {"option": "payoff"}).json()
    assert preview["settles"] is True and preview["amount"] == quote["amount"]
    part = as_alice.get(f"/api/v1/loans/{ref}/repayment-preview/", {"option": "custom", "amount": "100.00"}).json()
    assert part["settles"] is False and part["paid"][0]["installment"] == 1
    too_much = as_alice.get(f"/api/v1/loans/{ref}/repayment-preview/", {"option": "custom", "amount": "99999.00"})
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "invalid_amount"


def test_payments_and_receipts_are_the_borrowers_own(as_alice, as_bob, alices_loan):
    payment = services.payment_post(loan_id=alices_loan.pk, amount="300.00", channel="web", idempotency_key="p1",
                                    actor=None, business_date=business_today()).payment
    [row] = as_alice.get(f"/api/v1/loans/{alices_loan.reference}/payments/").json()["results"]
    assert row["id"] == payment.pk and row["amount"] == "300.00"
    receipt = as_alice.get(f"/api/v1/payments/{payment.pk}/").json()
    assert sum(Decimal(a["total"]) for a in receipt["allocations"]) == Decimal("300.00")
    assert as_bob.get(f"/api/v1/payments/{payment.pk}/").status_code == 404
    assert as_bob.get(f"/api/v1/loans/{alices_loan.reference}/payments/").status_code == 404


def test_paying_online_gives_the_checkout_page_and_the_payment_posts_when_the_provider_confirms(as_alice, alices_loan):
    created = as_alice.post(f"/api/v1/loans/{alices_loan.reference}/repayments/",
                            {"option": "custom", "method": "online", "amount": "200.00"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="online-1").json()
    assert created["status"] == "processing" and "/sandbox/checkout/" in created["checkout_url"]
    from loans.models import PaymentIntent
    from loans.tasks import settle_sandbox_payment

    intent = PaymentIntent.objects.get(public_id=created["id"])
    settle_sandbox_payment(intent.pk, "pay")
    done = as_alice.get(f"/api/v1/repayments/{created['id']}/").json()
    assert done["status"] == "succeeded" and done["payment"] is not None
    assert intent.idempotency_key == f"intent-{created['id']}"  # the payment's key, from the API key's claim


def test_cancel_a_bank_transfer_not_yet_paid(as_alice, as_bob, alices_loan):
    created = as_alice.post(f"/api/v1/loans/{alices_loan.reference}/repayments/",
                            {"option": "payoff", "method": "bank_transfer"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="bt").json()
    assert as_bob.post(f"/api/v1/repayments/{created['id']}/cancel/").status_code == 404
    cancelled = as_alice.post(f"/api/v1/repayments/{created['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == IntentStatus.CANCELLED
    listed = as_alice.get("/api/v1/repayments/").json()["results"]
    assert [r["id"] for r in listed] == [created["id"]]


def test_the_interest_free_extension_once(as_alice, alice, alices_loan):
    ref = alices_loan.reference
    quote = as_alice.get(f"/api/v1/loans/{ref}/extension/").json()
    assert quote["eligible"] is True and quote["new_due_date"] == str(business_today() + dt.timedelta(days=30))
    granted = as_alice.post(f"/api/v1/loans/{ref}/extension/")
    assert granted.status_code == 201 and Extension.objects.filter(borrower=alice).exists()
    again = as_alice.post(f"/api/v1/loans/{ref}/extension/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_allowed"
    assert as_alice.get(f"/api/v1/loans/{ref}/extension/").json()["eligible"] is False


def test_messages_are_the_borrowers_own_text_messages(as_alice, as_bob, alice):
    sms_queue(recipient=alice.user, mobile=alice.mobile, language="zh-hans", kind="test", text="您好", params={},
              dedupe_key="t1")
    assert [m["body"] for m in as_alice.get("/api/v1/messages/").json()["results"]] == ["您好"]
    assert as_bob.get("/api/v1/messages/").json()["results"] == []


def test_staff_and_visitors_have_no_loan_endpoints(api, staff, alices_loan):
    assert api.get("/api/v1/loans/").status_code == 401
    assert staff("supervisor").get(f"/api/v1/loans/{alices_loan.reference}/").status_code == 403


def test_pages_of_results(as_alice, alices_loan):
    for n in range(3):
        services.payment_post(loan_id=alices_loan.pk, amount="10.00", channel="web", idempotency_key=f"p{n}",
                              actor=None, business_date=business_today())
    url = f"/api/v1/loans/{alices_loan.reference}/payments/"
    first = as_alice.get(url, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["previous"] is None and "page=2" in first["next"]
    second = as_alice.get(url, {"page_size": 2, "page": 2}).json()
    assert len(second["results"]) == 1 and second["next"] is None
    refused = as_alice.get(url, {"page": 0})
    assert refused.status_code == 400 and list(refused.json()["error"]["fields"]) == ["page"]
