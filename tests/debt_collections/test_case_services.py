"""Case work services: contacts, notes, promises, classification, assignment, legal review,
reveals, call tasks; and the priority score, in Python and in SQL."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from debt_collections import conduct, services
from debt_collections.models import (
    Alert,
    AlertKind,
    CallTask,
    CallTaskStatus,
    Case,
    CaseClassification,
    CaseNote,
    CaseStatus,
    HardshipRequest,
    PromiseState,
    PromiseStatus,
    PromiseToPay,
)
from debt_collections.priority import (
    case_priority_expression,
    priority_explain,
    priority_formula,
    priority_score,
)
from debt_collections.selectors import strategy_for
from loans import services as loan_services
from portal import roles
from portal.errors import DomainError, InvalidAmount, NotAllowed
from portal.models import AuditEvent

from .factories import bulk_cases, emergency_contact, local, make_case, yesterday

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Services word their refusals in the active language when they raise; read them in English."""
    with translation.override("en"):
        yield


def log_call(
    case: Case, actor: Any, clock: str = "10:00", outcome: str = "no_answer", **kwargs: Any
) -> Any:
    return services.contact_log(
        case_id=case.pk,
        actor=actor,
        at=local(yesterday(), clock),
        channel="call",
        party="borrower",
        outcome=outcome,
        **kwargs,
    )


def today() -> dt.date:
    return conduct.borrower_today()


# --- contacts -------------------------------------------------------------------------------------


def test_a_logged_contact_updates_the_case_and_is_audited_with_the_number_masked(
    case, agent, alice
):
    contact = log_call(case, agent, overdue_reason="cash_flow", note="Said payday is on the 25th.")
    case.refresh_from_db()
    assert case.last_contact_at == contact.at and case.failed_contacts == 1
    assert contact.number == alice.mobile and contact.agent == agent
    event = AuditEvent.objects.get(action="case.contact_log")
    assert event.actor == agent and event.object_id == str(contact.pk)
    assert event.after is not None
    assert event.after["number"] == "138****8000" and event.after["failed_contacts"] == 1


def test_failed_attempts_count_up_and_reaching_the_borrower_starts_again(case, agent):
    log_call(case, agent, "09:00", "no_answer")
    log_call(case, agent, "10:00", "busy")
    log_call(case, agent, "11:00", "wrong_number")
    assert Case.objects.get(pk=case.pk).failed_contacts == 3
    log_call(case, agent, "12:00", "promised")
    assert Case.objects.get(pk=case.pk).failed_contacts == 0


def test_an_older_contact_logged_late_does_not_move_the_last_contact_back(case, agent):
    log_call(case, agent, "15:00")
    log_call(case, agent, "09:00")
    assert Case.objects.get(pk=case.pk).last_contact_at == local(yesterday(), "15:00")


def test_a_contact_cannot_be_logged_in_the_future(case, agent):
    with pytest.raises(DomainError, match="cannot be in the future"):
        services.contact_log(
            case_id=case.pk,
            actor=agent,
            at=local(today() + dt.timedelta(days=2), "10:00"),
            channel="call",
            party="borrower",
            outcome="no_answer",
        )


def test_nothing_is_logged_on_a_closed_case(case, agent):
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_on=yesterday())
    with pytest.raises(NotAllowed, match="closed"):
        log_call(case, agent)


def test_an_auditor_or_a_legal_officer_cannot_log_a_contact(case, make_staff):
    for username, role in (("audrey", roles.AUDITOR), ("leo", roles.LEGAL_OFFICER)):
        with pytest.raises(NotAllowed, match="permission"):
            log_call(case, make_staff(username, role))


def test_a_supervisor_can_log_a_contact_too(case, supervisor):
    assert log_call(case, supervisor).agent == supervisor


def test_markup_in_a_contact_note_is_refused(case, agent):
    with pytest.raises(DomainError, match="plain text"):
        log_call(case, agent, note="<script>alert(1)</script>")


