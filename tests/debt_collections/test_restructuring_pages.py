"""Restructuring screens: the admin's approval queue, approval page and propose page, and the
borrower's offer pages (their own proposals only; anyone else's is a 404)."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from debt_collections import services
from debt_collections.admin_restructuring import preview_key
from debt_collections.models import (
    RestructuringProposal,
    RestructuringStatus,
)
from loans.models import InstallmentStatus, Loan
from portal.models import User
from portal.roles import LEGAL_OFFICER

from .factories import make_case
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

QUEUE = "admin:collections_restructuringproposal_changelist"
PROPOSE = "admin:collections_restructuringproposal_propose"


@pytest.fixture
def client(client: Any) -> Any:
    """Read the pages in English (Chinese is the site's default)."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def zh(message: str) -> str:
    """What a borrower (Chinese by default) reads for this message, translated or not yet."""
    with translation.override("zh-hans"):
        return str(translation.gettext(message))


def page(proposal: RestructuringProposal) -> str:
    return reverse("admin:collections_restructuringproposal_change", args=[proposal.pk])


def borrower_page(proposal: RestructuringProposal, action: str = "detail") -> str:
    return reverse(f"collections:restructuring-{action}", args=[proposal.public_id])


def listed(response: Any) -> list[int]:
    ids = re.findall(r'href="/admin/collections/restructuringproposal/(\d+)/change/', response.content.decode())
    return list(dict.fromkeys(int(pk) for pk in ids))


# --- the approval queue ----------------------------------------------------------------------------


def proposals_for_new_loans(count: int, borrower: Any, make_loan: Any, agent: User) -> list[RestructuringProposal]:
    made = []
    for _ in range(count):
        case = make_case(make_loan(borrower))
        made.append(propose(case, agent))
    return made


def queue_queries(client: Any, params: dict[str, str]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(QUEUE), params)
    assert response.status_code == 200
    return len(queries)


def test_the_queue_shows_the_proposals_waiting_for_approval_oldest_first(
    clock, client, supervisor, agent, alice, make_loan
):
    first, second, decided = proposals_for_new_loans(3, alice, make_loan, agent)
    services.restructuring_reject(proposal_id=decided.pk, actor=supervisor, comment="no")
    client.force_login(supervisor)

    response = client.get(reverse(QUEUE))

    assert listed(response) == [first.pk, second.pk]
    assert "Waiting for approval" in text(response) and "0/1" in text(response)
    assert listed(client.get(reverse(QUEUE), {"queue": "decided"})) == [decided.pk]


@pytest.mark.parametrize("params", [{}, {"queue": "all"}, {"queue": "offered"}])
def test_the_queue_costs_the_same_queries_for_2_or_8_proposals(
    clock, client, supervisor, agent, alice, make_loan, params
):
    client.force_login(supervisor)
    proposals_for_new_loans(2, alice, make_loan, agent)
    small = queue_queries(client, params)
    more = proposals_for_new_loans(6, alice, make_loan, agent)
    for proposal in more[:3]:
        services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor, business_date=TODAY)
    assert queue_queries(client, params) == small


# --- the approval page -------------------------------------------------------------------------------


def test_the_approval_page_shows_both_schedules_totals_history_and_the_reason(
    clock, client, supervisor, agent, open_case, alice
):
    proposal = propose(open_case, agent, penalty_share="1", extra_months=6)
    services.hardship_request_submit(borrower_id=alice.pk, loan_id=open_case.loan_id, reason="illness",
                                     description="住院。", help_wanted=["longer_term"], actor=alice.user)
    client.force_login(supervisor)

    shown = text(client.get(page(proposal)))

    assert 'id="schedule-current"' in shown and 'id="schedule-proposed"' in shown
    assert "2027-01-15" in shown and "2027-07-15" in shown  # old and new end dates
    assert "To pay in all" in shown and "Monthly amount (typical bill)" in shown
    assert "Penalty interest waived" in shown
    assert "Lost her job; a new one starts next month." in shown
    assert "The borrower's history" in shown and "Illness" in shown  # the hardship request
    assert f'action="/admin/collections/restructuringproposal/{proposal.pk}/approve/"' in shown
    assert f'action="/admin/collections/restructuringproposal/{proposal.pk}/reject/"' in shown


def test_the_approval_page_costs_the_same_queries_with_a_short_or_a_long_history(
    clock, client, supervisor, agent, open_case, alice, make_loan
):
    proposal = propose(open_case, agent)
    client.force_login(supervisor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(proposal)).status_code == 200
        return len(captured)

    short = queries()
    for loan in (make_loan(alice), make_loan(alice)):
        other = propose(make_case(loan), agent)
        services.restructuring_reject(proposal_id=other.pk, actor=supervisor, comment="no")
    assert queries() == short


