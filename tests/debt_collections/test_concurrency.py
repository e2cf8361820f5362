"""Two clicks on Accept at the same moment, on real threads and connections: one acceptance.

Committed for real (transaction=True). On SQLite the IMMEDIATE transactions queue the two
answers; on PostgreSQL the request's row lock does. Either way the second sees the first's
result and is refused.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from debt_collections import services
from debt_collections.models import HardshipOffer, HardshipRequest, HardshipStatus, OfferStatus
from portal.errors import NotAllowed
from portal.models import AuditEvent
from tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_simultaneous_accepts_accept_once(alice, decider):
    request = services.hardship_request_submit(
        borrower_id=alice.pk,
        loan_id=None,
        reason="illness",
        description="住院。",
        help_wanted=["grace_period"],
        actor=alice.user,
    )
    offer = services.hardship_offer_make(
        request_id=request.pk,
        actor=decider,
        kind="grace_period",
        terms_zh="宽限 30 天。",
        grace_days=30,
        expires_at=timezone.now() + dt.timedelta(days=7),
    )

    outcomes = run_together(
        4,
        lambda _: services.hardship_offer_accept(
            offer_id=offer.pk, borrower_id=alice.pk, actor=alice.user
        ),
    )

    accepted = [o for o in outcomes if isinstance(o, HardshipOffer)]
    refused = [o for o in outcomes if isinstance(o, NotAllowed)]
    assert len(accepted) == 1 and len(refused) == 3, outcomes
    assert HardshipOffer.objects.get().status == OfferStatus.ACCEPTED
    assert HardshipRequest.objects.get().status == HardshipStatus.ACCEPTED
    assert AuditEvent.objects.filter(action="hardship.offer.accept").count() == 1


def test_two_simultaneous_submissions_for_one_loan_make_one_request(alice, alices_loan):
    outcomes = run_together(
        3,
        lambda n: services.hardship_request_submit(
            borrower_id=alice.pk,
            loan_id=alices_loan.pk,
            reason="illness",
            description=f"第 {n} 次点击",
            help_wanted=["grace_period"],
            actor=alice.user,
        ),
    )
    assert sum(isinstance(o, HardshipRequest) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, NotAllowed) for o in outcomes) == 2, outcomes
    assert HardshipRequest.objects.count() == 1
