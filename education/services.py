"""Articles, categories and lectures: every change is one of these functions.

Each runs in one transaction, locks the row it changes, checks the move against the model's
TRANSITIONS, writes, records the audit event in the same transaction and queues any text
message with a dedupe key. Refusals raise `portal.errors` domain errors with a message for the
person who asked. Staff pass themselves as `actor` and need the model permission; `actor=None`
is the system itself (demo seeding), never a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loans.models import Borrower, Language
from portal.audit import audit_record
from portal.errors import DomainError, NotAllowed
from portal.models import User
from portal.plain_text import MARKUP_REFUSED, contains_markup
from portal.sms import sms_queue

from .models import (
    BODY_MAX_LENGTH,
    EDITABLE_STATUSES,
    LECTURE_DESCRIPTION_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Article,
    ArticleAudience,
    ArticleRead,
    ArticleStatus,
    ArticleTransition,
    Audience,
    Category,
    Lecture,
    LectureRegistration,
    RegistrationStatus,
)
from .rendering import reading_minutes

ADD_PERMISSION = "education.add_article"
CHANGE_PERMISSION = "education.change_article"
PUBLISH_PERMISSION = "education.publish_article"
ADD_CATEGORY_PERMISSION = "education.add_category"
CHANGE_CATEGORY_PERMISSION = "education.change_category"
ADD_LECTURE_PERMISSION = "education.add_lecture"
CHANGE_LECTURE_PERMISSION = "education.change_lecture"

MAX_CAPACITY = 100_000
MAX_DURATION_MINUTES = 600

# Rendered in the borrower's language when queued. No link: our messages never carry one
# (the article on collection scams tells borrowers so).
LECTURE_REMINDER_SMS = gettext_lazy(
    "Reminder: the online lecture “%(title)s” starts tomorrow, %(date)s at %(time)s (Beijing "
    "time). Sign in and open Learn → Online lectures to join, or to cancel your seat."
)


class LectureFull(NotAllowed):
    """Every seat of the lecture is taken."""

    code = "lecture_full"


# --- helpers -----------------------------------------------------------------------------


def _require(actor: User | None, permission: str) -> None:
    if actor is None:
        return  # the system (seeding); people always pass themselves
    if not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise NotAllowed(_("You do not have permission to do this."))


def _plain(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError(_("Please fill in the %(field)s.") % {"field": field})
    if len(text) > max_length:
        raise DomainError(
            _("The %(field)s can be at most %(max)s characters long.")
            % {"field": field, "max": max_length}
        )
    if "\x00" in text:
        raise DomainError(
            _("The %(field)s contains characters that are not allowed.") % {"field": field}
        )
    if contains_markup(text):
        raise DomainError(MARKUP_REFUSED % {"field": field})
    return text


def _slug(value: str) -> str:
    slug = (value or "").strip()
    try:
        validate_slug(slug)
    except ValidationError:
        raise DomainError(
            _("The slug may contain only Latin letters, digits, hyphens and underscores.")
        ) from None
    if len(slug) > 100:
        raise DomainError(_("The slug can be at most 100 characters long."))
    return slug


def _language(value: str) -> str:
    if value not in Language.values:
        raise DomainError(_("Please choose the language from the list."))
    return value


def _audiences(values: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(values))
    if not chosen:
        raise DomainError(_("Please choose at least one audience."))
    if any(value not in Audience.values for value in chosen):
        raise DomainError(_("Please choose the audiences from the list."))
    return chosen


def _categories(ids: Sequence[int]) -> list[Category]:
    wanted = list(dict.fromkeys(int(pk) for pk in ids))
    found = list(Category.objects.filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise DomainError(_("Please choose the categories from the list."))
    return found


def _url(value: str, *, field: str, required: bool) -> str:
    url = (value or "").strip()
    if not url:
        if required:
            raise DomainError(_("Please fill in the %(field)s.") % {"field": field})
        return ""
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise DomainError(
            _("The %(field)s must be a web address starting with https://.") % {"field": field}
        ) from None
    if len(url) > 300:
        raise DomainError(
            _("The %(field)s can be at most %(max)s characters long.") % {"field": field, "max": 300}
        )
    return url


def _lock_article(article_id: int) -> Article:
    try:
        return Article.objects.select_for_update().get(pk=article_id)
    except Article.DoesNotExist:
        raise NotAllowed(_("This article does not exist.")) from None


def _lock_lecture(lecture_id: int) -> Lecture:
    try:
        return Lecture.objects.select_for_update().get(pk=lecture_id)
    except Lecture.DoesNotExist:
        raise NotAllowed(_("This lecture does not exist.")) from None


def _article_state(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "slug": article.slug,
        "language": article.language,
        "translation_of": article.translation_of_id,
        "status": article.status,
        "categories": sorted(article.categories.values_list("slug", flat=True)),
        "audiences": sorted(article.audiences.values_list("audience", flat=True)),
        "reading_minutes": article.reading_minutes,
    }


def _check_translation(
    *, article: Article | None, language: str, translation_of_id: int | None
) -> Article | None:
    """The original named by `translation_of_id`, checked: another language, not a translation
    itself, no other translation into this language; and an original with translations keeps
    being an original."""
    if article is not None and article.pk is not None:
        clashes = article.translations.filter(language=language)
        if clashes.exists():
            raise DomainError(
                _("A translation of this article is already in that language.")
            )
        if translation_of_id is not None and article.translations.exists():
            raise DomainError(
                _("This article has translations of its own, so it cannot be a translation.")
            )
    if translation_of_id is None:
        return None
    original = Article.objects.filter(pk=translation_of_id).first()
    if original is None or (article is not None and original.pk == article.pk):
        raise DomainError(_("Please choose the original article from the list."))
    if original.translation_of_id is not None:
        raise DomainError(
            _("Link the translation to the original article, not to another translation.")
        )
    if original.language == language:
        raise DomainError(_("A translation must be in another language than its original."))
    twin = Article.objects.filter(translation_of=original, language=language)
    if article is not None and article.pk is not None:
        twin = twin.exclude(pk=article.pk)
    if twin.exists():
        raise DomainError(_("That article already has a translation in this language."))
    return original


def _check_slug_free(*, slug: str, language: str, article_id: int | None) -> None:
    taken = Article.objects.filter(slug=slug, language=language)
    if article_id is not None:
        taken = taken.exclude(pk=article_id)
    if taken.exists():
        raise DomainError(_("Another article in this language already has this slug."))


def _article_fields(
    *, title: str, slug: str, language: str, summary: str, body: str
) -> dict[str, Any]:
    text = (body or "").strip()
    if not text:
        raise DomainError(_("Please fill in the %(field)s.") % {"field": _("text")})
    if len(text) > BODY_MAX_LENGTH:
        raise DomainError(
            _("The %(field)s can be at most %(max)s characters long.")
            % {"field": _("text"), "max": BODY_MAX_LENGTH}
        )
    if "\x00" in text:
        raise DomainError(
            _("The %(field)s contains characters that are not allowed.") % {"field": _("text")}
        )
    return {
        "title": _plain(title, field=_("title"), max_length=TITLE_MAX_LENGTH),
        "slug": _slug(slug),
        "language": _language(language),
        "summary": _plain(summary, field=_("summary"), max_length=SUMMARY_MAX_LENGTH),
        "body": text,
        "reading_minutes": reading_minutes(text),
    }


def _set_tags(article: Article, categories: list[Category], audiences: list[str]) -> None:
    article.categories.set(categories)
    article.audiences.exclude(audience__in=audiences).delete()
    have = set(article.audiences.values_list("audience", flat=True))
    ArticleAudience.objects.bulk_create(
        [ArticleAudience(article=article, audience=a) for a in audiences if a not in have]
    )


# --- articles: content -------------------------------------------------------------------


@dataclass(frozen=True)
class _ArticleInput:
    fields: dict[str, Any]
    categories: list[Category]
    audiences: list[str]
    original: Article | None


def _article_input(
    *,
    article: Article | None,
    title: str,
    slug: str,
    language: str,
    summary: str,
    body: str,
    category_ids: Sequence[int],
    audiences: Sequence[str],
    translation_of_id: int | None,
) -> _ArticleInput:
    """Everything an article's content must satisfy (the article is None when it is new)."""
    if article is not None and article.status not in EDITABLE_STATUSES:
        raise NotAllowed(
            _("Only drafts and articles in review can be changed; this one is “%(status)s”. "
              "To change a published article, archive it and revise it as a draft.")
            % {"status": article.get_status_display()}
        )
    fields = _article_fields(title=title, slug=slug, language=language, summary=summary, body=body)
    tags = _audiences(audiences)
    categories = _categories(category_ids)
    original = _check_translation(
        article=article, language=fields["language"], translation_of_id=translation_of_id
    )
    _check_slug_free(
        slug=fields["slug"], language=fields["language"],
        article_id=article.pk if article is not None else None,
    )
    return _ArticleInput(fields=fields, categories=categories, audiences=tags, original=original)


