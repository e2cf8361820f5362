"""Write-off to bad debt: proposals on a case, approval by another supervisor, the loan written
off and its case closed in one transaction, recoveries that still post, the pages per role."""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from debt_collections import services
from debt_collections.models import (
    Case,
    CaseStatus,
    WriteOffProposal,
    WriteOffStatus,
    WriteOffTransition,
)
from loans import services as loan_services
from loans.models import (
    Channel,
    EntryKind,
    JournalEntry,
    Loan,
    LoanEvent,
    LoanEventKind,
    LoanStatus,
    Stage,
    WriteOff,
)
from portal import roles
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent
from tests.conftest import FIRST_DUE
from tests.loans.test_write_off_books import WRITE_OFF_DAY, age_to_write_off, assert_books
from tests.threads import run_together

from .factories import bulk_cases, make_case

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def english() -> Any:
    """Services word their refusals in the active language; these tests read them in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def client(client: Any) -> Any:
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def second_supervisor(make_staff: Any) -> Any:
    return make_staff("sam", roles.SUPERVISOR)


@pytest.fixture
def old_case(alices_loan: Any) -> Case:
    """Alice's loan aged to 181 days past due, with its open case (as the close of business left it)."""
    age_to_write_off(alices_loan)
    loan = Loan.objects.get(pk=alices_loan.pk)
    return make_case(
        loan, stage=loan.stage, days_past_due=loan.days_past_due, write_off_candidate=True
    )


def propose(
    case: Case, actor: Any, reason: str = "No contact for 120 days; no assets found."
) -> WriteOffProposal:
    return services.write_off_propose(
        case_id=case.pk, actor=actor, reason=reason, business_date=WRITE_OFF_DAY
    )


def approve(proposal: WriteOffProposal, actor: Any, **kwargs: Any) -> WriteOffProposal:
    return services.write_off_approve(
        proposal_id=proposal.pk, actor=actor, business_date=WRITE_OFF_DAY, **kwargs
    )


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- proposals -------------------------------------------------------------------------------------


def test_an_agent_proposes_a_write_off_with_a_snapshot_of_what_it_would_book(old_case, agent):
    proposal = propose(old_case, agent)
    quote = loan_services.write_off_quote(list(old_case.loan.installments.all()), WRITE_OFF_DAY)
    assert (proposal.status, proposal.days_past_due, proposal.as_of) == (
        WriteOffStatus.PROPOSED,
        181,
        WRITE_OFF_DAY,
    )
    assert proposal.total == quote.written_off.total > 0
    assert proposal.later_interest_cancelled == quote.cancelled.total > 0
    assert [(t.from_status, t.to_status) for t in proposal.transitions.all()] == [("", "proposed")]
    assert AuditEvent.objects.get(action="write_off.propose").actor == agent
    assert Loan.objects.get(pk=old_case.loan_id).status == LoanStatus.ACTIVE  # nothing booked yet


def test_a_loan_under_the_write_off_age_is_not_proposed(alices_loan, agent):
    age_to_write_off(alices_loan, FIRST_DUE + dt.timedelta(days=150))
    case = make_case(alices_loan, days_past_due=150)
    with pytest.raises(NotAllowed, match="from 180 days past due; this one is 150"):
        propose(case, agent)


def test_one_proposal_waits_per_loan(old_case, agent, supervisor):
    propose(old_case, agent)
    with pytest.raises(NotAllowed, match="already waiting for approval"):
        propose(old_case, supervisor)