def test_a_supervisor_approves_from_the_page_and_the_plan_is_offered(clock, client, supervisor, agent, open_case):
    proposal = propose(open_case, agent)
    client.force_login(supervisor)
    response = client.post(reverse("admin:collections_restructuringproposal_approve", args=[proposal.pk]),
                           {"comment": "收入稳定。"})
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.OFFERED
    assert "收入稳定。" in text(client.get(page(proposal)))


def test_a_rejection_without_a_comment_is_refused_on_its_form(clock, client, supervisor, agent, open_case):
    proposal = propose(open_case, agent)
    client.force_login(supervisor)
    response = client.post(reverse("admin:collections_restructuringproposal_reject", args=[proposal.pk]),
                           {"comment": ""})
    assert response.status_code == 200 and "This field is required." in text(response)
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.PROPOSED


def test_the_proposer_sees_no_decision_forms_on_their_own_proposal(clock, client, agent, open_case):
    proposal = propose(open_case, agent)
    client.force_login(agent)
    shown = text(client.get(page(proposal)))
    assert "/approve/" not in shown and "someone else must approve or reject it" in shown
    response = client.post(reverse("admin:collections_restructuringproposal_approve", args=[proposal.pk]), {})
    assert response.status_code == 403


def test_a_refused_approval_shows_why_on_the_page(clock, client, supervisor, second_supervisor, agent, open_case):
    proposal = offered(open_case, agent, supervisor)
    client.force_login(second_supervisor)
    response = client.post(reverse("admin:collections_restructuringproposal_approve", args=[proposal.pk]), {})
    # Not offered a form any more: the decision is made. A post anyway is refused, not applied twice.
    assert response.status_code == 200 and "already approved" in text(response)


# --- the propose page ---------------------------------------------------------------------------------


def test_the_case_page_links_to_the_propose_page(clock, client, agent, open_case):
    client.force_login(agent)
    shown = text(client.get(reverse("admin:collections_case_change", args=[open_case.pk])))
    assert f"{reverse(PROPOSE)}?case={open_case.pk}" in shown


def test_an_agent_previews_then_confirms_a_proposal(clock, client, agent, open_case):
    client.force_login(agent)
    address = f"{reverse(PROPOSE)}?case={open_case.pk}"
    assert client.get(address).status_code == 200
    data = {"case": open_case.pk, "kind": "instalment_plan", "parts": "4", "reason": "Short of money for 4 months."}

    preview = client.post(address, {**data, "preview": "1"})

    shown = text(preview)
    assert 'id="schedule-proposed"' in shown and 'name="confirm"' in shown
    assert not RestructuringProposal.objects.exists()
    key = re.search(r'name="previewed" value="([0-9a-f]{64})"', shown)
    assert key is not None
    confirmed = client.post(address, {**data, "previewed": key.group(1), "confirm": "1"})
    proposal = RestructuringProposal.objects.get()
    assert confirmed.status_code == 302 and confirmed["Location"] == page(proposal)
    assert proposal.kind == "instalment_plan" and proposal.parameters == {"parts": 4}
    assert preview_key(services.restructuring_preview(
        loan_id=open_case.loan_id, kind="instalment_plan", parameters={"parts": 4}, business_date=TODAY
    )) == key.group(1)


def test_confirming_figures_other_than_the_preview_asks_for_a_new_preview(clock, client, agent, open_case):
    client.force_login(agent)
    address = f"{reverse(PROPOSE)}?case={open_case.pk}"
    data = {"case": open_case.pk, "kind": "term_extension", "extra_months": "6", "reason": "Needs time."}
    key = re.search(r'name="previewed" value="([0-9a-f]{64})"', text(client.post(address, {**data, "preview": "1"})))
    assert key is not None
    response = client.post(address, {**data, "extra_months": "12", "previewed": key.group(1), "confirm": "1"})
    assert response.status_code == 200 and "changed since your preview" in text(response)
    assert not RestructuringProposal.objects.exists()


def test_a_plan_that_cannot_be_made_is_explained_on_the_propose_page(clock, client, agent, open_case):
    client.force_login(agent)
    response = client.post(f"{reverse(PROPOSE)}?case={open_case.pk}",
                           {"case": open_case.pk, "kind": "waiver", "reason": "x", "preview": "1"})
    assert "A waiver needs a share or an amount" in text(response)


def test_staff_without_the_add_permission_cannot_propose(clock, client, make_staff, open_case):
    client.force_login(make_staff("lee", LEGAL_OFFICER))
    assert client.get(f"{reverse(PROPOSE)}?case={open_case.pk}").status_code == 403


