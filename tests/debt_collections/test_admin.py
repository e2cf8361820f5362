"""Hardship requests in the admin: a read-only queue whose decisions go through the services,
and evidence downloads for staff with permission only.

No test URL module here: the admin works with the site's URLs as they are wired today.
"""

from __future__ import annotations

import html

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from debt_collections.models import HardshipOffer, HardshipRequest, HardshipStatus
from portal.models import AuditEvent, User

from .conftest import pdf_upload, png_upload

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:collections_hardshiprequest_changelist"


def change_url(request: HardshipRequest) -> str:
    return reverse("admin:collections_hardshiprequest_change", args=[request.pk])


def staff_with(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username, password=f"{username}-pass-2026", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="collections", codename__in=codenames)
    )
    return user


def test_the_queue_lists_requests_with_filters(client, decider, alice, bob, submit):
    theirs = submit(alice, reason="illness")
    mine = submit(bob, reason="natural_disaster")
    client.force_login(decider)
    page = client.get(reverse(CHANGELIST)).text
    assert change_url(theirs) in page and change_url(mine) in page
    filtered = client.get(reverse(CHANGELIST), {"reason__exact": "natural_disaster"}).text
    assert change_url(mine) in filtered and change_url(theirs) not in filtered
    assert (
        change_url(theirs) in client.get(reverse(CHANGELIST), {"status__exact": "submitted"}).text
    )
    assert (
        change_url(theirs)
        not in client.get(reverse(CHANGELIST), {"status__exact": "rejected"}).text
    )


def test_the_queue_costs_the_same_queries_for_one_or_ten_requests(
    client, decider, alice, make_loan, submit
):
    client.force_login(decider)
    submit(alice, files=[pdf_upload()])

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(CHANGELIST)).status_code == 200
        return len(ctx.captured_queries)

    one = queries()
    for _ in range(9):
        submit(alice, make_loan(alice), files=[pdf_upload(), png_upload()])
    assert queries() == one


def test_the_request_page_is_read_only_with_escaped_text_and_evidence_links(
    client, decider, alice, submit
):
    request = submit(alice, files=[pdf_upload()], description='收入 < 3000 & "没有工作"')
    evidence = request.evidence.get()
    client.force_login(decider)
    page = client.get(change_url(request)).text
    assert "收入 &lt; 3000 &amp; &quot;没有工作&quot;" in page
    assert reverse("admin:collections_hardshipevidence_download", args=[evidence.pk]) in page
    assert reverse("admin:collections_hardshiprequest_offer", args=[request.pk]) in page
    assert 'name="_save"' not in page
    assert client.post(change_url(request), {"status": "accepted"}).status_code == 403
    assert client.get(reverse("admin:collections_hardshiprequest_add")).status_code == 403
    assert HardshipRequest.objects.get().status == HardshipStatus.SUBMITTED


