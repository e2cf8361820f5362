"""Borrower pages for articles and lectures. Thin: selectors read, services write.

Articles and the lecture list are public; registering needs a signed-in borrower. Reading an
article while signed in as a borrower is remembered (once per article).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loans.models import Borrower
from portal.access import borrower_required
from portal.errors import DomainError
from portal.models import User

from . import selectors, services
from .models import Article, Category

ARTICLES_PER_PAGE = 20


def _borrower(request: HttpRequest) -> Borrower | None:
    """The signed-in borrower, or None for visitors and staff."""
    if not request.user.is_authenticated:
        return None
    return getattr(request.user, "borrower", None)


def _user(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


def article_list(request: HttpRequest, category_slug: str | None = None) -> HttpResponse:
    language = selectors.reader_language()
    category: Category | None = None
    if category_slug is not None:
        category = get_object_or_404(Category, slug=category_slug)
    query = request.GET.get("q", "").strip()[: selectors.SEARCH_MAX_LENGTH]
    articles = selectors.article_list(language=language, category=category, query=query)
    page = Paginator(articles, ARTICLES_PER_PAGE).get_page(request.GET.get("page"))
    borrower = _borrower(request)
    return render(request, "education/article_list.html", {
        "categories": selectors.categories_for(language),
        "category": category,
        "query": query,
        "page": page,
        "read": selectors.read_story_ids(borrower.pk) if borrower is not None else set(),
    })


def article_context(article: Article, *, preview: bool = False) -> dict[str, Any]:
    """What the article page shows: the borrower's page and the editors' preview share it."""
    return {
        "article": article,
        "categories": list(article.categories.all()),
        "other_versions": selectors.other_versions(article),
        "preview": preview,
    }


def article_detail(request: HttpRequest, language: str, slug: str) -> HttpResponse:
    article = selectors.published_article(language=language, slug=slug)
    if article is None:
        raise Http404
    borrower = _borrower(request)
    if borrower is not None:
        services.article_read_record(article_id=article.pk, borrower_id=borrower.pk, actor=_user(request))
    return render(request, "education/article_detail.html", article_context(article))


def lecture_list(request: HttpRequest) -> HttpResponse:
    borrower = _borrower(request)
    lectures = selectors.lecture_page(borrower_id=borrower.pk if borrower is not None else None)
    return render(request, "education/lecture_list.html", {
        "lectures": lectures,
        "signed_in_borrower": borrower is not None,
    })


def lecture_detail(request: HttpRequest, lecture_id: int) -> HttpResponse:
    borrower = _borrower(request)
    lecture = selectors.lecture_for(
        lecture_id=lecture_id, borrower_id=borrower.pk if borrower is not None else None
    )
    if lecture is None:
        raise Http404
    return render(request, "education/lecture_detail.html", {
        "lecture": lecture,
        "seats_left": selectors.seats_left(lecture),
        "signed_in_borrower": borrower is not None,
    })


@borrower_required
@require_POST
def lecture_register(request: HttpRequest, lecture_id: int) -> HttpResponse:
    borrower: Borrower = request.borrower  # type: ignore[attr-defined]
    try:
        services.lecture_register(lecture_id=lecture_id, borrower_id=borrower.pk, actor=_user(request))
    except DomainError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("You are registered. We will send you a text message the day before."))
    return redirect("education:lecture", lecture_id=lecture_id)


@borrower_required
@require_POST
def lecture_cancel(request: HttpRequest, lecture_id: int) -> HttpResponse:
    borrower: Borrower = request.borrower  # type: ignore[attr-defined]
    try:
        services.lecture_cancel(lecture_id=lecture_id, borrower_id=borrower.pk, actor=_user(request))
    except DomainError as refused:
        messages.error(request, str(refused))
    else:
        messages.info(request, _("Your registration is cancelled; the seat is free for someone else."))
    return redirect("education:lecture", lecture_id=lecture_id)