def test_a_hardship_request_can_be_answered_with_a_proposal(clock, client, agent, overdue_loan, alice):
    request = services.hardship_request_submit(borrower_id=alice.pk, loan_id=overdue_loan.pk, reason="illness",
                                               description="住院。", help_wanted=["grace_period"], actor=alice.user)
    client.force_login(agent)
    address = f"{reverse(PROPOSE)}?hardship={request.pk}"
    data = {"hardship": request.pk, "kind": "grace_period", "holiday_months": "2", "holiday_interest": "waive",
            "reason": "In hospital."}
    key = re.search(r'name="previewed" value="([0-9a-f]{64})"', text(client.post(address, {**data, "preview": "1"})))
    assert key is not None
    client.post(address, {**data, "previewed": key.group(1), "confirm": "1"})
    proposal = RestructuringProposal.objects.get()
    assert proposal.source == "borrower" and proposal.hardship_request_id == request.pk


# --- the borrower's pages ------------------------------------------------------------------------------


def test_the_borrower_sees_the_offer_on_the_loan_page_and_both_schedules_on_its_page(
    clock, client, agent, supervisor, open_case, alice
):
    proposal = offered(open_case, agent, supervisor)
    client.force_login(alice.user)

    loan_page = text(client.get(reverse("loans:loan", args=[open_case.loan.reference])))
    assert zh("A new repayment plan is offered to you") in loan_page and borrower_page(proposal) in loan_page

    shown = text(client.get(borrower_page(proposal)))
    assert 'id="schedule-current"' in shown and 'id="schedule-proposed"' in shown
    assert zh("Accept the new plan") in shown and "2026-04-01 10:00" in shown


def test_the_borrower_accepts_and_the_loan_page_shows_the_new_bills(clock, client, agent, supervisor, open_case, alice):
    proposal = offered(open_case, agent, supervisor)
    client.force_login(alice.user)

    response = client.post(borrower_page(proposal, "accept"))

    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == RestructuringStatus.APPLIED
    loan_page = text(client.get(reverse("loans:loan", args=[open_case.loan.reference])))
    assert zh("Your repayment plan was changed") in loan_page
    assert "2027-07-15" in loan_page  # the new last bill is in the schedule
    assert Loan.objects.get(pk=open_case.loan_id).installments.filter(
        status=InstallmentStatus.SUPERSEDED).count() == 12


def test_the_borrower_declines_and_sees_why_a_second_answer_is_refused(
    clock, client, agent, supervisor, open_case, alice
):
    proposal = offered(open_case, agent, supervisor)
    client.force_login(alice.user)
    client.post(borrower_page(proposal, "decline"))
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.DECLINED
    response = client.post(borrower_page(proposal, "accept"), follow=True)
    assert zh("You have already declined this offer.") in text(response)


def test_another_borrowers_offer_is_a_404(clock, client, agent, supervisor, open_case, bob):
    proposal = offered(open_case, agent, supervisor)
    client.force_login(bob.user)
    for action in ("detail", "accept", "decline"):
        method = client.get if action == "detail" else client.post
        assert method(borrower_page(proposal, action)).status_code == 404
    assert RestructuringProposal.objects.get(pk=proposal.pk).status == RestructuringStatus.OFFERED


def test_a_proposal_still_with_staff_is_not_shown_to_the_borrower(clock, client, agent, open_case, alice):
    proposal = propose(open_case, agent)
    client.force_login(alice.user)
    assert client.get(borrower_page(proposal)).status_code == 404
    assert client.post(borrower_page(proposal, "accept")).status_code == 404
    assert zh("A new repayment plan is offered to you") not in text(
        client.get(reverse("loans:loan", args=[open_case.loan.reference]))
    )


def test_the_hardship_page_shows_the_plan_that_answered_it(clock, client, agent, supervisor, overdue_loan, alice):
    request = services.hardship_request_submit(borrower_id=alice.pk, loan_id=overdue_loan.pk, reason="illness",
                                               description="住院。", help_wanted=["grace_period"], actor=alice.user)
    proposal = services.restructuring_propose(
        actor=agent, hardship_request_id=request.pk, kind="waiver", parameters={"penalty_share": "1"},
        reason="Hospital.", business_date=TODAY,
    )
    services.restructuring_approve(proposal_id=proposal.pk, actor=supervisor, business_date=TODAY)
    client.force_login(alice.user)
    shown = text(client.get(reverse("collections:hardship-detail", args=[request.public_id])))
    assert zh("Your repayment plan was changed") in shown and borrower_page(proposal) in shown
    listing = text(client.get(reverse("collections:restructuring-list")))
    assert overdue_loan.reference in listing
    assert Decimal(proposal.plan["waived"]["penalty"]) > 0
    assert dt.date.fromisoformat(proposal.plan["as_of"]) == TODAY
