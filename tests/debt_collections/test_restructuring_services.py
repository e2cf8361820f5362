"""Restructuring with maker-checker, through the services (debt_collections.services.restructuring).

Alice is 38 days overdue on 25 March 2026 with an open case; agnes (agent) proposes, sue and
sam (supervisors) decide. See restructuring_helpers for the clock.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from debt_collections import services
from debt_collections.models import (
    CallTask,
    CallTaskStatus,
    HardshipStatus,
    PromiseState,
    PromiseStatus,
    PromiseToPay,
    RestructuringApproval,
    RestructuringProposal,
    RestructuringStatus,
    RestructuringTransition,
)
from loans import services as loan_services
from loans.models import Channel, Installment, InstallmentStatus, JournalEntry, Loan
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent, SmsMessage, User
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

pytestmark = pytest.mark.django_db

__all__ = ["clock", "english", "open_case", "overdue_loan", "second_supervisor"]  # fixtures used by name


def history(proposal: RestructuringProposal) -> list[tuple[str, str]]:
    return list(
        RestructuringTransition.objects.filter(proposal=proposal).order_by("pk").values_list("from_status", "to_status")
    )


def pending_promise(case: Any, agent: User) -> PromiseToPay:
    promise = PromiseToPay.objects.create(case=case, loan=case.loan, amount=Decimal("500.00"),
                                          promised_date=TODAY + dt.timedelta(days=5), made_by=agent)
    case.promise_state = PromiseState.PENDING
    case.save(update_fields=["promise_state"])
    return promise


# --- the happy paths -------------------------------------------------------------------------------


def test_an_agents_proposal_waits_for_a_supervisor_and_is_then_offered_to_the_borrower(
    clock, open_case, agent, supervisor
):
    proposal = propose(open_case, agent)
    assert proposal.status == RestructuringStatus.PROPOSED and proposal.source == "agent"
    assert proposal.case_id == open_case.pk and not proposal.needs_second_approval
    assert proposal.plan["totals"]["current"]["principal"] == "12000.00"

    services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor, business_date=TODAY, comment="合理")

    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.OFFERED
    # Seven days to answer, well before the first new bill on 15 April.
    assert proposal.offer_expires_at == clock() + dt.timedelta(days=7)
    assert history(proposal) == [("", "proposed"), ("proposed", "approved"), ("approved", "offered")]
    sms = SmsMessage.objects.get(kind="restructuring_offer")
    assert proposal.loan.reference in sms.body and "2026-04-01" in sms.body
    # Nothing on the loan changed yet.
    assert not Installment.objects.filter(status=InstallmentStatus.SUPERSEDED).exists()


def test_the_borrower_accepts_an_offer_and_the_plan_is_applied_with_the_case_starting_again(
    clock, open_case, agent, supervisor, alice
):
    promise = pending_promise(open_case, agent)
    call = CallTask.objects.create(loan=open_case.loan, case=open_case, business_date=TODAY, rule="call")
    proposal = offered(open_case, agent, supervisor)

    services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                        business_date=TODAY)

    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.APPLIED
    assert (proposal.applied_on, proposal.watch_until) == (TODAY, TODAY + dt.timedelta(days=90))
    assert history(proposal)[-2:] == [("offered", "accepted"), ("accepted", "applied")]
    loan = Loan.objects.get(pk=open_case.loan_id)
    assert (loan.days_past_due, loan.stage) == (0, "current")
    assert Installment.objects.filter(loan=loan, status=InstallmentStatus.SUPERSEDED).count() == 12
    assert JournalEntry.objects.filter(loan=loan, kind="restructuring").count() == 1
    assert_journal_matches_live_bills(loan.pk)
    # The case's next steps start again from the new plan.
    open_case.refresh_from_db()
    promise.refresh_from_db()
    call.refresh_from_db()
    assert promise.status == PromiseStatus.CANCELLED and open_case.promise_state == PromiseState.NONE
    assert call.status == CallTaskStatus.CANCELLED
    assert open_case.watch_until == TODAY + dt.timedelta(days=90)
    assert SmsMessage.objects.filter(kind="restructuring_applied").count() == 1
    assert set(AuditEvent.objects.filter(object_type="collections.restructuringproposal").values_list(
        "action", flat=True)) >= {"restructuring.propose", "restructuring.approve", "restructuring.offer",
                                  "restructuring.offer.accept", "restructuring.apply"}
    assert AuditEvent.objects.filter(action="loan.restructure").count() == 1


def test_the_borrower_declines_an_offer_and_the_bills_stay_as_they_are(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor)
    services.restructuring_offer_decline(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user)
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.DECLINED and proposal.answered_at == clock()
    assert not Installment.objects.filter(status=InstallmentStatus.SUPERSEDED).exists()
    # Declined: the loan may have another proposal.
    assert propose(open_case, agent, "instalment_plan", parts=3).status == RestructuringStatus.PROPOSED


def test_a_borrowers_own_hardship_request_is_applied_as_soon_as_it_is_approved(
    clock, overdue_loan, alice, agent, supervisor
):
    request = services.hardship_request_submit(
        borrower_id=alice.pk, loan_id=overdue_loan.pk, reason="illness", description="住院两个月。",
        help_wanted=["grace_period"], actor=alice.user,
    )
    proposal = services.restructuring_propose(
        actor=agent, hardship_request_id=request.pk, kind="grace_period",
        parameters={"holiday_months": 2, "holiday_interest": "add"}, reason="Hospital.", business_date=TODAY,
    )
    request.refresh_from_db()
    assert proposal.source == "borrower" and request.status == HardshipStatus.UNDER_REVIEW

    services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor, business_date=TODAY)

    proposal.refresh_from_db()
    request.refresh_from_db()
    assert proposal.status == RestructuringStatus.APPLIED
    assert history(proposal) == [("", "proposed"), ("proposed", "approved"), ("approved", "applied")]
    assert request.status == HardshipStatus.ACCEPTED and request.decided_by == supervisor
    assert not SmsMessage.objects.filter(kind="restructuring_offer").exists()
    assert SmsMessage.objects.filter(kind="restructuring_applied").exists()
    assert_journal_matches_live_bills(overdue_loan.pk)


# --- the state machine refuses what it does not allow ------------------------------------------------


def test_a_proposal_cannot_be_approved_twice(clock, open_case, agent, supervisor, second_supervisor):
    proposal = offered(open_case, agent, supervisor)
    with pytest.raises(NotAllowed, match="already approved"):
        services.restructuring_approve(proposal_id=proposal.pk, actor=second_supervisor, business_date=TODAY)
    assert RestructuringApproval.objects.filter(proposal=proposal).count() == 1


@pytest.fixture
def supervisor_who_proposes(supervisor: User) -> User:
    supervisor.user_permissions.add(Permission.objects.get(codename="add_restructuringproposal"))
    return User.objects.get(pk=supervisor.pk)


def test_nobody_approves_or_rejects_a_proposal_they_made(
    clock, open_case, supervisor_who_proposes
):
    proposal = propose(open_case, supervisor_who_proposes)
    with pytest.raises(NotAllowed, match="someone else must approve"):
        services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor_who_proposes, business_date=TODAY)
    with pytest.raises(NotAllowed, match="someone else must decide"):
        services.restructuring_reject(proposal_id=proposal.pk, actor=supervisor_who_proposes, comment="no")
    assert RestructuringProposal.objects.get().status == RestructuringStatus.PROPOSED


def test_an_approver_needs_the_permission(clock, open_case, agent, make_staff):
    from portal.roles import AGENT

    proposal = propose(open_case, agent)
    other_agent = make_staff("arlo", AGENT)
    for decide in (
        lambda: services.restructuring_approve(proposal_id=proposal.pk, actor=other_agent, business_date=TODAY),
        lambda: services.restructuring_reject(proposal_id=proposal.pk, actor=other_agent, comment="no"),
    ):
        with pytest.raises(NotAllowed, match="permission to approve"):
            decide()
    assert not RestructuringApproval.objects.exists()


def test_a_rejected_plan_is_never_applied_or_approved(clock, open_case, agent, supervisor, second_supervisor):
    proposal = propose(open_case, agent)
    services.restructuring_reject(proposal_id=proposal.pk, actor=supervisor, comment="收入证明不足。")
    with pytest.raises(NotAllowed, match="cannot be applied"):
        services.restructuring_apply(proposal_id=proposal.pk, actor=second_supervisor, business_date=TODAY)
    with pytest.raises(NotAllowed, match="was rejected"):
        services.restructuring_approve(proposal_id=proposal.pk, actor=second_supervisor, business_date=TODAY)
    assert not Installment.objects.filter(status=InstallmentStatus.SUPERSEDED).exists()
    assert history(proposal) == [("", "proposed"), ("proposed", "rejected")]


def test_a_rejection_needs_a_comment(clock, open_case, agent, supervisor):
    proposal = propose(open_case, agent)
    with pytest.raises(DomainError, match="comment"):
        services.restructuring_reject(proposal_id=proposal.pk, actor=supervisor, comment="  ")


def test_an_expired_offer_cannot_be_accepted_and_is_recorded_as_expired(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor)
    clock.advance(days=7, seconds=1)
    with pytest.raises(NotAllowed, match="expired on 2026-04-01 10:00"):
        services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                            business_date=TODAY + dt.timedelta(days=7))
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.EXPIRED
    with pytest.raises(NotAllowed, match="has expired"):
        services.restructuring_offer_decline(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user)
    assert not Installment.objects.filter(status=InstallmentStatus.SUPERSEDED).exists()


def test_offers_past_their_time_expire_on_the_hourly_run(clock, open_case, agent, supervisor):
    proposal = offered(open_case, agent, supervisor)
    assert services.restructuring_offers_expire_due() == 0
    assert services.restructuring_offers_expire_due(now=timezone.now() + dt.timedelta(days=8)) == 1
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.EXPIRED


def test_an_answered_offer_cannot_be_answered_again(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor)
    services.restructuring_offer_decline(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user)
    with pytest.raises(NotAllowed, match="already declined"):
        services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                            business_date=TODAY)


def test_another_borrower_cannot_answer_alices_offer(clock, open_case, agent, supervisor, bob):
    proposal = offered(open_case, agent, supervisor)
    with pytest.raises(NotAllowed, match="not yours"):
        services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=bob.pk, actor=bob.user,
                                            business_date=TODAY)
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.OFFERED


def test_an_agents_plan_is_never_applied_before_the_borrower_accepts(
    clock, open_case, agent, supervisor, second_supervisor
):
    proposal = offered(open_case, agent, supervisor)
    with pytest.raises(NotAllowed, match="cannot be applied"):
        services.restructuring_apply(proposal_id=proposal.pk, actor=second_supervisor, business_date=TODAY)


def test_a_loan_has_one_proposal_in_progress_at_a_time(clock, open_case, agent):
    propose(open_case, agent)
    with pytest.raises(NotAllowed, match="already has a restructuring in progress"):
        propose(open_case, agent, "waiver", penalty_share="1")


def test_plans_that_cannot_be_made_are_refused_before_anything_is_written(clock, open_case, agent):
    with pytest.raises(DomainError, match="extra months"):
        propose(open_case, agent, "term_extension", extra_months=0)
    assert not RestructuringProposal.objects.exists()


# --- limits -----------------------------------------------------------------------------------------


def test_a_loan_is_restructured_at_most_once_in_twelve_months(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor)
    services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                        business_date=TODAY)
    with pytest.raises(NotAllowed, match="restructured on 2026-03-25.*12 months \\(again from 2027-03-25\\)"):
        services.restructuring_propose(actor=agent, case_id=open_case.pk, kind="waiver",
                                       parameters={"penalty_share": "1"}, reason="again",
                                       business_date=dt.date(2027, 3, 24))


def test_the_interval_between_restructurings_is_a_setting(clock, settings, open_case, agent, supervisor, alice):
    settings.PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN = 0
    proposal = offered(open_case, agent, supervisor)
    services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                        business_date=TODAY)
    again = services.restructuring_propose(actor=agent, case_id=open_case.pk, kind="grace_period",
                                           parameters={"holiday_months": 1, "holiday_interest": "add"},
                                           reason="again", business_date=TODAY)
    assert again.status == RestructuringStatus.PROPOSED


def test_a_large_waiver_needs_a_second_approver(clock, settings, open_case, agent, supervisor, second_supervisor):
    settings.PORTAL_RESTRUCTURING_MAX_WAIVER_SHARE_SINGLE_APPROVAL = Decimal("0.001")
    proposal = propose(open_case, agent, "waiver", penalty_share="1")
    assert proposal.needs_second_approval and proposal.waiver_share > Decimal("0.001")

    services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor, business_date=TODAY)
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.PROPOSED
    with pytest.raises(NotAllowed, match="needs a second approver"):
        services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor, business_date=TODAY)

    services.restructuring_approve(proposal_id=proposal.pk, actor=second_supervisor, business_date=TODAY)
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.OFFERED
    assert RestructuringApproval.objects.filter(proposal=proposal).count() == 2


def test_a_waiver_within_the_limit_needs_one_approver(clock, open_case, agent):
    proposal = propose(open_case, agent, "waiver", penalty_share="1")
    assert proposal.waiver_share < Decimal("0.10") and not proposal.needs_second_approval


# --- the loan moving under a proposal ----------------------------------------------------------------


def test_a_payment_between_proposal_and_approval_makes_the_approval_refuse(clock, open_case, agent, supervisor):
    proposal = propose(open_case, agent)
    loan_services.payment_post(loan_id=open_case.loan_id, amount=Decimal("100.00"), channel=Channel.APP,
                               idempotency_key="meanwhile", actor=None, business_date=TODAY)
    with pytest.raises(NotAllowed, match="changed after this plan was computed on 2026-03-25"):
        services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor, business_date=TODAY)
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.PROPOSED and not proposal.approvals.exists()


def test_a_payment_before_the_borrower_accepts_withdraws_the_offer_with_a_clear_message(
    clock, open_case, agent, supervisor, alice
):
    proposal = offered(open_case, agent, supervisor)
    loan_services.payment_post(loan_id=open_case.loan_id, amount=Decimal("100.00"), channel=Channel.APP,
                               idempotency_key="meanwhile", actor=None, business_date=TODAY)
    with pytest.raises(NotAllowed, match="Your bills changed after we made this offer"):
        services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                            business_date=TODAY)
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.WITHDRAWN
    assert "changed after this plan was computed" in history_notes(proposal)[-1]
    assert not Installment.objects.filter(status=InstallmentStatus.SUPERSEDED).exists()


def history_notes(proposal: RestructuringProposal) -> list[str]:
    return list(RestructuringTransition.objects.filter(proposal=proposal).order_by("pk").values_list("note", flat=True))


def test_penalty_charged_while_the_offer_waits_is_waived_when_it_is_accepted(
    clock, open_case, agent, supervisor, alice
):
    proposal = offered(open_case, agent, supervisor)
    later = TODAY + dt.timedelta(days=3)
    loan_services.loan_age(loan_id=open_case.loan_id, business_date=later)
    clock.advance(days=3)
    services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                        business_date=later)
    waiver = JournalEntry.objects.get(loan_id=open_case.loan_id, kind="waiver")
    assert waiver.penalty < 0
    live = Installment.objects.filter(loan_id=open_case.loan_id).exclude(status=InstallmentStatus.SUPERSEDED)
    assert sum((b.total_due for b in live), Decimal(0)) == Decimal(proposal.plan["totals"]["proposed"]["total"])


def test_staff_can_withdraw_an_unanswered_offer(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor)
    services.restructuring_offer_withdraw(proposal_id=proposal.pk, actor=agent, reason="Borrower paid in full.")
    with pytest.raises(NotAllowed, match="withdrawn"):
        services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                            business_date=TODAY)


# --- the agreement -------------------------------------------------------------------------------------


def test_the_agreement_context_has_both_schedules_the_totals_and_the_people(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor, kind="term_extension", extra_months=6, penalty_share="1")
    services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                        business_date=TODAY)
    proposal.refresh_from_db()
    context = services.restructuring_agreement_context(proposal)
    assert context["borrower_name"] == "王丽" and context["loan_reference"] == open_case.loan.reference
    assert context["kind"] == "term_extension" and context["reason"].startswith("失业")
    assert len(context["current_rows"]) == 12 and len(context["proposed_rows"]) == 16
    assert context["current_rows"][0]["due_date"] == dt.date(2026, 2, 15)
    assert sum(r["principal"] for r in context["proposed_rows"]) == Decimal("12000.00")
    assert context["proposed_totals"]["total"] == sum(r["total"] for r in context["proposed_rows"])
    assert context["waived"]["penalty"] > 0 and context["waived_total"] == context["waived"]["penalty"]
    assert context["new_end_date"] == dt.date(2027, 7, 15) and context["old_end_date"] == dt.date(2027, 1, 15)
    assert context["approvers"] == ["sue"]
    assert (context["applied_on"], context["watch_until"]) == (TODAY, TODAY + dt.timedelta(days=90))
    assert context["accepted_at"] is not None


# --- the hourly expiry schedule ------------------------------------------------------------------------


def test_the_expiry_schedule_is_created_once_and_runs_a_real_task(clock, open_case, agent, supervisor):
    import importlib

    from django.apps import apps
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    migration = importlib.import_module("debt_collections.migrations.0005_restructuring")
    Schedule.objects.filter(name=migration.EXPIRE_SCHEDULE).delete()
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    schedule = Schedule.objects.get(name="expire-restructuring-offers")
    assert schedule.schedule_type == "H" and schedule.func == migration.EXPIRE_FUNC

    proposal = offered(open_case, agent, supervisor)
    clock.advance(days=8)
    assert import_string(schedule.func)() == 1
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.EXPIRED
