"""Admin forms for the editors. They check the input with the services' own rules (so a
refusal shows beside the fields); saving goes through the services, which check it again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.errors import DomainError

from . import services
from .models import Article, Audience, Category, Lecture

MARKDOWN_HELP = _(
    "Markdown: a blank line starts a new paragraph; ## Heading, **bold**, - list item, "
    "1. numbered item, [link text](https://…) or [link text](/my/hardship/). Scripts, styles, "
    "images and frames are removed; use Preview to see the page as borrowers will."
)


class ArticleAdminForm(forms.ModelForm):
    audiences = forms.MultipleChoiceField(
        label=_("audiences"),
        choices=Audience.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Who the article is written for; the dashboard recommends by these."),
    )

    class Meta:
        model = Article
        fields = ["title", "slug", "language", "translation_of", "summary", "body", "categories"]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 24, "cols": 100}),
            "summary": forms.Textarea(attrs={"rows": 3, "cols": 100}),
        }
        help_texts = {"body": MARKDOWN_HELP}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "translation_of" in self.fields:
            originals = Article.objects.filter(translation_of__isnull=True).order_by("title")
            if self.instance.pk is not None:
                originals = originals.exclude(pk=self.instance.pk)
            self.fields["translation_of"].queryset = originals  # type: ignore[attr-defined]
        if self.instance.pk is not None and "audiences" in self.fields:
            self.initial["audiences"] = list(
                self.instance.audiences.values_list("audience", flat=True)
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        original = data.get("translation_of")
        try:
            services.article_check(
                article_id=self.instance.pk,
                title=data.get("title", ""),
                slug=data.get("slug", ""),
                language=data.get("language", ""),
                summary=data.get("summary", ""),
                body=data.get("body", ""),
                category_ids=[c.pk for c in data.get("categories", [])],
                audiences=data.get("audiences", []),
                translation_of_id=original.pk if original is not None else None,
            )
        except DomainError as refused:
            raise ValidationError(str(refused)) from None
        return data


class ArticleTransitionForm(forms.Form):
    note = forms.CharField(
        label=_("note"), max_length=300, required=False,
        help_text=_("Optional: what should change, or why (kept in the article's history)."),
    )


class CategoryAdminForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["slug", "name_zh", "name_en", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            services.category_check(
                category_id=self.instance.pk, slug=data.get("slug", ""),
                name_zh=data.get("name_zh", ""), name_en=data.get("name_en", ""),
                position=data.get("position", 100),
            )
        except DomainError as refused:
            raise ValidationError(str(refused)) from None
        return data


class LectureAdminForm(forms.ModelForm):
    join_url = forms.URLField(
        label=Lecture._meta.get_field("join_url").verbose_name, max_length=300, assume_scheme="https"
    )
    recording_url = forms.URLField(
        label=Lecture._meta.get_field("recording_url").verbose_name, max_length=300, required=False,
        assume_scheme="https", help_text=_("Add it after the lecture; borrowers then see it."),
    )

    class Meta:
        model = Lecture
        fields = [
            "title", "speaker", "language", "description", "starts_at", "duration_minutes",
            "capacity", "join_url", "recording_url",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            services.lecture_check(lecture_id=self.instance.pk, **lecture_values(data))
        except DomainError as refused:
            raise ValidationError(str(refused)) from None
        return data


def lecture_values(data: dict[str, Any]) -> dict[str, Any]:
    """The lecture form's cleaned data as the services' keyword arguments."""
    return {
        "title": data.get("title", ""),
        "speaker": data.get("speaker", ""),
        "language": data.get("language", ""),
        "description": data.get("description", ""),
        "starts_at": data.get("starts_at"),
        "duration_minutes": data.get("duration_minutes") or 0,
        "capacity": data.get("capacity") or 0,
        "join_url": data.get("join_url", ""),
        "recording_url": data.get("recording_url", ""),
    }