# --- notes ----------------------------------------------------------------------------------------


def test_an_agent_adds_a_note_and_it_is_audited(case, agent):
    note = services.case_note_add(case_id=case.pk, actor=agent, text="Borrower moved to Hangzhou.")
    assert CaseNote.objects.get() == note and note.author == agent
    assert AuditEvent.objects.filter(action="case.note_add", object_id=str(note.pk)).exists()


def test_an_empty_note_is_refused(case, agent):
    with pytest.raises(DomainError):
        services.case_note_add(case_id=case.pk, actor=agent, text="   ")


# --- promises -------------------------------------------------------------------------------------


def test_a_promise_records_what_was_paid_before_it_and_marks_the_case_pending(
    case, agent, alices_loan
):
    loan_services.payment_post(
        loan_id=alices_loan.pk,
        amount="300.00",
        channel="app",
        idempotency_key="p-1",
        actor=None,
        business_date=dt.date(2026, 2, 10),
    )
    promise = services.promise_record(
        case_id=case.pk, actor=agent, amount="800.00", promised_date=today() + dt.timedelta(days=7)
    )
    assert promise.paid_before == Decimal("300.00") and promise.loan_id == alices_loan.pk
    assert promise.status == PromiseStatus.PENDING and promise.made_by == agent
    assert Case.objects.get(pk=case.pk).promise_state == PromiseState.PENDING
    assert AuditEvent.objects.get(action="promise.record").after == {
        "case": case.pk,
        "amount": "800.00",
        "promised_date": (today() + dt.timedelta(days=7)).isoformat(),
        "paid_before": "300.00",
        "replaced": [],
    }


def test_a_new_promise_cancels_the_pending_one(case, agent):
    first = services.promise_record(
        case_id=case.pk, actor=agent, amount="500.00", promised_date=today()
    )
    second = services.promise_record(
        case_id=case.pk, actor=agent, amount="900.00", promised_date=today() + dt.timedelta(days=3)
    )
    first.refresh_from_db()
    assert first.status == PromiseStatus.CANCELLED and first.resolved_on == today()
    assert PromiseToPay.objects.get(status=PromiseStatus.PENDING) == second
    assert AuditEvent.objects.filter(action="promise.cancel", object_id=str(first.pk)).exists()


@pytest.mark.parametrize("amount", ["0", "-5", "12.345", "abc"])
def test_a_promise_needs_a_positive_amount_in_fen(case, agent, amount):
    with pytest.raises(InvalidAmount):
        services.promise_record(case_id=case.pk, actor=agent, amount=amount, promised_date=today())


def test_a_promise_date_from_today_to_the_maximum_days_ahead_is_accepted(case, agent, settings):
    settings.PORTAL_PROMISE_MAX_DAYS = 30
    services.promise_record(case_id=case.pk, actor=agent, amount="1.00", promised_date=today())
    services.promise_record(
        case_id=case.pk, actor=agent, amount="1.00", promised_date=today() + dt.timedelta(days=30)
    )


def test_a_promise_date_in_the_past_or_too_far_ahead_is_refused(case, agent, settings):
    settings.PORTAL_PROMISE_MAX_DAYS = 30
    with pytest.raises(DomainError, match="past"):
        services.promise_record(
            case_id=case.pk, actor=agent, amount="1.00", promised_date=yesterday()
        )
    with pytest.raises(DomainError, match="at most 30 days"):
        services.promise_record(
            case_id=case.pk,
            actor=agent,
            amount="1.00",
            promised_date=today() + dt.timedelta(days=31),
        )


def test_a_promise_may_point_at_a_contact_of_its_own_case_only(case, agent, alice, make_loan):
    contact = log_call(case, agent, outcome="promised")
    promise = services.promise_record(
        case_id=case.pk, actor=agent, amount="1.00", promised_date=today(), contact_id=contact.pk
    )
    assert promise.contact == contact
    other = make_case(make_loan(alice))
    with pytest.raises(NotAllowed):
        services.promise_record(
            case_id=other.pk,
            actor=agent,
            amount="1.00",
            promised_date=today(),
            contact_id=contact.pk,
        )


