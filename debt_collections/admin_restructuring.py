"""Restructuring in the admin: the approval queue, the approval page, the propose page.

- The changelist of proposals is the queue: by default the proposals waiting for approval,
  oldest first, with the waiver share and the approvals given and needed.
- The change view is replaced by the approval page: the current and the proposed schedule side
  by side with totals, the borrower's history (payments, earlier restructurings, hardship
  requests), the reason, decisions and history; approve / reject with a comment (supervisors,
  never on their own proposals), withdraw an unanswered offer.
- "Propose a restructuring" (…/restructuringproposal/propose/?case=<id>, or ?hardship=<id> for
  a borrower's hardship request): kind and parameters, a server-side preview, then confirm.

Every change goes through `debt_collections.services`; nothing here edits a row.
Imported at the end of `debt_collections.admin`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loans.restructuring import Plan
from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin
from portal.calendar import business_today
from portal.errors import DomainError

from . import selectors_restructuring as selectors
from . import services
from .forms_restructuring import ApproveForm, ProposeForm, RejectForm, WithdrawForm
from .models import (
    Case,
    HardshipRequest,
    RestructuringProposal,
    RestructuringStatus,
)
from .services.restructuring import APPROVE_PERMISSION, PROPOSE_PERMISSION
from .views import signed_in_user


class QueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("offered", gettext_lazy("Offered, waiting for the borrower")),
            ("decided", gettext_lazy("Decided or closed")),
            ("all", gettext_lazy("All proposals")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RestructuringProposal]
    ) -> QuerySet[RestructuringProposal]:
        value = self.value()
        if value == "offered":
            return queryset.filter(status=RestructuringStatus.OFFERED)
        if value == "decided":
            return queryset.exclude(
                status__in=[RestructuringStatus.PROPOSED, RestructuringStatus.OFFERED]
            )
        if value == "all":
            return queryset
        return queryset.filter(status=RestructuringStatus.PROPOSED)

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            if choice["display"] == _("All"):  # nothing chosen: the approval queue
                choice = {**choice, "display": _("Waiting for approval")}
            yield choice


def _page_url(proposal_id: int) -> str:
    return reverse("admin:collections_restructuringproposal_change", args=[proposal_id])


def preview_key(plan: Plan) -> str:
    """What a confirmation must match: the very plan the preview showed (bills, date, kind,
    parameters); anything else needs a new preview."""
    return hashlib.sha256(json.dumps(plan.to_json(), sort_keys=True).encode()).hexdigest()


@admin.register(RestructuringProposal)
class RestructuringProposalAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "pk",
        "loan",
        "borrower_name",
        "kind",
        "source",
        "status",
        "waiver_share_shown",
        "approvals_shown",
        "proposed_by",
    ]
    list_display_links = ["created_at", "pk"]
    list_filter = [QueueFilter, "kind", "source", "status"]
    ordering = ["created_at", "id"]  # oldest first: the queue is worked in order
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    search_fields = ["=loan__reference"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RestructuringProposal]:
        return selectors.approval_queue(super().get_queryset(request))

    @admin.display(description=gettext_lazy("borrower"))
    def borrower_name(self, obj: RestructuringProposal) -> str:
        return str(obj.loan.borrower)

    @admin.display(description=gettext_lazy("waiver share"), ordering="waiver_share")
    def waiver_share_shown(self, obj: RestructuringProposal) -> str:
        return f"{obj.waiver_share * 100:.2f} %"

    @admin.display(description=gettext_lazy("approvals"))
    def approvals_shown(self, obj: RestructuringProposal) -> str:
        given = int(getattr(obj, "approval_count", 0))
        needed = 2 if obj.needs_second_approval else 1
        return f"{given}/{needed}"

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(APPROVE_PERMISSION)

    def has_propose_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PROPOSE_PERMISSION)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("propose/", wrap(self.propose_view), name="collections_restructuringproposal_propose"),
            path("<int:proposal_id>/approve/", wrap(self.approve_view),
                 name="collections_restructuringproposal_approve"),
            path("<int:proposal_id>/reject/", wrap(self.reject_view),
                 name="collections_restructuringproposal_reject"),
            path("<int:proposal_id>/withdraw/", wrap(self.withdraw_view),
                 name="collections_restructuringproposal_withdraw"),
            *super().get_urls(),
        ]

    # --- the approval page ------------------------------------------------------------------

    def _viewable(self, request: HttpRequest, proposal_id: int) -> None:
        if not RestructuringProposal.objects.filter(pk=proposal_id).exists():
            raise Http404
        if not self.has_view_permission(request):
            raise PermissionDenied

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            proposal_id = int(object_id)
        except ValueError:
            raise Http404 from None
        self._viewable(request, proposal_id)
        return self._page(request, proposal_id)

    def _page(
        self, request: HttpRequest, proposal_id: int, *, bound: dict[str, Form] | None = None
    ) -> HttpResponse:
        page = selectors.proposal_page(proposal_id=proposal_id)
        proposal = page.proposal
        user = signed_in_user(request)
        decided_by_me = any(a.approver_id == user.pk for a in page.approvals)
        can_decide = (
            self.has_approve_permission(request)
            and proposal.status == RestructuringStatus.PROPOSED
            and proposal.proposed_by_id != user.pk
            and not decided_by_me
        )
        forms: dict[str, Form] = {
            "approve": ApproveForm(),
            "reject": RejectForm(),
            "withdraw": WithdrawForm(),
            **(bound or {}),
        }
        context = {
            **self.admin_site.each_context(request),
            "title": _("Restructuring proposal #%(id)s") % {"id": proposal.pk},
            "subtitle": str(page.borrower),
            "opts": self.model._meta,
            "original": proposal,
            "page": page,
            "c": page.comparison,
            "totals": selectors.totals_lines(page.comparison),
            "forms": forms,
            "can_decide": can_decide,
            "own_proposal": proposal.proposed_by_id == user.pk,
            "decided_by_me": decided_by_me,
            "can_withdraw": self.has_propose_permission(request)
            and proposal.status == RestructuringStatus.OFFERED,
            # A refusal of a form no longer shown (the decision was made meanwhile) shows on top.
            "refusals": [str(e) for f in (bound or {}).values() for e in f.non_field_errors()],
        }
        return TemplateResponse(request, "admin/collections/restructuring_page.html", context)

    def _act(
        self,
        request: HttpRequest,
        proposal_id: int,
        *,
        key: str,
        form: Callable[[], Form],
        permission: str,
        run: Callable[[dict[str, Any]], object],
        done: str,
    ) -> HttpResponseBase:
        if request.method != "POST":
            return redirect(_page_url(proposal_id))
        self._viewable(request, proposal_id)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        bound = form()
        if bound.is_valid():
            try:
                run(bound.cleaned_data)
            except DomainError as refused:
                bound.add_error(None, str(refused))
            else:
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(_page_url(proposal_id))
        return self._page(request, proposal_id, bound={key: bound})

    def approve_view(self, request: HttpRequest, proposal_id: int) -> HttpResponseBase:
        return self._act(
            request, proposal_id, key="approve", form=lambda: ApproveForm(request.POST),
            permission=APPROVE_PERMISSION, done=_("Your approval is recorded."),
            run=lambda data: services.restructuring_approve(
                proposal_id=proposal_id, actor=signed_in_user(request),
                business_date=business_today(), comment=data["comment"],
            ),
        )

    def reject_view(self, request: HttpRequest, proposal_id: int) -> HttpResponseBase:
        return self._act(
            request, proposal_id, key="reject", form=lambda: RejectForm(request.POST),
            permission=APPROVE_PERMISSION, done=_("The proposal is rejected."),
            run=lambda data: services.restructuring_reject(
                proposal_id=proposal_id, actor=signed_in_user(request), comment=data["comment"],
            ),
        )

    def withdraw_view(self, request: HttpRequest, proposal_id: int) -> HttpResponseBase:
        return self._act(
            request, proposal_id, key="withdraw", form=lambda: WithdrawForm(request.POST),
            permission=PROPOSE_PERMISSION, done=_("The offer is withdrawn."),
            run=lambda data: services.restructuring_offer_withdraw(
                proposal_id=proposal_id, actor=signed_in_user(request), reason=data["reason"],
            ),
        )

    # --- proposing ------------------------------------------------------------------------------

    def _origin(self, request: HttpRequest) -> tuple[Case | None, HardshipRequest | None]:
        source = request.POST if request.method == "POST" else request.GET
        try:
            case_id = int(source["case"]) if source.get("case") else None
            request_id = int(source["hardship"]) if source.get("hardship") else None
        except ValueError:
            raise Http404 from None
        if (case_id is None) == (request_id is None):
            raise Http404
        if case_id is not None:
            case = Case.objects.select_related("loan__borrower").filter(pk=case_id).first()
            if case is None:
                raise Http404
            return case, None
        assert request_id is not None
        hardship = HardshipRequest.objects.select_related("loan__borrower").filter(pk=request_id).first()
        if hardship is None or hardship.loan is None:
            raise Http404
        return None, hardship

    def propose_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_propose_permission(request):
            raise PermissionDenied
        case, hardship = self._origin(request)
        loan = case.loan if case is not None else hardship.loan  # type: ignore[union-attr]
        assert loan is not None
        form = ProposeForm(request.POST if request.method == "POST" else None)
        plan: Plan | None = None
        if request.method == "POST" and form.is_valid():
            kind, parameters = form.cleaned_data["kind"], form.parameters()
            try:
                plan = services.restructuring_preview(
                    loan_id=loan.pk, kind=kind, parameters=parameters, business_date=business_today()
                )
            except DomainError as refused:
                form.add_error(None, str(refused))
            else:
                key = preview_key(plan)
                if "confirm" in request.POST and form.cleaned_data["previewed"] == key:
                    try:
                        proposal = services.restructuring_propose(
                            actor=signed_in_user(request), kind=kind, parameters=parameters,
                            reason=form.cleaned_data["reason"], business_date=business_today(),
                            case_id=case.pk if case is not None else None,
                            hardship_request_id=hardship.pk if hardship is not None else None,
                        )
                    except DomainError as refused:
                        form.add_error(None, str(refused))
                    else:
                        self.message_user(
                            request, _("The restructuring is proposed; a supervisor will decide on it."),
                            messages.SUCCESS,
                        )
                        return redirect(_page_url(proposal.pk))
                elif "confirm" in request.POST:
                    form.add_error(
                        None,
                        _(
                            "The figures changed since your preview (the parameters or the loan's bills). "
                            "Check the new preview and confirm again."
                        ),
                    )
                data = request.POST.copy()
                data["previewed"] = key
                errors = form.errors
                form = ProposeForm(data)
                form.is_valid()
                for error in errors.get("__all__", []):
                    form.add_error(None, error)
        comparison = selectors.comparison(plan) if plan is not None else None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Propose a restructuring"),
            "subtitle": loan.reference,
            "opts": self.model._meta,
            "form": form,
            "case": case,
            "hardship": hardship,
            "loan": loan,
            "borrower": loan.borrower,
            "c": comparison,
            "totals": selectors.totals_lines(comparison) if comparison else [],
            "can_confirm": plan is not None,
        }
        return TemplateResponse(request, "admin/collections/restructuring_propose.html", context)

