"""Read queries for the education pages, the dashboard and the staff screens.

Each costs a fixed number of queries, whatever the number of articles, lectures or loans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from debt_collections.models import HardshipRequest, HardshipStatus
from loans.models import (
    Borrower,
    Installment,
    InstallmentStatus,
    Language,
    Loan,
    LoanStatus,
    Segment,
)

from .models import (
    Article,
    ArticleAudience,
    ArticleRead,
    ArticleStatus,
    Audience,
    Category,
    Lecture,
    LectureRegistration,
    RegistrationStatus,
)
from .services import MAX_DURATION_MINUTES
from .targeting import Situation, recommended_audiences

SEARCH_MAX_LENGTH = 100
GENERAL_AUDIENCES = (Audience.OVERDUE.value, Audience.EVERYONE.value)
SEARCH_MAX_TERMS = 8
RECOMMENDATIONS = 3

# Why an article is recommended, shown beside it on the dashboard.
REASONS: dict[str, Promise] = {
    Audience.FIRST_TIME_OVERDUE: _("Because a bill is overdue for the first time"),
    Audience.LONG_OVERDUE: _("Because a bill has been overdue for a while"),
    Audience.HARDSHIP: _("Because you asked for hardship help"),
    Audience.SMALL_BUSINESS: _("For small-business owners"),
    Audience.OVERDUE: _("Because a bill is overdue"),
    Audience.EVERYONE: _("Worth knowing"),
}


def reader_language(language: str | None = None) -> str:
    """The article language for a page language: English for English, else Chinese."""
    code = language or translation.get_language() or ""
    return Language.EN.value if code.startswith("en") else Language.ZH_HANS.value


# --- the borrower's situation ------------------------------------------------------------


def situation_queryset(borrower_ids: Sequence[int]) -> QuerySet[Borrower]:
    """Borrowers annotated with everything `Situation` needs: extend it with one annotation."""
    borrower = OuterRef("pk")
    worst = (
        Loan.objects.filter(borrower=borrower, status=LoanStatus.ACTIVE)
        .order_by("-days_past_due")
        .values("days_past_due")[:1]
    )
    overdue_now = Installment.objects.filter(
        loan__borrower=borrower, loan__status=LoanStatus.ACTIVE, status=InstallmentStatus.OVERDUE
    )
    # An earlier episode: a bill that was overdue and is not overdue now (paid late, deferred…).
    overdue_before = Installment.objects.filter(
        loan__borrower=borrower, overdue_since__isnull=False
    ).exclude(status=InstallmentStatus.OVERDUE)
    hardship = HardshipRequest.objects.filter(borrower=borrower).exclude(
        status__in=[HardshipStatus.WITHDRAWN, HardshipStatus.REJECTED]
    )
    return Borrower.objects.filter(pk__in=list(borrower_ids)).annotate(
        worst_days_past_due=Coalesce(Subquery(worst), Value(0)),
        overdue_now=Exists(overdue_now),
        overdue_before=Exists(overdue_before),
        hardship_flagged=Exists(hardship),
    )


def reader_situations(borrower_ids: Sequence[int]) -> dict[int, Situation]:
    """Each borrower's situation: one query, however many borrowers and loans."""
    return {
        borrower.pk: Situation(
            days_past_due=int(getattr(borrower, "worst_days_past_due", 0) or 0),
            first_time_overdue=bool(getattr(borrower, "overdue_now", False))
            and not getattr(borrower, "overdue_before", False),
            hardship=bool(getattr(borrower, "hardship_flagged", False)),
            small_business=borrower.segment == Segment.SMALL_BUSINESS,
        )
        for borrower in situation_queryset(borrower_ids).only("pk", "segment")
    }


def reader_situation(borrower_id: int) -> Situation:
    return reader_situations([borrower_id]).get(borrower_id, Situation())


# --- recommendations and reading -----------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    article: Article
    audience: str

    @property
    def reason(self) -> str:
        return str(REASONS.get(self.audience, ""))


def _story(article: str = "article__") -> Coalesce:
    """The id of the original of the article at `article` (itself when it is one)."""
    return Coalesce(
        F(f"{article}translation_of_id"), F(f"{article}id"), output_field=BigIntegerField()
    )