# --- classification and legal review --------------------------------------------------------------


def test_classifying_as_hardship_flags_the_case_and_sets_the_strategy(case, agent):
    services.case_classify(
        case_id=case.pk,
        actor=agent,
        classification=CaseClassification.HARDSHIP,
        note="Lost job in March",
    )
    case.refresh_from_db()
    assert case.classification == CaseClassification.HARDSHIP and case.hardship_flag
    assert "grace period" in strategy_for(case.classification)
    event = AuditEvent.objects.get(action="case.classify")
    assert event.before == {"classification": "unknown", "hardship_flag": False}


def test_wilful_default_points_the_strategy_at_legal_review(case, agent, settings):
    services.case_classify(case_id=case.pk, actor=agent, classification=CaseClassification.WILFUL)
    case.refresh_from_db()
    assert not case.hardship_flag
    assert "legal review" in strategy_for(case.classification)
    assert str(settings.PORTAL_LEGAL_REVIEW_DPD) in strategy_for(case.classification)


def test_the_hardship_flag_stays_while_the_borrower_has_an_open_hardship_request(
    case, agent, alice, submit
):
    submit(alice)
    services.case_classify(case_id=case.pk, actor=agent, classification=CaseClassification.HARDSHIP)
    services.case_classify(case_id=case.pk, actor=agent, classification=CaseClassification.WILFUL)
    assert Case.objects.get(pk=case.pk).hardship_flag
    HardshipRequest.objects.update(status="withdrawn")
    services.case_classify(case_id=case.pk, actor=agent, classification=CaseClassification.UNKNOWN)
    assert not Case.objects.get(pk=case.pk).hardship_flag


def test_classifying_again_the_same_way_is_refused(case, agent):
    with pytest.raises(NotAllowed, match="already classified"):
        services.case_classify(
            case_id=case.pk, actor=agent, classification=CaseClassification.UNKNOWN
        )


def test_a_legal_review_request_flags_the_case_and_alerts_the_legal_officers(alices_loan, agent):
    case = make_case(alices_loan, days_past_due=65)
    services.case_request_legal_review(
        case_id=case.pk, actor=agent, reason="Refuses to pay, has income."
    )
    case.refresh_from_db()
    assert case.legal_review_requested
    alert = Alert.objects.get()
    assert alert.kind == AlertKind.LEGAL_REVIEW_REQUESTED and alert.role == roles.LEGAL_OFFICER
    assert alert.case == case and alert.loan == alices_loan and f"#{case.pk}" in alert.message
    assert (
        AuditEvent.objects.get(action="case.legal_review_request").summary
        == "Refuses to pay, has income."
    )
    with pytest.raises(NotAllowed, match="already requested"):
        services.case_request_legal_review(case_id=case.pk, actor=agent, reason="Again")
    assert Alert.objects.count() == 1


def test_legal_review_is_refused_before_the_legal_review_age(case, agent, settings):
    with pytest.raises(NotAllowed, match=f"starts at {settings.PORTAL_LEGAL_REVIEW_DPD} days"):
        services.case_request_legal_review(case_id=case.pk, actor=agent, reason="Wilful")
    assert not Alert.objects.exists()


# --- assignment -----------------------------------------------------------------------------------


def test_a_supervisor_assigns_cases_by_hand_and_each_move_is_audited(
    alice, make_loan, supervisor, agent
):
    first, second = make_case(make_loan(alice)), make_case(make_loan(alice))
    assert (
        services.case_assign(case_ids=[second.pk, first.pk], agent_id=agent.pk, actor=supervisor)
        == 2
    )
    assert set(Case.objects.values_list("assigned_to", flat=True)) == {agent.pk}
    assert AuditEvent.objects.filter(action="case.assign").count() == 2
    assert services.case_assign(case_ids=[first.pk], agent_id=agent.pk, actor=supervisor) == 0