def test_the_database_keeps_one_open_proposal_per_loan(old_case, agent):
    first = propose(old_case, agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOffProposal.objects.create(
            loan_id=first.loan_id,
            case=old_case,
            reason="again",
            as_of=WRITE_OFF_DAY,
            days_past_due=181,
            proposed_by=agent,
        )


def test_legal_officers_and_auditors_do_not_propose(old_case, make_staff):
    for role in (roles.LEGAL_OFFICER, roles.AUDITOR):
        with pytest.raises(NotAllowed, match="permission"):
            propose(old_case, make_staff(f"someone-{role}", role))


def test_a_proposal_needs_a_reason(old_case, agent):
    with pytest.raises(DomainError, match="fill in the reason"):
        propose(old_case, agent, reason="  ")


# --- approval ---------------------------------------------------------------------------------------


def test_a_supervisors_approval_writes_the_loan_off_and_closes_the_case(
    old_case, agent, supervisor
):
    proposal = propose(old_case, agent)

    approved = approve(proposal, supervisor, comment="Agreed.")

    loan = Loan.objects.get(pk=old_case.loan_id)
    assert (loan.status, loan.stage, loan.days_past_due) == (
        LoanStatus.WRITTEN_OFF,
        Stage.CURRENT,
        0,
    )
    write_off = WriteOff.objects.get(loan=loan)
    assert approved.write_off == write_off and write_off.actor == supervisor
    assert (approved.status, approved.decided_by, approved.comment) == (
        WriteOffStatus.APPROVED,
        supervisor,
        "Agreed.",
    )
    assert write_off.total == proposal.total  # approved on the day it was proposed
    entry = JournalEntry.objects.get(loan=loan, kind=EntryKind.WRITE_OFF)
    assert entry.total == -write_off.total
    case = Case.objects.get(pk=old_case.pk)
    assert (case.status, case.closed_on, case.close_reason) == (
        CaseStatus.CLOSED,
        WRITE_OFF_DAY,
        "written off",
    )
    assert LoanEvent.objects.filter(loan=loan, kind=LoanEventKind.CASE_CLOSED).count() == 1
    assert {e.action for e in AuditEvent.objects.filter(actor=supervisor)} >= {
        "write_off.approve",
        "loan.write_off",
        "case.close",
    }
    assert [t.to_status for t in WriteOffTransition.objects.filter(proposal=proposal)] == [
        "proposed",
        "approved",
    ]
    assert_books(loan.pk)


def test_nobody_approves_or_rejects_their_own_proposal(old_case, supervisor):
    proposal = propose(old_case, supervisor)
    with pytest.raises(NotAllowed, match="another supervisor must decide"):
        approve(proposal, supervisor)
    with pytest.raises(NotAllowed, match="another supervisor must decide"):
        services.write_off_reject(proposal_id=proposal.pk, actor=supervisor, comment="no")
    assert WriteOffProposal.objects.get().status == WriteOffStatus.PROPOSED
    assert not WriteOff.objects.exists()


def test_the_database_refuses_an_approval_by_the_proposer_too(old_case, supervisor):
    proposal = propose(old_case, supervisor)
    with pytest.raises(IntegrityError), transaction.atomic():
        WriteOffProposal.objects.filter(pk=proposal.pk).update(
            status="rejected", decided_by=supervisor, decided_at=timezone.now()
        )


def test_agents_and_legal_officers_do_not_approve(old_case, agent, make_staff):
    proposal = propose(old_case, agent)
    for someone in (agent, make_staff("lena", roles.LEGAL_OFFICER)):
        with pytest.raises(NotAllowed, match="permission"):
            approve(proposal, someone)


def test_approving_twice_is_refused_and_writes_off_once(
    old_case, agent, supervisor, second_supervisor
):
    proposal = propose(old_case, agent)
    approve(proposal, supervisor)
    with pytest.raises(NotAllowed, match="already decided"):
        approve(proposal, second_supervisor)
    assert (
        WriteOff.objects.count() == 1
        and JournalEntry.objects.filter(kind=EntryKind.WRITE_OFF).count() == 1
    )


def test_a_rejection_needs_a_reason_and_the_loan_may_be_proposed_again(old_case, agent, supervisor):
    proposal = propose(old_case, agent)
    with pytest.raises(DomainError, match="fill in the comment"):
        services.write_off_reject(proposal_id=proposal.pk, actor=supervisor, comment="")
    rejected = services.write_off_reject(
        proposal_id=proposal.pk, actor=supervisor, comment="Try the court first."
    )
    assert rejected.status == WriteOffStatus.REJECTED and rejected.write_off is None
    with pytest.raises(NotAllowed, match="already decided"):
        approve(rejected, supervisor)
    assert propose(old_case, agent).status == WriteOffStatus.PROPOSED


def test_approval_is_refused_when_a_payment_brought_the_loan_under_the_write_off_age(
    old_case, agent, supervisor
):
    proposal = propose(old_case, agent)
    bills = list(old_case.loan.installments.order_by("due_date"))
    loan_services.payment_post(
        loan_id=old_case.loan_id,
        amount=bills[0].total_outstanding + bills[1].total_outstanding,
        channel=Channel.BANK_TRANSFER,
        idempotency_key="two-bills",
        actor=None,
        business_date=WRITE_OFF_DAY,
    )
    with pytest.raises(NotAllowed, match="this one is 122 days past due"):
        approve(proposal, supervisor)
    assert WriteOffProposal.objects.get().status == WriteOffStatus.PROPOSED
    assert Loan.objects.get(pk=old_case.loan_id).status == LoanStatus.ACTIVE


def test_recoveries_after_the_write_off_still_post_and_the_books_hold(old_case, agent, supervisor):
    approve(propose(old_case, agent), supervisor)
    for n, amount in enumerate(["300.00", "1250.55"]):
        loan_services.payment_post(
            loan_id=old_case.loan_id,
            amount=D(amount),
            channel=Channel.AGENT,
            idempotency_key=f"late-{n}",
            actor=agent,
            business_date=WRITE_OFF_DAY + dt.timedelta(days=n + 1),
        )
    summary = loan_services.written_off_summary(loan_id=old_case.loan_id)
    assert summary.recovered == D("1550.55")
    assert_books(old_case.loan_id)


# --- the pages ------------------------------------------------------------------------------------


@pytest.fixture
def today_is_write_off_day(monkeypatch: Any) -> None:
    monkeypatch.setattr("debt_collections.admin_legal.business_today", lambda: WRITE_OFF_DAY)


def candidates(response: Any) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(r'class="write-off-row" data-case="(\d+)"', response.content.decode())
    ]


