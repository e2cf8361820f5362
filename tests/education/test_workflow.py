"""The editorial workflow: draft → in review → published → archived, as declared, by whoever
holds the permission, with a history row and an audit event for every move."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from education import services
from education.models import Article, ArticleStatus, ArticleTransition
from portal import roles
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db


def draft(make_article, slug="what-overdue-means", **kwargs):
    return make_article(slug, publish=False, **kwargs)


def test_an_editor_takes_an_article_from_draft_to_archived(make_article, editor):
    article = draft(make_article)
    assert article.status == ArticleStatus.DRAFT and article.published_at is None
    services.article_submit(article_id=article.pk, actor=editor, note="请审阅")
    published = services.article_publish(article_id=article.pk, actor=editor)
    assert published.status == ArticleStatus.PUBLISHED and published.published_at is not None
    archived = services.article_archive(article_id=article.pk, actor=editor)
    assert archived.status == ArticleStatus.ARCHIVED
    history = list(ArticleTransition.objects.filter(article=article, actor=editor).values_list(
        "from_status", "to_status", "note"))
    assert history == [("draft", "in_review", "请审阅"), ("in_review", "published", ""),
                       ("published", "archived", "")]
    actions = list(AuditEvent.objects.filter(object_type="education.article", object_id=str(article.pk),
                                             actor=editor).order_by("id").values_list("action", flat=True))
    assert actions == ["education.article.submit", "education.article.publish", "education.article.archive"]


def test_a_writer_without_the_publish_permission_cannot_publish(make_article, writer):
    article = draft(make_article)
    services.article_submit(article_id=article.pk, actor=writer)
    assert writer.has_perm("education.change_article")
    with pytest.raises(NotAllowed):
        services.article_publish(article_id=article.pk, actor=writer)
    article.refresh_from_db()
    assert article.status == ArticleStatus.IN_REVIEW and article.published_at is None
    assert not ArticleTransition.objects.filter(article=article, to_status="published").exists()


def test_a_writer_cannot_archive_a_published_article_either(make_article, writer):
    article = make_article()
    with pytest.raises(NotAllowed):
        services.article_archive(article_id=article.pk, actor=writer)


def test_a_writer_cannot_publish_through_the_admin(client, make_article, writer):
    article = draft(make_article)
    services.article_submit(article_id=article.pk, actor=writer)
    client.force_login(writer)
    changelist = client.get(reverse("admin:education_article_changelist")).text
    assert 'value="submit_for_review"' in changelist and 'value="publish"' not in changelist
    workflow_url = reverse("admin:education_article_workflow", args=[article.pk])
    assert 'value="publish"' not in client.get(workflow_url).text
    client.post(workflow_url, {"move": "publish", "note": ""})
    client.post(reverse("admin:education_article_changelist"),
                {"action": "publish", "_selected_action": [article.pk]})
    article.refresh_from_db()
    assert article.status == ArticleStatus.IN_REVIEW


def test_an_editor_publishes_through_the_admin_workflow_page(client, make_article, editor):
    article = draft(make_article)
    client.force_login(editor)
    url = reverse("admin:education_article_workflow", args=[article.pk])
    client.post(url, {"move": "submit", "note": "初稿完成"})
    assert 'value="publish"' in client.get(url).text
    client.post(url, {"move": "publish", "note": ""})
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED
    assert AuditEvent.objects.filter(action="education.article.publish", actor=editor).count() == 1


@pytest.mark.parametrize(("path", "refused"), [
    ([], "publish"),  # draft → published: review first
    ([], "archive"),  # draft → archived
    ([], "revise"),  # draft → draft
    (["submit"], "submit"),  # in review → in review
    (["submit"], "archive"),
    (["submit", "publish"], "submit"),  # published → in review
    (["submit", "publish"], "publish"),
    (["submit", "publish"], "return"),  # published → draft: archive, then revise
    (["submit", "publish", "archive"], "publish"),  # archived → published
    (["submit", "publish", "archive"], "submit"),
    (["submit", "publish", "archive"], "return"),  # archived → draft is "revise"
    (["submit"], "revise"),  # in review → draft is "return"
])
def test_it_refuses_a_move_the_workflow_does_not_declare(make_article, editor, path, refused):
    article = draft(make_article)
    moves = {"submit": services.article_submit, "publish": services.article_publish,
             "archive": services.article_archive, "return": services.article_return,
             "revise": services.article_revise}
    for move in path:
        moves[move](article_id=article.pk, actor=editor)
    before = Article.objects.get(pk=article.pk).status
    rows = ArticleTransition.objects.count()
    with pytest.raises(NotAllowed):
        moves[refused](article_id=article.pk, actor=editor)
    assert Article.objects.get(pk=article.pk).status == before
    assert ArticleTransition.objects.count() == rows


def test_a_returned_article_goes_back_to_draft_and_an_archived_one_is_revised(make_article, editor):
    article = draft(make_article)
    services.article_submit(article_id=article.pk, actor=editor)
    assert services.article_return(article_id=article.pk, actor=editor, note="请补充例子").status == "draft"
    services.article_submit(article_id=article.pk, actor=editor)
    services.article_publish(article_id=article.pk, actor=editor)
    services.article_archive(article_id=article.pk, actor=editor)
    assert services.article_revise(article_id=article.pk, actor=editor).status == "draft"


def test_the_transitions_are_declared_as_data():
    assert Article.TRANSITIONS == {
        "draft": {"in_review"},
        "in_review": {"draft", "published"},
        "published": {"archived"},
        "archived": {"draft"},
    }


def test_a_published_article_cannot_be_changed_without_archiving_it(make_article, editor):
    article = make_article()
    with pytest.raises(NotAllowed):
        services.article_update(
            article_id=article.pk, actor=editor, title="改过的标题", slug=article.slug,
            language=article.language, summary=article.summary, body="新的正文",
            category_ids=[], audiences=["everyone"],
        )
    assert Article.objects.get(pk=article.pk).title == "逾期意味着什么"


def test_a_draft_is_changed_and_audited(make_article, editor, category):
    article = draft(make_article)
    services.article_update(
        article_id=article.pk, actor=editor, title="逾期意味着什么（修订）", slug="what-overdue-means",
        language="zh-hans", summary="新的摘要。", body="新的正文。" * 300,
        category_ids=[category.pk], audiences=["overdue", "first_time_overdue"],
    )
    article.refresh_from_db()
    assert article.title.endswith("（修订）") and article.reading_minutes == 3  # 1,200 characters
    assert set(article.audiences.values_list("audience", flat=True)) == {"overdue", "first_time_overdue"}
    event = AuditEvent.objects.get(action="education.article.update")
    assert event.before is not None and event.after is not None
    assert event.before["title"] == "逾期意味着什么"
    assert event.after["audiences"] == ["first_time_overdue", "overdue"]


def test_staff_without_the_add_permission_cannot_write_articles(make_staff, category):
    agent = make_staff("agnes", roles.AGENT)
    with pytest.raises(NotAllowed):
        services.article_create(actor=agent, title="标题", slug="s", language="zh-hans",
                                summary="摘要", body="正文", category_ids=[category.pk],
                                audiences=["everyone"])


def test_a_slug_is_unique_per_language_and_a_translation_links_to_its_original(make_article):
    original = make_article("credit-record")
    with pytest.raises(DomainError):
        make_article("credit-record")
    english = make_article("credit-record", language="en", title="Your credit record",
                           summary="What it is.", body="Text.", translation_of=original)
    assert english.translation_of == original and list(original.translations.all()) == [english]
    with pytest.raises(DomainError):  # one translation per language
        make_article("credit-record-2", language="en", title="Again", summary="s", body="b",
                     translation_of=original)
    with pytest.raises(DomainError):  # same language as the original
        make_article("credit-record-3", title="再来", translation_of=original)
    with pytest.raises(DomainError):  # a translation of a translation
        make_article("credit-record-4", title="再来", translation_of=english)


def test_the_editor_role_holds_the_education_permissions(editor):
    group = Group.objects.get(name=roles.EDITOR)
    names = {f"{p.content_type.app_label}.{p.codename}"
             for p in group.permissions.select_related("content_type")}
    assert names == set(roles.ROLE_PERMISSIONS[roles.EDITOR])
    assert editor.has_perm("education.publish_article") and editor.has_perm("education.add_lecture")
    assert not editor.has_perm("education.delete_article")
    assert not editor.has_perm("loans.view_loan")