def article_check(
    *,
    article_id: int | None,
    title: str,
    slug: str,
    language: str,
    summary: str,
    body: str,
    category_ids: Sequence[int],
    audiences: Sequence[str],
    translation_of_id: int | None = None,
) -> None:
    """Raise the DomainError that `article_create` / `article_update` would, writing nothing
    (the admin form shows it beside the fields; the service checks again under its lock)."""
    article = Article.objects.filter(pk=article_id).first() if article_id is not None else None
    _article_input(
        article=article, title=title, slug=slug, language=language, summary=summary, body=body,
        category_ids=category_ids, audiences=audiences, translation_of_id=translation_of_id,
    )


_SLUG_OR_TRANSLATION_TAKEN = gettext_lazy(
    "Another article in this language already has this slug, or the original already has a "
    "translation in this language."
)


def article_create(
    *,
    actor: User | None,
    title: str,
    slug: str,
    language: str,
    summary: str,
    body: str,
    category_ids: Sequence[int],
    audiences: Sequence[str],
    translation_of_id: int | None = None,
) -> Article:
    """A new draft."""
    _require(actor, ADD_PERMISSION)
    with transaction.atomic():
        given = _article_input(
            article=None, title=title, slug=slug, language=language, summary=summary, body=body,
            category_ids=category_ids, audiences=audiences, translation_of_id=translation_of_id,
        )
        try:
            with transaction.atomic():
                article = Article.objects.create(
                    **given.fields, translation_of=given.original, created_by=actor,
                    status=ArticleStatus.DRAFT,
                )
        except IntegrityError:
            raise DomainError(str(_SLUG_OR_TRANSLATION_TAKEN)) from None
        _set_tags(article, given.categories, given.audiences)
        audit_record(
            actor=actor, action="education.article.create", target=article,
            summary=article.title, after=_article_state(article),
        )
    return article


