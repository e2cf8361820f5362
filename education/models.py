"""Education: articles (Markdown, in Chinese or English, linked to their translations),
categories, audience tags, the editorial workflow, online lectures and who read what.

State changes happen only in `education.services`; these models hold the tables, the allowed
transitions (as data), the constraints and small derived values.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from loans.models import Borrower, Language
from portal.constraints import choices_constraint

from .rendering import render_markdown

TITLE_MAX_LENGTH = 200
SUMMARY_MAX_LENGTH = 500
BODY_MAX_LENGTH = 40_000
LECTURE_DESCRIPTION_MAX_LENGTH = 4000


def _in_english() -> bool:
    return (translation.get_language() or "").startswith("en")


class Category(models.Model):
    """A topic articles are filed under; one set of categories serves both languages."""

    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    position = models.PositiveSmallIntegerField(_("position"), default=100)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return f"{self.name_zh} · {self.name_en}"

    @property
    def name(self) -> str:
        """The name in the active language."""
        return self.name_en if _in_english() else self.name_zh


class Audience(models.TextChoices):
    """Who an article is written for; the targeting rule (education.targeting) picks by these."""

    EVERYONE = "everyone", _("Everyone")
    OVERDUE = "overdue", _("Currently overdue")
    FIRST_TIME_OVERDUE = "first_time_overdue", _("Overdue for the first time")
    LONG_OVERDUE = "long_overdue", _("Long overdue (45+ days)")
    HARDSHIP = "hardship", _("In hardship")
    SMALL_BUSINESS = "small_business", _("Small-business owner")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


# Text, categories and audiences may change only in these statuses: a published article is
# changed by archiving it, revising the draft and publishing again.
EDITABLE_STATUSES = (ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW)


class Article(models.Model):
    """One article in one language. A translation points at its original (`translation_of`)."""

    # Which status may follow which; `services._transit` refuses anything else.
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        ArticleStatus.DRAFT: {ArticleStatus.IN_REVIEW},
        ArticleStatus.IN_REVIEW: {ArticleStatus.DRAFT, ArticleStatus.PUBLISHED},
        ArticleStatus.PUBLISHED: {ArticleStatus.ARCHIVED},
        ArticleStatus.ARCHIVED: {ArticleStatus.DRAFT},
    }

    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    slug = models.SlugField(_("slug"), max_length=100)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    translation_of = models.ForeignKey(
        "self",
        verbose_name=_("translation of"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="translations",
        help_text=_("The original article this one translates; empty for an original."),
    )
    summary = models.TextField(_("summary"), max_length=SUMMARY_MAX_LENGTH)
    # Markdown as the editor wrote it; shown only through `body_html` (sanitised).
    body = models.TextField(_("body (Markdown)"), max_length=BODY_MAX_LENGTH)
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories"), related_name="articles", blank=True
    )
    reading_minutes = models.PositiveSmallIntegerField(_("reading time (minutes)"), default=1)
    status = models.CharField(
        _("status"), max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["-published_at", "-id"]
        permissions = [("publish_article", _("Can publish and archive articles"))]
        constraints = [
            choices_constraint("article_status_valid", "status", ArticleStatus),
            choices_constraint("article_language_valid", "language", Language),
            models.UniqueConstraint(fields=["language", "slug"], name="article_slug_unique_per_language"),
            # One translation per language of each original.
            models.UniqueConstraint(
                fields=["translation_of", "language"],
                condition=Q(translation_of__isnull=False),
                name="article_one_translation_per_language",
            ),
            models.CheckConstraint(
                condition=~Q(translation_of=F("id")), name="article_not_its_own_translation"
            ),
            # A published (or once published, now archived) article has a publication date.
            models.CheckConstraint(
                condition=Q(published_at__isnull=False)
                | ~Q(status__in=[ArticleStatus.PUBLISHED, ArticleStatus.ARCHIVED]),
                name="article_published_has_date",
            ),
            models.CheckConstraint(
                condition=Q(reading_minutes__gte=1), name="article_reading_minutes_gte_1"
            ),
        ]
        indexes = [models.Index(fields=["status", "language", "published_at"])]

    def __str__(self) -> str:
        return f"{self.title} [{self.language}]"

    def get_absolute_url(self) -> str:
        return reverse("education:article", kwargs={"language": self.language, "slug": self.slug})

    @property
    def body_html(self) -> SafeString:
        """The body as sanitised HTML: what borrowers see."""
        return render_markdown(self.body)

    @property
    def story_id(self) -> int:
        """One id for an original and all its translations."""
        return self.translation_of_id or self.pk

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED


class ArticleAudience(models.Model):
    """One audience tag of an article (a row per tag, so tags can be queried on any database)."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="audiences"
    )
    audience = models.CharField(_("audience"), max_length=24, choices=Audience.choices)

    class Meta:
        verbose_name = _("audience tag")
        verbose_name_plural = _("audience tags")
        constraints = [
            choices_constraint("article_audience_valid", "audience", Audience),
            models.UniqueConstraint(fields=["article", "audience"], name="article_audience_once"),
        ]
        indexes = [models.Index(fields=["audience", "article"])]

    def __str__(self) -> str:
        return f"{self.article_id}: {self.audience}"


