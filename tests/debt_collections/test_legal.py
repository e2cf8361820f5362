"""Legal escalation: the recommendation's maths, assessments decided by someone else, legal
actions only after a "go", their hearings, judgment and measures, court recoveries posted once,
the legal-review queue and its cost, the admin pages per role, the case page's block."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from debt_collections import services
from debt_collections.legal import recommend
from debt_collections.models import (
    CaseClassification,
    CourtRecovery,
    LegalAction,
    LegalActionStatus,
    LegalAssessment,
    LegalAssessmentStatus,
    LegalRecommendation,
)
from loans.models import Channel, EntryKind, JournalEntry, LoanStatus, Payment
from loans.services import loan_write_off
from portal import roles
from portal.errors import DomainError, IdempotencyKeyReused, InvalidAmount, NotAllowed
from portal.models import AuditEvent
from tests.loans.test_write_off_books import WRITE_OFF_DAY, age_to_write_off, assert_books
from tests.threads import run_together

from .factories import bulk_cases, make_case

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
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
def legal_officer(make_staff: Any) -> Any:
    return make_staff("lena", roles.LEGAL_OFFICER)


@pytest.fixture
def second_officer(make_staff: Any) -> Any:
    return make_staff("leo", roles.LEGAL_OFFICER)


@pytest.fixture
def auditor(make_staff: Any) -> Any:
    return make_staff("audrey", roles.AUDITOR)


@pytest.fixture
def legal_case(alices_loan: Any) -> Any:
    """Alice's case, 75 days past due after four failed contacts: a legal-review candidate."""
    return make_case(
        alices_loan,
        days_past_due=75,
        failed_contacts=4,
        legal_review_candidate=True,
        classification=CaseClassification.WILFUL,
    )


def assess(case: Any, actor: Any, **overrides: Any) -> LegalAssessment:
    values: dict[str, Any] = {
        "win_probability": D("0.8"),
        "enforcement_difficulty": "low",
        "expected_recovery": D("9000.00"),
        "expected_cost": D("1500.00"),
        "classification": CaseClassification.WILFUL,
        "has_bank_accounts": True,
    }
    values.update(overrides)
    return services.legal_assessment_record(case_id=case.pk, actor=actor, **values)


def decided_go(case: Any, assessor: Any, decider: Any) -> LegalAssessment:
    assessment = assess(case, assessor)
    return services.legal_assessment_decide(
        assessment_id=assessment.pk, actor=decider, decision="go"
    )


def opened(case: Any, assessor: Any, decider: Any, **filing: Any) -> LegalAction:
    assessment = decided_go(case, assessor, decider)
    return services.legal_action_open(
        assessment_id=assessment.pk,
        actor=assessor,
        law_firm="金诚律师事务所",
        court="北京市朝阳区人民法院",
        **filing,
    )


def filed(case: Any, assessor: Any, decider: Any) -> LegalAction:
    return opened(
        case,
        assessor,
        decider,
        case_number="(2026)京0105民初1234号",
        filing_date=TODAY - dt.timedelta(days=30),
    )


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- the recommendation -----------------------------------------------------------------------------


def test_the_expected_net_recovery_is_probability_times_recovery_less_the_discount_less_the_cost():
    advice = recommend(
        win_probability=D("0.7"),
        expected_recovery=D("10000.00"),
        enforcement_difficulty="medium",
        expected_cost=D("1500.00"),
        classification=CaseClassification.WILFUL,
    )
    # 0.7 × 10,000 × (1 − 0.30) − 1,500 = 3,400 > 2,000
    assert advice.discount == D("0.30")
    assert advice.expected_net_recovery == D("3400.00")
    assert advice.recommendation == LegalRecommendation.GO
    assert "70 % × ¥10,000.00 × (1 − 30 %) − ¥1,500.00 = ¥3,400.00" in advice.explanation