def article_update(
    *,
    article_id: int,
    actor: User | None,
    title: str,
    slug: str,
    language: str,
    summary: str,
    body: str,
    category_ids: Sequence[int],
    audiences: Sequence[str],
    translation_of_id: int | None = None,
) -> Article:
    """Change a draft or an article in review. A published article is archived, revised as a
    draft and published again, so nobody changes what borrowers read without a publisher."""
    _require(actor, CHANGE_PERMISSION)
    with transaction.atomic():
        article = _lock_article(article_id)
        given = _article_input(
            article=article, title=title, slug=slug, language=language, summary=summary,
            body=body, category_ids=category_ids, audiences=audiences,
            translation_of_id=translation_of_id,
        )
        before = _article_state(article)
        for name, value in given.fields.items():
            setattr(article, name, value)
        article.translation_of = given.original
        article.updated_at = timezone.now()
        try:
            with transaction.atomic():
                article.save()
        except IntegrityError:
            raise DomainError(str(_SLUG_OR_TRANSLATION_TAKEN)) from None
        _set_tags(article, given.categories, given.audiences)
        audit_record(
            actor=actor, action="education.article.update", target=article,
            summary=article.title, before=before, after=_article_state(article),
        )
    return article


# --- articles: workflow ------------------------------------------------------------------


