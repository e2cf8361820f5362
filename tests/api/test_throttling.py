"""Throttles on sign-in (per address) and money (per user), rates from settings."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"sign_in": "3/min", "money": "2/min"}}


def test_sign_in_is_throttled_per_address(api, alice, low_rates):
    body = {"username": "13900000000", "password": "x"}
    for _ in range(3):
        assert api.post("/api/v1/auth/tokens/", body, format="json", REMOTE_ADDR="10.0.0.1").status_code == 400
    throttled = api.post("/api/v1/auth/tokens/", body, format="json", REMOTE_ADDR="10.0.0.1")
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    other_address = api.post("/api/v1/auth/tokens/", {"username": "13800138000", "password": "alice-pass-2026"},
                             format="json", REMOTE_ADDR="10.0.0.2")
    assert other_address.status_code == 201


def test_a_forwarded_for_header_does_not_escape_the_throttle(api, alice, low_rates):
    body = {"username": "13900000000", "password": "x"}
    codes = [api.post("/api/v1/auth/tokens/", body, format="json", REMOTE_ADDR="10.0.0.9",
                      HTTP_X_FORWARDED_FOR=f"1.2.3.{n}").status_code for n in range(4)]
    assert codes == [400, 400, 400, 429]


def test_money_endpoints_are_throttled_per_user(as_alice, as_bob, alices_loan, bob, make_loan, low_rates):
    body = {"option": "custom", "method": "bank_transfer", "amount": "10.00"}
    url = f"/api/v1/loans/{alices_loan.reference}/repayments/"
    codes = [as_alice.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=f"k{n}").status_code for n in range(3)]
    assert codes == [201, 201, 429]
    bobs = make_loan(bob)
    assert as_bob.post(f"/api/v1/loans/{bobs.reference}/repayments/", body, format="json",
                       HTTP_IDEMPOTENCY_KEY="k0").status_code == 201
    # Reading is not a money endpoint.
    assert as_alice.get(f"/api/v1/loans/{alices_loan.reference}/").status_code == 200