def test_go_needs_strictly_more_than_the_minimum_net_recovery():
    def net_of(cost: str) -> str:
        return recommend(
            win_probability=D("1"),
            expected_recovery=D("5000.00"),
            enforcement_difficulty="low",
            expected_cost=D(cost),
            classification=CaseClassification.WILFUL,
        ).recommendation

    # 1 × 5,000 × 0.9 = 4,500: a cost of 2,500 leaves exactly 2,000, one fen less leaves more.
    assert net_of("2500.00") == LegalRecommendation.NO_GO
    assert net_of("2499.99") == LegalRecommendation.GO


def test_a_cost_above_the_expected_recovery_gives_a_negative_net_and_no_go():
    advice = recommend(
        win_probability=D("0.5"),
        expected_recovery=D("2000.00"),
        enforcement_difficulty="high",
        expected_cost=D("3000.00"),
        classification=CaseClassification.WILFUL,
    )
    assert advice.expected_net_recovery == D("-2600.00")  # 0.5 × 2,000 × 0.4 − 3,000
    assert advice.recommendation == LegalRecommendation.NO_GO


def test_a_borrower_in_hardship_is_recommended_a_restructuring_whatever_the_figures():
    advice = recommend(
        win_probability=D("1"),
        expected_recovery=D("500000.00"),
        enforcement_difficulty="low",
        expected_cost=D("0"),
        classification=CaseClassification.HARDSHIP,
    )
    assert advice.recommendation == LegalRecommendation.RESTRUCTURE
    assert advice.expected_net_recovery == D("450000.00")


def test_the_discounts_and_the_minimum_are_settings(settings):
    settings.PORTAL_LEGAL_ENFORCEMENT_DISCOUNTS = {
        "low": D("0"),
        "medium": D("0.5"),
        "high": D("0.9"),
    }
    settings.PORTAL_LEGAL_MIN_NET_RECOVERY = D("10000")
    advice = recommend(
        win_probability=D("1"),
        expected_recovery=D("12000.00"),
        enforcement_difficulty="medium",
        expected_cost=D("0"),
        classification=CaseClassification.WILFUL,
    )
    assert (advice.discount, advice.expected_net_recovery, advice.min_net_recovery) == (
        D("0.5"),
        D("6000.00"),
        D("10000"),
    )
    assert advice.recommendation == LegalRecommendation.NO_GO


def test_an_unknown_difficulty_or_a_probability_out_of_range_is_refused():
    with pytest.raises(ValueError):
        recommend(
            win_probability=D("0.5"),
            expected_recovery=D("1"),
            enforcement_difficulty="extreme",
            expected_cost=D("0"),
            classification="wilful",
        )
    with pytest.raises(ValueError):
        recommend(
            win_probability=D("1.5"),
            expected_recovery=D("1"),
            enforcement_difficulty="low",
            expected_cost=D("0"),
            classification="wilful",
        )


money = st.decimals(
    min_value=D("0"), max_value=D("1000000"), places=2, allow_nan=False, allow_infinity=False
)
probability = st.decimals(
    min_value=D("0"), max_value=D("1"), places=4, allow_nan=False, allow_infinity=False
)


@given(
    p=probability,
    q=probability,
    recovery=money,
    cost=money,
    difficulty=st.sampled_from(["low", "medium", "high"]),
)
def test_a_better_chance_of_winning_never_turns_a_go_into_a_no_go(p, q, recovery, cost, difficulty):
    low, high = sorted([p, q])

    def advice(chance: Decimal) -> Any:
        return recommend(
            win_probability=chance,
            expected_recovery=recovery,
            enforcement_difficulty=difficulty,
            expected_cost=cost,
            classification=CaseClassification.WILFUL,
        )

    worse, better = advice(low), advice(high)
    assert worse.expected_net_recovery <= better.expected_net_recovery
    assert not (
        worse.recommendation == LegalRecommendation.GO
        and better.recommendation != LegalRecommendation.GO
    )
    assert (better.recommendation == LegalRecommendation.GO) == (
        better.expected_net_recovery > D("2000")
    )


# --- assessments and decisions (maker-checker) --------------------------------------------------------


