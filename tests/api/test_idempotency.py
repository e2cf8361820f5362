"""Repayment with Idempotency-Key: missing 400, replay, different body 422, in progress 409."""

from __future__ import annotations

import datetime as dt
import threading
from unittest import mock

import pytest
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from loans import services
from loans.models import PaymentIntent
from portal.api.idempotency import derived_uuid, request_fingerprint
from portal.api.models import IdempotencyRecord, IdempotencyStatus
from portal.api.tasks import purge_expired_idempotency_records
from portal.calendar import business_today
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

BODY = {"option": "custom", "method": "bank_transfer", "amount": "500.00"}


def repay(client, loan, key="key-1", body=None, **extra):
    if key is not None:
        extra["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(f"/api/v1/loans/{loan.reference}/repayments/", body or BODY, format="json", **extra)


def test_a_missing_key_is_refused_and_nothing_is_made(as_alice, alices_loan):
    response = repay(as_alice, alices_loan, key=None)
    assert response.status_code == 400 and response.json()["error"]["code"] == "idempotency_key_missing"
    assert not PaymentIntent.objects.exists() and not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("key", ["x" * 256, "with space", "ключ"])
def test_a_malformed_key_is_refused(as_alice, alices_loan, key):
    response = as_alice.post(f"/api/v1/loans/{alices_loan.reference}/repayments/", BODY, format="json",
                             headers={"Idempotency-Key": key})
    assert response.status_code == 400 and response.json()["error"]["code"] == "idempotency_key_invalid"


def test_the_first_request_creates_and_confirms_a_bank_transfer(as_alice, alices_loan):
    response = repay(as_alice, alices_loan)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "awaiting_transfer" and body["amount"] == "500.00"
    assert body["bank_account"]["number"] and body["reference_code"].startswith("RP")
    assert "Idempotent-Replayed" not in response
    record = IdempotencyRecord.objects.get()
    assert record.status == IdempotencyStatus.COMPLETED and record.response_status == 201
    assert record.expires_at - record.created_at >= dt.timedelta(hours=24)


def test_the_same_key_and_body_replays_the_first_response_and_makes_nothing(as_alice, alices_loan):
    first = repay(as_alice, alices_loan)
    intents, events = PaymentIntent.objects.count(), AuditEvent.objects.count()
    again = repay(as_alice, alices_loan)
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert (PaymentIntent.objects.count(), AuditEvent.objects.count()) == (intents, events)


def test_a_quoted_key_is_the_same_key(as_alice, alices_loan):
    repay(as_alice, alices_loan, key="abc")
    assert repay(as_alice, alices_loan, key='"abc"')["Idempotent-Replayed"] == "true"


def test_the_same_key_with_a_different_body_is_422_and_changes_nothing(as_alice, alices_loan):
    repay(as_alice, alices_loan)
    response = repay(as_alice, alices_loan, body={**BODY, "amount": "600.00"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "idempotency_key_reused"
    assert PaymentIntent.objects.count() == 1


def test_keys_belong_to_one_user(as_alice, alices_loan, as_bob, bob, make_loan):
    bobs_loan = make_loan(bob)
    assert repay(as_alice, alices_loan, key="shared").status_code == 201
    response = repay(as_bob, bobs_loan, key="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert PaymentIntent.objects.count() == 2


def test_a_refusal_is_stored_and_replayed_too(as_alice, alices_loan):
    alices_loan.status = "settled"
    alices_loan.save()
    first = repay(as_alice, alices_loan)
    assert first.status_code == 409
    again = repay(as_alice, alices_loan)
    assert again.status_code == 409 and again["Idempotent-Replayed"] == "true" and again.json() == first.json()


def test_a_server_error_releases_the_key_and_leaves_nothing(alices_loan, alice):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(alice.user)
    with mock.patch.object(services, "payment_intent_confirm", side_effect=RuntimeError("provider down")):
        failed = repay(client, alices_loan)
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "server_error"
    assert not IdempotencyRecord.objects.exists() and not PaymentIntent.objects.exists()
    retried = repay(client, alices_loan)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried


def test_an_expired_key_is_new_again_and_the_purge_deletes_old_records(as_alice, alices_loan):
    repay(as_alice, alices_loan)
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = repay(as_alice, alices_loan, body={**BODY, "amount": "700.00"})
    assert response.status_code == 201 and response.json()["amount"] == "700.00"
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert purge_expired_idempotency_records() == 1 and not IdempotencyRecord.objects.exists()


def _dead_claim(alice, loan, key):
    """What a request that died after claiming `key` leaves: an old in-progress record."""
    path = f"/api/v1/loans/{loan.reference}/repayments/"
    long_ago = timezone.now() - dt.timedelta(hours=1)
    return IdempotencyRecord.objects.create(
        user=alice.user, key=key, method="POST", path=path, created_at=long_ago, locked_at=long_ago,
        fingerprint=request_fingerprint(method="POST", path=path, query="", data=BODY),
        expires_at=timezone.now() + dt.timedelta(hours=23),
    )


def test_a_claim_left_by_a_dead_request_is_taken_over(as_alice, alice, alices_loan):
    _dead_claim(alice, alices_loan, "key-1")
    response = repay(as_alice, alices_loan)
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get().status == IdempotencyStatus.COMPLETED


def test_a_slow_first_request_and_a_takeover_make_one_intent(as_alice, alice, alices_loan):
    """The first request committed its intent but not yet its record when its lease ran out:
    the second run derives the same intent id from the key and finds that intent."""
    claim = _dead_claim(alice, alices_loan, "key-1")
    first = services.payment_intent_create(
        borrower_id=alice.pk, loan_id=alices_loan.pk, option="custom", method="bank_transfer",
        custom_amount="500.00", business_date=business_today(), actor=alice.user,
        public_id=derived_uuid(claim, purpose="payment-intent"),
    )
    response = repay(as_alice, alices_loan)
    assert response.status_code == 201 and response.json()["id"] == str(first.public_id)
    assert PaymentIntent.objects.count() == 1


def test_the_service_refuses_a_derived_id_reused_for_another_choice(alice, alices_loan):
    public_id = __import__("uuid").uuid4()
    services.payment_intent_create(borrower_id=alice.pk, loan_id=alices_loan.pk, option="custom",
                                   method="bank_transfer", custom_amount="500.00",
                                   business_date=business_today(), actor=None, public_id=public_id)
    from portal.errors import IdempotencyKeyReused

    with pytest.raises(IdempotencyKeyReused):
        services.payment_intent_create(borrower_id=alice.pk, loan_id=alices_loan.pk, option="custom",
                                       method="bank_transfer", custom_amount="501.00",
                                       business_date=business_today(), actor=None, public_id=public_id)


@pytest.mark.django_db(transaction=True)
def test_a_request_arriving_while_the_first_still_runs_is_409(alice, alices_loan):
    entered, release = threading.Event(), threading.Event()
    real_confirm = services.payment_intent_confirm
    results: dict[str, object] = {}

    def slow_confirm(**kwargs):
        entered.set()
        assert release.wait(30)
        return real_confirm(**kwargs)

    def first_request():
        try:
            client = APIClient()
            client.force_authenticate(alice.user)
            results["first"] = repay(client, alices_loan)
        finally:
            connections.close_all()

    with mock.patch.object(services, "payment_intent_confirm", side_effect=slow_confirm):
        thread = threading.Thread(target=first_request)
        thread.start()
        try:
            assert entered.wait(30)
            client = APIClient()
            client.force_authenticate(alice.user)
            second = repay(client, alices_loan)
        finally:
            release.set()
            thread.join(30)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_request_in_progress"
    assert results["first"].status_code == 201  # type: ignore[attr-defined]
    third = repay(client, alices_loan)
    assert third.status_code == 201 and third["Idempotent-Replayed"] == "true"
    assert PaymentIntent.objects.count() == 1