def read_story_ids(borrower_id: int) -> set[int]:
    """The articles a borrower read, as the ids of their originals (a translation counts)."""
    return set(
        ArticleRead.objects.filter(borrower_id=borrower_id)
        .annotate(story=_story())
        .values_list("story", flat=True)
    )


def recommended_articles(
    *, borrower_id: int, language: str, limit: int = RECOMMENDATIONS, situation: Situation | None = None
) -> list[Recommendation]:
    """Published articles for the borrower's situation, not yet read in any language: two
    queries (the situation, then the candidates with their tags)."""
    if situation is None:
        situation = reader_situation(borrower_id)
    wanted = [str(a) for a in recommended_audiences(situation)]
    read = (
        ArticleRead.objects.filter(borrower_id=borrower_id)
        .annotate(story=_story())
        .values("story")
    )
    rows = (
        ArticleAudience.objects.filter(
            audience__in=wanted,
            article__status=ArticleStatus.PUBLISHED,
            article__language=reader_language(language),
        )
        .annotate(story=_story())
        .exclude(story__in=Subquery(read))
        .select_related("article")
        .order_by("-article__published_at", "-article_id")
    )
    priority = {audience: index for index, audience in enumerate(wanted)}
    best: dict[int, ArticleAudience] = {}
    for row in rows:  # newest first
        held = best.get(row.article_id)
        if held is None or priority[row.audience] < priority[held.audience]:
            best[row.article_id] = row
    # The situation's own audiences take turns, most pressing first, so each of them gets its
    # newest article before any gets a second; "overdue" and "everyone" fill what is left.
    queues: dict[str, list[ArticleAudience]] = {audience: [] for audience in wanted}
    for tagged in best.values():
        queues[tagged.audience].append(tagged)
    own = [a for a in wanted if a not in GENERAL_AUDIENCES]
    picked: list[ArticleAudience] = []
    while len(picked) < limit and any(queues[a] for a in own):
        for audience in own:
            if queues[audience] and len(picked) < limit:
                picked.append(queues[audience].pop(0))
    for audience in (a for a in wanted if a in GENERAL_AUDIENCES):
        picked.extend(queues[audience][: max(0, limit - len(picked))])
    return [Recommendation(article=row.article, audience=row.audience) for row in picked]


@dataclass(frozen=True)
class ReadArticle:
    article: Article
    first_read_at: dt.datetime


def articles_read_by(borrower_id: int) -> list[ReadArticle]:
    """What a borrower read and when they first opened it, newest first: one query."""
    reads = (
        ArticleRead.objects.filter(borrower_id=borrower_id)
        .select_related("article")
        .order_by("-first_read_at", "-id")
    )
    return [ReadArticle(article=read.article, first_read_at=read.first_read_at) for read in reads]


# --- article pages -----------------------------------------------------------------------


def published_articles(language: str) -> QuerySet[Article]:
    return Article.objects.filter(status=ArticleStatus.PUBLISHED, language=reader_language(language))


def categories_for(language: str) -> list[Category]:
    """Categories that hold published articles in the language, with how many: one query."""
    return list(
        Category.objects.annotate(
            published=Count(
                "articles",
                filter=Q(
                    articles__status=ArticleStatus.PUBLISHED,
                    articles__language=reader_language(language),
                ),
            )
        )
        .filter(published__gt=0)
        .order_by("position", "slug")
    )


def search_terms(query: str) -> list[str]:
    """Whitespace-separated terms (Chinese full-width spaces too), at most a few."""
    return list(dict.fromkeys((query or "")[:SEARCH_MAX_LENGTH].split()))[:SEARCH_MAX_TERMS]


def _contains_every_term(terms: list[str]) -> Q:
    condition = Q()
    for term in terms:
        condition &= Q(title__icontains=term) | Q(summary__icontains=term) | Q(body__icontains=term)
    return condition