def test_a_legal_officer_records_an_assessment_with_its_recommendation_and_it_is_audited(
    legal_case, legal_officer
):
    assessment = assess(legal_case, legal_officer)
    # 0.8 × 9,000 × 0.9 − 1,500 = 4,980
    assert (assessment.status, assessment.recommendation) == (
        LegalAssessmentStatus.PENDING,
        LegalRecommendation.GO,
    )
    assert assessment.expected_net_recovery == D("4980.00") and assessment.min_net_recovery == D(
        "2000.00"
    )
    assert (assessment.days_past_due, assessment.assets_labels) == (75, ["bank accounts"])
    event = AuditEvent.objects.get(action="legal.assessment_record")
    assert event.actor == legal_officer and (event.after or {})["recommendation"] == "go"


def test_agents_supervisors_and_auditors_do_not_record_assessments(
    legal_case, agent, supervisor, auditor
):
    for someone in (agent, supervisor, auditor):
        with pytest.raises(NotAllowed, match="permission"):
            assess(legal_case, someone)
    assert not LegalAssessment.objects.exists()


def test_a_case_outside_the_legal_review_queue_is_not_assessed(alices_loan, legal_officer):
    case = make_case(alices_loan, days_past_due=75)
    with pytest.raises(NotAllowed, match="not up for legal review"):
        assess(case, legal_officer)


def test_a_requested_review_puts_the_case_up_for_assessment(alices_loan, legal_officer):
    case = make_case(alices_loan, days_past_due=65, legal_review_requested=True)
    assert assess(case, legal_officer).pk


def test_one_assessment_waits_for_a_decision_at_a_time(legal_case, legal_officer, second_officer):
    assess(legal_case, legal_officer)
    with pytest.raises(NotAllowed, match="already has an assessment waiting"):
        assess(legal_case, second_officer)


def test_the_assessor_cannot_decide_their_own_assessment(legal_case, legal_officer):
    assessment = assess(legal_case, legal_officer)
    with pytest.raises(NotAllowed, match="someone else must decide"):
        services.legal_assessment_decide(
            assessment_id=assessment.pk, actor=legal_officer, decision="go"
        )
    assert LegalAssessment.objects.get().status == LegalAssessmentStatus.PENDING


