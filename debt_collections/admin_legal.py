"""Legal escalation and write-off in the admin.

- *Legal assessments*: the list, the legal-review queue (`queue/`), the assessment form
  (`assess/<case>/`, which shows the computed recommendation before anything is saved), and the
  assessment's page with the go/no-go decision and, after a "go", the form that opens the
  legal action.
- *Legal actions*: the action's page with its filing, hearings, judgment, enforcement measures
  and court recoveries (recorded, then posted as payments with the channel "court").
- *Write-off proposals*: the list (the approval queue), the write-off candidates
  (`candidates/`) with the proposal form (`propose/<case>/`), and the proposal's page where a
  supervisor approves or rejects it.

Every change calls `debt_collections.services`; nothing here edits a row. Imported at the end
of `debt_collections.admin`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin
from portal.calendar import business_today
from portal.errors import DomainError

from . import selectors_legal, services
from .forms_legal import (
    FilingForm,
    HearingForm,
    JudgmentForm,
    LegalActionOpenForm,
    LegalAssessmentForm,
    LegalDecisionForm,
    MeasureForm,
    RecoveryForm,
    WriteOffApproveForm,
    WriteOffProposeForm,
    WriteOffRejectForm,
)
from .legal import recommend
from .models import (
    ASSESSED_CLASSIFICATIONS,
    Case,
    LegalAction,
    LegalActionStatus,
    LegalAssessment,
    LegalAssessmentStatus,
    LegalRecommendation,
    WriteOffProposal,
    WriteOffStatus,
)
from .services import legal as legal_services
from .services import write_off as write_off_services
from .views import signed_in_user

QUEUE_PAGE_SIZE = 50


def _case_link(case_id: int) -> str:
    return format_html(
        '<a href="{}">#{}</a>', reverse("admin:collections_case_change", args=[case_id]), case_id
    )


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _get(model: type[Model], pk: int, **related: Any) -> Any:
    row = model._default_manager.select_related(*related.get("select", ())).filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


class _Pages:
    """Shared by the three admins: render a page, and run a small form's POST through a service."""

    admin_site: admin.AdminSite
    model: type[Model]

    def render(
        self, request: HttpRequest, template: str, title: str, **context: Any
    ) -> HttpResponse:
        base = {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta}
        return TemplateResponse(request, f"admin/collections/legal/{template}", {**base, **context})

    def act(
        self,
        request: HttpRequest,
        *,
        permission: str,
        form: Form,
        run: Callable[[dict[str, Any]], object],
        done: str,
        back: str,
        page: Callable[[dict[str, Form]], HttpResponse],
        key: str,
    ) -> HttpResponseBase:
        """POST only: check the permission, validate, call the service; back to the page either
        way. What was typed wrong shows on the form; a service's refusal shows at the top of the
        page (the form may not be shown any more, e.g. to the person who may not decide)."""
        if request.method != "POST":
            return redirect(back)
        _require(request, permission)
        if form.is_valid():
            try:
                run(form.cleaned_data)
            except DomainError as refused:
                messages.error(request, str(refused))
            else:
                messages.success(request, done)
                return HttpResponseRedirect(back)
        return page({key: form})


# --- legal assessments, the queue, the decision ---------------------------------------------------------


