"""Tokens for apps: signing in (axes lock-out as on the web), shown once, hashed, listed, revoked."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal.api.authentication import hash_key
from portal.api.models import ApiToken
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/auth/tokens/"


def sign_in(client, username, password, name="phone"):
    return client.post(TOKENS, {"username": username, "password": password, "name": name}, format="json")


def test_signing_in_gives_a_token_whose_key_is_shown_once_and_stored_hashed(api, alice):
    response = sign_in(api, "13800138000", "alice-pass-2026")
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    assert key.startswith("pt_") and body["is_borrower"] is True and body["is_staff"] is False
    token = ApiToken.objects.get(pk=body["id"])
    assert token.key_hash == hash_key(key) and key not in (token.key_hash, token.prefix)
    listed = APIClient()
    listed.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    tokens = listed.get(TOKENS).json()
    assert [t["name"] for t in tokens] == ["phone"] and "key" not in tokens[0]
    assert listed.get("/api/v1/loans/").status_code == 200
    alice.user.refresh_from_db()
    assert alice.user.last_login is not None


def test_a_person_may_hold_several_tokens_and_revoke_one(api, alice):
    first = sign_in(api, "13800138000", "alice-pass-2026", "phone").json()
    second = sign_in(api, "13800138000", "alice-pass-2026", "tablet").json()
    phone, tablet = APIClient(), APIClient()
    phone.credentials(HTTP_AUTHORIZATION=f"Bearer {first['key']}")
    tablet.credentials(HTTP_AUTHORIZATION=f"Bearer {second['key']}")
    assert phone.delete(f"{TOKENS}{second['id']}/").status_code == 204
    revoked = tablet.get("/api/v1/loans/")
    assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "authentication_failed"
    assert phone.get("/api/v1/loans/").status_code == 200
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1


def test_signing_out_revokes_the_token_of_the_request(api, alice):
    key = sign_in(api, "13800138000", "alice-pass-2026").json()["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.delete(f"{TOKENS}current/").status_code == 204
    assert client.get("/api/v1/loans/").status_code == 401


def test_another_persons_token_cannot_be_revoked(api, alice, bob, as_bob):
    alices = sign_in(api, "13800138000", "alice-pass-2026").json()
    assert as_bob.delete(f"{TOKENS}{alices['id']}/").status_code == 404
    assert ApiToken.objects.get(pk=alices["id"]).revoked_at is None


def test_a_wrong_password_is_refused_in_the_error_shape(api, alice):
    response = sign_in(api, "13800138000", "wrong")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "sign_in_failed"
    assert "key" not in response.json()


def test_the_number_is_locked_after_the_web_sign_ins_limit_of_wrong_passwords(api, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(api, "13800138000", "wrong").status_code == 400
    locked = sign_in(api, "13800138000", "wrong")
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "sign_in_locked"
    again = sign_in(api, "13800138000", "alice-pass-2026")  # even the right password now
    assert again.status_code == 429 and again["Content-Type"] == "application/json"
    assert not ApiToken.objects.exists()
    # ... and the web sign-in is locked too: one lock-out for both.
    web = APIClient().post("/sign-in/", {"username": "13800138000", "password": "alice-pass-2026"})
    assert web.status_code == 429


def test_wrong_web_passwords_lock_the_api_sign_in_too(api, alice, settings):
    web = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        web.post("/sign-in/", {"username": "13800138000", "password": "wrong"})
    assert sign_in(api, "13800138000", "alice-pass-2026").status_code == 429


def test_a_deactivated_users_token_stops_working(as_alice, alice):
    alice.user.is_active = False
    alice.user.save()
    assert as_alice.get("/api/v1/loans/").status_code == 401


def test_a_made_up_token_is_refused_with_401_and_www_authenticate(api, alice):
    api.credentials(HTTP_AUTHORIZATION="Bearer pt_not-a-real-key")
    response = api.get("/api/v1/loans/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


def test_staff_sign_in_through_the_api_is_audited(api, make_staff):
    from portal import roles

    make_staff("agnes", roles.AGENT)
    assert sign_in(api, "agnes", "agnes-pass-2026").json()["is_staff"] is True
    assert AuditEvent.objects.filter(action="staff.sign_in", actor__username="agnes").exists()


def test_the_browser_uses_its_session_with_csrf_on_changes(alice, alices_loan):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice.user)
    assert browser.get("/api/v1/loans/").status_code == 200
    refused = browser.post(f"/api/v1/loans/{alices_loan.reference}/extension/")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
