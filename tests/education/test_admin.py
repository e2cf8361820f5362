"""Editors work in the admin's Education section; every save goes through the services and is
audited, published articles are read-only there, and nothing is deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from education.models import Article, ArticleStatus, Category, Lecture
from portal import roles
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

NO_INLINE = {"transitions-TOTAL_FORMS": "0", "transitions-INITIAL_FORMS": "0"}


def article_form(category, **changes):
    data = {
        "title": "还款渠道", "slug": "repayment-channels", "language": "zh-hans", "translation_of": "",
        "summary": "官方还款渠道。", "body": "## 在线还款\n\n登录后点“还款”。",
        "categories": [category.pk], "audiences": ["everyone", "overdue"], **NO_INLINE,
    }
    data.update(changes)
    return data


def test_an_editor_writes_a_draft_in_the_admin_and_it_is_audited(client, editor, category):
    client.force_login(editor)
    response = client.post(reverse("admin:education_article_add"), article_form(category))
    assert response.status_code == 302, response.content.decode()[:2000]
    article = Article.objects.get(slug="repayment-channels")
    assert article.status == ArticleStatus.DRAFT and article.created_by == editor
    assert set(article.audiences.values_list("audience", flat=True)) == {"everyone", "overdue"}
    assert list(article.categories.all()) == [category]
    event = AuditEvent.objects.get(action="education.article.create")
    assert event.actor == editor and event.object_id == str(article.pk)


def test_the_admin_form_refuses_what_the_service_refuses(client, editor, category, make_article):
    make_article("repayment-channels")
    client.force_login(editor)
    response = client.post(reverse("admin:education_article_add"), article_form(category, title="<b>x</b>"))
    assert response.status_code == 200 and "errornote" in response.text
    response = client.post(reverse("admin:education_article_add"), article_form(category))
    assert response.status_code == 200 and Article.objects.filter(slug="repayment-channels").count() == 1


def test_an_editor_changes_a_draft_in_the_admin(client, editor, category, make_article):
    article = make_article("repayment-channels", publish=False)
    client.force_login(editor)
    url = reverse("admin:education_article_change", args=[article.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, article_form(category, title="怎样还款", audiences=["overdue"]))
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.title == "怎样还款"
    assert AuditEvent.objects.filter(action="education.article.update", actor=editor).exists()


def test_a_published_article_is_read_only_in_the_admin(client, editor, category, make_article):
    article = make_article("repayment-channels")
    client.force_login(editor)
    url = reverse("admin:education_article_change", args=[article.pk])
    page = client.get(url).text
    assert 'name="_save"' not in page and 'name="title"' not in page
    assert reverse("admin:education_article_preview", args=[article.pk]) in page
    client.post(url, article_form(category, title="偷偷改掉"))
    article.refresh_from_db()
    assert article.title == "逾期意味着什么"


def test_nothing_is_deleted_in_the_admin(client, editor, make_article, make_lecture):
    from django.contrib.auth import get_user_model

    article = make_article()
    lecture = make_lecture()
    superuser = get_user_model().objects.create_superuser("root", password="root-pass-2026")
    for user in (editor, superuser):
        client.force_login(user)
        assert client.get(reverse("admin:education_article_delete", args=[article.pk])).status_code == 403
        assert client.get(reverse("admin:education_lecture_delete", args=[lecture.pk])).status_code == 403
    assert Article.objects.filter(pk=article.pk).exists()


def test_an_editor_adds_a_category_and_a_lecture_through_the_services(client, editor):
    client.force_login(editor)
    response = client.post(reverse("admin:education_category_add"), {
        "slug": "money-skills", "name_zh": "理财与预算", "name_en": "Money skills", "position": 50})
    assert response.status_code == 302
    assert Category.objects.filter(slug="money-skills").exists()
    starts = timezone.localtime(timezone.now() + dt.timedelta(days=5))
    response = client.post(reverse("admin:education_lecture_add"), {
        "title": "读懂你的信用报告", "speaker": "周敏", "language": "zh-hans", "description": "讲解信用报告。",
        "starts_at_0": starts.strftime("%Y-%m-%d"), "starts_at_1": "19:30:00", "duration_minutes": 60,
        "capacity": 100, "join_url": "https://live.example.com/credit", "recording_url": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    lecture = Lecture.objects.get()
    assert timezone.localtime(lecture.starts_at).strftime("%H:%M") == "19:30"
    assert set(AuditEvent.objects.filter(actor=editor, action__startswith="education.")
               .values_list("action", flat=True)) == {
        "education.category.create", "education.lecture.create"}


def test_the_lecture_admin_refuses_a_dangerous_joining_link(client, editor):
    client.force_login(editor)
    starts = timezone.localtime(timezone.now() + dt.timedelta(days=5))
    response = client.post(reverse("admin:education_lecture_add"), {
        "title": "讲座", "speaker": "周敏", "language": "zh-hans", "description": "介绍",
        "starts_at_0": starts.strftime("%Y-%m-%d"), "starts_at_1": "19:30:00", "duration_minutes": 60,
        "capacity": 100, "join_url": "javascript:alert(1)", "recording_url": ""})
    assert response.status_code == 200 and not Lecture.objects.exists()


def test_other_staff_do_not_see_the_education_section(client, make_staff):
    client.force_login(make_staff("agnes", roles.AGENT))
    assert client.get(reverse("admin:education_article_changelist")).status_code == 403
    assert client.get(reverse("admin:education_article_add")).status_code == 403


def test_the_workflow_page_shows_the_history(client, editor, make_article):
    article = make_article()
    client.force_login(editor)
    page = client.get(reverse("admin:education_article_workflow", args=[article.pk])).text
    assert page.count("<tr><td>") == 2  # draft → in review → published
    assert 'value="archive"' in page
