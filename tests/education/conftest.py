"""Articles, categories and lectures made through the services, and an editor or two."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from education import services
from education.models import Article, Category, Lecture
from portal import roles
from portal.models import User

BODY = "## 什么是逾期\n\n逾期是指在还款日没有全额还款。越早处理越好。\n\n- 先还能还的部分\n- 尽早联系我们\n"


@pytest.fixture
def category(db: Any) -> Category:
    return services.category_create(
        actor=None, slug="overdue-basics", name_zh="逾期与征信", name_en="Overdue basics", position=10
    )


@pytest.fixture
def make_article(category: Category) -> Any:
    """A published article (or a draft with publish=False), made as the system."""

    def make(
        slug: str = "what-overdue-means",
        *,
        language: str = "zh-hans",
        title: str = "逾期意味着什么",
        summary: str = "逾期的含义和后果。",
        body: str = BODY,
        audiences: tuple[str, ...] = ("everyone",),
        categories: tuple[Category, ...] | None = None,
        translation_of: Article | None = None,
        publish: bool = True,
    ) -> Article:
        article = services.article_create(
            actor=None, title=title, slug=slug, language=language, summary=summary, body=body,
            category_ids=[c.pk for c in (categories if categories is not None else (category,))],
            audiences=list(audiences),
            translation_of_id=translation_of.pk if translation_of is not None else None,
        )
        if publish:
            services.article_submit(article_id=article.pk, actor=None)
            article = services.article_publish(article_id=article.pk, actor=None)
        return article

    return make


@pytest.fixture
def make_lecture(db: Any) -> Any:
    def make(
        title: str = "读懂你的信用报告",
        *,
        starts_at: dt.datetime | None = None,
        capacity: int = 50,
        duration_minutes: int = 60,
        recording_url: str = "",
        language: str = "zh-hans",
    ) -> Lecture:
        return services.lecture_create(
            actor=None, title=title, speaker="周敏", language=language,
            description="信用报告里写了什么，怎样查询。",
            starts_at=starts_at or timezone.now() + dt.timedelta(days=3),
            duration_minutes=duration_minutes, capacity=capacity,
            join_url="https://live.example.com/lectures/credit", recording_url=recording_url,
        )

    return make


@pytest.fixture
def editor(make_staff: Any) -> User:
    """A member of the editor role, as portal/roles.py declares it."""
    return User.objects.get(pk=make_staff("erin", roles.EDITOR).pk)  # fresh permission cache


@pytest.fixture
def writer(db: Any) -> User:
    """Staff who may write and change articles but not publish them."""
    user = User.objects.create_user("walt", password="walt-pass-2026", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="education",
        codename__in=["view_article", "add_article", "change_article", "view_category"],
    ))
    return User.objects.get(pk=user.pk)