def test_the_candidates_list_shows_open_cases_at_the_write_off_age_oldest_first(
    client, alice, make_loan, agent
):
    young = make_case(make_loan(alice), days_past_due=120)
    older = make_case(make_loan(alice), days_past_due=181, stage=Stage.WRITE_OFF_CANDIDATE)
    oldest = make_case(make_loan(alice), days_past_due=260, stage=Stage.WRITE_OFF_CANDIDATE)
    client.force_login(agent)
    response = client.get(reverse("admin:collections_writeoff_candidates"))
    assert candidates(response) == [oldest.pk, older.pk] and young.pk not in candidates(response)
    assert reverse("admin:collections_writeoff_propose", args=[oldest.pk]) in text(response)


def test_the_candidates_list_costs_the_same_queries_for_2_or_30_cases(
    client, alice, product, supervisor
):
    client.force_login(supervisor)

    def cost(rows: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("admin:collections_writeoff_candidates"))
        assert len(candidates(response)) == rows
        return len(queries)

    # bulk_cases spreads days past due over 30 + n % 180: n from 150 gives 180 to 209 days.
    bulk_cases(alice, product, 2, start=150)
    few = cost(2)
    bulk_cases(alice, product, 28, start=152)
    assert cost(30) == few


def test_an_agent_proposes_on_the_page_and_another_supervisor_approves_on_the_approval_page(
    client, old_case, agent, supervisor, today_is_write_off_day
):
    client.force_login(agent)
    response = client.post(
        reverse("admin:collections_writeoff_propose", args=[old_case.pk]),
        {"reason": "Unreachable since March; no assets."},
    )
    proposal = WriteOffProposal.objects.get()
    assert response["Location"] == reverse(
        "admin:collections_writeoffproposal_change", args=[proposal.pk]
    )
    page = client.get(response["Location"])
    assert page.status_code == 200 and not page.context["can_decide"]
    assert (
        client.post(
            reverse("admin:collections_writeoffproposal_approve", args=[proposal.pk])
        ).status_code
        == 403
    )

    client.force_login(supervisor)
    page = client.get(reverse("admin:collections_writeoffproposal_change", args=[proposal.pk]))
    assert page.context["can_decide"] and page.context["today"].written_off.total == proposal.total
    assert "If approved today (" in text(page)
    done = client.post(
        reverse("admin:collections_writeoffproposal_approve", args=[proposal.pk]), {"comment": ""}
    )
    assert done.status_code == 302
    assert Loan.objects.get(pk=old_case.loan_id).status == LoanStatus.WRITTEN_OFF