def test_mark_under_review_and_reject_actions_call_the_services(
    client, decider, alice, bob, submit
):
    first, second = submit(alice), submit(bob)
    client.force_login(decider)
    client.post(
        reverse(CHANGELIST), {"action": "mark_under_review", "_selected_action": [first.pk]}
    )
    response = client.post(
        reverse(CHANGELIST),
        {"action": "reject", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == HardshipStatus.REJECTED
    assert list(
        AuditEvent.objects.filter(
            object_type="collections.hardshiprequest", object_id=str(first.pk)
        )
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["hardship.submit", "hardship.review", "hardship.reject"]
    # A closed request is refused with a message, not changed.
    again = client.post(
        reverse(CHANGELIST),
        {"action": "mark_under_review", "_selected_action": [first.pk]},
        follow=True,
    )
    assert f"#{first.pk}:" in again.text
    first.refresh_from_db()
    assert first.status == HardshipStatus.REJECTED


def test_staff_make_an_offer_through_the_small_form(client, decider, alice, submit):
    request = submit(alice)
    client.force_login(decider)
    address = reverse("admin:collections_hardshiprequest_offer", args=[request.pk])
    assert client.get(address).status_code == 200
    response = client.post(
        address,
        {
            "kind": "instalment_plan",
            "terms_zh": "每月还 800 元，共 18 期。",
            "terms_en": "¥800 a month for 18 months.",
            "new_monthly_amount": "800.00",
            "expires_in_days": "7",
        },
    )
    assert response.status_code == 302 and response["Location"] == change_url(request)
    offer = HardshipOffer.objects.get()
    assert offer.made_by == decider and str(offer.new_monthly_amount) == "800.00"
    request.refresh_from_db()
    assert request.status == HardshipStatus.OFFER_MADE


@pytest.mark.parametrize(
    "amount", ["-5", "0", "1.234", "1e20", "99999999999999", "<script>alert(1)</script>", "abc"]
)
def test_a_bad_amount_on_the_offer_form_is_refused_and_kept(client, decider, alice, submit, amount):
    request = submit(alice)
    client.force_login(decider)
    response = client.post(
        reverse("admin:collections_hardshiprequest_offer", args=[request.pk]),
        {
            "kind": "instalment_plan",
            "terms_zh": "每月还款。",
            "new_monthly_amount": amount,
            "expires_in_days": "7",
        },
    )
    assert response.status_code == 200
    assert "new_monthly_amount" in response.context["form"].errors
    assert f'value="{html.escape(amount)}"' in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert HardshipOffer.objects.count() == 0
    request.refresh_from_db()
    assert request.status == HardshipStatus.SUBMITTED


def test_an_offer_without_its_number_is_refused_by_the_service(client, decider, alice, submit):
    request = submit(alice)
    client.force_login(decider)
    response = client.post(
        reverse("admin:collections_hardshiprequest_offer", args=[request.pk]),
        {"kind": "grace_period", "terms_zh": "宽限。", "expires_in_days": "7"},
    )
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert HardshipOffer.objects.count() == 0


def test_staff_reject_with_a_note(client, decider, alice, submit):
    request = submit(alice)
    client.force_login(decider)
    response = client.post(
        reverse("admin:collections_hardshiprequest_reject", args=[request.pk]),
        {"note": "缺少收入证明。"},
    )
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == HardshipStatus.REJECTED and request.decision_note == "缺少收入证明。"


def test_staff_without_the_decision_permission_cannot_decide(client, alice, submit):
    request = submit(alice)
    viewer = staff_with("vera", "view_hardshiprequest")
    client.force_login(viewer)
    assert client.get(change_url(request)).status_code == 200
    assert (
        reverse("admin:collections_hardshiprequest_offer", args=[request.pk])
        not in client.get(change_url(request)).text
    )
    for name in (
        "admin:collections_hardshiprequest_offer",
        "admin:collections_hardshiprequest_reject",
    ):
        assert client.post(reverse(name, args=[request.pk]), {"note": "x"}).status_code == 403
    client.post(reverse(CHANGELIST), {"action": "reject", "_selected_action": [request.pk]})
    request.refresh_from_db()
    assert request.status == HardshipStatus.SUBMITTED


# --- evidence downloads for staff ----------------------------------------------------------


def test_staff_with_the_permission_download_evidence_and_it_is_on_the_record(
    client, decider, alice, submit
):
    evidence = submit(alice, files=[pdf_upload()]).evidence.get()
    client.force_login(decider)
    response = client.get(
        reverse("admin:collections_hardshipevidence_download", args=[evidence.pk])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AuditEvent.objects.get(action="hardship.evidence.download")
    assert event.actor == decider and event.object_id == str(evidence.pk)


def test_staff_without_the_permission_visitors_and_borrowers_cannot_download(
    client, alice, charlie, submit
):
    evidence = submit(alice, files=[pdf_upload()]).evidence.get()
    address = reverse("admin:collections_hardshipevidence_download", args=[evidence.pk])
    assert client.get(address)["Location"].startswith(reverse("admin:login"))
    client.force_login(alice.user)  # the owner, but not staff: borrowers use their own page
    assert client.get(address)["Location"].startswith(reverse("admin:login"))
    for user in (charlie, staff_with("vera", "view_hardshiprequest")):
        client.force_login(user)
        assert client.get(address).status_code == 403
        assert (
            reverse("admin:collections_hardshipevidence_download", args=[evidence.pk])
            not in client.get(change_url(evidence.request)).text
        )
    assert not AuditEvent.objects.filter(action="hardship.evidence.download").exists()


def test_an_unknown_evidence_id_is_not_found(client, decider):
    client.force_login(decider)
    assert (
        client.get(reverse("admin:collections_hardshipevidence_download", args=[999])).status_code
        == 404
    )
