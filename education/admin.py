"""The editors' screens: articles, categories and lectures in the admin's Education section.

Every save and every status change calls `education.services`, so it is checked, locked and
audited like any other change. Forms check the input with the services' rules first, so a
refusal shows beside the fields. Nothing is deleted here: articles are archived instead.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.admin_tools import ReadOnlyInline
from portal.errors import DomainError
from portal.models import User

from . import services, views
from .forms import (
    ArticleAdminForm,
    ArticleTransitionForm,
    CategoryAdminForm,
    LectureAdminForm,
    lecture_values,
)
from .models import (
    EDITABLE_STATUSES,
    Article,
    ArticleStatus,
    ArticleTransition,
    Audience,
    Category,
    Lecture,
    RegistrationStatus,
)

REFUSED = "_education_refused"


def staff_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


class ServiceSavesMixin:
    """`save_model` hands the form to a service. A refusal that slipped past the form's check
    (someone changed the row meanwhile) is shown as a message, and nothing is saved."""

    message_user: Any

    def service_save(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> Model:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        try:
            saved = self.service_save(request, obj, form, change)
        except DomainError as refused:
            setattr(request, REFUSED, True)
            self.message_user(request, str(refused), messages.ERROR)
            return
        obj.pk = saved.pk
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The service saved the many-to-many fields already; inlines here are read-only."""
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if not getattr(request, REFUSED, False):
            return super().log_addition(request, obj, message)  # type: ignore[misc]
        return None

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if not getattr(request, REFUSED, False):
            return super().log_change(request, obj, message)  # type: ignore[misc]
        return None

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: str | None = None) -> HttpResponse:
        if getattr(request, REFUSED, False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_add(request, obj, post_url_continue)  # type: ignore[misc, no-any-return]

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        if getattr(request, REFUSED, False):
            return HttpResponseRedirect(request.get_full_path())
        return super().response_change(request, obj)  # type: ignore[misc, no-any-return]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- articles ----------------------------------------------------------------------------


class TransitionInline(ReadOnlyInline):
    model = ArticleTransition
    fields = ("at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    verbose_name_plural = _("history")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("education.view_article")  # whoever sees the article


# (service, permission, button label, success message) for each move the workflow page offers.
MOVES: dict[str, tuple[Any, str, Any, Any]] = {
    "submit": (services.article_submit, services.CHANGE_PERMISSION, _("Submit for review"),
               _("The article is waiting for review.")),
    "return": (services.article_return, services.CHANGE_PERMISSION, _("Return to draft"),
               _("The article is a draft again.")),
    "publish": (services.article_publish, services.PUBLISH_PERMISSION, _("Publish"),
                _("The article is published: borrowers can read it now.")),
    "archive": (services.article_archive, services.PUBLISH_PERMISSION, _("Archive"),
                _("The article is archived: borrowers no longer see it.")),
    "revise": (services.article_revise, services.CHANGE_PERMISSION, _("Revise as a draft"),
               _("The article is a draft again; publish it again when it is ready.")),
}
MOVE_TARGETS = {
    "submit": ArticleStatus.IN_REVIEW, "return": ArticleStatus.DRAFT,
    "publish": ArticleStatus.PUBLISHED, "archive": ArticleStatus.ARCHIVED,
    "revise": ArticleStatus.DRAFT,
}


def moves_for(article: Article, user: Any) -> list[tuple[str, Any]]:
    """The moves the model allows from the article's status and the user may make."""
    allowed = Article.TRANSITIONS.get(article.status, set())
    return [
        (name, label)
        for name, (_service, permission, label, _done) in MOVES.items()
        if MOVE_TARGETS[name] in allowed
        and (name != "revise" or article.status == ArticleStatus.ARCHIVED)
        and (name != "return" or article.status == ArticleStatus.IN_REVIEW)
        and user.has_perm(permission)
    ]


@admin.register(Article)
class ArticleAdmin(ServiceSavesMixin, admin.ModelAdmin):
    form = ArticleAdminForm
    list_display = ["title", "language", "status", "published_at", "reading_minutes", "updated_at", "links"]
    list_filter = ["status", "language", "categories", "audiences__audience"]
    search_fields = ["title", "slug"]
    list_select_related = ["translation_of"]
    show_full_result_count = False
    inlines = [TransitionInline]
    actions = ["submit_for_review", "publish", "archive"]
    readonly_fields = ["status", "published_at", "reading_minutes", "created_by"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        locked = obj is not None and obj.status not in EDITABLE_STATUSES
        fieldsets: list[Any] = [
            (None, {"fields": ["title", "slug", "language", "translation_of", "summary", "body"]}),
            (_("Where it appears"), {"fields": ["categories", "audiences_shown" if locked else "audiences"]}),
        ]
        if obj is not None:
            fieldsets.append((_("Workflow"), {"fields": self.readonly_fields}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status not in EDITABLE_STATUSES:
            # Published and archived articles are read here; revising starts a new draft.
            return [
                "title", "slug", "language", "translation_of", "summary", "body", "categories",
                "audiences_shown", *self.readonly_fields,
            ]
        return self.readonly_fields

    @admin.display(description=_("audiences"))
    def audiences_shown(self, obj: Article) -> str:
        labels = dict(Audience.choices)
        return ", ".join(str(labels.get(a, a)) for a in obj.audiences.values_list("audience", flat=True))

    @admin.display(description=_("links"))
    def links(self, obj: Article) -> str:
        preview = reverse("admin:education_article_preview", args=[obj.pk])
        workflow = reverse("admin:education_article_workflow", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>', preview, _("Preview"), workflow, _("Workflow")
        )

    def service_save(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> Model:
        data = form.cleaned_data
        original = data.get("translation_of")
        values: dict[str, Any] = {
            "actor": staff_user(request),
            "title": data["title"],
            "slug": data["slug"],
            "language": data["language"],
            "summary": data["summary"],
            "body": data["body"],
            "category_ids": [c.pk for c in data.get("categories", [])],
            "audiences": data.get("audiences", []),
            "translation_of_id": original.pk if original is not None else None,
        }
        if change:
            return services.article_update(article_id=obj.pk, **values)
        return services.article_create(**values)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        article = Article.objects.filter(pk=object_id).first()
        extra = dict(extra_context or {})
        if article is not None:
            extra["article_links"] = {
                "preview": reverse("admin:education_article_preview", args=[article.pk]),
                "workflow": reverse("admin:education_article_workflow", args=[article.pk]),
            }
            if article.status not in EDITABLE_STATUSES:
                extra.update(show_save=False, show_save_and_continue=False,
                             show_save_and_add_another=False)
        return super().change_view(request, object_id, form_url, extra)

    change_form_template = "education/admin/article_change_form.html"

    # --- preview and workflow pages

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/preview/", wrap(self.preview_view), name="education_article_preview"),
            path("<int:object_id>/workflow/", wrap(self.workflow_view), name="education_article_workflow"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The article exactly as borrowers will see it, whatever its status."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        article = get_object_or_404(Article.objects.prefetch_related("categories"), pk=object_id)
        return render(request, "education/article_detail.html", views.article_context(article, preview=True))

    def workflow_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        article = get_object_or_404(Article, pk=object_id)
        form = ArticleTransitionForm(request.POST or None)
        if request.method == "POST":
            move = request.POST.get("move", "")
            if move not in MOVES:
                raise PermissionDenied
            service, permission, _label, done = MOVES[move]
            if form.is_valid():
                try:
                    service(article_id=article.pk, actor=staff_user(request), note=form.cleaned_data["note"])
                except DomainError as refused:
                    self.message_user(request, str(refused), messages.ERROR)
                else:
                    self.message_user(request, done, messages.SUCCESS)
                    return redirect("admin:education_article_workflow", article.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Workflow of “%(title)s”") % {"title": article.title},
            "article": article,
            "moves": moves_for(article, request.user),
            "history": article.transitions.select_related("actor").order_by("-at", "-id"),
            "form": form,
            "opts": self.model._meta,
            "original": article,
        }
        return render(request, "education/admin/article_workflow.html", context)

    # --- list actions (each article through the service, refusals reported one by one)

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(services.PUBLISH_PERMISSION)

    @admin.action(description=_("Submit for review"), permissions=["change"])
    def submit_for_review(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._each(request, queryset, services.article_submit)

    @admin.action(description=_("Publish"), permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._each(request, queryset, services.article_publish)

    @admin.action(description=_("Archive"), permissions=["publish"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._each(request, queryset, services.article_archive)

    def _each(self, request: HttpRequest, queryset: QuerySet[Article], move: Any) -> None:
        done = 0
        for pk, title in queryset.values_list("pk", "title"):
            try:
                move(article_id=pk, actor=staff_user(request))
                done += 1
            except DomainError as refused:
                self.message_user(request, f"{title}: {refused}", messages.WARNING)
        if done:
            changed = ngettext("%(count)s article changed.", "%(count)s articles changed.", done)
            self.message_user(request, changed % {"count": done}, messages.SUCCESS)


# --- categories --------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(ServiceSavesMixin, admin.ModelAdmin):
    form = CategoryAdminForm
    list_display = ["slug", "name_zh", "name_en", "position", "published"]
    ordering = ["position", "slug"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(
            published_total=Count("articles", filter=Q(articles__status=ArticleStatus.PUBLISHED))
        )

    @admin.display(description=_("published articles"))
    def published(self, obj: Any) -> int:
        return int(getattr(obj, "published_total", 0))

    def service_save(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> Model:
        data = form.cleaned_data
        values = {
            "actor": staff_user(request), "slug": data["slug"], "name_zh": data["name_zh"],
            "name_en": data["name_en"], "position": data["position"],
        }
        if change:
            return services.category_update(category_id=obj.pk, **values)
        return services.category_create(**values)


# --- lectures ----------------------------------------------------------------------------


@admin.register(Lecture)
class LectureAdmin(ServiceSavesMixin, admin.ModelAdmin):
    form = LectureAdminForm
    list_display = ["title", "starts_at", "language", "speaker", "capacity", "registered", "has_recording"]
    list_filter = ["language"]
    search_fields = ["title", "speaker"]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Lecture]:
        return super().get_queryset(request).annotate(
            registered_total=Count(
                "registrations", filter=Q(registrations__status=RegistrationStatus.REGISTERED)
            )
        )

    @admin.display(description=_("registered"), ordering="registered_total")
    def registered(self, obj: Any) -> int:
        return int(getattr(obj, "registered_total", 0))

    @admin.display(description=_("recording"), boolean=True)
    def has_recording(self, obj: Lecture) -> bool:
        return bool(obj.recording_url)

    def service_save(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> Model:
        values = lecture_values(form.cleaned_data)
        if change:
            return services.lecture_update(lecture_id=obj.pk, actor=staff_user(request), **values)
        return services.lecture_create(actor=staff_user(request), **values)