def test_the_proposer_sees_a_refusal_when_approving_their_own_proposal(
    client, old_case, supervisor, today_is_write_off_day
):
    proposal = propose(old_case, supervisor)
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:collections_writeoffproposal_approve", args=[proposal.pk]), {}
    )
    assert "another supervisor must decide" in text(response)
    assert WriteOffProposal.objects.get().status == WriteOffStatus.PROPOSED


def test_the_case_page_links_to_the_proposal_and_then_shows_the_write_off(
    client, old_case, agent, supervisor
):
    client.force_login(agent)
    url = reverse("admin:collections_case_change", args=[old_case.pk])
    assert reverse("admin:collections_writeoff_propose", args=[old_case.pk]) in text(
        client.get(url)
    )
    proposal = propose(old_case, agent)
    assert "waiting for approval" in text(client.get(url))
    approve(proposal, supervisor)
    assert "Written off" in text(client.get(url))


PAGES = {
    "candidates": lambda case: reverse("admin:collections_writeoff_candidates"),
    "propose": lambda case: reverse("admin:collections_writeoff_propose", args=[case.pk]),
    "proposals": lambda case: reverse("admin:collections_writeoffproposal_changelist"),
}
EXPECTED = {
    roles.AGENT: {"candidates": 200, "propose": 200, "proposals": 200},
    roles.SUPERVISOR: {"candidates": 200, "propose": 200, "proposals": 200},
    roles.LEGAL_OFFICER: {"candidates": 403, "propose": 403, "proposals": 403},
    roles.AUDITOR: {"candidates": 200, "propose": 403, "proposals": 200},
    roles.EDITOR: {"candidates": 403, "propose": 403, "proposals": 403},
}
ROLE_PAGES = [
    (role, page, status) for role, pages in EXPECTED.items() for page, status in pages.items()
]


@pytest.mark.parametrize(
    ("role", "page", "status"), ROLE_PAGES, ids=[f"{r}-{p}" for r, p, _ in ROLE_PAGES]
)
def test_each_role_reaches_the_write_off_pages_it_needs(
    client, make_staff, alices_loan, role, page, status
):
    case = make_case(alices_loan, days_past_due=200)
    client.force_login(make_staff("someone", role))
    assert client.get(PAGES[page](case)).status_code == status


# --- at the same moment (real threads and transactions, on SQLite and PostgreSQL) ---------------------


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_the_same_moment_write_the_loan_off_once(
    old_case, agent, supervisor, second_supervisor
):
    proposal = propose(old_case, agent)
    deciders = [supervisor, second_supervisor]

    outcomes = run_together(2, lambda i: approve(proposal, deciders[i]))

    approved = [o for o in outcomes if isinstance(o, WriteOffProposal)]
    refused = [o for o in outcomes if isinstance(o, NotAllowed)]
    assert len(approved) == 1 and len(refused) == 1, outcomes
    assert WriteOff.objects.count() == 1
    assert JournalEntry.objects.filter(kind=EntryKind.WRITE_OFF).count() == 1
    assert AuditEvent.objects.filter(action="loan.write_off").count() == 1
    assert WriteOffProposal.objects.get().decided_by == approved[0].decided_by
    assert Case.objects.get(pk=old_case.pk).status == CaseStatus.CLOSED
    assert_books(old_case.loan_id)
