"""Restructurings under concurrency, on real threads and connections (transaction=True).

On SQLite the IMMEDIATE transactions queue the writers; on PostgreSQL the loan's row lock
(every restructuring service locks the loan first, then the proposal) does. Either way:
two approvers at once record what maker-checker allows, a double click on Accept applies
once, and a payment racing an acceptance either comes first (the offer is withdrawn with a
clear message) or lands on the new bills; the journal invariant holds after both.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from debt_collections import services
from debt_collections.models import (
    RestructuringApproval,
    RestructuringProposal,
    RestructuringStatus,
)
from loans import services as loan_services
from loans.models import Channel, Installment, InstallmentStatus, JournalEntry
from loans.services import PaymentResult
from portal.errors import NotAllowed
from portal.models import AuditEvent
from tests.loans.test_restructuring_journal import assert_journal_matches_live_bills

from .restructuring_helpers import (
    TODAY,
    clock,
    english,
    offered,
    open_case,
    overdue_loan,
    propose,
    second_supervisor,
)
from .test_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def threads_speak_english(settings):
    """The racing threads have no active language: the default decides what refusals say."""
    settings.LANGUAGE_CODE = "en"

__all__ = ["clock", "english", "open_case", "overdue_loan", "second_supervisor"]  # fixtures used by name


def test_two_approvers_at_once_record_one_approval_when_one_is_needed(
    clock, open_case, agent, supervisor, second_supervisor
):
    proposal = propose(open_case, agent)
    approvers = [supervisor, second_supervisor]

    outcomes = run_together(2, lambda i: services.restructuring_approve(
        proposal_id=proposal.pk, actor=approvers[i], business_date=TODAY))

    refused = [o for o in outcomes if isinstance(o, NotAllowed)]
    assert len(refused) == 1 and "already approved" in str(refused[0]), outcomes
    assert RestructuringApproval.objects.filter(proposal=proposal).count() == 1
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.OFFERED
    assert AuditEvent.objects.filter(action="restructuring.offer").count() == 1


def test_two_approvers_at_once_both_count_when_a_second_approver_is_needed(
    clock, settings, open_case, agent, supervisor, second_supervisor
):
    settings.PORTAL_RESTRUCTURING_MAX_WAIVER_SHARE_SINGLE_APPROVAL = Decimal("0")
    proposal = propose(open_case, agent, "waiver", penalty_share="1")
    assert proposal.needs_second_approval
    approvers = [supervisor, second_supervisor]

    outcomes = run_together(2, lambda i: services.restructuring_approve(
        proposal_id=proposal.pk, actor=approvers[i], business_date=TODAY))

    assert not any(isinstance(o, BaseException) for o in outcomes), outcomes
    assert RestructuringApproval.objects.filter(proposal=proposal).count() == 2
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.OFFERED


def test_a_double_click_on_accept_applies_the_plan_once(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor)

    outcomes = run_together(3, lambda _: services.restructuring_offer_accept(
        proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user, business_date=TODAY))

    applied = [o for o in outcomes if isinstance(o, RestructuringProposal)]
    refused = [o for o in outcomes if isinstance(o, NotAllowed)]
    assert len(applied) == 1 and len(refused) == 2, outcomes
    assert JournalEntry.objects.filter(loan_id=open_case.loan_id, kind="restructuring").count() == 1
    assert Installment.objects.filter(loan_id=open_case.loan_id, status=InstallmentStatus.SUPERSEDED).count() == 12
    assert_journal_matches_live_bills(open_case.loan_id)


def test_a_payment_racing_an_acceptance_comes_before_or_after_it_never_inside(
    clock, open_case, agent, supervisor, alice
):
    proposal = offered(open_case, agent, supervisor)

    def work(index: int) -> Any:
        if index == 0:
            return services.restructuring_offer_accept(
                proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user, business_date=TODAY)
        return loan_services.payment_post(
            loan_id=open_case.loan_id, amount=Decimal("200.00"), channel=Channel.APP,
            idempotency_key="racing", actor=None, business_date=TODAY)

    accepted, paid = run_together(2, work)

    assert isinstance(paid, PaymentResult), paid
    proposal.refresh_from_db()
    if isinstance(accepted, NotAllowed):
        # The payment came first: the plan no longer fits the bills and the offer is withdrawn.
        assert "Your bills changed after we made this offer" in str(accepted)
        assert proposal.status == RestructuringStatus.WITHDRAWN
        assert not Installment.objects.filter(status=InstallmentStatus.SUPERSEDED).exists()
    else:
        # The acceptance came first: the payment went to the new bills.
        assert proposal.status == RestructuringStatus.APPLIED
        touched = {a.installment.status for a in paid.payment.allocations.select_related("installment")}
        assert InstallmentStatus.SUPERSEDED not in touched
    assert_journal_matches_live_bills(open_case.loan_id)


def test_a_payment_between_proposal_and_application_is_refused_with_a_clear_message(
    clock, overdue_loan, alice, agent, supervisor
):
    request = services.hardship_request_submit(
        borrower_id=alice.pk, loan_id=overdue_loan.pk, reason="illness", description="住院。",
        help_wanted=["longer_term"], actor=alice.user,
    )
    proposal = services.restructuring_propose(
        actor=agent, hardship_request_id=request.pk, kind="term_extension", parameters={"extra_months": 6},
        reason="Hospital.", business_date=TODAY,
    )
    loan_services.payment_post(loan_id=overdue_loan.pk, amount=Decimal("300.00"), channel=Channel.BANK_TRANSFER,
                               idempotency_key="meanwhile", actor=None, business_date=TODAY + dt.timedelta(days=1))

    with pytest.raises(NotAllowed) as refused:
        services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor,
                                       business_date=TODAY + dt.timedelta(days=1))

    assert "changed after this plan was computed on 2026-03-25" in str(refused.value)
    assert "propose again" in str(refused.value)
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.PROPOSED
    assert not RestructuringApproval.objects.exists()
    assert_journal_matches_live_bills(overdue_loan.pk)
