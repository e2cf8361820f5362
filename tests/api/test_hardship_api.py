"""Hardship requests and offers through the API: the services' rules, the borrower's own rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from debt_collections import services
from debt_collections.models import HardshipEvidence, HardshipRequest, HardshipStatus
from tests.debt_collections.conftest import PDF, image_bytes

pytestmark = pytest.mark.django_db

URL = "/api/v1/hardship-requests/"


def submit(client, loan=None, **extra):
    body = {"reason": "illness", "description": "住院两个月，没有收入。", "help_wanted": ["grace_period"], **extra}
    if loan is not None:
        body["loan"] = loan.reference
    return client.post(URL, body, format="json")


@pytest.fixture
def supervisor_user(make_staff):
    from portal import roles

    return make_staff("sue", roles.SUPERVISOR)


def offer(request_id, supervisor_user):
    return services.hardship_offer_make(request_id=request_id, actor=supervisor_user, kind="grace_period",
                                       terms_zh="宽限 30 天。", terms_en="30 days' grace.", grace_days=30,
                                       expires_at=timezone.now() + dt.timedelta(days=7))


def test_a_borrower_asks_for_help_about_a_loan(as_alice, alices_loan):
    response = submit(as_alice, alices_loan)
    assert response.status_code == 201
    body = response.json()
    assert body["loan"] == alices_loan.reference and body["status"] == "submitted" and body["evidence"] == []
    assert [r["id"] for r in as_alice.get(URL).json()["results"]] == [body["id"]]


def test_evidence_files_go_by_multipart_and_are_checked_by_content(as_alice, alices_loan):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile("note.pdf", PDF, "application/pdf"),
             SimpleUploadedFile("photo.png", image_bytes("PNG"), "image/png")]
    response = as_alice.post(URL, {"loan": alices_loan.reference, "reason": "accident", "description": "车祸。",
                                   "help_wanted": ["grace_period", "interest_reduction"], "evidence": files},
                             format="multipart")
    assert response.status_code == 201
    assert sorted(e["content_type"] for e in response.json()["evidence"]) == ["application/pdf", "image/png"]
    fake = SimpleUploadedFile("fake.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")
    refused = as_alice.post(URL, {"reason": "accident", "description": "车祸。", "help_wanted": ["grace_period"],
                                  "evidence": [fake]}, format="multipart")
    assert refused.status_code == 400 and "evidence" in refused.json()["error"]["fields"]
    assert HardshipEvidence.objects.count() == 2


def test_the_services_rules_apply(as_alice, alices_loan, as_bob):
    submit(as_alice, alices_loan)
    twice = submit(as_alice, alices_loan)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "not_allowed"
    markup = submit(as_alice, description="<script>alert(1)</script>")
    assert markup.status_code == 422
    assert submit(as_bob, alices_loan).json()["error"]["fields"] == {"loan": ["You have no loan with this reference."]}
    assert submit(as_alice, help_wanted=[]).status_code == 400


def test_withdraw_and_another_borrowers_request_is_404(as_alice, as_bob, alices_loan):
    created = submit(as_alice, alices_loan).json()
    assert as_bob.get(f"{URL}{created['id']}/").status_code == 404
    assert as_bob.post(f"{URL}{created['id']}/withdraw/").status_code == 404
    withdrawn = as_alice.post(f"{URL}{created['id']}/withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert as_alice.post(f"{URL}{created['id']}/withdraw/").status_code == 409


def test_accept_an_offer_once(as_alice, as_bob, alices_loan, supervisor_user):
    created = submit(as_alice, alices_loan).json()
    made = offer(HardshipRequest.objects.get(public_id=created["id"]).pk, supervisor_user)
    detail = as_alice.get(f"{URL}{created['id']}/").json()
    assert detail["offers"][0]["terms"] == "宽限 30 天。" and detail["offers"][0]["can_be_answered"] is True
    assert as_bob.post(f"{URL}{created['id']}/offers/{made.pk}/accept/").status_code == 404
    accepted = as_alice.post(f"{URL}{created['id']}/offers/{made.pk}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == HardshipStatus.ACCEPTED
    assert as_alice.post(f"{URL}{created['id']}/offers/{made.pk}/decline/").status_code == 409


def test_decline_an_offer_with_english_terms_for_an_english_reader(as_bob, bob, make_loan, supervisor_user):
    loan = make_loan(bob)
    created = submit(as_bob, loan).json()
    made = offer(HardshipRequest.objects.get(public_id=created["id"]).pk, supervisor_user)
    assert as_bob.get(f"{URL}{created['id']}/").json()["offers"][0]["terms"] == "30 days' grace."
    declined = as_bob.post(f"{URL}{created['id']}/offers/{made.pk}/decline/")
    assert declined.json()["status"] == HardshipStatus.DECLINED