def _transit(
    *,
    article_id: int,
    actor: User | None,
    to: str,
    permission: str,
    action: str,
    note: str,
    only_from: str | None = None,
) -> Article:
    """Move the article to `to` if Article.TRANSITIONS allows it (and, for the two moves back to
    draft, only from the status each one is meant for)."""
    _require(actor, permission)
    note = _plain(note, field=_("note"), max_length=300, required=False)
    with transaction.atomic():
        article = _lock_article(article_id)
        before = article.status
        if to not in Article.TRANSITIONS.get(before, set()) or only_from not in (None, before):
            raise NotAllowed(
                _("This cannot be done now: the article is “%(status)s”.")
                % {"status": article.get_status_display()}
            )
        now = timezone.now()
        article.status = to
        update = ["status", "updated_at"]
        if to == ArticleStatus.PUBLISHED:
            article.published_at = now
            update.append("published_at")
        article.updated_at = now
        article.save(update_fields=update)
        ArticleTransition.objects.create(
            article=article, from_status=before, to_status=to, actor=actor, note=note, at=now
        )
        audit_record(
            actor=actor, action=action, target=article, summary=note or article.title,
            before={"status": before}, after={"status": to},
        )
    return article


def article_submit(*, article_id: int, actor: User | None, note: str = "") -> Article:
    """Draft → in review."""
    return _transit(
        article_id=article_id, actor=actor, to=ArticleStatus.IN_REVIEW,
        permission=CHANGE_PERMISSION, action="education.article.submit", note=note,
    )


def article_return(*, article_id: int, actor: User | None, note: str = "") -> Article:
    """In review → draft: changes are wanted (the note says which)."""
    return _transit(
        article_id=article_id, actor=actor, to=ArticleStatus.DRAFT,
        permission=CHANGE_PERMISSION, action="education.article.return", note=note,
        only_from=ArticleStatus.IN_REVIEW,
    )


def article_publish(*, article_id: int, actor: User | None, note: str = "") -> Article:
    """In review → published: borrowers see it from now on. Needs `publish_article`."""
    return _transit(
        article_id=article_id, actor=actor, to=ArticleStatus.PUBLISHED,
        permission=PUBLISH_PERMISSION, action="education.article.publish", note=note,
    )


def article_archive(*, article_id: int, actor: User | None, note: str = "") -> Article:
    """Published → archived: taken off the borrower pages. Needs `publish_article`."""
    return _transit(
        article_id=article_id, actor=actor, to=ArticleStatus.ARCHIVED,
        permission=PUBLISH_PERMISSION, action="education.article.archive", note=note,
    )


def article_revise(*, article_id: int, actor: User | None, note: str = "") -> Article:
    """Archived → draft, to be changed and go through review again."""
    return _transit(
        article_id=article_id, actor=actor, to=ArticleStatus.DRAFT,
        permission=CHANGE_PERMISSION, action="education.article.revise", note=note,
        only_from=ArticleStatus.ARCHIVED,
    )


# --- articles: reading -------------------------------------------------------------------