def test_an_agent_may_not_assign_cases(case, agent):
    with pytest.raises(NotAllowed, match="permission"):
        services.case_assign(case_ids=[case.pk], agent_id=agent.pk, actor=agent)


def test_cases_go_only_to_staff_who_may_work_them(case, supervisor, make_staff):
    auditor = make_staff("audrey", roles.AUDITOR)
    with pytest.raises(NotAllowed, match="may work cases"):
        services.case_assign(case_ids=[case.pk], agent_id=auditor.pk, actor=supervisor)


def test_closed_cases_are_not_assigned(case, supervisor, agent):
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.CLOSED, closed_on=yesterday())
    with pytest.raises(NotAllowed, match="Closed cases"):
        services.case_assign(case_ids=[case.pk], agent_id=agent.pk, actor=supervisor)


def test_automatic_assignment_balances_open_cases_across_agents(
    alice, product, make_staff, supervisor
):
    busy = make_staff("busy", roles.AGENT)
    make_staff("idle", roles.AGENT)
    gone = make_staff("gone", roles.AGENT)
    gone.is_active = False
    gone.save()
    cases = bulk_cases(alice, product, 10)
    Case.objects.filter(pk__in=[c.pk for c in cases[:4]]).update(assigned_to=busy)
    given = services.cases_assign_automatically(actor=supervisor)
    assert sum(given.values()) == 6
    counts = dict(Case.objects.values_list("assigned_to__username").annotate(n=Count("pk")))
    assert counts == {"busy": 5, "idle": 5}
    assert AuditEvent.objects.filter(action="case.assign_automatically").count() == 6


def test_automatic_assignment_gives_the_highest_priorities_out_first_and_alternately(
    alice, product, make_staff
):
    first, second = make_staff("ann", roles.AGENT), make_staff("ben", roles.AGENT)
    bulk_cases(alice, product, 4)
    services.cases_assign_automatically(actor=None, chunk_size=3)
    by_priority = list(
        Case.objects.order_by("-priority", "id").values_list("assigned_to", flat=True)
    )
    assert by_priority == [first.pk, second.pk, first.pk, second.pk]


def test_automatic_assignment_can_be_limited_to_a_selection(alice, product, make_staff, supervisor):
    make_staff("ann", roles.AGENT)
    cases = bulk_cases(alice, product, 5)
    chosen = Case.objects.filter(pk__in=[cases[0].pk, cases[1].pk])
    services.cases_assign_automatically(actor=supervisor, within=chosen)
    assert Case.objects.filter(assigned_to__isnull=False).count() == 2


@pytest.mark.parametrize("size", [12, 60])
def test_automatic_assignment_costs_the_same_queries_for_few_or_many_cases(
    alice, product, make_staff, size
):
    make_staff("ann", roles.AGENT), make_staff("ben", roles.AGENT)
    bulk_cases(alice, product, size)
    with CaptureQueriesContext(connection) as queries:
        services.cases_assign_automatically(actor=None, chunk_size=100)
    # agents, their counts, one chunk (select, lock, an update per agent, audits), empty select
    statements = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == 8, statements
    assert Case.objects.filter(assigned_to__isnull=True).count() == 0


def test_there_must_be_an_agent_to_assign_to(case, supervisor):
    with pytest.raises(NotAllowed, match="no active agent"):
        services.cases_assign_automatically(actor=supervisor)


def test_an_agent_may_not_run_the_automatic_assignment(case, agent):
    with pytest.raises(NotAllowed):
        services.cases_assign_automatically(actor=agent)


# --- reveals and call tasks -----------------------------------------------------------------------