class ArticleTransition(models.Model):
    """The article's history: one row per status change, who made it and when."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.PROTECT, related_name="transitions"
    )
    from_status = models.CharField(_("from status"), max_length=12, choices=ArticleStatus.choices)
    to_status = models.CharField(_("to status"), max_length=12, choices=ArticleStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("article status change")
        verbose_name_plural = _("article status changes")
        ordering = ["article_id", "at", "id"]
        constraints = [
            choices_constraint("article_transition_from_valid", "from_status", ArticleStatus),
            choices_constraint("article_transition_to_valid", "to_status", ArticleStatus),
            models.CheckConstraint(
                condition=~Q(from_status=F("to_status")), name="article_transition_moves"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id}: {self.from_status} → {self.to_status}"


class ArticleRead(models.Model):
    """A borrower opened an article while signed in: kept once, with the first time."""

    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="article_reads"
    )
    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.PROTECT, related_name="reads"
    )
    first_read_at = models.DateTimeField(_("first read at"), default=timezone.now)

    class Meta:
        verbose_name = _("article read")
        verbose_name_plural = _("article reads")
        ordering = ["-first_read_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["borrower", "article"], name="article_read_once"),
        ]

    def __str__(self) -> str:
        return f"{self.borrower_id} read {self.article_id}"


class Lecture(models.Model):
    """An online lecture: borrowers register for a seat, join by the link, watch the recording."""

    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    speaker = models.CharField(_("speaker"), max_length=120)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    # Plain text, escaped in templates.
    description = models.TextField(_("about the lecture"), max_length=LECTURE_DESCRIPTION_MAX_LENGTH)
    starts_at = models.DateTimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    capacity = models.PositiveIntegerField(_("seats"))
    join_url = models.URLField(_("joining link"), max_length=300)
    recording_url = models.URLField(_("recording link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("lecture")
        verbose_name_plural = _("lectures")
        ordering = ["starts_at", "id"]
        constraints = [
            choices_constraint("lecture_language_valid", "language", Language),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="lecture_capacity_gte_1"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=600),
                name="lecture_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({timezone.localtime(self.starts_at):%Y-%m-%d %H:%M})"

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def has_started(self) -> bool:
        return self.starts_at <= timezone.now()

    @property
    def has_ended(self) -> bool:
        return self.ends_at <= timezone.now()


class RegistrationStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    CANCELLED = "cancelled", _("Cancelled")


class LectureRegistration(models.Model):
    """A borrower's seat at a lecture. The row keeps both moments: registered and cancelled."""

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        RegistrationStatus.REGISTERED: {RegistrationStatus.CANCELLED},
    }

    lecture = models.ForeignKey(
        Lecture, verbose_name=_("lecture"), on_delete=models.PROTECT, related_name="registrations"
    )
    borrower = models.ForeignKey(
        Borrower,
        verbose_name=_("borrower"),
        on_delete=models.PROTECT,
        related_name="lecture_registrations",
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.REGISTERED,
    )
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lecture registration")
        verbose_name_plural = _("lecture registrations")
        ordering = ["lecture_id", "registered_at", "id"]
        constraints = [
            choices_constraint("lecture_registration_status_valid", "status", RegistrationStatus),
            # One seat per borrower and lecture, whatever races happen (cancelled rows stay).
            models.UniqueConstraint(
                fields=["lecture", "borrower"],
                condition=Q(status="registered"),
                name="lecture_one_seat_per_borrower",
            ),
            models.CheckConstraint(
                condition=Q(status="registered", cancelled_at__isnull=True)
                | Q(status="cancelled", cancelled_at__isnull=False),
                name="lecture_registration_cancelled_at_matches",
            ),
        ]
        indexes = [models.Index(fields=["borrower", "status"])]

    def __str__(self) -> str:
        return f"{self.borrower_id} @ {self.lecture_id} ({self.status})"