def article_read_record(*, article_id: int, borrower_id: int, actor: User | None) -> bool:
    """Remember that a borrower read a published article; True the first time only."""
    if ArticleRead.objects.filter(article_id=article_id, borrower_id=borrower_id).exists():
        return False
    with transaction.atomic():
        article = Article.objects.filter(pk=article_id, status=ArticleStatus.PUBLISHED).first()
        if article is None:
            return False
        try:
            with transaction.atomic():
                read = ArticleRead.objects.create(article=article, borrower_id=borrower_id)
        except IntegrityError:
            return False  # read at the same moment in another tab
        audit_record(
            actor=actor, action="education.article.read", target=read,
            summary=f"article #{article.pk}",
            after={"article": article.pk, "borrower": borrower_id},
        )
    return True


# --- categories --------------------------------------------------------------------------


def _category_fields(*, slug: str, name_zh: str, name_en: str, position: int) -> dict[str, Any]:
    if not 0 <= int(position) <= 32767:
        raise DomainError(_("The position must be a number from 0 to 32767."))
    return {
        "slug": _slug(slug),
        "name_zh": _plain(name_zh, field=_("Chinese name"), max_length=60),
        "name_en": _plain(name_en, field=_("English name"), max_length=60),
        "position": int(position),
    }


def category_check(
    *, category_id: int | None, slug: str, name_zh: str, name_en: str, position: int
) -> None:
    """Raise the DomainError that `category_create` / `category_update` would; write nothing."""
    fields = _category_fields(slug=slug, name_zh=name_zh, name_en=name_en, position=position)
    taken = Category.objects.filter(slug=fields["slug"])
    if category_id is not None:
        taken = taken.exclude(pk=category_id)
    if taken.exists():
        raise DomainError(_("Another category already has this slug."))


def category_create(
    *, actor: User | None, slug: str, name_zh: str, name_en: str, position: int = 100
) -> Category:
    _require(actor, ADD_CATEGORY_PERMISSION)
    fields = _category_fields(slug=slug, name_zh=name_zh, name_en=name_en, position=position)
    with transaction.atomic():
        if Category.objects.filter(slug=fields["slug"]).exists():
            raise DomainError(_("Another category already has this slug."))
        category = Category.objects.create(**fields)
        audit_record(
            actor=actor, action="education.category.create", target=category,
            summary=category.slug, after=fields,
        )
    return category


def category_update(
    *, category_id: int, actor: User | None, slug: str, name_zh: str, name_en: str, position: int
) -> Category:
    _require(actor, CHANGE_CATEGORY_PERMISSION)
    fields = _category_fields(slug=slug, name_zh=name_zh, name_en=name_en, position=position)
    with transaction.atomic():
        category = Category.objects.select_for_update().filter(pk=category_id).first()
        if category is None:
            raise NotAllowed(_("This category does not exist."))
        if Category.objects.filter(slug=fields["slug"]).exclude(pk=category.pk).exists():
            raise DomainError(_("Another category already has this slug."))
        before = {name: getattr(category, name) for name in fields}
        for name, value in fields.items():
            setattr(category, name, value)
        category.save()
        audit_record(
            actor=actor, action="education.category.update", target=category,
            summary=category.slug, before=before, after=fields,
        )
    return category


# --- lectures: staff ---------------------------------------------------------------------


def _lecture_fields(
    *,
    title: str,
    speaker: str,
    language: str,
    description: str,
    starts_at: dt.datetime,
    duration_minutes: int,
    capacity: int,
    join_url: str,
    recording_url: str,
) -> dict[str, Any]:
    if starts_at is None or timezone.is_naive(starts_at):
        raise DomainError(_("Please give the start time with its date and time."))
    if not 1 <= int(duration_minutes) <= MAX_DURATION_MINUTES:
        raise DomainError(
            _("The duration must be from 1 to %(max)s minutes.") % {"max": MAX_DURATION_MINUTES}
        )
    if not 1 <= int(capacity) <= MAX_CAPACITY:
        raise DomainError(
            _("The number of seats must be from 1 to %(max)s.") % {"max": MAX_CAPACITY}
        )
    return {
        "title": _plain(title, field=_("title"), max_length=TITLE_MAX_LENGTH),
        "speaker": _plain(speaker, field=_("speaker"), max_length=120),
        "language": _language(language),
        "description": _plain(
            description, field=_("about the lecture"), max_length=LECTURE_DESCRIPTION_MAX_LENGTH
        ),
        "starts_at": starts_at,
        "duration_minutes": int(duration_minutes),
        "capacity": int(capacity),
        "join_url": _url(join_url, field=_("joining link"), required=True),
        "recording_url": _url(recording_url, field=_("recording link"), required=False),
    }


