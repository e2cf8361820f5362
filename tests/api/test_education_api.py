"""Articles and lectures: public reads in the reader's language, registration for borrowers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from education.models import ArticleRead

pytestmark = pytest.mark.django_db


def test_visitors_read_articles_in_their_language(api, make_article):
    zh = make_article()
    make_article("what-overdue-means-en", language="en", title="What overdue means", summary="Overdue.",
                 body="## Overdue\n\nCall us early.", translation_of=zh)
    chinese = api.get("/api/v1/articles/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"]
    english = api.get("/api/v1/articles/", HTTP_ACCEPT_LANGUAGE="en").json()["results"]
    assert [a["title"] for a in chinese] == ["逾期意味着什么"] and [a["title"] for a in english] == [
        "What overdue means"
    ]
    assert api.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="en").json()[0]["name"] == "Overdue basics"
    found = api.get("/api/v1/articles/", {"q": "逾期"}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"]
    assert len(found) == 1
    assert api.get("/api/v1/articles/", {"category": "nope"}).status_code == 400


def test_reading_an_article_as_a_borrower_is_remembered_once(as_alice, alice, make_article):
    article = make_article()
    url = f"/api/v1/articles/zh-hans/{article.slug}/"
    body = as_alice.get(url).json()
    assert "<h2>" in body["body_html"] and "<script" not in body["body_html"]
    as_alice.get(url)
    assert ArticleRead.objects.filter(borrower=alice).count() == 1
    assert as_alice.get("/api/v1/articles/").json()["results"][0]["read"] is True
    assert as_alice.get("/api/v1/articles/xx/whatever/").status_code == 404


def test_register_and_cancel_a_lecture_seat(as_alice, api, make_lecture):
    lecture = make_lecture()
    url = f"/api/v1/lectures/{lecture.pk}/registration/"
    assert api.post(url).status_code == 401
    registered = as_alice.post(url)
    assert registered.status_code == 201 and registered.json()["status"] == "registered"
    detail = as_alice.get(f"/api/v1/lectures/{lecture.pk}/").json()
    assert detail["registered"] is True and detail["join_url"] and detail["seats_left"] == 49
    assert api.get(f"/api/v1/lectures/{lecture.pk}/").json()["join_url"] is None
    cancelled = as_alice.delete(url)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert as_alice.delete(url).status_code == 409


def test_a_full_lecture_refuses_more(as_alice, as_bob, make_lecture):
    lecture = make_lecture(capacity=1)
    assert as_bob.post(f"/api/v1/lectures/{lecture.pk}/registration/").status_code == 201
    full = as_alice.post(f"/api/v1/lectures/{lecture.pk}/registration/")
    assert full.status_code == 409 and full.json()["error"]["code"] == "lecture_full"


def test_lectures_list_upcoming_and_recorded_past_ones(api, make_lecture):
    make_lecture("upcoming")
    make_lecture("past", starts_at=timezone.now() - dt.timedelta(days=2), recording_url="https://v.example.com/1")
    page = api.get("/api/v1/lectures/").json()
    assert [lecture["title"] for lecture in page["upcoming"]] == ["upcoming"]
    assert [lecture["title"] for lecture in page["past"]] == ["past"]
