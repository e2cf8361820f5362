"""Borrower pages: public articles, reading remembered for signed-in borrowers, the editors'
preview, and a fixed number of queries on every list page whatever the amount of content."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from education import services
from education.models import ArticleRead
from portal import roles
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_articles_are_public(client, make_article):
    article = make_article()
    listing = client.get(reverse("education:articles"))
    assert listing.status_code == 200 and f'data-article="{article.slug}"' in listing.text
    page = client.get(article.get_absolute_url())
    assert page.status_code == 200 and "什么是逾期" in page.text and article.summary in page.text
    assert reverse("education:articles") in client.get(reverse("portal:sign-in")).text  # the nav link


def test_drafts_and_archived_articles_are_not_found(client, make_article, editor):
    draft = make_article("a-draft", publish=False)
    assert client.get(draft.get_absolute_url()).status_code == 404
    archived = make_article("archived")
    services.article_archive(article_id=archived.pk, actor=editor)
    assert client.get(archived.get_absolute_url()).status_code == 404
    assert 'data-article="archived"' not in client.get(reverse("education:articles")).text


def test_an_article_links_to_its_translation(client, make_article):
    original = make_article("credit-record")
    english = make_article("credit-record", language="en", title="Your credit record", summary="s",
                           body="b", translation_of=original)
    assert english.get_absolute_url() in client.get(original.get_absolute_url()).text
    assert original.get_absolute_url() in client.get(english.get_absolute_url()).text


def test_the_list_shows_the_articles_of_the_page_language_by_category(client, make_article, category):
    from education.services import category_create

    other = category_create(actor=None, slug="money-skills", name_zh="理财与预算", name_en="Money skills")
    make_article("budgeting", title="家庭预算", categories=(other,))
    make_article("what-overdue-means")
    make_article("budgeting", language="en", title="Budgeting", summary="s", body="b", categories=(other,))
    page = client.get(reverse("education:category", args=["money-skills"])).text
    assert 'data-article="budgeting"' in page and 'data-article="what-overdue-means"' not in page
    assert "家庭预算" in page and ">Budgeting<" not in page
    client.cookies["django_language"] = "en"
    english = client.get(reverse("education:articles")).text
    assert ">Budgeting<" in english and "家庭预算" not in english
    assert client.get(reverse("education:category", args=["no-such-topic"])).status_code == 404


def test_reading_while_signed_in_as_a_borrower_is_remembered_once(client, make_article, alice):
    article = make_article()
    client.force_login(alice.user)
    client.get(article.get_absolute_url())
    client.get(article.get_absolute_url())
    read = ArticleRead.objects.get()
    assert (read.borrower, read.article) == (alice, article)
    assert AuditEvent.objects.filter(action="education.article.read").count() == 1
    assert '<span class="badge paid">' in client.get(reverse("education:articles")).text


def test_reading_as_a_visitor_or_staff_is_not_recorded(client, make_article, charlie):
    article = make_article()
    client.get(article.get_absolute_url())
    client.force_login(charlie)
    client.get(article.get_absolute_url())
    assert not ArticleRead.objects.exists()


def test_the_preview_shows_a_draft_as_borrowers_will_see_it(client, make_article, editor, make_staff):
    draft = make_article("draft-article", publish=False, body="## 草稿小标题\n\n草稿正文。")
    url = reverse("admin:education_article_preview", args=[draft.pk])
    client.force_login(editor)
    page = client.get(url)
    assert page.status_code == 200
    assert "<h2>草稿小标题</h2>" in page.text and 'class="preview-banner"' in page.text
    assert '<link rel="stylesheet" href="/static/css/portal.css">' in page.text  # the borrower layout
    client.force_login(make_staff("agnes", roles.AGENT))
    assert client.get(url).status_code == 403
    assert not ArticleRead.objects.exists()


# --- fixed query counts ------------------------------------------------------------------


def count_queries(client, url, params=None):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, response
    return len(ctx.captured_queries)


def add_articles(make_article, category, start, count):
    for n in range(start, start + count):
        original = make_article(f"article-{n}", title=f"文章 {n} 逾期", audiences=("everyone", "overdue"))
        make_article(f"article-{n}", language="en", title=f"Article {n}", summary="s", body="b",
                     translation_of=original)


def add_lectures(make_lecture, alice, start, count):
    from education.services import lecture_register

    for n in range(start, start + count):
        upcoming = make_lecture(f"讲座 {n}")
        lecture_register(lecture_id=upcoming.pk, borrower_id=alice.pk, actor=alice.user)
        make_lecture(f"往期 {n}", starts_at=timezone.now() - dt.timedelta(days=n + 2),
                     recording_url=f"https://video.example.com/{n}")


PAGES = [
    ("education:articles", [], {}),
    ("education:articles", [], {"q": "逾期"}),
    ("education:category", ["overdue-basics"], {}),
    ("education:lectures", [], {}),
]


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "borrower"])
@pytest.mark.parametrize(("name", "args", "params"), PAGES, ids=["list", "search", "category", "lectures"])
def test_list_pages_cost_the_same_queries_for_more_content(
    client, django_assert_num_queries, make_article, make_lecture, category, alice, signed_in, name, args, params
):
    if signed_in:
        client.force_login(alice.user)
    url = reverse(name, args=args)
    add_articles(make_article, category, 0, 2)
    add_lectures(make_lecture, alice, 0, 1)
    baseline = count_queries(client, url, params)
    add_articles(make_article, category, 2, 10)
    add_lectures(make_lecture, alice, 1, 6)
    with django_assert_num_queries(baseline):
        page = client.get(url, params)
    assert page.status_code == 200 and 'data-article="article-11"' in page.text or name == "education:lectures"


def test_the_article_page_costs_the_same_queries_with_more_categories_and_reads(
    client, django_assert_num_queries, make_article, category, alice
):
    from education.services import category_create

    client.force_login(alice.user)
    article = make_article("main")
    client.get(article.get_absolute_url())  # the first read writes; later reads only check
    baseline = count_queries(client, article.get_absolute_url())
    extra = [category_create(actor=None, slug=f"topic-{n}", name_zh=f"主题{n}", name_en=f"Topic {n}")
             for n in range(5)]
    richer = make_article("richer", categories=(category, *extra))
    make_article("richer", language="en", title="Richer", summary="s", body="b", translation_of=richer)
    client.get(richer.get_absolute_url())
    with django_assert_num_queries(baseline):
        client.get(richer.get_absolute_url())


def test_the_dashboard_costs_the_same_queries_with_more_articles(
    client, django_assert_num_queries, make_article, category, alice, alices_loan, monkeypatch
):
    monkeypatch.setattr("loans.views.business_today", lambda: dt.date(2026, 3, 1))
    client.force_login(alice.user)
    add_articles(make_article, category, 0, 2)
    baseline = count_queries(client, reverse("loans:dashboard"))
    add_articles(make_article, category, 2, 10)
    with django_assert_num_queries(baseline):
        client.get(reverse("loans:dashboard"))
