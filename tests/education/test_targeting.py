"""Which articles the dashboard recommends: a pure rule over the borrower's situation, the
situation read from the database in one query, and what was read is not recommended again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from debt_collections.models import HardshipRequest
from education import selectors
from education.models import ArticleRead, Audience
from education.selectors import (
    articles_read_by,
    reader_situation,
    reader_situations,
    recommended_articles,
)
from education.targeting import Situation, recommended_audiences
from loans import services as loan_services
from loans.models import Borrower, Segment
from tests.conftest import FIRST_DUE, age_through

A = Audience

# --- the rule, without a database --------------------------------------------------------


def test_a_borrower_who_pays_on_time_gets_articles_for_everyone():
    assert recommended_audiences(Situation()) == [A.EVERYONE]


def test_a_first_time_overdue_borrower_gets_the_credit_record_and_the_extension_first():
    situation = Situation(days_past_due=5, first_time_overdue=True)
    assert recommended_audiences(situation) == [A.FIRST_TIME_OVERDUE, A.OVERDUE, A.EVERYONE]


def test_a_borrower_overdue_again_is_not_told_about_the_first_time_extension():
    assert recommended_audiences(Situation(days_past_due=5)) == [A.OVERDUE, A.EVERYONE]


@pytest.mark.parametrize(("days", "long_overdue"), [(44, False), (45, True), (95, True)])
def test_restructuring_is_recommended_from_45_days_past_due(days, long_overdue):
    assert (A.LONG_OVERDUE in recommended_audiences(Situation(days_past_due=days))) is long_overdue


def test_hardship_and_small_business_add_their_own_help_in_order_of_urgency():
    situation = Situation(days_past_due=95, hardship=True, small_business=True)
    assert recommended_audiences(situation) == [
        A.LONG_OVERDUE, A.HARDSHIP, A.SMALL_BUSINESS, A.OVERDUE, A.EVERYONE]


def test_a_long_first_episode_gets_restructuring_first_and_then_the_extension():
    situation = Situation(days_past_due=50, first_time_overdue=True)
    assert recommended_audiences(situation)[:2] == [A.LONG_OVERDUE, A.FIRST_TIME_OVERDUE]


def test_first_time_without_anything_overdue_recommends_nothing_about_being_overdue():
    assert recommended_audiences(Situation(first_time_overdue=True)) == [A.EVERYONE]


# --- the situation, from the database ----------------------------------------------------


@pytest.fixture
def overdue_alice(alices_loan):
    age_through(alices_loan, FIRST_DUE, FIRST_DUE + dt.timedelta(days=14))
    return alices_loan


def test_a_borrower_with_a_fresh_loan_is_in_no_special_situation(alice, alices_loan):
    assert reader_situation(alice.pk) == Situation()


@pytest.mark.django_db
def test_a_borrower_without_loans_is_in_no_special_situation(bob):
    assert reader_situation(bob.pk) == Situation()


def test_the_first_overdue_bill_makes_a_first_time_overdue_borrower(alice, overdue_alice):
    assert reader_situation(alice.pk) == Situation(days_past_due=14, first_time_overdue=True)


def test_a_bill_that_was_overdue_before_means_it_is_not_the_first_time(alice, alices_loan):
    age_through(alices_loan, FIRST_DUE, FIRST_DUE + dt.timedelta(days=10))
    bill = alices_loan.installments.get(number=1)
    paid_on = FIRST_DUE + dt.timedelta(days=11)
    loan_services.payment_post(loan_id=alices_loan.pk, amount=bill.total_outstanding, channel="app",
                               idempotency_key="late-1", actor=None, business_date=paid_on)
    second_due = alices_loan.installments.get(number=2).due_date
    age_through(alices_loan, paid_on, second_due + dt.timedelta(days=10))
    situation = reader_situation(alice.pk)
    assert situation.days_past_due == 10 and not situation.first_time_overdue


def test_45_days_past_due_is_long_overdue(alice, alices_loan):
    age_through(alices_loan, FIRST_DUE, FIRST_DUE + dt.timedelta(days=45))
    situation = reader_situation(alice.pk)
    assert situation.days_past_due == 45 and A.LONG_OVERDUE in recommended_audiences(situation)


@pytest.mark.parametrize(("status", "flagged"), [
    ("submitted", True), ("under_review", True), ("offer_made", True), ("accepted", True),
    ("declined", True), ("withdrawn", False), ("rejected", False),
])
def test_a_hardship_request_flags_hardship_unless_withdrawn_or_rejected(alice, status, flagged):
    HardshipRequest.objects.create(borrower=alice, reason="unemployment", description="失业了",
                                   help_wanted=["grace_period"], status=status)
    assert reader_situation(alice.pk).hardship is flagged


@pytest.mark.django_db
def test_the_small_business_segment_makes_a_small_business_owner(bob):
    Borrower.objects.filter(pk=bob.pk).update(segment=Segment.SMALL_BUSINESS)
    assert reader_situation(bob.pk).small_business


def test_situations_of_many_borrowers_cost_one_query(alice, bob, overdue_alice, make_loan):
    make_loan(bob)
    with CaptureQueriesContext(connection) as one:
        reader_situations([alice.pk])
    with CaptureQueriesContext(connection) as both:
        situations = reader_situations([alice.pk, bob.pk])
    assert len(one.captured_queries) == len(both.captured_queries) == 1
    assert situations[alice.pk].first_time_overdue and not situations[bob.pk].first_time_overdue


# --- recommendations ---------------------------------------------------------------------


@pytest.fixture
def library(make_article):
    """One article per audience, in Chinese, and the credit-record one in English too."""
    made = {
        "credit-record": make_article("credit-record", title="征信记录", audiences=("first_time_overdue", "everyone")),
        "interest-free-extension": make_article("interest-free-extension", title="免息延期",
                                                audiences=("first_time_overdue",)),
        "restructuring-options": make_article("restructuring-options", title="重新安排还款",
                                              audiences=("long_overdue", "hardship")),
        "hardship-help": make_article("hardship-help", title="困难帮扶", audiences=("hardship",)),
        "small-business-support": make_article("small-business-support", title="小微企业主扶持",
                                               audiences=("small_business",)),
        "budgeting": make_article("budgeting", title="家庭预算", audiences=("everyone",)),
        "overdue-to-bad-debt": make_article("overdue-to-bad-debt", title="逾期怎样变成呆账", audiences=("overdue",)),
        "draft": make_article("draft-only", title="草稿", audiences=("first_time_overdue",), publish=False),
    }
    made["credit-record-en"] = make_article(
        "credit-record", language="en", title="Your credit record", summary="s", body="b",
        audiences=("first_time_overdue", "everyone"), translation_of=made["credit-record"])
    return made


def slugs(recommendations):
    return [r.article.slug for r in recommendations]


def test_a_first_time_overdue_borrower_is_recommended_the_credit_record_and_the_extension(
    alice, overdue_alice, library
):
    recommended = recommended_articles(borrower_id=alice.pk, language="zh-hans")
    assert set(slugs(recommended)[:2]) == {"credit-record", "interest-free-extension"}
    assert slugs(recommended)[2] == "overdue-to-bad-debt"
    assert recommended[0].audience == A.FIRST_TIME_OVERDUE and recommended[0].reason
    assert all(r.article.language == "zh-hans" and r.article.status == "published" for r in recommended)


def test_a_borrower_45_days_past_due_is_recommended_restructuring_first(alice, alices_loan, library):
    age_through(alices_loan, FIRST_DUE, FIRST_DUE + dt.timedelta(days=46))
    recommended = slugs(recommended_articles(borrower_id=alice.pk, language="zh-hans"))
    # Still the first episode: the extension comes next, then the credit record.
    assert recommended == ["restructuring-options", "interest-free-extension", "credit-record"]


def test_a_long_overdue_small_business_owner_sees_each_kind_of_help(alice, alices_loan, library):
    age_through(alices_loan, FIRST_DUE, FIRST_DUE + dt.timedelta(days=46))
    Borrower.objects.filter(pk=alice.pk).update(segment=Segment.SMALL_BUSINESS)
    recommended = slugs(recommended_articles(borrower_id=alice.pk, language="zh-hans"))
    assert recommended == ["restructuring-options", "interest-free-extension", "small-business-support"]


def test_hardship_and_small_business_owners_get_their_help(alice, library):
    HardshipRequest.objects.create(borrower=alice, reason="business_difficulty", description="生意不好",
                                   help_wanted=["grace_period"])
    Borrower.objects.filter(pk=alice.pk).update(segment=Segment.SMALL_BUSINESS)
    recommended = slugs(recommended_articles(borrower_id=alice.pk, language="zh-hans"))
    # Each part of the situation gets its newest article before any gets a second one.
    assert recommended == ["hardship-help", "small-business-support", "restructuring-options"]


def test_what_was_read_in_either_language_is_not_recommended_again(alice, overdue_alice, library):
    ArticleRead.objects.create(borrower=alice, article=library["credit-record-en"])
    assert "credit-record" not in slugs(recommended_articles(borrower_id=alice.pk, language="zh-hans"))
    assert "credit-record" not in slugs(recommended_articles(borrower_id=alice.pk, language="en"))


def test_recommendations_are_in_the_readers_language(alice, overdue_alice, library):
    assert slugs(recommended_articles(borrower_id=alice.pk, language="en")) == ["credit-record"]


def test_recommendations_cost_two_queries_however_many_articles(alice, overdue_alice, library, make_article):
    with CaptureQueriesContext(connection) as few:
        recommended_articles(borrower_id=alice.pk, language="zh-hans")
    for n in range(6):
        make_article(f"more-{n}", title=f"更多 {n}", audiences=("overdue", "everyone"))
    with CaptureQueriesContext(connection) as many:
        recommended_articles(borrower_id=alice.pk, language="zh-hans")
    assert len(few.captured_queries) == len(many.captured_queries) == 2


def test_the_dashboard_recommends_and_stops_once_the_article_is_read(
    client, alice, overdue_alice, library, monkeypatch
):
    monkeypatch.setattr("loans.views.business_today", lambda: FIRST_DUE + dt.timedelta(days=14))
    client.force_login(alice.user)
    dashboard = client.get(reverse("loans:dashboard")).text
    extension = library["interest-free-extension"]
    assert 'data-article="interest-free-extension"' in dashboard
    assert reverse("education:articles") in dashboard
    assert client.get(extension.get_absolute_url()).status_code == 200
    assert 'data-article="interest-free-extension"' not in client.get(reverse("loans:dashboard")).text


def test_articles_read_by_lists_what_a_borrower_read_and_when(client, alice, bob, library):
    client.force_login(alice.user)
    client.get(library["budgeting"].get_absolute_url())
    client.get(library["credit-record-en"].get_absolute_url())
    client.get(library["budgeting"].get_absolute_url())  # read again: still one row
    read = articles_read_by(alice.pk)
    assert [r.article.slug for r in read] == ["credit-record", "budgeting"]
    assert read[0].article.language == "en"
    assert read[0].first_read_at >= read[1].first_read_at
    assert articles_read_by(bob.pk) == []
    assert selectors.read_story_ids(alice.pk) == {library["budgeting"].pk, library["credit-record"].pk}