def lecture_check(
    *,
    lecture_id: int | None,
    title: str,
    speaker: str,
    language: str,
    description: str,
    starts_at: dt.datetime,
    duration_minutes: int,
    capacity: int,
    join_url: str,
    recording_url: str = "",
) -> None:
    """Raise the DomainError that `lecture_create` / `lecture_update` would; write nothing."""
    fields = _lecture_fields(
        title=title, speaker=speaker, language=language, description=description,
        starts_at=starts_at, duration_minutes=duration_minutes, capacity=capacity,
        join_url=join_url, recording_url=recording_url,
    )
    if lecture_id is not None:
        _check_seats(lecture_id, fields["capacity"])


def _check_seats(lecture_id: int, capacity: int) -> None:
    taken = LectureRegistration.objects.filter(
        lecture_id=lecture_id, status=RegistrationStatus.REGISTERED
    ).count()
    if capacity < taken:
        raise DomainError(
            _("%(taken)s borrowers are registered: the lecture needs at least that many seats.")
            % {"taken": taken}
        )


def lecture_create(
    *,
    actor: User | None,
    title: str,
    speaker: str,
    language: str,
    description: str,
    starts_at: dt.datetime,
    duration_minutes: int,
    capacity: int,
    join_url: str,
    recording_url: str = "",
) -> Lecture:
    _require(actor, ADD_LECTURE_PERMISSION)
    fields = _lecture_fields(
        title=title, speaker=speaker, language=language, description=description,
        starts_at=starts_at, duration_minutes=duration_minutes, capacity=capacity,
        join_url=join_url, recording_url=recording_url,
    )
    with transaction.atomic():
        lecture = Lecture.objects.create(**fields)
        audit_record(
            actor=actor, action="education.lecture.create", target=lecture,
            summary=lecture.title, after=fields,
        )
    return lecture


def lecture_update(
    *,
    lecture_id: int,
    actor: User | None,
    title: str,
    speaker: str,
    language: str,
    description: str,
    starts_at: dt.datetime,
    duration_minutes: int,
    capacity: int,
    join_url: str,
    recording_url: str = "",
) -> Lecture:
    """Change a lecture; the seats cannot drop below the borrowers already registered."""
    _require(actor, CHANGE_LECTURE_PERMISSION)
    fields = _lecture_fields(
        title=title, speaker=speaker, language=language, description=description,
        starts_at=starts_at, duration_minutes=duration_minutes, capacity=capacity,
        join_url=join_url, recording_url=recording_url,
    )
    with transaction.atomic():
        lecture = _lock_lecture(lecture_id)
        _check_seats(lecture.pk, fields["capacity"])
        before = {name: getattr(lecture, name) for name in fields}
        for name, value in fields.items():
            setattr(lecture, name, value)
        lecture.save()
        audit_record(
            actor=actor, action="education.lecture.update", target=lecture,
            summary=lecture.title, before=before, after=fields,
        )
    return lecture


# --- lectures: borrowers -----------------------------------------------------------------


