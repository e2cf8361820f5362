"""The demo content: at least ten Chinese articles each with its English translation, three
lectures, all through the services, and nothing twice however often the seeding runs."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.test import Client

from education import demo
from education.models import Article, ArticleStatus, ArticleTransition, Category, Lecture
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 31)
TOPICS = {
    "overdue-to-bad-debt", "credit-record", "repayment-channels", "interest-free-extension",
    "hardship-help", "legal-consequences", "budgeting", "collection-scams", "rights-in-collection",
}


@pytest.fixture
def seeded():
    return demo.seed_education(as_of=AS_OF)


def test_seeding_twice_creates_nothing_twice(seeded):
    counts = (Category.objects.count(), Article.objects.count(), Lecture.objects.count(),
              ArticleTransition.objects.count(), AuditEvent.objects.count())
    again = demo.seed_education(as_of=AS_OF + dt.timedelta(days=3))
    assert (again.categories, again.articles, again.lectures) == (0, 0, 0)
    assert counts == (Category.objects.count(), Article.objects.count(), Lecture.objects.count(),
                      ArticleTransition.objects.count(), AuditEvent.objects.count())
    assert (seeded.categories, seeded.lectures) == (5, 3) and seeded.articles == Article.objects.count()


def test_seeding_again_never_undoes_what_editors_changed(seeded, editor):
    from education import services

    article = Article.objects.get(slug="budgeting", language="en")
    services.article_archive(article_id=article.pk, actor=editor)
    Lecture.objects.filter(title__startswith="读懂").update(title="读懂信用报告（改期）")
    again = demo.seed_education(as_of=AS_OF)
    assert again.skipped == ["articles", "lectures"]
    assert Article.objects.get(pk=article.pk).status == ArticleStatus.ARCHIVED
    assert Article.objects.filter(slug="budgeting", language="en").count() == 1
    assert Lecture.objects.count() == 3


def test_at_least_ten_chinese_articles_each_with_an_english_translation(seeded):
    chinese = Article.objects.filter(language="zh-hans", translation_of__isnull=True)
    assert chinese.count() >= 10
    for original in chinese:
        english = original.translations.get()
        assert english.language == "en" and english.slug == original.slug
        assert set(english.categories.all()) == set(original.categories.all())
        assert set(english.audiences.values_list("audience", flat=True)) == set(
            original.audiences.values_list("audience", flat=True))
    assert TOPICS <= set(chinese.values_list("slug", flat=True))
    assert not Article.objects.exclude(status=ArticleStatus.PUBLISHED).exists()
    assert demo.seed_articles_in("zh-hans")[0].title  # every file parses
    assert all(a.published_at is not None and a.reading_minutes >= 1 for a in Article.objects.all())


def test_every_situation_the_dashboard_targets_has_an_article(seeded):
    for audience in ("first_time_overdue", "long_overdue", "hardship", "small_business", "overdue", "everyone"):
        for language in ("zh-hans", "en"):
            assert Article.objects.filter(audiences__audience=audience, language=language).exists(), (
                audience,
                language,
            )


def test_every_link_in_the_seed_articles_leads_somewhere(seeded):
    client = Client()
    links: set[str] = set()
    for article in Article.objects.all():
        html = str(article.body_html)
        links |= set(re.findall(r'href="(/[^"]*)"', html))
        for link in re.findall(r'href="(/learn/[^"]*)"', html):
            assert f"/learn/{article.language}/" in link, (article, link)
    assert "/my/hardship/" in links
    for link in sorted(links):
        response = client.get(link)
        assert response.status_code in (200, 302), link  # 302: sign-in first


def test_the_seed_articles_are_written_out_not_placeholders(seeded):
    for article in Article.objects.all():
        assert len(article.body) > (700 if article.language == "zh-hans" else 2000), article
        assert "lorem" not in article.body.lower() and "TODO" not in article.body
    facts = Article.objects.get(slug="credit-record", language="zh-hans").body
    assert "《征信业管理条例》" in facts and "5 年" in facts and "每年有两次免费" in facts
    extension = Article.objects.get(slug="interest-free-extension", language="en").body
    assert "once per borrower, for life" in extension and "first time overdue" in extension
    bad_debt = Article.objects.get(slug="overdue-to-bad-debt", language="en").body
    for days in ("30", "60", "90", "180"):
        assert f"day {days}" in bad_debt.lower() or f"{days} days" in bad_debt


def test_three_lectures_two_coming_and_one_with_a_recording(seeded):
    lectures = list(Lecture.objects.order_by("starts_at"))
    assert len(lectures) == 3
    past, *coming = lectures
    assert past.recording_url and past.starts_at.date() < AS_OF
    assert all(lecture.starts_at.date() > AS_OF and not lecture.recording_url for lecture in coming)


def test_seed_demo_adds_the_education_content_even_to_a_database_with_loans(alices_loan):
    out = io.StringIO()
    call_command("seed_demo", if_empty=True, as_of=AS_OF, stdout=out)
    assert "nothing seeded" in out.getvalue() and "Education:" in out.getvalue()
    assert Article.objects.filter(language="zh-hans").count() >= 10
    call_command("seed_demo", if_empty=True, as_of=AS_OF, stdout=io.StringIO())
    assert Lecture.objects.count() == 3