@admin.register(LegalAssessment)
class LegalAssessmentAdmin(LongListMixin, _Pages, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "case_shown",
        "loan",
        "recommendation",
        "expected_net_recovery",
        "status",
        "assessed_by",
        "decided_by",
    ]
    list_display_links = ["created_at"]
    list_filter = ["status", "recommendation", "classification"]
    list_select_related = ["loan", "assessed_by", "decided_by"]
    search_fields = ["=loan__reference"]
    change_list_template = "admin/collections/legal/assessment_change_list.html"

    @admin.display(description=gettext_lazy("case"))
    def case_shown(self, obj: LegalAssessment) -> str:
        return _case_link(obj.case_id)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("queue/", wrap(self.queue_view), name="collections_legal_queue"),
            path("assess/<int:case_id>/", wrap(self.assess_view), name="collections_legal_assess"),
            path(
                "<int:assessment_id>/decide/",
                wrap(self.decide_view),
                name="collections_legalassessment_decide",
            ),
            path(
                "<int:assessment_id>/open-action/",
                wrap(self.open_action_view),
                name="collections_legalassessment_open_action",
            ),
            *super().get_urls(),
        ]

    def queue_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        view = request.GET.get("view", selectors_legal.QUEUE_WORK)
        if view not in dict(selectors_legal.QUEUE_CHOICES):
            view = selectors_legal.QUEUE_WORK
        page = Paginator(selectors_legal.legal_review_queue(view), QUEUE_PAGE_SIZE).get_page(
            request.GET.get("p")
        )
        statuses, advice = dict(LegalAssessmentStatus.choices), dict(LegalRecommendation.choices)
        rows = list(page.object_list)
        for row in rows:
            row.assessment_status_label = statuses.get(row.assessment_status, "")  # type: ignore[attr-defined]
            row.assessment_advice_label = advice.get(row.assessment_recommendation, "")  # type: ignore[attr-defined]
        return self.render(
            request,
            "queue.html",
            _("Legal-review queue"),
            page=page,
            rows=rows,
            view=view,
            views=selectors_legal.QUEUE_CHOICES,
            can_assess=request.user.has_perm(legal_services.ASSESS_PERMISSION),
            legal_review_dpd=settings.PORTAL_LEGAL_REVIEW_DPD,
        )

    def assess_view(self, request: HttpRequest, case_id: int) -> HttpResponse:
        """The assessment form. "Show the recommendation" computes it from the figures typed;
        "Save" saves only figures whose recommendation was shown."""
        _require(request, legal_services.ASSESS_PERMISSION)
        case: Case = _get(Case, case_id, select=("loan", "borrower"))
        initial = (
            {"classification": case.classification}
            if case.classification in ASSESSED_CLASSIFICATIONS
            else {}
        )
        form = LegalAssessmentForm(request.POST or None, initial=initial)
        advice, fingerprint = None, ""
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            advice = recommend(
                win_probability=form.fraction(),
                expected_recovery=data["expected_recovery"],
                enforcement_difficulty=data["enforcement_difficulty"],
                expected_cost=data["expected_cost"],
                classification=data["classification"],
            )
            fingerprint = form.fingerprint()
            if "_save" in request.POST and request.POST.get("shown") == fingerprint:
                try:
                    assessment = services.legal_assessment_record(
                        case_id=case.pk,
                        actor=signed_in_user(request),
                        win_probability=form.fraction(),
                        enforcement_difficulty=data["enforcement_difficulty"],
                        expected_recovery=data["expected_recovery"],
                        expected_cost=data["expected_cost"],
                        classification=data["classification"],
                        has_bank_accounts=data["has_bank_accounts"],
                        has_property=data["has_property"],
                        has_income=data["has_income"],
                        assets_note=data["assets_note"],
                        note=data["note"],
                    )
                except DomainError as refused:
                    form.add_error(None, str(refused))
                else:
                    messages.success(
                        request, _("The assessment is saved; someone else now decides go or no-go.")
                    )
                    return redirect("admin:collections_legalassessment_change", assessment.pk)
            elif "_save" in request.POST:
                messages.warning(
                    request, _("The figures changed: check the recommendation below, then save.")
                )
        return self.render(
            request,
            "assess.html",
            _("Legal assessment of case #%(case)s") % {"case": case.pk},
            case=case,
            form=form,
            advice=advice,
            fingerprint=fingerprint,
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            pk = int(object_id)
        except ValueError:
            raise Http404 from None
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._page(request, pk)

    def _page(
        self, request: HttpRequest, assessment_id: int, bound: dict[str, Form] | None = None
    ) -> HttpResponse:
        assessment: LegalAssessment = _get(
            LegalAssessment,
            assessment_id,
            select=("case__borrower", "loan", "assessed_by", "decided_by"),
        )
        action = LegalAction.objects.filter(assessment=assessment).first()
        user = request.user
        forms = {"decide": LegalDecisionForm(), "open": LegalActionOpenForm(), **(bound or {})}
        return self.render(
            request,
            "assessment_page.html",
            str(assessment._meta.verbose_name).capitalize() + f" #{assessment.pk}",
            assessment=assessment,
            action=action,
            forms=forms,
            can_decide=(
                user.has_perm(legal_services.DECIDE_LEGAL_PERMISSION)
                and assessment.status == LegalAssessmentStatus.PENDING
                and assessment.assessed_by_id != user.pk
            ),
            own=assessment.assessed_by_id == user.pk,
            can_open=(
                user.has_perm(legal_services.OPEN_ACTION_PERMISSION)
                and assessment.status == LegalAssessmentStatus.GO
                and action is None
            ),
        )

    def decide_view(self, request: HttpRequest, assessment_id: int) -> HttpResponseBase:
        back = reverse("admin:collections_legalassessment_change", args=[assessment_id])
        return self.act(
            request,
            permission=legal_services.DECIDE_LEGAL_PERMISSION,
            form=LegalDecisionForm(request.POST),
            key="decide",
            back=back,
            page=lambda bound: self._page(request, assessment_id, bound),
            done=_("The decision is recorded."),
            run=lambda data: services.legal_assessment_decide(
                assessment_id=assessment_id,
                actor=signed_in_user(request),
                decision=data["decision"],
                comment=data["comment"],
            ),
        )

    def open_action_view(self, request: HttpRequest, assessment_id: int) -> HttpResponseBase:
        opened: list[LegalAction] = []

        def run(data: dict[str, Any]) -> None:
            opened.append(
                services.legal_action_open(
                    assessment_id=assessment_id,
                    actor=signed_in_user(request),
                    law_firm=data["law_firm"],
                    court=data["court"],
                    case_number=data["case_number"],
                    filing_date=data["filing_date"],
                    note=data["note"],
                )
            )

        response = self.act(
            request,
            permission=legal_services.OPEN_ACTION_PERMISSION,
            form=LegalActionOpenForm(request.POST),
            key="open",
            back=reverse("admin:collections_legalassessment_change", args=[assessment_id]),
            page=lambda bound: self._page(request, assessment_id, bound),
            done=_("The legal action is opened."),
            run=run,
        )
        if opened:
            return redirect("admin:collections_legalaction_change", opened[0].pk)
        return response


# --- the legal action -----------------------------------------------------------------------------


@admin.register(LegalAction)
class LegalActionAdmin(LongListMixin, _Pages, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "opened_at",
        "case_shown",
        "loan",
        "court",
        "case_number",
        "status",
        "judgment_outcome",
    ]
    list_display_links = ["opened_at"]
    list_filter = ["status", "judgment_outcome"]
    list_select_related = ["loan"]
    search_fields = ["=loan__reference", "case_number"]

    @admin.display(description=gettext_lazy("case"))
    def case_shown(self, obj: LegalAction) -> str:
        return _case_link(obj.case_id)

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        steps = [
            ("filing", self.filing_view),
            ("hearing", self.hearing_view),
            ("judgment", self.judgment_view),
            ("measure", self.measure_view),
            ("recovery", self.recovery_view),
        ]
        return [
            *[
                path(f"<int:action_id>/{name}/", wrap(view), name=f"collections_legalaction_{name}")
                for name, view in steps
            ],
            path(
                "<int:action_id>/recovery/<int:recovery_id>/post/",
                wrap(self.post_recovery_view),
                name="collections_legalaction_post_recovery",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            pk = int(object_id)
        except ValueError:
            raise Http404 from None
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._page(request, pk)

    def _back(self, action_id: int) -> str:
        return reverse("admin:collections_legalaction_change", args=[action_id])

    def _page(
        self, request: HttpRequest, action_id: int, bound: dict[str, Form] | None = None
    ) -> HttpResponse:
        try:
            action = selectors_legal.legal_action_page(action_id=action_id)
        except LegalAction.DoesNotExist:
            raise Http404 from None
        measures = list(action.measures.all())
        forms: dict[str, Form] = {
            "filing": FilingForm(),
            "hearing": HearingForm(),
            "judgment": JudgmentForm(),
            "measure": MeasureForm(),
            "recovery": RecoveryForm(measures=measures),
            **(bound or {}),
        }
        perm = request.user.has_perm
        return self.render(
            request,
            "action_page.html",
            str(action),
            action=action,
            forms=forms,
            measures=measures,
            recoveries=list(action.recoveries.all()),
            hearings=list(action.hearings.all()),
            can_change=perm(legal_services.CHANGE_ACTION_PERMISSION),
            can_hear=perm(legal_services.HEARING_PERMISSION)
            and action.status == LegalActionStatus.OPEN,
            can_measure=perm(legal_services.MEASURE_PERMISSION),
            can_recover=perm(legal_services.RECOVERY_PERMISSION),
        )

    def _step(
        self,
        request: HttpRequest,
        action_id: int,
        key: str,
        form: Form,
        permission: str,
        run: Callable[[dict[str, Any]], object],
        done: str,
    ) -> HttpResponseBase:
        return self.act(
            request,
            permission=permission,
            form=form,
            run=run,
            done=done,
            back=self._back(action_id),
            page=lambda bound: self._page(request, action_id, bound),
            key=key,
        )

    def filing_view(self, request: HttpRequest, action_id: int) -> HttpResponseBase:
        return self._step(
            request,
            action_id,
            "filing",
            FilingForm(request.POST),
            legal_services.CHANGE_ACTION_PERMISSION,
            lambda data: services.legal_action_filing_record(
                action_id=action_id,
                actor=signed_in_user(request),
                case_number=data["case_number"],
                filing_date=data["filing_date"],
            ),
            _("The filing is recorded."),
        )

    def hearing_view(self, request: HttpRequest, action_id: int) -> HttpResponseBase:
        return self._step(
            request,
            action_id,
            "hearing",
            HearingForm(request.POST),
            legal_services.HEARING_PERMISSION,
            lambda data: services.legal_hearing_add(
                action_id=action_id,
                actor=signed_in_user(request),
                hearing_date=data["hearing_date"],
                note=data["note"],
            ),
            _("The hearing is added."),
        )

    def judgment_view(self, request: HttpRequest, action_id: int) -> HttpResponseBase:
        return self._step(
            request,
            action_id,
            "judgment",
            JudgmentForm(request.POST),
            legal_services.CHANGE_ACTION_PERMISSION,
            lambda data: services.legal_judgment_record(
                action_id=action_id,
                actor=signed_in_user(request),
                judgment_date=data["judgment_date"],
                outcome=data["outcome"],
                amount_awarded=data["amount_awarded"],
                note=data["note"],
            ),
            _("The judgment is recorded."),
        )

    def measure_view(self, request: HttpRequest, action_id: int) -> HttpResponseBase:
        return self._step(
            request,
            action_id,
            "measure",
            MeasureForm(request.POST),
            legal_services.MEASURE_PERMISSION,
            lambda data: services.enforcement_measure_add(
                action_id=action_id,
                actor=signed_in_user(request),
                kind=data["kind"],
                ordered_on=data["ordered_on"],
                amount=data["amount"],
                description=data["description"],
            ),
            _("The enforcement measure is added."),
        )

    def recovery_view(self, request: HttpRequest, action_id: int) -> HttpResponseBase:
        """Record the money, then post it. A refused post leaves the recovery recorded and
        listed as not posted, with a button to post it again."""
        action = _get(LegalAction, action_id)
        form = RecoveryForm(request.POST, measures=list(action.measures.all()))

        def run(data: dict[str, Any]) -> None:
            actor = signed_in_user(request)
            recovery = services.court_recovery_record(
                action_id=action_id,
                actor=actor,
                amount=data["amount"],
                received_on=data["received_on"],
                reference=data["reference"],
                measure_id=data["measure"],
            )
            self._post(request, recovery.pk)

        return self._step(
            request,
            action_id,
            "recovery",
            form,
            legal_services.RECOVERY_PERMISSION,
            run,
            _("The recovery is recorded."),
        )

    def _post(self, request: HttpRequest, recovery_id: int) -> None:
        try:
            recovery = services.court_recovery_post(
                recovery_id=recovery_id,
                actor=signed_in_user(request),
                business_date=business_today(),
            )
        except DomainError as refused:
            messages.warning(
                request, _("The recovery is recorded but not posted: %(why)s") % {"why": refused}
            )
        else:
            messages.success(
                request,
                _("¥%(amount)s is posted to the loan (payment #%(payment)s).")
                % {"amount": recovery.amount, "payment": recovery.payment_id},
            )

    def post_recovery_view(
        self, request: HttpRequest, action_id: int, recovery_id: int
    ) -> HttpResponseBase:
        if request.method == "POST":
            _require(request, legal_services.RECOVERY_PERMISSION)
            self._post(request, recovery_id)
        return redirect(self._back(action_id))


# --- write-off ----------------------------------------------------------------------------------


@admin.register(WriteOffProposal)
class WriteOffProposalAdmin(LongListMixin, _Pages, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "loan",
        "case_shown",
        "days_past_due",
        "total_shown",
        "status",
        "proposed_by",
        "decided_by",
    ]
    list_display_links = ["created_at"]
    list_filter = ["status"]
    list_select_related = ["loan", "proposed_by", "decided_by"]
    search_fields = ["=loan__reference"]
    change_list_template = "admin/collections/legal/write_off_change_list.html"

    @admin.display(description=gettext_lazy("case"))
    def case_shown(self, obj: WriteOffProposal) -> str:
        return _case_link(obj.case_id)

    @admin.display(description=gettext_lazy("to write off"))
    def total_shown(self, obj: WriteOffProposal) -> str:
        return f"¥{obj.total}"

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("candidates/", wrap(self.candidates_view), name="collections_writeoff_candidates"),
            path(
                "propose/<int:case_id>/",
                wrap(self.propose_view),
                name="collections_writeoff_propose",
            ),
            path(
                "<int:proposal_id>/approve/",
                wrap(self.approve_view),
                name="collections_writeoffproposal_approve",
            ),
            path(
                "<int:proposal_id>/reject/",
                wrap(self.reject_view),
                name="collections_writeoffproposal_reject",
            ),
            *super().get_urls(),
        ]

    def candidates_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        page = Paginator(selectors_legal.write_off_candidates(), QUEUE_PAGE_SIZE).get_page(
            request.GET.get("p")
        )
        return self.render(
            request,
            "write_off_candidates.html",
            _("Write-off candidates"),
            page=page,
            can_propose=request.user.has_perm(write_off_services.WRITE_OFF_PROPOSE_PERMISSION),
            write_off_age=selectors_legal.loan_services.write_off_days(),
        )

    def propose_view(self, request: HttpRequest, case_id: int) -> HttpResponse:
        _require(request, write_off_services.WRITE_OFF_PROPOSE_PERMISSION)
        case: Case = _get(Case, case_id, select=("loan", "borrower"))
        form = WriteOffProposeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                proposal = services.write_off_propose(
                    case_id=case.pk,
                    actor=signed_in_user(request),
                    reason=form.cleaned_data["reason"],
                    business_date=business_today(),
                )
            except DomainError as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("The write-off is proposed; a supervisor decides it."))
                return redirect("admin:collections_writeoffproposal_change", proposal.pk)
        return self.render(
            request,
            "write_off_propose.html",
            _("Propose a write-off of case #%(case)s") % {"case": case.pk},
            case=case,
            form=form,
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            pk = int(object_id)
        except ValueError:
            raise Http404 from None
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._page(request, pk)

    def _page(
        self, request: HttpRequest, proposal_id: int, bound: dict[str, Form] | None = None
    ) -> HttpResponse:
        try:
            page = selectors_legal.write_off_proposal_page(
                proposal_id=proposal_id, as_of=business_today()
            )
        except WriteOffProposal.DoesNotExist:
            raise Http404 from None
        proposal = page.proposal
        forms = {"approve": WriteOffApproveForm(), "reject": WriteOffRejectForm(), **(bound or {})}
        return self.render(
            request,
            "write_off_page.html",
            _("Write-off proposal #%(proposal)s") % {"proposal": proposal.pk},
            proposal=proposal,
            today=page.today,
            forms=forms,
            own=proposal.proposed_by_id == request.user.pk,
            can_decide=(
                request.user.has_perm(write_off_services.WRITE_OFF_APPROVE_PERMISSION)
                and proposal.status == WriteOffStatus.PROPOSED
                and proposal.proposed_by_id != request.user.pk
            ),
        )

    def approve_view(self, request: HttpRequest, proposal_id: int) -> HttpResponseBase:
        return self.act(
            request,
            permission=write_off_services.WRITE_OFF_APPROVE_PERMISSION,
            form=WriteOffApproveForm(request.POST),
            key="approve",
            back=reverse("admin:collections_writeoffproposal_change", args=[proposal_id]),
            page=lambda bound: self._page(request, proposal_id, bound),
            done=_("Approved: the loan is written off and its case is closed."),
            run=lambda data: services.write_off_approve(
                proposal_id=proposal_id,
                actor=signed_in_user(request),
                business_date=business_today(),
                comment=data["comment"],
            ),
        )

    def reject_view(self, request: HttpRequest, proposal_id: int) -> HttpResponseBase:
        return self.act(
            request,
            permission=write_off_services.WRITE_OFF_APPROVE_PERMISSION,
            form=WriteOffRejectForm(request.POST),
            key="reject",
            back=reverse("admin:collections_writeoffproposal_change", args=[proposal_id]),
            page=lambda bound: self._page(request, proposal_id, bound),
            done=_("The proposal is rejected."),
            run=lambda data: services.write_off_reject(
                proposal_id=proposal_id,
                actor=signed_in_user(request),
                comment=data["comment"],
            ),
        )