def test_the_database_refuses_a_decision_by_the_assessor_too(legal_case, legal_officer):
    assessment = assess(legal_case, legal_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        LegalAssessment.objects.filter(pk=assessment.pk).update(
            status="go", decided_by=legal_officer, decided_at=timezone.now()
        )


@pytest.mark.parametrize("decider_role", [roles.LEGAL_OFFICER, roles.SUPERVISOR])
def test_another_legal_officer_or_a_supervisor_decides(
    legal_case, legal_officer, make_staff, decider_role
):
    decider = make_staff("dana", decider_role)
    assessment = assess(legal_case, legal_officer)
    decided = services.legal_assessment_decide(
        assessment_id=assessment.pk, actor=decider, decision="go"
    )
    assert (decided.status, decided.decided_by) == (LegalAssessmentStatus.GO, decider)
    assert AuditEvent.objects.filter(action="legal.assessment_decide", actor=decider).count() == 1


def test_agents_and_auditors_do_not_decide(legal_case, legal_officer, agent, auditor):
    assessment = assess(legal_case, legal_officer)
    for someone in (agent, auditor):
        with pytest.raises(NotAllowed, match="permission"):
            services.legal_assessment_decide(
                assessment_id=assessment.pk, actor=someone, decision="no_go"
            )


def test_deciding_against_the_recommendation_needs_a_comment(legal_case, legal_officer, supervisor):
    assessment = assess(legal_case, legal_officer)  # recommends go
    with pytest.raises(DomainError, match="against the recommendation"):
        services.legal_assessment_decide(
            assessment_id=assessment.pk, actor=supervisor, decision="no_go"
        )
    decided = services.legal_assessment_decide(
        assessment_id=assessment.pk,
        actor=supervisor,
        decision="no_go",
        comment="The borrower just paid 30 %.",
    )
    assert decided.status == LegalAssessmentStatus.NO_GO


def test_a_borrower_in_hardship_is_never_taken_to_court(legal_case, legal_officer, supervisor):
    assessment = assess(legal_case, legal_officer, classification=CaseClassification.HARDSHIP)
    assert assessment.recommendation == LegalRecommendation.RESTRUCTURE
    with pytest.raises(NotAllowed, match="hardship"):
        services.legal_assessment_decide(
            assessment_id=assessment.pk, actor=supervisor, decision="go", comment="still go"
        )


def test_a_decided_assessment_is_not_decided_again(
    legal_case, legal_officer, supervisor, second_officer
):
    assessment = decided_go(legal_case, legal_officer, supervisor)
    with pytest.raises(NotAllowed, match="already decided"):
        services.legal_assessment_decide(
            assessment_id=assessment.pk,
            actor=second_officer,
            decision="no_go",
            comment="changed my mind",
        )


def test_after_a_no_go_the_case_may_be_assessed_again_but_not_after_a_go(
    legal_case, legal_officer, supervisor
):
    first = assess(legal_case, legal_officer, expected_recovery=D("1000.00"))  # no-go
    services.legal_assessment_decide(assessment_id=first.pk, actor=supervisor, decision="no_go")
    second = assess(legal_case, legal_officer)
    services.legal_assessment_decide(assessment_id=second.pk, actor=supervisor, decision="go")
    with pytest.raises(NotAllowed, match="already decided"):
        assess(legal_case, legal_officer)


def test_probabilities_and_amounts_are_checked(legal_case, legal_officer):
    with pytest.raises(DomainError, match="fraction from 0 to 1"):
        assess(legal_case, legal_officer, win_probability="1.2")
    with pytest.raises(InvalidAmount):
        assess(legal_case, legal_officer, expected_cost="-5")
    with pytest.raises(DomainError, match="classify"):
        assess(legal_case, legal_officer, classification=CaseClassification.UNKNOWN)


# --- the legal action ------------------------------------------------------------------------------


def test_a_legal_action_needs_a_go_decision(legal_case, legal_officer, supervisor):
    pending = assess(legal_case, legal_officer)
    with pytest.raises(NotAllowed, match="needs a “go” decision"):
        services.legal_action_open(
            assessment_id=pending.pk, actor=legal_officer, law_firm="A", court="B"
        )
    services.legal_assessment_decide(
        assessment_id=pending.pk, actor=supervisor, decision="no_go", comment="costly"
    )
    with pytest.raises(NotAllowed, match="needs a “go” decision"):
        services.legal_action_open(
            assessment_id=pending.pk, actor=legal_officer, law_firm="A", court="B"
        )
    assert not LegalAction.objects.exists()


def test_a_legal_action_is_opened_once_per_go_and_only_by_legal_officers(
    legal_case, legal_officer, supervisor
):
    assessment = decided_go(legal_case, legal_officer, supervisor)
    with pytest.raises(NotAllowed, match="permission"):
        services.legal_action_open(
            assessment_id=assessment.pk, actor=supervisor, law_firm="A", court="B"
        )
    action = services.legal_action_open(
        assessment_id=assessment.pk, actor=legal_officer, law_firm="A", court="B"
    )
    assert action.status == LegalActionStatus.OPEN and action.loan_id == legal_case.loan_id
    with pytest.raises(NotAllowed, match="already open"):
        services.legal_action_open(
            assessment_id=assessment.pk, actor=legal_officer, law_firm="A", court="B"
        )


def test_a_lawsuit_is_filed_heard_judged_and_enforced_in_that_order(
    legal_case, legal_officer, supervisor
):
    action = opened(legal_case, legal_officer, supervisor)
    filing = TODAY - dt.timedelta(days=40)
    with pytest.raises(NotAllowed, match="Record the filing"):
        services.legal_hearing_add(action_id=action.pk, actor=legal_officer, hearing_date=filing)
    services.legal_action_filing_record(
        action_id=action.pk,
        actor=legal_officer,
        case_number="(2026)京0105民初77号",
        filing_date=filing,
    )
    with pytest.raises(DomainError, match="before the filing date"):
        services.legal_hearing_add(
            action_id=action.pk, actor=legal_officer, hearing_date=filing - dt.timedelta(days=1)
        )
    services.legal_hearing_add(
        action_id=action.pk, actor=legal_officer, hearing_date=filing + dt.timedelta(days=10)
    )
    with pytest.raises(NotAllowed, match="already recorded"):
        services.legal_hearing_add(
            action_id=action.pk, actor=legal_officer, hearing_date=filing + dt.timedelta(days=10)
        )
    services.enforcement_measure_add(
        action_id=action.pk,
        actor=legal_officer,
        kind="account_freeze",
        ordered_on=filing,
        amount="8000.00",
    )
    with pytest.raises(NotAllowed, match="record the judgment first"):
        services.enforcement_measure_add(
            action_id=action.pk, actor=legal_officer, kind="income_deduction", ordered_on=TODAY
        )
    with pytest.raises(DomainError, match="amount awarded"):
        services.legal_judgment_record(
            action_id=action.pk, actor=legal_officer, judgment_date=TODAY, outcome="won"
        )

    judged = services.legal_judgment_record(
        action_id=action.pk,
        actor=legal_officer,
        judgment_date=TODAY - dt.timedelta(days=5),
        outcome="won",
        amount_awarded="9200.00",
    )

    assert (judged.status, judged.judgment_amount) == (LegalActionStatus.JUDGED, D("9200.00"))
    services.enforcement_measure_add(
        action_id=action.pk, actor=legal_officer, kind="income_deduction", ordered_on=TODAY
    )
    with pytest.raises(NotAllowed, match="already recorded"):
        services.legal_judgment_record(
            action_id=action.pk, actor=legal_officer, judgment_date=TODAY, outcome="lost"
        )
    with pytest.raises(NotAllowed, match="judgment is already given"):
        services.legal_hearing_add(action_id=action.pk, actor=legal_officer, hearing_date=TODAY)
    assert action.hearings.count() == 1 and action.measures.count() == 2
    assert {e.action for e in AuditEvent.objects.filter(action__startswith="legal.")} >= {
        "legal.action_open",
        "legal.filing_record",
        "legal.hearing_add",
        "legal.measure_add",
        "legal.judgment_record",
    }


def test_dates_in_the_future_are_refused(legal_case, legal_officer, supervisor):
    action = opened(legal_case, legal_officer, supervisor)
    with pytest.raises(DomainError, match="cannot be in the future"):
        services.legal_action_filing_record(
            action_id=action.pk,
            actor=legal_officer,
            case_number="X",
            filing_date=TODAY + dt.timedelta(days=1),
        )


# --- court recoveries ---------------------------------------------------------------------------------


def test_a_court_recovery_posts_one_court_payment_however_often_it_is_retried(
    legal_case, legal_officer, supervisor
):
    action = filed(legal_case, legal_officer, supervisor)
    recorded = services.court_recovery_record(
        action_id=action.pk,
        actor=legal_officer,
        amount="1500.00",
        received_on=TODAY,
        reference="EXE-2026-001",
    )
    again = services.court_recovery_record(
        action_id=action.pk,
        actor=legal_officer,
        amount="1500.00",
        received_on=TODAY,
        reference="EXE-2026-001",
    )
    assert again.pk == recorded.pk

    posted = [
        services.court_recovery_post(
            recovery_id=recorded.pk, actor=legal_officer, business_date=TODAY
        )
        for _ in range(3)
    ]

    [payment] = Payment.objects.filter(loan=legal_case.loan)
    assert {r.payment_id for r in posted} == {payment.pk}
    assert (
        payment.channel,
        payment.amount,
        payment.idempotency_key,
        payment.external_reference,
    ) == (Channel.COURT, D("1500.00"), f"court-recovery-{recorded.pk}", "EXE-2026-001")
    assert AuditEvent.objects.filter(action="legal.recovery_post").count() == 1
    assert AuditEvent.objects.filter(action="payment.post").count() == 1


def test_the_same_transfer_reference_with_another_amount_is_refused(
    legal_case, legal_officer, supervisor
):
    action = filed(legal_case, legal_officer, supervisor)
    services.court_recovery_record(
        action_id=action.pk,
        actor=legal_officer,
        amount="1500.00",
        received_on=TODAY,
        reference="EXE-1",
    )
    with pytest.raises(IdempotencyKeyReused):
        services.court_recovery_record(
            action_id=action.pk,
            actor=legal_officer,
            amount="1600.00",
            received_on=TODAY,
            reference="EXE-1",
        )
    assert CourtRecovery.objects.count() == 1


def test_a_refused_post_leaves_the_recovery_recorded_and_unposted(
    legal_case, legal_officer, supervisor
):
    action = filed(legal_case, legal_officer, supervisor)
    recovery = services.court_recovery_record(
        action_id=action.pk,
        actor=legal_officer,
        amount="99999.00",
        received_on=TODAY,
        reference="TOO-MUCH",
    )
    with pytest.raises(InvalidAmount):
        services.court_recovery_post(
            recovery_id=recovery.pk, actor=legal_officer, business_date=TODAY
        )
    recovery.refresh_from_db()
    assert recovery.payment_id is None and not Payment.objects.exists()


def test_only_legal_officers_record_and_post_recoveries(
    legal_case, legal_officer, supervisor, agent
):
    action = filed(legal_case, legal_officer, supervisor)
    for someone in (supervisor, agent):
        with pytest.raises(NotAllowed, match="permission"):
            services.court_recovery_record(
                action_id=action.pk, actor=someone, amount="10.00", received_on=TODAY, reference="R"
            )


def test_a_court_recovery_on_a_loan_written_off_meanwhile_posts_as_a_recovery_of_bad_debt(
    alices_loan, legal_officer, supervisor
):
    age_to_write_off(alices_loan)
    case = make_case(alices_loan, days_past_due=181, failed_contacts=5, legal_review_candidate=True)
    action = filed(case, legal_officer, supervisor)
    loan_write_off(
        loan_id=alices_loan.pk, business_date=WRITE_OFF_DAY, actor=supervisor, reason="bad debt"
    )
    recovery = services.court_recovery_record(
        action_id=action.pk,
        actor=legal_officer,
        amount="2000.00",
        received_on=TODAY,
        reference="FROZEN-ACCOUNT",
    )

    posted = services.court_recovery_post(
        recovery_id=recovery.pk, actor=legal_officer, business_date=WRITE_OFF_DAY
    )

    assert posted.payment is not None and posted.payment.channel == Channel.COURT
    kinds = set(JournalEntry.objects.filter(payment=posted.payment).values_list("kind", flat=True))
    assert kinds == {EntryKind.REINSTATEMENT, EntryKind.REPAYMENT}
    assert alices_loan.__class__.objects.get(pk=alices_loan.pk).status == LoanStatus.WRITTEN_OFF
    assert_books(alices_loan.pk)


# --- the queue --------------------------------------------------------------------------------------


def listed(response: Any) -> list[int]:
    import re

    return [
        int(pk)
        for pk in re.findall(
            r'class="legal-queue-row" data-case="(\d+)"', response.content.decode()
        )
    ]


def test_the_queue_lists_candidates_and_requested_cases_by_priority_until_an_action_opens(
    client, alice, make_loan, legal_officer, supervisor
):
    candidate = make_case(make_loan(alice), days_past_due=70, legal_review_candidate=True)
    requested = make_case(make_loan(alice), days_past_due=130, legal_review_requested=True)
    make_case(make_loan(alice), days_past_due=75)  # neither: not listed
    make_case(
        make_loan(alice),
        days_past_due=90,
        legal_review_candidate=True,
        status="closed",
        closed_on=TODAY,
    )  # closed: not listed
    client.force_login(legal_officer)
    queue = reverse("admin:collections_legal_queue")

    assert listed(client.get(queue)) == [requested.pk, candidate.pk]
    pending = assess(candidate, legal_officer)
    assert listed(client.get(queue, {"view": "to_decide"})) == [candidate.pk]
    assert listed(client.get(queue, {"view": "to_assess"})) == [requested.pk]
    services.legal_assessment_decide(assessment_id=pending.pk, actor=supervisor, decision="go")
    assert listed(client.get(queue, {"view": "to_open"})) == [candidate.pk]
    services.legal_action_open(
        assessment_id=pending.pk, actor=legal_officer, law_firm="A", court="B"
    )
    assert listed(client.get(queue)) == [requested.pk]
    no_go = assess(requested, legal_officer, expected_recovery=D("100.00"))
    services.legal_assessment_decide(assessment_id=no_go.pk, actor=supervisor, decision="no_go")
    assert listed(client.get(queue)) == []
    assert listed(client.get(queue, {"view": "no_go"})) == [requested.pk]


def test_the_queue_costs_the_same_queries_for_3_or_40_cases(client, alice, product, legal_officer):
    client.force_login(legal_officer)
    queue = reverse("admin:collections_legal_queue")

    def cost(rows: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(queue)
        assert response.status_code == 200 and len(listed(response)) == rows
        return len(queries)

    bulk_cases(alice, product, 3, legal_review_candidate=True)
    few = cost(3)
    bulk_cases(alice, product, 37, start=3, legal_review_requested=True)
    assert cost(40) == few


# --- the admin pages --------------------------------------------------------------------------------


def test_the_assessment_form_shows_the_recommendation_before_anything_is_saved(
    client, legal_case, legal_officer
):
    client.force_login(legal_officer)
    url = reverse("admin:collections_legal_assess", args=[legal_case.pk])
    figures = {
        "win_probability": "70",
        "enforcement_difficulty": "medium",
        "expected_recovery": "10000.00",
        "expected_cost": "1500.00",
        "classification": "wilful",
    }

    preview = client.post(url, {**figures, "_preview": "1"})

    assert preview.status_code == 200 and not LegalAssessment.objects.exists()
    page = text(preview)
    assert "Recommendation: Go: take legal action" in page and "= ¥3,400.00" in page
    shown = preview.context["fingerprint"]
    # Figures changed after the preview: shown again, not saved.
    changed = client.post(
        url, {**figures, "expected_cost": "9000.00", "shown": shown, "_save": "1"}
    )
    assert changed.status_code == 200 and not LegalAssessment.objects.exists()
    assert "No-go" in text(changed)

    saved = client.post(url, {**figures, "shown": shown, "_save": "1"})

    assessment = LegalAssessment.objects.get()
    assert saved.status_code == 302 and saved["Location"].endswith(f"/{assessment.pk}/change/")
    assert (assessment.win_probability, assessment.expected_net_recovery) == (
        D("0.7000"),
        D("3400.00"),
    )


def test_the_decision_page_lets_someone_else_decide_and_not_the_assessor(
    client, legal_case, legal_officer, second_officer
):
    assessment = assess(legal_case, legal_officer)
    page = reverse("admin:collections_legalassessment_change", args=[assessment.pk])
    decide = reverse("admin:collections_legalassessment_decide", args=[assessment.pk])
    client.force_login(legal_officer)
    own = client.get(page)
    assert own.status_code == 200 and not own.context["can_decide"]
    assert "someone else must decide" in text(client.post(decide, {"decision": "go"}))

    client.force_login(second_officer)
    assert client.get(page).context["can_decide"]
    assert client.post(decide, {"decision": "go"}).status_code == 302
    assert LegalAssessment.objects.get().decided_by == second_officer
    assert client.get(page).context["can_open"]


def test_the_legal_action_page_records_the_lawsuit_and_a_recovery_posted_once(
    client, legal_case, legal_officer, supervisor, monkeypatch
):
    monkeypatch.setattr("debt_collections.admin_legal.business_today", lambda: TODAY)
    assessment = decided_go(legal_case, legal_officer, supervisor)
    client.force_login(legal_officer)
    opened_page = client.post(
        reverse("admin:collections_legalassessment_open_action", args=[assessment.pk]),
        {"law_firm": "金诚律师事务所", "court": "朝阳区人民法院"},
    )
    action = LegalAction.objects.get()
    assert opened_page["Location"] == reverse(
        "admin:collections_legalaction_change", args=[action.pk]
    )

    def step(name: str, **data: str) -> Any:
        return client.post(reverse(f"admin:collections_legalaction_{name}", args=[action.pk]), data)

    day = (TODAY - dt.timedelta(days=20)).isoformat()
    assert step("filing", case_number="(2026)京0105民初9号", filing_date=day).status_code == 302
    assert (
        step("hearing", hearing_date=(TODAY - dt.timedelta(days=10)).isoformat()).status_code == 302
    )
    assert (
        step("measure", kind="account_freeze", ordered_on=day, amount="5000.00").status_code == 302
    )
    recovery = {"amount": "1200.00", "received_on": TODAY.isoformat(), "reference": "BANK-77"}
    assert step("recovery", **recovery).status_code == 302
    assert step("recovery", **recovery).status_code == 302  # a second click
    judged = step("judgment", judgment_date=TODAY.isoformat(), outcome="won")
    assert "Please give the amount awarded." in text(judged)  # refused, shown on its form

    page = client.get(reverse("admin:collections_legalaction_change", args=[action.pk]))
    assert page.status_code == 200
    assert [r.amount for r in page.context["recoveries"]] == [D("1200.00")]
    assert Payment.objects.get().channel == Channel.COURT


def test_the_case_page_shows_the_legal_and_write_off_block(
    client, legal_case, legal_officer, agent
):
    client.force_login(legal_officer)
    page = text(client.get(reverse("admin:collections_case_change", args=[legal_case.pk])))
    assert "Legal and write-off" in page and "In the legal-review queue" in page
    assert reverse("admin:collections_legal_assess", args=[legal_case.pk]) in page
    assess(legal_case, legal_officer)
    client.force_login(agent)
    page = text(client.get(reverse("admin:collections_case_change", args=[legal_case.pk])))
    assert "waiting for a decision" in page
    assert reverse("admin:collections_legal_assess", args=[legal_case.pk]) not in page


PAGES = {
    "queue": lambda case: reverse("admin:collections_legal_queue"),
    "assess": lambda case: reverse("admin:collections_legal_assess", args=[case.pk]),
    "assessments": lambda case: reverse("admin:collections_legalassessment_changelist"),
    "actions": lambda case: reverse("admin:collections_legalaction_changelist"),
}
EXPECTED = {
    roles.LEGAL_OFFICER: {"queue": 200, "assess": 200, "assessments": 200, "actions": 200},
    roles.SUPERVISOR: {"queue": 200, "assess": 403, "assessments": 200, "actions": 200},
    roles.AGENT: {"queue": 200, "assess": 403, "assessments": 200, "actions": 200},
    roles.AUDITOR: {"queue": 200, "assess": 403, "assessments": 200, "actions": 200},
    roles.EDITOR: {"queue": 403, "assess": 403, "assessments": 403, "actions": 403},
}
ROLE_PAGES = [
    (role, page, status) for role, pages in EXPECTED.items() for page, status in pages.items()
]


@pytest.mark.parametrize(
    ("role", "page", "status"), ROLE_PAGES, ids=[f"{r}-{p}" for r, p, _ in ROLE_PAGES]
)
def test_each_role_reaches_the_legal_pages_it_needs(
    client, make_staff, legal_case, role, page, status
):
    client.force_login(make_staff("someone", role))
    assert client.get(PAGES[page](legal_case)).status_code == status


# --- at the same moment (real threads and transactions, on SQLite and PostgreSQL) ---------------------


@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_court_recovery_at_the_same_moment_post_one_payment(
    legal_case, legal_officer, supervisor
):
    action = filed(legal_case, legal_officer, supervisor)
    recovery = services.court_recovery_record(
        action_id=action.pk,
        actor=legal_officer,
        amount="800.00",
        received_on=TODAY,
        reference="EXE-SAME",
    )

    outcomes = run_together(
        3,
        lambda _: services.court_recovery_post(
            recovery_id=recovery.pk, actor=legal_officer, business_date=TODAY
        ),
    )

    assert all(isinstance(o, CourtRecovery) for o in outcomes), outcomes
    [payment] = Payment.objects.all()
    assert {o.payment_id for o in outcomes} == {payment.pk}
    assert JournalEntry.objects.filter(kind=EntryKind.REPAYMENT).count() == 1
