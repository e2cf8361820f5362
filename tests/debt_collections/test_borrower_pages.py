"""The borrower's hardship pages: their own requests only, forms that refuse bad input and keep
what was typed, offers answered once, files served only to their owner, fixed query counts."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from debt_collections import services
from debt_collections.models import (
    HardshipEvidence,
    HardshipOffer,
    HardshipRequest,
    HardshipStatus,
    OfferStatus,
)
from portal.models import AuditEvent, SmsMessage

from .conftest import PDF, image_bytes, jpeg_upload, pdf_upload, png_upload, upload

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.debt_collections.urls")]


def url(name: str, *args: object) -> str:
    return reverse(f"collections:{name}", args=args)


def count_queries(client, address: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(address)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def files_on_disk(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def is_checked(page: str, name: str, value: str) -> bool:
    return re.search(rf'<input [^>]*name="{name}" value="{value}"[^>]* checked', page) is not None


def form_data(loan=None, **changes):
    data = {
        "reason": "illness",
        "help_wanted": ["grace_period", "longer_term"],
        "description": "I was in hospital for six weeks.\nI can pay 300 a month.",
    }
    if loan is not None:
        data["loan"] = str(loan.pk)
    data.update(changes)
    return data


# --- the list and the form ---------------------------------------------------------------


def test_the_list_shows_my_requests_their_status_and_the_latest_offer(
    client, bob, make_loan, submit, offer_on
):
    loan = make_loan(bob)
    offer_on(submit(bob, loan, files=[pdf_upload()]))
    client.force_login(bob.user)
    page = client.get(url("hardship-list")).text
    assert "Hardship help" in page and loan.reference in page
    assert 'data-status="offer_made"' in page and "Offer made" in page
    assert "Grace period · Waiting for your answer" in page
    assert "1 file" in page


def test_an_empty_list_invites_a_first_request(client, alice):
    client.force_login(alice.user)
    page = client.get(url("hardship-list")).text
    assert url("hardship-new") in page and "data-request" not in page


def test_the_form_offers_only_my_active_loans_and_preselects_a_single_one(
    client, alice, bob, make_loan
):
    mine = make_loan(alice)
    settled = make_loan(alice)
    type(settled).objects.filter(pk=settled.pk).update(status="settled")
    theirs = make_loan(bob)
    client.force_login(alice.user)
    page = client.get(url("hardship-new")).text
    assert f'value="{mine.pk}" selected' in page
    assert settled.reference not in page and theirs.reference not in page
    assert 'type="file"' in page and "multiple" in page and 'accept=".pdf' in page
    assert page.count('type="radio" name="reason"') == 6
    assert page.count('type="checkbox" name="help_wanted"') == 4


def test_a_borrower_sends_a_request_with_files(client, alice, alices_loan, private_media):
    client.force_login(alice.user)
    response = client.post(
        url("hardship-new"),
        form_data(
            alices_loan,
            evidence=[pdf_upload(), jpeg_upload(), upload("scan.pdf", image_bytes("PNG"))],
        ),
    )
    request = HardshipRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == url(
        "hardship-detail", request.public_id
    )
    assert request.borrower == alice and request.loan == alices_loan
    assert request.reason == "illness" and request.help_wanted == ["grace_period", "longer_term"]
    assert request.description == "I was in hospital for six weeks.\nI can pay 300 a month."
    assert sorted(request.evidence.values_list("content_type", flat=True)) == [
        "application/pdf",
        "image/jpeg",
        "image/png",
    ]
    stored = files_on_disk(private_media)
    assert len(stored) == 3 and {p.suffix for p in stored} == {".pdf", ".jpg", ".png"}
    assert SmsMessage.objects.filter(kind="hardship_submitted").count() == 1
    page = client.get(response["Location"]).text
    assert "doctor-note.pdf" in page and "scan.pdf" in page
    assert "I was in hospital for six weeks.<br>I can pay 300 a month." in page


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (
            {"reason": "", "help_wanted": [], "description": ""},
            "reason",
            "Please choose what happened.",
        ),
        ({"description": "   "}, "description", "Please tell us about your situation."),
        ({"description": "长" * 2001}, "description", "at most 2000 characters"),
        ({"help_wanted": ["grace_period", "free_money"]}, "help_wanted", "Select a valid choice"),
        ({"reason": "bored"}, "reason", "Select a valid choice"),
        ({"loan": "-1"}, "loan", "Select a valid choice"),
        ({"loan": "1.25"}, "loan", "Select a valid choice"),
        ({"loan": "9" * 30}, "loan", "Select a valid choice"),
        ({"loan": "<script>alert(1)</script>"}, "loan", "Select a valid choice"),
        (
            {"evidence": [upload("x.pdf", b"plain text, not a PDF")]},
            "evidence",
            "is not a PDF, JPEG or PNG file",
        ),
        (
            {"evidence": [upload("setup.png", b"MZ\x90\x00" + b"\x00" * 300)]},
            "evidence",
            "is not a PDF, JPEG or PNG",
        ),
        (
            {"evidence": [upload("cut.png", image_bytes("PNG", (100, 100))[:-50])]},
            "evidence",
            "is damaged",
        ),
        ({"evidence": [pdf_upload(f"{n}.pdf") for n in range(6)]}, "evidence", "at most 5 files"),
    ],
)
def test_bad_input_is_refused_in_the_page_language_keeps_what_was_typed_and_changes_nothing(
    client, bob, make_loan, private_media, changes, field, message
):
    loan = make_loan(bob)
    audit_before = AuditEvent.objects.count()
    client.force_login(bob.user)
    data = {**form_data(loan), **changes}
    response = client.post(url("hardship-new"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    page = response.text
    assert message in html.unescape(page)
    if data["description"].strip() and len(data["description"]) <= 2000:
        assert html.escape(data["description"]) in page  # kept, escaped
    for kind in [k for k in data["help_wanted"] if k != "free_money"]:
        assert is_checked(page, "help_wanted", kind)
    if data["reason"] in ("illness",):
        assert is_checked(page, "reason", data["reason"])
    assert HardshipRequest.objects.count() == 0 and HardshipEvidence.objects.count() == 0
    assert files_on_disk(private_media) == [] and AuditEvent.objects.count() == audit_before


def test_an_oversized_file_is_refused_on_the_form(client, bob, make_loan, settings, private_media):
    settings.PORTAL_EVIDENCE_MAX_BYTES = 200
    content = PDF + b"%" + b"0" * 300 + b"\n%%EOF\n"
    loan = make_loan(bob)
    client.force_login(bob.user)
    response = client.post(
        url("hardship-new"), form_data(loan, evidence=[upload("big.pdf", content)])
    )
    assert response.status_code == 200
    refusal = f"“big.pdf” is {len(content)}\xa0bytes; each file may be at most 200\xa0bytes."
    assert refusal in html.unescape(response.text)
    assert "please choose them again" in response.text
    assert HardshipRequest.objects.count() == 0 and files_on_disk(private_media) == []


def test_the_form_keeps_the_chosen_reason_loan_and_help(client, bob, make_loan):
    loan = make_loan(bob)
    client.force_login(bob.user)
    page = client.post(url("hardship-new"), form_data(loan, description="")).text
    assert f'value="{loan.pk}" selected' in page
    assert is_checked(page, "reason", "illness") and not is_checked(page, "reason", "accident")
    assert is_checked(page, "help_wanted", "grace_period") and is_checked(
        page, "help_wanted", "longer_term"
    )
    assert not is_checked(page, "help_wanted", "instalment_plan")


def test_a_second_open_request_for_the_loan_is_refused_on_the_form(client, bob, make_loan, submit):
    loan = make_loan(bob)
    submit(bob, loan)
    client.force_login(bob.user)
    response = client.post(url("hardship-new"), form_data(loan))
    assert response.status_code == 200
    assert "You already have an open hardship request for this loan." in response.text
    assert HardshipRequest.objects.count() == 1


@pytest.mark.parametrize("typed", ['<script>alert("x")</script>', "hi <img src=x onerror=alert(1)>", "</b>"])
def test_script_in_the_description_is_refused_kept_escaped_and_changes_nothing(client, alice, alices_loan, typed):
    client.force_login(alice.user)
    response = client.post(url("hardship-new"), form_data(alices_loan, description=typed))
    assert response.status_code == 200
    assert "description" in response.context["form"].errors
    assert "必须是纯文本" in response.text
    assert html.escape(typed) in response.text and typed not in response.text
    assert HardshipRequest.objects.count() == 0


def test_a_less_than_sign_in_plain_text_is_accepted_and_shown_escaped(client, alice, alices_loan):
    client.force_login(alice.user)
    typed = '收入 < 3000 & "没有工作"'
    response = client.post(url("hardship-new"), form_data(alices_loan, description=typed))
    page = client.get(response["Location"]).text
    assert HardshipRequest.objects.get().description == typed
    assert html.escape(typed) in page


# --- the request page: withdraw, offers ---------------------------------------------------


def test_the_borrower_withdraws_a_submitted_request(client, bob, submit):
    request = submit(bob)
    client.force_login(bob.user)
    page = client.get(url("hardship-detail", request.public_id)).text
    assert url("hardship-withdraw", request.public_id) in page
    assert client.get(url("hardship-withdraw", request.public_id)).status_code == 405
    response = client.post(url("hardship-withdraw", request.public_id), follow=True)
    assert "Your hardship request is withdrawn." in response.text
    request.refresh_from_db()
    assert request.status == HardshipStatus.WITHDRAWN
    assert url("hardship-withdraw", request.public_id) not in response.text


def test_a_refused_withdrawal_says_why(client, bob, submit, decider):
    request = submit(bob)
    services.hardship_request_review(request_id=request.pk, actor=decider)
    client.force_login(bob.user)
    response = client.post(url("hardship-withdraw", request.public_id), follow=True)
    assert "can no longer be withdrawn" in response.text
    assert HardshipRequest.objects.get().status == HardshipStatus.UNDER_REVIEW


def test_the_borrower_sees_the_offer_in_their_language_and_accepts_it_once(
    client, bob, submit, offer_on
):
    request = submit(bob)
    offer = offer_on(request, kind="instalment_plan", grace_days=None, new_monthly_amount="1200.00")
    client.force_login(bob.user)
    page = client.get(url("hardship-detail", request.public_id)).text
    assert "30 days&#x27; grace, no penalty interest." in page and "宽限" not in page
    assert "¥1,200.00" in page
    accept = url("hardship-offer-accept", request.public_id, offer.pk)
    assert accept in page and url("hardship-offer-decline", request.public_id, offer.pk) in page
    first = client.post(accept, follow=True)
    assert "You accepted the offer." in first.text
    second = client.post(accept, follow=True)  # the double click
    assert "You have already accepted this offer." in second.text
    assert accept not in second.text
    offer.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED
    assert AuditEvent.objects.filter(action="hardship.offer.accept").count() == 1


def test_a_chinese_borrower_sees_the_chinese_terms(client, alice, submit, offer_on):
    request = submit(alice)
    offer_on(request)
    client.force_login(alice.user)
    page = client.get(url("hardship-detail", request.public_id)).text
    assert "宽限 30 天，期间不收罚息。" in page and "no penalty interest" not in page


def test_the_borrower_declines_an_offer(client, bob, submit, offer_on):
    request = submit(bob)
    offer = offer_on(request)
    client.force_login(bob.user)
    response = client.post(url("hardship-offer-decline", request.public_id, offer.pk), follow=True)
    assert "You declined the offer." in response.text
    request.refresh_from_db()
    assert request.status == HardshipStatus.DECLINED


def test_an_expired_offer_shows_as_expired_without_buttons(client, bob, submit, offer_on):
    request = submit(bob)
    offer = offer_on(request)
    HardshipOffer.objects.filter(pk=offer.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=5)
    )
    client.force_login(bob.user)
    page = client.get(url("hardship-detail", request.public_id)).text
    assert (
        "Expired" in page and url("hardship-offer-accept", request.public_id, offer.pk) not in page
    )
    response = client.post(url("hardship-offer-accept", request.public_id, offer.pk), follow=True)
    assert "This offer expired on" in response.text
    offer.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED


def test_a_rejected_request_shows_the_note_escaped(client, bob, submit, decider):
    request = submit(bob)
    services.hardship_request_reject(
        request_id=request.pk, actor=decider, note='Income < 3000 & "proof" missing.'
    )
    client.force_login(bob.user)
    page = client.get(url("hardship-detail", request.public_id)).text
    assert "We could not approve this request." in page
    assert "Income &lt; 3000 &amp; &quot;proof&quot; missing." in page


# --- files -------------------------------------------------------------------------------


def test_the_borrower_downloads_their_own_file_as_an_attachment(client, alice, submit):
    request = submit(alice, files=[png_upload("x-ray.pdf")])
    evidence = request.evidence.get()
    client.force_login(alice.user)
    response = client.get(url("hardship-evidence", request.public_id, evidence.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == image_bytes("PNG")
    assert response["Content-Type"] == "image/png"  # what the bytes are, not what the name says
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]


def test_a_file_missing_on_disk_is_not_found_not_an_error(client, alice, submit, private_media):
    request = submit(alice, files=[pdf_upload()])
    evidence = request.evidence.get()
    (private_media / evidence.file.name).unlink()
    client.force_login(alice.user)
    assert client.get(url("hardship-evidence", request.public_id, evidence.pk)).status_code == 404


def test_private_files_are_not_served_as_static_files(client, alice, submit):
    request = submit(alice, files=[pdf_upload()])
    name = request.evidence.get().file.name
    for address in (f"/static/{name}", f"/media/{name}", f"/{name}", f"/private-media/{name}"):
        assert client.get(address).status_code == 404


# --- only my own -------------------------------------------------------------------------


@pytest.fixture
def alices_things(alice, submit, offer_on):
    request = submit(alice, files=[pdf_upload()])
    offer = offer_on(request)
    return request, offer, request.evidence.get()


def every_borrower_url(request, offer, evidence):
    """(method, address) for every borrower URL that names a request, an offer or a file."""
    rid = request.public_id
    return [
        ("get", url("hardship-detail", rid)),
        ("post", url("hardship-withdraw", rid)),
        ("post", url("hardship-offer-accept", rid, offer.pk)),
        ("post", url("hardship-offer-decline", rid, offer.pk)),
        ("get", url("hardship-evidence", rid, evidence.pk)),
    ]


def test_another_borrowers_ids_give_404_on_every_url_and_change_nothing(
    client, bob, submit, alices_things
):
    request, offer, evidence = alices_things
    bobs = submit(bob)
    client.force_login(bob.user)
    for method, address in every_borrower_url(request, offer, evidence):
        assert getattr(client, method)(address).status_code == 404, address
    # Their offer or file under my own request's id is no better.
    for address in (
        url("hardship-offer-accept", bobs.public_id, offer.pk),
        url("hardship-offer-decline", bobs.public_id, offer.pk),
    ):
        assert client.post(address).status_code == 404
    assert client.get(url("hardship-evidence", bobs.public_id, evidence.pk)).status_code == 404
    request.refresh_from_db()
    offer.refresh_from_db()
    assert request.status == HardshipStatus.OFFER_MADE and offer.status == OfferStatus.OFFERED
    page = client.get(url("hardship-list")).text
    assert str(request.public_id) not in page and str(bobs.public_id) in page


def test_the_owner_reaches_every_url(client, alice, alices_things):
    request, offer, evidence = alices_things
    client.force_login(alice.user)
    for method, address in every_borrower_url(request, offer, evidence):
        response = getattr(client, method)(address)
        assert response.status_code in (200, 302), address
        if response.streaming:
            assert (
                b"".join(response.streaming_content) == PDF
            )  # reading it to the end closes the file


def test_visitors_sign_in_and_staff_have_no_borrower_pages(client, charlie, alices_things):
    request, offer, evidence = alices_things
    addresses = [
        ("get", url("hardship-list")),
        ("get", url("hardship-new")),
        *every_borrower_url(request, offer, evidence),
    ]
    for method, address in addresses:
        assert getattr(client, method)(address)["Location"].startswith("/sign-in/?next="), address
    client.force_login(charlie)
    for method, address in addresses:
        assert getattr(client, method)(address).status_code == 403, address


# --- fixed query counts ------------------------------------------------------------------


def closed_request_with_offer_and_files(borrower, submit, offer_on, files: int = 2):
    request = submit(borrower, files=[pdf_upload(f"{n}.pdf") for n in range(files)])
    offer = offer_on(request)
    services.hardship_offer_decline(offer_id=offer.pk, borrower_id=borrower.pk, actor=borrower.user)
    return request


def test_the_list_costs_the_same_queries_for_one_request_or_ten(client, alice, submit, offer_on):
    client.force_login(alice.user)
    closed_request_with_offer_and_files(alice, submit, offer_on)
    one = count_queries(client, url("hardship-list"))
    for _ in range(9):
        closed_request_with_offer_and_files(alice, submit, offer_on)
    assert HardshipRequest.objects.filter(borrower=alice).count() == 10
    assert count_queries(client, url("hardship-list")) == one


def test_the_request_page_costs_the_same_queries_for_few_or_many_files_and_offers(
    client, alice, submit, offer_on
):
    client.force_login(alice.user)
    small = submit(alice, files=[pdf_upload()])
    offer_on(small)
    few = count_queries(client, url("hardship-detail", small.public_id))
    services.hardship_offer_decline(
        offer_id=small.offers.get().pk, borrower_id=alice.pk, actor=alice.user
    )
    big = submit(alice, files=[pdf_upload(f"{n}.pdf") for n in range(5)])
    for days in (3, 5, 7, 9):
        offer_on(big, days=days)
    assert big.offers.count() == 4 and big.evidence.count() == 5
    assert count_queries(client, url("hardship-detail", big.public_id)) == few


def test_the_form_costs_the_same_queries_however_many_loans(client, alice, make_loan):
    client.force_login(alice.user)
    make_loan(alice)
    one = count_queries(client, url("hardship-new"))
    for _ in range(4):
        make_loan(alice)
    assert count_queries(client, url("hardship-new")) == one


def test_answers_need_the_csrf_token(alice, submit, offer_on):
    from django.test import Client

    request = submit(alice)
    offer = offer_on(request)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice.user)
    for address in (
        url("hardship-offer-accept", request.public_id, offer.pk),
        url("hardship-offer-decline", request.public_id, offer.pk),
        url("hardship-withdraw", request.public_id),
        url("hardship-new"),
    ):
        assert strict.post(address, form_data()).status_code == 403
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OFFERED


def test_a_chinese_borrower_reads_the_pages_in_chinese(client, alice, submit, offer_on):
    request = submit(alice, reason="natural_disaster", help_wanted=("grace_period", "longer_term"))
    client.force_login(alice.user)
    listing = client.get(url("hardship-list")).text
    assert "困难帮扶" in listing and "自然灾害" in listing and "已提交" in listing
    offer_on(request)
    detail = client.get(url("hardship-detail", request.public_id)).text
    assert "宽限期, 延长还款期限" in detail and "接受方案" in detail and "等待您答复" in detail
    form = client.post(url("hardship-new"), {"description": ""}).text
    assert "请选择发生了什么。" in form and "请说说您的情况。" in form