def lecture_register(*, lecture_id: int, borrower_id: int, actor: User | None) -> LectureRegistration:
    """Take a seat. Registering again while registered returns the same seat.

    The lecture row is locked while the seats are counted, so two borrowers taking the last
    seat at once get one seat between them; the unique constraint keeps one seat per borrower.
    """
    with transaction.atomic():
        lecture = _lock_lecture(lecture_id)
        if lecture.has_started:
            raise NotAllowed(_("Registration is closed: this lecture has already started."))
        mine = LectureRegistration.objects.filter(
            lecture=lecture, borrower_id=borrower_id, status=RegistrationStatus.REGISTERED
        ).first()
        if mine is not None:
            return mine
        taken = LectureRegistration.objects.filter(
            lecture=lecture, status=RegistrationStatus.REGISTERED
        ).count()
        if taken >= lecture.capacity:
            raise LectureFull(
                _("Sorry, every seat of this lecture is taken. Its recording will be on this "
                  "page afterwards.")
            )
        if not Borrower.objects.filter(pk=borrower_id).exists():
            raise NotAllowed(_("Only borrowers can register for lectures."))
        try:
            with transaction.atomic():
                registration = LectureRegistration.objects.create(
                    lecture=lecture, borrower_id=borrower_id
                )
        except IntegrityError:
            twin = LectureRegistration.objects.filter(
                lecture=lecture, borrower_id=borrower_id, status=RegistrationStatus.REGISTERED
            ).first()
            if twin is None:
                raise
            return twin
        audit_record(
            actor=actor, action="education.lecture.register", target=registration,
            summary=lecture.title,
            after={"lecture": lecture.pk, "borrower": borrower_id, "seat": taken + 1},
        )
    return registration


def lecture_cancel(*, lecture_id: int, borrower_id: int, actor: User | None) -> LectureRegistration:
    """Give the seat back (before the lecture starts)."""
    with transaction.atomic():
        lecture = _lock_lecture(lecture_id)
        registration = (
            LectureRegistration.objects.select_for_update()
            .filter(lecture=lecture, borrower_id=borrower_id, status=RegistrationStatus.REGISTERED)
            .first()
        )
        if registration is None:
            raise NotAllowed(_("You are not registered for this lecture."))
        if lecture.has_started:
            raise NotAllowed(_("This lecture has already started; the registration stays."))
        before = registration.status
        if RegistrationStatus.CANCELLED not in LectureRegistration.TRANSITIONS.get(before, set()):
            raise NotAllowed(_("This registration cannot be cancelled."))
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = timezone.now()
        registration.save(update_fields=["status", "cancelled_at"])
        audit_record(
            actor=actor, action="education.lecture.cancel", target=registration,
            summary=lecture.title, before={"status": before},
            after={"status": registration.status},
        )
    return registration


# --- lectures: the reminder --------------------------------------------------------------


def lecture_reminders_queue(*, today: dt.date) -> int:
    """Text every borrower registered for a lecture that starts tomorrow (local date), once:
    the dedupe key (lecture, borrower) refuses a second message however often this runs."""
    zone = timezone.get_current_timezone()
    first = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    last = first + dt.timedelta(days=1)
    registrations = (
        LectureRegistration.objects.filter(
            status=RegistrationStatus.REGISTERED,
            lecture__starts_at__gte=first,
            lecture__starts_at__lt=last,
        )
        .select_related("lecture", "borrower__user")
        .order_by("id")
    )
    queued = 0
    with transaction.atomic():
        for registration in registrations.iterator(chunk_size=1000):
            lecture, borrower = registration.lecture, registration.borrower
            starts = timezone.localtime(lecture.starts_at, zone)
            message = sms_queue(
                recipient=borrower.user,
                mobile=borrower.mobile,
                language=borrower.preferred_language,
                kind="lecture_reminder",
                text=LECTURE_REMINDER_SMS,
                params={
                    "title": lecture.title,
                    "date": starts.date().isoformat(),
                    "time": f"{starts:%H:%M}",
                },
                dedupe_key=f"lecture-reminder:{lecture.pk}:{borrower.pk}",
            )
            queued += message is not None
    return queued