def article_search(articles: QuerySet[Article], *, query: str, language: str) -> QuerySet[Article]:
    """Articles matching the query, best first.

    PostgreSQL: full-text search (configuration `english` for English, `simple` for Chinese)
    over title (weight A), summary (B) and text (C), OR a containment match of every term.
    Chinese is written without spaces, so the parser sees a whole clause as one word and
    "逾期" alone would not match it: the containment match finds it. SQLite: the containment
    match alone. Either way, title matches rank first, then the full-text rank, then the newest.
    """
    terms = search_terms(query)
    if not terms:
        return articles
    in_title = sum(
        (Case(When(title__icontains=term, then=Value(1)), default=Value(0), output_field=IntegerField())
         for term in terms),
        Value(0, output_field=IntegerField()),
    )
    matched = articles.annotate(title_hits=in_title)
    text = " ".join(terms)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        config = "english" if reader_language(language) == Language.EN else "simple"
        vector = (
            SearchVector("title", weight="A", config=config)
            + SearchVector("summary", weight="B", config=config)
            + SearchVector("body", weight="C", config=config)
        )
        search = SearchQuery(text, config=config, search_type="websearch")
        return (
            matched.annotate(document=vector, rank=SearchRank(vector, search))
            .filter(Q(document=search) | _contains_every_term(terms))
            .order_by("-title_hits", "-rank", "-published_at", "-id")
        )
    return matched.filter(_contains_every_term(terms)).order_by("-title_hits", "-published_at", "-id")


def article_list(*, language: str, category: Category | None = None, query: str = "") -> QuerySet[Article]:
    """The borrower's list: published, in the language, in a category, matching a search."""
    articles = published_articles(language)
    if category is not None:
        articles = articles.filter(categories=category)
    if search_terms(query):
        return article_search(articles, query=query, language=language)
    return articles.order_by("-published_at", "-id")


def published_article(*, language: str, slug: str) -> Article | None:
    return (
        Article.objects.filter(status=ArticleStatus.PUBLISHED, language=language, slug=slug)
        .prefetch_related("categories")
        .first()
    )


def other_versions(article: Article) -> list[Article]:
    """The same article in other languages, published: one query."""
    story = article.translation_of_id or article.pk
    return list(
        Article.objects.filter(status=ArticleStatus.PUBLISHED)
        .filter(Q(pk=story) | Q(translation_of_id=story))
        .exclude(pk=article.pk)
        .order_by("language")
    )


# --- lectures ----------------------------------------------------------------------------


def _lectures(borrower_id: int | None) -> QuerySet[Lecture]:
    lectures = Lecture.objects.annotate(
        taken=Count("registrations", filter=Q(registrations__status=RegistrationStatus.REGISTERED))
    )
    if borrower_id is None:
        return lectures.annotate(mine=Value(False))
    return lectures.annotate(
        mine=Exists(
            LectureRegistration.objects.filter(
                lecture=OuterRef("pk"), borrower_id=borrower_id, status=RegistrationStatus.REGISTERED
            )
        )
    )


@dataclass(frozen=True)
class LecturePage:
    upcoming: list[Lecture]  # not ended yet, soonest first
    past: list[Lecture]  # ended, with a recording, newest first

    @property
    def mine(self) -> list[Lecture]:
        return [lecture for lecture in self.upcoming if getattr(lecture, "mine", False)]


def lecture_page(*, borrower_id: int | None, past_limit: int = 20) -> LecturePage:
    """Lectures with seats taken and whether the borrower holds one: two queries."""
    now = timezone.now()
    recent = now - dt.timedelta(minutes=MAX_DURATION_MINUTES)
    upcoming = [
        lecture
        for lecture in _lectures(borrower_id).filter(starts_at__gte=recent).order_by("starts_at", "id")
        if not lecture.has_ended
    ]
    past = [
        lecture
        for lecture in _lectures(borrower_id)
        .filter(starts_at__lt=now)
        .exclude(recording_url="")
        .order_by("-starts_at", "-id")[:past_limit]
        if lecture.has_ended
    ]
    return LecturePage(upcoming=upcoming, past=past)


def lecture_for(*, lecture_id: int, borrower_id: int | None) -> Lecture | None:
    return _lectures(borrower_id).filter(pk=lecture_id).first()


def seats_left(lecture: Lecture) -> int:
    return max(0, lecture.capacity - int(getattr(lecture, "taken", 0)))
