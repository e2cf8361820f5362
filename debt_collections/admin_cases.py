"""Case work in the admin: the queues, the case page, today's calls, emergency contacts.

The changelist of cases is the queue (filters for the queue, stage, days past due, amount,
promise and hardship; sorted by the priority score, which the page explains). The change view
is replaced by the case page; its actions are small forms posting to URLs of their own. Every
change goes through `debt_collections.services`; nothing here edits a row.

Imported at the end of `debt_collections.admin`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from notices.admin import print_notices_for_cases
from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin
from portal.calendar import business_today
from portal.errors import DomainError
from portal.masking import mask_mobile

from . import conduct, selectors, services
from .forms_cases import (
    AssignForm,
    CaseNoteForm,
    ClassifyForm,
    ContactLogForm,
    LegalReviewForm,
    PromiseForm,
)
from .models import CallTask, CallTaskStatus, Case, EmergencyContact
from .priority import priority_explain, priority_formula
from .services.cases import ASSIGN_PERMISSION, REVEAL_PERMISSION, WORK_PERMISSION, RevealedIdentity
from .views import signed_in_user

# --- queue filters ----------------------------------------------------------------------------


class QueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return selectors.queue_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        return selectors.queue_filter(queryset, user_id=request.user.pk, queue=self.value())

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            if choice["display"] == _("All"):  # no queue chosen: every open case
                choice = {**choice, "display": _("All open cases")}
            yield choice


class BucketFilter(admin.SimpleListFilter):
    field = ""

    def buckets(self) -> list[selectors.Bucket]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(bucket.key, bucket.label) for bucket in self.buckets()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        return selectors.bucket_filter(
            queryset, field=self.field, buckets=self.buckets(), key=self.value()
        )


class DaysPastDueFilter(BucketFilter):
    title = gettext_lazy("days past due")
    parameter_name = "dpd"
    field = "days_past_due"

    def buckets(self) -> list[selectors.Bucket]:
        return selectors.dpd_buckets()


class AmountFilter(BucketFilter):
    title = gettext_lazy("overdue amount")
    parameter_name = "amount"
    field = "overdue_amount"

    def buckets(self) -> list[selectors.Bucket]:
        return selectors.amount_buckets()


# --- the queue and the case page --------------------------------------------------------------


def _case_url(case_id: int) -> str:
    return reverse("admin:collections_case_change", args=[case_id])


@admin.register(Case)
class CaseAdmin(LongListMixin, admin.ModelAdmin):
    list_display = [
        "priority_shown",
        "loan",
        "borrower",
        "stage",
        "days_past_due",
        "overdue_amount",
        "promise_state",
        "hardship_flag",
        "classification",
        "assigned_to",
        "last_contact_at",
    ]
    list_display_links = ["priority_shown", "loan"]
    list_filter = [
        QueueFilter,
        "stage",
        DaysPastDueFilter,
        AmountFilter,
        "promise_state",
        "hardship_flag",
    ]
    list_select_related = ["loan", "borrower", "assigned_to"]
    ordering = ["-priority", "id"]  # case_queue_idx and friends
    show_facets = admin.ShowFacets.NEVER  # no COUNT per filter choice over 100,000 cases
    list_per_page = 50
    search_fields = ["=loan__reference"]
    actions = ["assign_to_me", "assign_to_agent", "assign_automatically", print_notices_for_cases]

    # Cases are opened and closed by the close of business and changed by the services only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_assign_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ASSIGN_PERMISSION)

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(WORK_PERMISSION)

    def action_checkbox(self, obj: Case) -> SafeString:
        """The admin's checkbox of a row, the same HTML written directly: the admin renders it
        through the form templates, some 15 % of the queue page's time for its 50 rows."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME, str(obj.pk), label,
        )

    @admin.display(description=gettext_lazy("priority"), ordering="-priority")
    def priority_shown(self, obj: Case) -> str:
        why = priority_explain(
            overdue_amount=obj.overdue_amount,
            days_past_due=obj.days_past_due,
            broken_promises=obj.broken_promises,
        )
        return format_html('<span title="{}">{}</span>', why.text, obj.priority)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "priority_formula": priority_formula()}
        return super().changelist_view(request, extra_context)

    # --- actions on the queue -----------------------------------------------------------------

    def _assign(self, request: HttpRequest, queryset: QuerySet[Case], agent_id: int) -> None:
        try:
            changed = services.case_assign(
                case_ids=list(queryset.values_list("pk", flat=True)),
                agent_id=agent_id,
                actor=signed_in_user(request),
            )
        except DomainError as refused:
            self.message_user(request, str(refused), messages.ERROR)
        else:
            self.message_user(
                request,
                ngettext("%(count)s case assigned.", "%(count)s cases assigned.", changed)
                % {"count": changed},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Assign to me"), permissions=["assign"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        self._assign(request, queryset, signed_in_user(request).pk)

    @admin.action(description=gettext_lazy("Assign to an agent…"), permissions=["assign"])
    def assign_to_agent(
        self, request: HttpRequest, queryset: QuerySet[Case]
    ) -> HttpResponse | None:
        form = AssignForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._assign(request, queryset, form.cleaned_data["agent"].pk)
            return None  # back to the queue
        context = {
            **self.admin_site.each_context(request),
            "title": _("Assign cases to an agent"),
            "opts": self.model._meta,
            "form": form,
            "cases": queryset[:100],
            "count": queryset.count(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action": "assign_to_agent",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/collections/case_assign.html", context)

    @admin.action(
        description=gettext_lazy("Assign automatically (balanced by open cases)"),
        permissions=["assign"],
    )
    def assign_automatically(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        try:
            given = services.cases_assign_automatically(
                actor=signed_in_user(request), within=queryset
            )
        except DomainError as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return
        total = sum(given.values())
        self.message_user(
            request,
            ngettext(
                "%(count)s unassigned case given to %(agents)s agents.",
                "%(count)s unassigned cases given to %(agents)s agents.",
                total,
            )
            % {"count": total, "agents": len(given)},
            messages.SUCCESS,
        )

    # --- the case page --------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        actions = [
            ("contact", self.contact_view),
            ("note", self.note_view),
            ("promise", self.promise_view),
            ("classify", self.classify_view),
            ("legal-review", self.legal_review_view),
            ("assign", self.assign_view),
            ("reveal", self.reveal_view),
        ]
        return [
            *[
                path(
                    f"<int:case_id>/{name}/",
                    wrap(view),
                    name=f"collections_case_{name.replace('-', '_')}",
                )
                for name, view in actions
            ],
            *super().get_urls(),
        ]

    def _viewable_case(self, request: HttpRequest, case_id: int) -> Case:
        case = Case.objects.filter(pk=case_id).first()
        if case is None:
            raise Http404
        if not self.has_view_permission(request, case):
            raise PermissionDenied
        return case

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            case_id = int(object_id)
        except ValueError:
            raise Http404 from None
        if not self.has_view_permission(request):  # the same for every case: read it once below
            raise PermissionDenied
        return self._case_page(request, case_id)

    def _case_page(
        self,
        request: HttpRequest,
        case_id: int,
        *,
        bound: dict[str, Form] | None = None,
        revealed: RevealedIdentity | None = None,
    ) -> HttpResponse:
        try:
            page = selectors.case_page(case_id=case_id, as_of=business_today())
        except Case.DoesNotExist:
            raise Http404 from None
        case = page.case
        forms: dict[str, Form] = {
            "contact": ContactLogForm(contacts=page.emergency_contacts),
            "promise": PromiseForm(),
            "note": CaseNoteForm(),
            "classify": ClassifyForm(initial={"classification": case.classification}),
            "legal_review": LegalReviewForm(),
            "assign": AssignForm(initial={"agent": case.assigned_to_id}),
            **(bound or {}),
        }
        hardship_url = (
            reverse("admin:collections_hardshiprequest_changelist")
            + "?"
            + urlencode({"borrower__id__exact": case.borrower_id})
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Case #%(case)s") % {"case": case.pk},
            "subtitle": str(case.borrower),
            "opts": self.model._meta,
            "original": case,
            "page": page,
            "forms": forms,
            "revealed": revealed,
            "contact_rows": [
                (
                    c,
                    revealed.emergency_contacts.get(c.pk, "")
                    if revealed
                    else mask_mobile(c.mobile),
                )
                for c in page.emergency_contacts
            ],
            "can_work": self.has_work_permission(request) and case.status == "open",
            "can_assign": self.has_assign_permission(request) and case.status == "open",
            "can_reveal": request.user.has_perm(REVEAL_PERMISSION),
            "hardship_url": hardship_url,
            "priority_formula": priority_formula(),
            "contact_rules": conduct.rules_text(),
        }
        # admin_view's never_cache keeps pages (and revealed numbers) out of caches.
        return TemplateResponse(request, "admin/collections/case_page.html", context)

    def _act(
        self,
        request: HttpRequest,
        case_id: int,
        *,
        key: str,
        form: Callable[[Case], Form],
        permission: str,
        run: Callable[[dict[str, Any]], object],
        done: str,
    ) -> HttpResponseBase:
        """POST only: check, validate, call the service; back to the case page either way (a
        refusal shows on its form)."""
        if request.method != "POST":
            return redirect(_case_url(case_id))
        case = self._viewable_case(request, case_id)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        bound = form(case)
        if bound.is_valid():
            try:
                run(bound.cleaned_data)
            except DomainError as refused:
                bound.add_error(None, str(refused))
            else:
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(_case_url(case_id))
        return self._case_page(request, case_id, bound={key: bound})

    def contact_view(self, request: HttpRequest, case_id: int) -> HttpResponseBase:
        def form(case: Case) -> Form:
            contacts = EmergencyContact.objects.filter(borrower_id=case.borrower_id).order_by("pk")
            return ContactLogForm(request.POST, contacts=list(contacts))

        return self._act(
            request,
            case_id,
            key="contact",
            form=form,
            permission=WORK_PERMISSION,
            done=_("The contact is logged."),
            run=lambda data: services.contact_log(
                case_id=case_id,
                actor=signed_in_user(request),
                channel=data["channel"],
                party=data["party"],
                outcome=data["outcome"],
                overdue_reason=data["overdue_reason"],
                note=data["note"],
                emergency_contact_id=data["emergency_contact"],
                third_party_reason=data["third_party_reason"],
                debt_not_disclosed=data["debt_not_disclosed"],
                at=data["at"],
            ),
        )

    def note_view(self, request: HttpRequest, case_id: int) -> HttpResponseBase:
        return self._act(
            request,
            case_id,
            key="note",
            form=lambda case: CaseNoteForm(request.POST),
            permission=WORK_PERMISSION,
            done=_("The note is added."),
            run=lambda data: services.case_note_add(
                case_id=case_id, actor=signed_in_user(request), text=data["text"]
            ),
        )

    def promise_view(self, request: HttpRequest, case_id: int) -> HttpResponseBase:
        return self._act(
            request,
            case_id,
            key="promise",
            form=lambda case: PromiseForm(request.POST),
            permission=WORK_PERMISSION,
            done=_("The promise to pay is recorded."),
            run=lambda data: services.promise_record(
                case_id=case_id,
                actor=signed_in_user(request),
                amount=data["amount"],
                promised_date=data["promised_date"],
            ),
        )

    def classify_view(self, request: HttpRequest, case_id: int) -> HttpResponseBase:
        return self._act(
            request,
            case_id,
            key="classify",
            form=lambda case: ClassifyForm(request.POST),
            permission=WORK_PERMISSION,
            done=_("The case is classified."),
            run=lambda data: services.case_classify(
                case_id=case_id,
                actor=signed_in_user(request),
                classification=data["classification"],
                note=data["note"],
            ),
        )

    def legal_review_view(self, request: HttpRequest, case_id: int) -> HttpResponseBase:
        return self._act(
            request,
            case_id,
            key="legal_review",
            form=lambda case: LegalReviewForm(request.POST),
            permission=WORK_PERMISSION,
            done=_("Legal review is requested; the legal officers are alerted."),
            run=lambda data: services.case_request_legal_review(
                case_id=case_id, actor=signed_in_user(request), reason=data["reason"]
            ),
        )

    def assign_view(self, request: HttpRequest, case_id: int) -> HttpResponseBase:
        return self._act(
            request,
            case_id,
            key="assign",
            form=lambda case: AssignForm(request.POST),
            permission=ASSIGN_PERMISSION,
            done=_("The case is assigned."),
            run=lambda data: services.case_assign(
                case_ids=[case_id], agent_id=data["agent"].pk, actor=signed_in_user(request)
            ),
        )

    def reveal_view(self, request: HttpRequest, case_id: int) -> HttpResponseBase:
        """Full ID and numbers, in this response only; every reveal is audited by the service."""
        if request.method != "POST":
            return redirect(_case_url(case_id))
        self._viewable_case(request, case_id)
        try:
            revealed = services.borrower_identity_reveal(
                case_id=case_id, actor=signed_in_user(request)
            )
        except DomainError as refused:
            raise PermissionDenied(str(refused)) from None
        return self._case_page(request, case_id, revealed=revealed)


# --- today's calls ------------------------------------------------------------------------------


class CallDayFilter(admin.SimpleListFilter):
    title = gettext_lazy("day")
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("earlier", _("Earlier days")), ("all", _("All days"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CallTask]) -> QuerySet[CallTask]:
        today = business_today()
        if self.value() == "earlier":
            return queryset.filter(business_date__lt=today)
        if self.value() == "all":
            return queryset
        return queryset.filter(business_date=today)

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            if choice["display"] == _("All"):  # no choice: today's calls
                choice = {**choice, "display": _("Today")}
            yield choice


@admin.register(CallTask)
class CallTaskAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "business_date",
        "loan",
        "borrower",
        "days_past_due",
        "rule",
        "status",
        "case_link",
        "done_by",
        "done_at",
    ]
    list_filter = [CallDayFilter, "status"]
    list_select_related = ["loan__borrower", "case", "done_by"]
    ordering = ["business_date", "id"]
    search_fields = ["=loan__reference"]
    actions = ["mark_done"]

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(WORK_PERMISSION)

    @admin.display(description=gettext_lazy("borrower"))
    def borrower(self, obj: CallTask) -> str:
        return str(obj.loan.borrower)

    @admin.display(description=gettext_lazy("days past due"))
    def days_past_due(self, obj: CallTask) -> int:
        return obj.loan.days_past_due

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if "day" not in request.GET:
            extra_context = {**(extra_context or {}), "title": _("Today's calls")}
        return super().changelist_view(request, extra_context)

    @admin.display(description=gettext_lazy("case"))
    def case_link(self, obj: CallTask) -> str:
        if obj.case_id is None:
            return "—"
        return format_html('<a href="{}">#{}</a>', _case_url(obj.case_id), obj.case_id)

    @admin.action(description=gettext_lazy("Mark done"), permissions=["work"])
    def mark_done(self, request: HttpRequest, queryset: QuerySet[CallTask]) -> None:
        try:
            done = services.call_task_complete(
                task_ids=list(
                    queryset.filter(status=CallTaskStatus.OPEN).values_list("pk", flat=True)
                ),
                actor=signed_in_user(request),
            )
        except DomainError as refused:
            self.message_user(request, str(refused), messages.WARNING)
        else:
            self.message_user(
                request,
                ngettext("%(count)s call done.", "%(count)s calls done.", done) % {"count": done},
                messages.SUCCESS,
            )


@admin.register(EmergencyContact)
class EmergencyContactAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Masked here for everyone: full numbers are revealed (and audited) on the case page."""

    list_display = ["name", "relationship", "masked_mobile", "borrower"]
    list_select_related = ["borrower"]
    search_fields = ["borrower__real_name", "name"]
    fields = ("borrower", "name", "relationship", "masked_mobile")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("mobile number"))
    def masked_mobile(self, obj: EmergencyContact) -> str:
        return mask_mobile(obj.mobile)
