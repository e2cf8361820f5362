"""Search over titles and text: PostgreSQL full-text search plus a containment match (Chinese
has no spaces between words), containment alone on SQLite. The same tests run on both."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from education.selectors import article_list, search_terms

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(make_article):
    return {
        "overdue": make_article(
            "overdue-to-bad-debt",
            title="逾期是怎样一步步变成呆账的",
            summary="各个阶段会发生什么。",
            body="错过还款日之后，罚息每天都会增加。越早处理越好。",
        ),
        "credit": make_article(
            "credit-record",
            title="征信记录会保留多久",
            summary="不良信息保存五年。",
            body="账单逾期满 30 天会报送征信中心。",
        ),
        "scams": make_article(
            "collection-scams",
            title="如何识别催收诈骗",
            summary="我们从不让你转账到个人账户。",
            body="冒充客服、冒充法院的骗局。",
        ),
        "en-repay": make_article(
            "repayment-channels",
            language="en",
            title="How to repay",
            summary="Our official channels.",
            body="Repayments made by bank transfer need the RP reference code.",
        ),
        "en-credit": make_article(
            "credit-record",
            language="en",
            title="Your credit record",
            summary="How long an overdue record stays.",
            body="Negative information is kept for five years after repayment.",
        ),
        "draft": make_article("draft-overdue", title="逾期草稿", publish=False),
    }


def found(language, query, category=None):
    return [a.slug for a in article_list(language=language, query=query, category=category)]


def test_a_chinese_word_inside_a_sentence_is_found(articles):
    # "逾期" is in the middle of runs of Chinese text with no spaces around it.
    assert set(found("zh-hans", "逾期")) == {"overdue-to-bad-debt", "credit-record"}


def test_a_chinese_phrase_from_the_body_is_found(articles):
    assert found("zh-hans", "罚息") == ["overdue-to-bad-debt"]
    assert found("zh-hans", "个人账户") == ["collection-scams"]


def test_every_term_must_match_somewhere(articles):
    assert found("zh-hans", "逾期 征信") == ["credit-record"]
    assert found("zh-hans", "逾期 诈骗") == []


def test_a_match_in_the_title_comes_first(articles, make_article):
    make_article("budgeting", title="家庭预算", summary="先保生活。", body="呆账的风险来自长期逾期。")
    results = found("zh-hans", "呆账")
    assert results[0] == "overdue-to-bad-debt" and "budgeting" in results


def test_english_searches_find_english_articles_case_insensitively(articles):
    assert found("en", "CREDIT record") == ["credit-record"]
    assert found("en", "rp reference") == ["repayment-channels"]


def test_search_stays_in_the_readers_language_and_shows_only_published_articles(articles):
    assert found("en", "逾期") == []
    assert "draft-overdue" not in found("zh-hans", "草稿")


def test_wildcards_in_a_query_are_plain_text(articles):
    assert found("zh-hans", "%") == [] and found("zh-hans", "_") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="stemming needs PostgreSQL full-text search")
def test_on_postgresql_an_english_word_is_found_in_another_form(articles):
    assert "repayment-channels" in found("en", "repaying")  # stem "repay" matches "Repayments"
    assert "credit-record" in found("en", "records")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_on_postgresql_websearch_syntax_is_safe(articles):
    assert found("en", '"credit record" -scam') == ["credit-record"]
    assert found("en", 'credit OR "') is not None  # never a syntax error


def test_search_terms_are_split_on_any_space_and_limited():
    assert search_terms("逾期　征信  credit") == ["逾期", "征信", "credit"]
    assert len(search_terms(" ".join(f"w{i}" for i in range(20)))) == 8
    assert search_terms("   ") == []


def test_the_list_page_searches_and_says_how_many_were_found(client, articles):
    page = client.get(reverse("education:articles"), {"q": "逾期"}).text
    assert 'data-article="overdue-to-bad-debt"' in page and 'data-article="credit-record"' in page
    assert 'data-article="collection-scams"' not in page
    assert 'value="逾期"' in page


def test_a_search_with_no_result_says_so_kindly(client, articles):
    page = client.get(reverse("education:articles"), {"q": "不存在的词"}).text
    assert 'class="card article-item"' not in page
    assert "No article matches your search" in page or "没有" in page
