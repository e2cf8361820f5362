"""Hardship requests and offers: every allowed move, every refused one, audit and messages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from debt_collections import services
from debt_collections.models import (
    HardshipEvidence,
    HardshipOffer,
    HardshipRequest,
    HardshipStatus,
    OfferStatus,
)
from loans.models import LoanStatus
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent, SmsMessage

from .conftest import pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def actions(target) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type=target._meta.label_lower, object_id=str(target.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.fixture(autouse=True)
def english():
    """Services word their refusals in the active language when they raise; read them in English."""
    with translation.override("en"):
        yield


def refused_message(error: pytest.ExceptionInfo) -> str:
    return str(error.value)


# --- submit ------------------------------------------------------------------------------


def test_a_borrower_submits_a_request_with_files_and_is_told_by_text(
    alice, alices_loan, submit, private_media
):
    request = submit(
        alice,
        alices_loan,
        files=[pdf_upload(), png_upload()],
        help_wanted=("grace_period", "instalment_plan"),
    )
    assert request.status == HardshipStatus.SUBMITTED
    assert request.loan == alices_loan and request.help_wanted == [
        "grace_period",
        "instalment_plan",
    ]
    files = list(request.evidence.order_by("id"))
    assert [(f.original_name, f.content_type) for f in files] == [
        ("doctor-note.pdf", "application/pdf"),
        ("damage.png", "image/png"),
    ]
    for item in files:
        assert item.file.name.startswith(f"hardship/{request.public_id}/")
        assert (private_media / item.file.name).is_file()
        assert len(item.sha256) == 64
    assert actions(request) == ["hardship.submit"]
    sms = SmsMessage.objects.get(kind="hardship_submitted")
    assert sms.recipient == alice.user and sms.dedupe_key == f"hardship-submitted:{request.pk}"


def test_a_request_without_a_loan_is_allowed(alice, submit):
    assert submit(alice).loan is None


def test_a_second_open_request_for_the_same_loan_is_refused(alice, alices_loan, submit):
    submit(alice, alices_loan)
    with pytest.raises(NotAllowed) as refused:
        submit(alice, alices_loan)
    assert "already have an open hardship request" in refused_message(refused)
    assert HardshipRequest.objects.count() == 1


def test_a_second_open_request_without_a_loan_is_refused_too(alice, submit):
    submit(alice)
    with pytest.raises(NotAllowed):
        submit(alice)


def test_the_database_also_refuses_two_open_requests_for_one_loan(alice, alices_loan, submit):
    first = submit(alice, alices_loan)
    with pytest.raises(IntegrityError), transaction.atomic():
        HardshipRequest.objects.create(
            borrower=alice,
            loan=alices_loan,
            reason="illness",
            description="x",
            help_wanted=["grace_period"],
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        HardshipRequest.objects.create(
            borrower=alice,
            loan=None,
            reason="illness",
            description="x",
            help_wanted=["grace_period"],
        )
        HardshipRequest.objects.create(
            borrower=alice,
            loan=None,
            reason="illness",
            description="y",
            help_wanted=["grace_period"],
        )
    assert HardshipRequest.objects.get() == first


def test_after_a_request_closes_a_new_one_may_be_sent(alice, alices_loan, submit):
    first = submit(alice, alices_loan)
    services.hardship_request_withdraw(request_id=first.pk, borrower_id=alice.pk, actor=alice.user)
    assert submit(alice, alices_loan).status == HardshipStatus.SUBMITTED


def test_another_borrowers_loan_or_a_closed_loan_is_refused(alice, bob, make_loan, submit):
    bobs = make_loan(bob)
    with pytest.raises(NotAllowed):
        submit(alice, bobs)
    mine = make_loan(alice)
    type(mine).objects.filter(pk=mine.pk).update(status=LoanStatus.SETTLED)
    mine.refresh_from_db()
    with pytest.raises(NotAllowed):
        submit(alice, mine)
    assert HardshipRequest.objects.count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "bored"},
        {"help_wanted": ()},
        {"help_wanted": ("grace_period", "free_money")},
        {"description": "   "},
        {"description": "x" * 2001},
        {"description": "null\x00byte"},
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    alice, alices_loan, submit, change, private_media
):
    with pytest.raises(DomainError):
        submit(alice, alices_loan, files=[pdf_upload()], **change)
    assert HardshipRequest.objects.count() == 0 and HardshipEvidence.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="hardship").exists()
    assert not private_media.exists() or not any(p.is_file() for p in private_media.rglob("*"))


def test_files_written_for_a_request_that_rolls_back_are_removed(
    alice, alices_loan, submit, private_media, monkeypatch
):
    def broken_audit(**kwargs):
        assert any(p.is_file() for p in private_media.rglob("*")), (
            "files are written before the audit"
        )
        raise RuntimeError("audit store down")

    monkeypatch.setattr(services.hardship, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        submit(alice, alices_loan, files=[pdf_upload(), png_upload()])
    assert HardshipRequest.objects.count() == 0 and HardshipEvidence.objects.count() == 0
    assert not any(p.is_file() for p in private_media.rglob("*"))


def test_plain_text_is_stored_exactly_as_typed(alice, submit):
    text = '收入 < 3000 & "我"'
    assert submit(alice, description=text).description == text


def test_script_in_the_description_is_refused_and_nothing_is_written(alice, submit):
    with pytest.raises(DomainError):
        submit(alice, description='<script>alert("x")</script>')
    assert HardshipRequest.objects.count() == 0


# --- withdraw ----------------------------------------------------------------------------


def test_the_borrower_withdraws_a_submitted_request(alice, submit):
    request = submit(alice)
    services.hardship_request_withdraw(
        request_id=request.pk, borrower_id=alice.pk, actor=alice.user
    )
    request.refresh_from_db()
    assert request.status == HardshipStatus.WITHDRAWN and request.decided_at is not None
    assert actions(request) == ["hardship.submit", "hardship.withdraw"]


def test_a_request_under_review_cannot_be_withdrawn(alice, submit, decider):
    request = submit(alice)
    services.hardship_request_review(request_id=request.pk, actor=decider)
    with pytest.raises(NotAllowed) as refused:
        services.hardship_request_withdraw(
            request_id=request.pk, borrower_id=alice.pk, actor=alice.user
        )
    assert "can no longer be withdrawn" in refused_message(refused)
    assert HardshipRequest.objects.get().status == HardshipStatus.UNDER_REVIEW


def test_nobody_withdraws_another_borrowers_request(alice, bob, submit):
    request = submit(alice)
    with pytest.raises(NotAllowed):
        services.hardship_request_withdraw(
            request_id=request.pk, borrower_id=bob.pk, actor=bob.user
        )
    assert HardshipRequest.objects.get().status == HardshipStatus.SUBMITTED


# --- review and reject -------------------------------------------------------------------


def test_staff_take_a_request_into_review_once(alice, submit, decider):
    request = submit(alice)
    services.hardship_request_review(request_id=request.pk, actor=decider)
    assert HardshipRequest.objects.get().status == HardshipStatus.UNDER_REVIEW
    with pytest.raises(NotAllowed):
        services.hardship_request_review(request_id=request.pk, actor=decider)
    assert actions(request) == ["hardship.submit", "hardship.review"]


def test_staff_without_the_permission_or_borrowers_cannot_decide(alice, submit, charlie):
    request = submit(alice)
    for actor in (charlie, alice.user):
        with pytest.raises(NotAllowed):
            services.hardship_request_review(request_id=request.pk, actor=actor)
        with pytest.raises(NotAllowed):
            services.hardship_request_reject(request_id=request.pk, actor=actor)
    assert HardshipRequest.objects.get().status == HardshipStatus.SUBMITTED


@pytest.mark.parametrize("reviewed", [False, True])
def test_staff_reject_a_submitted_or_reviewed_request_with_a_note(alice, submit, decider, reviewed):
    request = submit(alice)
    if reviewed:
        services.hardship_request_review(request_id=request.pk, actor=decider)
    services.hardship_request_reject(request_id=request.pk, actor=decider, note="收入证明不足。")
    request.refresh_from_db()
    assert request.status == HardshipStatus.REJECTED
    assert request.decision_note == "收入证明不足。" and request.decided_by == decider
    assert actions(request)[-1] == "hardship.reject"
    assert (
        SmsMessage.objects.filter(
            kind="hardship_rejected", dedupe_key=f"hardship-rejected:{request.pk}"
        ).count()
        == 1
    )


def test_a_request_with_an_offer_or_closed_cannot_be_rejected(alice, submit, decider, offer_on):
    request = submit(alice)
    offer_on(request)
    with pytest.raises(NotAllowed):
        services.hardship_request_reject(request_id=request.pk, actor=decider)
    assert HardshipRequest.objects.get().status == HardshipStatus.OFFER_MADE


# --- offers ------------------------------------------------------------------------------


def test_an_offer_on_a_submitted_request_reviews_it_first_and_tells_the_borrower(
    alice, submit, decider, offer_on
):
    request = submit(alice)
    offer = offer_on(request, kind="instalment_plan", grace_days=None, new_monthly_amount="520.50")
    request.refresh_from_db()
    assert request.status == HardshipStatus.OFFER_MADE
    assert offer.status == OfferStatus.OFFERED and offer.new_monthly_amount == Decimal("520.50")
    assert offer.made_by == decider
    assert actions(request) == ["hardship.submit", "hardship.review"]
    assert actions(offer) == ["hardship.offer.make"]
    sms = SmsMessage.objects.get(kind="hardship_offer")
    assert sms.dedupe_key == f"hardship-offer:{offer.pk}"


def test_a_new_offer_replaces_an_unanswered_one(alice, submit, offer_on):
    request = submit(alice)
    first = offer_on(request)
    second = offer_on(request, kind="interest_reduction", grace_days=None, waived_amount="300.00")
    first.refresh_from_db()
    assert first.status == OfferStatus.WITHDRAWN and second.status == OfferStatus.OFFERED
    assert HardshipOffer.objects.filter(request=request, status=OfferStatus.OFFERED).count() == 1
    assert actions(first) == ["hardship.offer.make", "hardship.offer.withdraw"]


@pytest.mark.parametrize("close", ["withdraw", "reject"])
def test_no_offer_on_a_closed_request(alice, submit, decider, offer_on, close):
    request = submit(alice)
    if close == "withdraw":
        services.hardship_request_withdraw(
            request_id=request.pk, borrower_id=alice.pk, actor=alice.user
        )
    else:
        services.hardship_request_reject(request_id=request.pk, actor=decider)
    with pytest.raises(NotAllowed) as refused:
        offer_on(request)
    assert "closed" in refused_message(refused)
    assert HardshipOffer.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "holiday"},
        {"terms_zh": ""},
        {"kind": "grace_period", "grace_days": None},
        {"kind": "grace_period", "grace_days": 0},
        {"kind": "grace_period", "grace_days": 366},
        {"kind": "interest_reduction", "grace_days": None, "waived_amount": "-5"},
        {"kind": "interest_reduction", "grace_days": None, "waived_amount": "1.005"},
        {"kind": "instalment_plan", "grace_days": None, "new_monthly_amount": "1e15"},
        {"kind": "instalment_plan", "grace_days": None, "new_monthly_amount": "<script>"},
        {"kind": "longer_term", "grace_days": None},
        {"days": -1},
        {"days": 91},
    ],
)
def test_bad_offers_are_refused_and_nothing_changes(alice, submit, offer_on, kwargs):
    request = submit(alice)
    with pytest.raises(DomainError):
        offer_on(request, **kwargs)
    request.refresh_from_db()
    assert request.status == HardshipStatus.SUBMITTED and HardshipOffer.objects.count() == 0
    assert actions(request) == ["hardship.submit"]


def test_the_borrower_accepts_an_offer(alice, alices_loan, submit, offer_on):
    request = submit(alice, alices_loan)
    offer = offer_on(request)
    services.hardship_offer_accept(offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user)
    offer.refresh_from_db()
    request.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and request.status == HardshipStatus.ACCEPTED
    assert offer.decided_at is not None and request.decided_at is not None
    assert actions(offer) == ["hardship.offer.make", "hardship.offer.accept"]


def test_the_borrower_declines_an_offer(alice, submit, offer_on):
    request = submit(alice)
    offer = offer_on(request)
    services.hardship_offer_decline(offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user)
    offer.refresh_from_db()
    request.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED and request.status == HardshipStatus.DECLINED


def test_accepting_twice_accepts_once(alice, submit, offer_on):
    offer = offer_on(submit(alice))
    services.hardship_offer_accept(offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user)
    with pytest.raises(NotAllowed) as refused:
        services.hardship_offer_accept(offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user)
    assert refused_message(refused) == "You have already accepted this offer."
    assert AuditEvent.objects.filter(action="hardship.offer.accept").count() == 1


def test_a_decided_offer_cannot_be_answered_the_other_way(alice, submit, offer_on):
    offer = offer_on(submit(alice))
    services.hardship_offer_decline(offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user)
    with pytest.raises(NotAllowed):
        services.hardship_offer_accept(offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED


def test_a_replaced_offer_cannot_be_accepted(alice, submit, offer_on):
    request = submit(alice)
    first = offer_on(request)
    offer_on(request, grace_days=60)
    with pytest.raises(NotAllowed):
        services.hardship_offer_accept(offer_id=first.pk, borrower_id=alice.pk, actor=alice.user)
    assert HardshipRequest.objects.get().status == HardshipStatus.OFFER_MADE


def test_only_the_borrower_answers_their_offer(alice, bob, submit, offer_on):
    offer = offer_on(submit(alice))
    with pytest.raises(NotAllowed):
        services.hardship_offer_accept(offer_id=offer.pk, borrower_id=bob.pk, actor=bob.user)
    with pytest.raises(NotAllowed):
        services.hardship_offer_decline(offer_id=offer.pk, borrower_id=bob.pk, actor=bob.user)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.OFFERED


@pytest.mark.parametrize(
    "answer", [services.hardship_offer_accept, services.hardship_offer_decline]
)
def test_an_expired_offer_is_refused_and_the_request_goes_back_to_review(
    alice, submit, offer_on, answer
):
    request = submit(alice)
    offer = offer_on(request)
    HardshipOffer.objects.filter(pk=offer.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    with pytest.raises(NotAllowed) as refused:
        answer(offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user)
    assert "expired" in refused_message(refused)
    offer.refresh_from_db()
    request.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED and request.status == HardshipStatus.UNDER_REVIEW
    assert actions(offer) == ["hardship.offer.make", "hardship.offer.expire"]
    # Staff may make a new offer on it.
    assert HardshipOffer.objects.filter(request=request).count() == 1


def test_unanswered_offers_expire_in_the_periodic_run(alice, bob, submit, offer_on):
    late = offer_on(submit(alice))
    on_time = offer_on(submit(bob))
    HardshipOffer.objects.filter(pk=late.pk).update(
        expires_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert services.hardship_offers_expire_due() == 1
    assert services.hardship_offers_expire_due() == 0
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.status == OfferStatus.EXPIRED and on_time.status == OfferStatus.OFFERED
    assert late.request.status == HardshipStatus.UNDER_REVIEW


def test_transitions_are_data_on_the_models():
    closed = {
        HardshipStatus.ACCEPTED,
        HardshipStatus.DECLINED,
        HardshipStatus.REJECTED,
        HardshipStatus.WITHDRAWN,
    }
    assert all(status not in HardshipRequest.TRANSITIONS for status in closed)
    assert HardshipRequest.TRANSITIONS[HardshipStatus.SUBMITTED] == {
        HardshipStatus.UNDER_REVIEW,
        HardshipStatus.REJECTED,
        HardshipStatus.WITHDRAWN,
    }
    assert set(HardshipOffer.TRANSITIONS) == {OfferStatus.OFFERED}


def test_the_database_refuses_unknown_statuses(alice, submit):
    request = submit(alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        HardshipRequest.objects.filter(pk=request.pk).update(status="approved")
    with pytest.raises(IntegrityError), transaction.atomic():
        HardshipRequest.objects.filter(pk=request.pk).update(reason="bored")
