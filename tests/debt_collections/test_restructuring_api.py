"""Restructuring through the API: staff approve or reject under the admin's rules, borrowers
accept or decline the plans offered to them; nobody sees another borrower's plans."""

from __future__ import annotations

import pytest

from debt_collections.models import RestructuringStatus
from tests.api.conftest import token_client

from .restructuring_helpers import (  # noqa: F401 - fixtures
    clock,
    english,
    offered,
    open_case,
    overdue_loan,
    propose,
)

pytestmark = pytest.mark.django_db


def test_a_supervisor_approves_through_the_api_but_never_their_own_proposal(clock, open_case, agent, supervisor):
    proposal = propose(open_case, agent)
    as_agent = token_client(agent)
    assert as_agent.get("/api/v1/staff/restructurings/").json()["results"][0]["public_id"] == str(proposal.public_id)
    refused = as_agent.post(f"/api/v1/staff/restructurings/{proposal.public_id}/approve/", {}, format="json")
    assert refused.status_code == 403  # agents hold no approve permission
    approved = token_client(supervisor).post(
        f"/api/v1/staff/restructurings/{proposal.public_id}/approve/", {"comment": "ok"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == RestructuringStatus.OFFERED
    again = token_client(supervisor).post(f"/api/v1/staff/restructurings/{proposal.public_id}/reject/",
                                          {"comment": "no"}, format="json")
    assert again.status_code in (409, 422) and again.json()["error"]["code"]


def test_the_borrower_accepts_an_offered_plan_and_another_borrower_cannot(
    clock, open_case, agent, supervisor, alice, bob
):
    proposal = offered(open_case, agent, supervisor)
    as_bob = token_client(bob.user)
    assert as_bob.get("/api/v1/restructurings/").json()["results"] == []
    assert as_bob.post(f"/api/v1/restructurings/{proposal.public_id}/accept/").status_code == 404
    as_alice = token_client(alice.user)
    listed = as_alice.get("/api/v1/restructurings/").json()["results"]
    assert [p["public_id"] for p in listed] == [str(proposal.public_id)]
    assert listed[0]["proposed_totals"]["bills"] > 0
    accepted = as_alice.post(f"/api/v1/restructurings/{proposal.public_id}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == RestructuringStatus.APPLIED


def test_the_borrower_declines_an_offered_plan(clock, open_case, agent, supervisor, alice):
    proposal = offered(open_case, agent, supervisor)
    declined = token_client(alice.user).post(f"/api/v1/restructurings/{proposal.public_id}/decline/")
    assert declined.status_code == 200 and declined.json()["status"] == RestructuringStatus.DECLINED


def test_an_agent_proposes_through_the_api_and_bad_parameters_are_refused_with_the_reason(
    clock, open_case, agent, supervisor
):
    as_agent = token_client(agent)
    url = f"/api/v1/staff/cases/{open_case.pk}/restructurings/"
    bad = as_agent.post(url, {"kind": "term_extension", "parameters": {"extra_months": "many"},
                              "reason": "Lost her job."}, format="json")
    assert bad.status_code == 422 and "60" in bad.json()["error"]["message"]  # 1 to 60 extra months
    made = as_agent.post(url, {"kind": "term_extension", "parameters": {"extra_months": 6},
                               "reason": "Lost her job."}, format="json")
    assert made.status_code == 201 and made.json()["status"] == RestructuringStatus.PROPOSED
    assert token_client(supervisor).post(url, {"kind": "waiver", "reason": "x"}, format="json").status_code == 403


def test_the_staff_proposal_list_costs_the_same_queries_for_one_or_three_proposals(
    clock, open_case, agent, supervisor, make_loan, bob
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.debt_collections.factories import make_case

    as_supervisor = token_client(supervisor)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert as_supervisor.get("/api/v1/staff/restructurings/").status_code == 200
        return len(queries)

    propose(open_case, agent)
    count()  # the first request of a token also records its first use
    one = count()
    for _ in range(2):
        other = make_case(make_loan(bob, on=open_case.loan.disbursed_on))
        propose(other, agent)
    assert count() == one