def test_a_reveal_shows_the_full_numbers_and_is_audited(case, supervisor, alice):
    sister = emergency_contact(alice)
    revealed = services.borrower_identity_reveal(case_id=case.pk, actor=supervisor)
    assert revealed.mobile == alice.mobile and revealed.national_id == alice.national_id
    assert revealed.emergency_contacts == {sister.pk: sister.mobile}
    event = AuditEvent.objects.get(action="borrower.identity_reveal")
    assert event.actor == supervisor and event.object_id == str(alice.pk)
    assert event.after == {
        "case": case.pk,
        "shown": ["national_id", "mobile", "emergency_contacts"],
    }


def test_an_agent_without_the_reveal_permission_sees_nothing_and_nothing_is_audited(case, agent):
    with pytest.raises(NotAllowed):
        services.borrower_identity_reveal(case_id=case.pk, actor=agent)
    assert not AuditEvent.objects.filter(action="borrower.identity_reveal").exists()


def test_an_agent_marks_call_tasks_done(case, agent, alices_loan):
    task = CallTask.objects.create(loan=alices_loan, case=case, business_date=today(), rule="call")
    assert services.call_task_complete(task_ids=[task.pk], actor=agent) == 1
    task.refresh_from_db()
    assert task.status == CallTaskStatus.DONE and task.done_by == agent and task.done_at is not None
    with pytest.raises(NotAllowed, match="already done"):
        services.call_task_complete(task_ids=[task.pk], actor=agent)


# --- the priority score ---------------------------------------------------------------------------


def test_the_priority_explains_its_parts():
    why = priority_explain(overdue_amount=Decimal("12345.67"), days_past_due=45, broken_promises=2)
    assert (why.amount_points, why.days_points, why.promise_points) == (
        Decimal("12.34"),
        Decimal("45.00"),
        Decimal("40.00"),
    )
    assert why.score == Decimal("97.34")
    assert "¥12345.67" in why.text and "= 97.34" in why.text
    assert "+ 1 × days past due + 20 × broken promises" in priority_formula()


def test_the_priority_weights_are_settings(settings):
    settings.PORTAL_PRIORITY_WEIGHTS = {
        "amount": Decimal("2.5"),
        "days_past_due": Decimal("0"),
        "broken_promises": Decimal("7.25"),
    }
    assert priority_score(
        overdue_amount=Decimal("1000.00"), days_past_due=90, broken_promises=1
    ) == Decimal("9.75")


@pytest.mark.parametrize(
    "weights",
    [
        {"amount": Decimal("1"), "days_past_due": Decimal("1"), "broken_promises": Decimal("20")},
        {
            "amount": Decimal("3.33"),
            "days_past_due": Decimal("0.75"),
            "broken_promises": Decimal("12.5"),
        },
    ],
)
def test_the_database_expression_and_the_python_function_agree_to_the_cent(
    alice, product, settings, weights
):
    settings.PORTAL_PRIORITY_WEIGHTS = weights
    rng = random.Random(20260601)
    cases = bulk_cases(alice, product, 200)
    edge_amounts = [
        "0.00",
        "0.01",
        "999.99",
        "1000.00",
        "1000.01",
        "2999.99",
        "285.00",
        "1234.50",
        "999999999.99",
    ]
    for i, case in enumerate(cases):
        case.overdue_amount = (
            Decimal(edge_amounts[i])
            if i < len(edge_amounts)
            else Decimal(rng.randint(0, 10**8)) / 100
        )
        case.days_past_due = rng.randint(0, 400)
        case.broken_promises = rng.randint(0, 9)
    Case.objects.bulk_update(cases, ["overdue_amount", "days_past_due", "broken_promises"])

    Case.objects.update(priority=case_priority_expression())

    stored = dict(Case.objects.values_list("pk", "priority"))
    for case in cases:
        expected = priority_score(
            overdue_amount=case.overdue_amount,
            days_past_due=case.days_past_due,
            broken_promises=case.broken_promises,
        )
        assert stored[case.pk] == expected, (
            case.overdue_amount,
            case.days_past_due,
            case.broken_promises,
        )
