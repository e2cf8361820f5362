"""Collections endpoints: borrowers' hardship requests; staff's cases and alerts.

Borrower lookups go through the signed-in borrower (another borrower's request is a 404); staff
endpoints need the permissions the admin asks for the same screens (`required_permissions`);
every change is a call to `debt_collections.services`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loans.models import Loan
from portal.api.permissions import IsBorrower, StaffPermission, borrower_of, user_of
from portal.api.schema import error_responses
from portal.calendar import business_today

from .. import selectors, services
from ..evidence import evidence_check_all
from ..models import Alert, Case, CaseNote, ContactLog, HardshipOffer, HardshipRequest, PromiseToPay
from ..services.alerts import alert_acknowledge, alert_roles
from . import serializers as s
from .filters import AlertFilter, CaseFilter

VIEW_CASE = "collections.view_case"

# --- borrowers: hardship requests -------------------------------------------------------------------


def _own_requests(request: Request) -> QuerySet[HardshipRequest]:
    return (
        HardshipRequest.objects.filter(borrower=borrower_of(request))
        .select_related("loan")
        .annotate(evidence_count=Count("evidence"))
        .prefetch_related(Prefetch("offers", queryset=HardshipOffer.objects.order_by("-created_at", "-id")))
        .order_by("-created_at", "-id")
    )


class HardshipListView(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated, IsBorrower]
    serializer_class = s.HardshipRequestSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[HardshipRequest]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return HardshipRequest.objects.none()
        return _own_requests(self.request)

    @extend_schema(operation_id="hardship_requests_list", summary="Your hardship requests, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="hardship_requests_create",
        request={"application/json": s.HardshipSubmitSerializer, "multipart/form-data": s.HardshipSubmitSerializer},
        responses={201: s.HardshipRequestDetailSerializer, **error_responses(409, 422)},
        summary="Ask for hardship help (with evidence files: multipart)",
    )
    def post(self, request: Request) -> Response:
        form = s.HardshipSubmitSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        borrower = borrower_of(request)
        loan_id: int | None = None
        if data.get("loan"):
            loan_id = (
                Loan.objects.filter(reference=data["loan"], borrower=borrower).values_list("pk", flat=True).first()
            )
            if loan_id is None:
                raise serializers.ValidationError({"loan": [_("You have no loan with this reference.")]})
        try:
            evidence = evidence_check_all(list(data.get("evidence") or []))
        except DjangoValidationError as error:
            raise serializers.ValidationError({"evidence": list(error.messages)}) from None
        created = services.hardship_request_submit(
            borrower_id=borrower.pk, loan_id=loan_id, reason=data["reason"], description=data["description"],
            help_wanted=data["help_wanted"], evidence=evidence, actor=user_of(request),
        )
        hardship = _own_requests(request).prefetch_related("evidence").get(pk=created.pk)
        return Response(s.HardshipRequestDetailSerializer(hardship).data, status=status.HTTP_201_CREATED)


class OwnHardshipView(APIView):
    permission_classes = [IsAuthenticated, IsBorrower]

    def own(self, public_id: Any) -> HardshipRequest:
        return get_object_or_404(_own_requests(self.request).prefetch_related("evidence"), public_id=public_id)


class HardshipDetailView(OwnHardshipView):
    @extend_schema(operation_id="hardship_requests_retrieve", responses={200: s.HardshipRequestDetailSerializer},
                   summary="One of your hardship requests, with its offers")
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(s.HardshipRequestDetailSerializer(self.own(public_id)).data)


class HardshipWithdrawView(OwnHardshipView):
    @extend_schema(operation_id="hardship_requests_withdraw", request=None,
                   responses={200: s.HardshipRequestDetailSerializer, **error_responses(409)},
                   summary="Withdraw a request nobody has started to review")
    def post(self, request: Request, public_id: Any) -> Response:
        hardship = self.own(public_id)
        services.hardship_request_withdraw(request_id=hardship.pk, borrower_id=hardship.borrower_id,
                                           actor=user_of(request))
        return Response(s.HardshipRequestDetailSerializer(self.own(public_id)).data)


class HardshipOfferAnswerView(OwnHardshipView):
    accept = True

    def post(self, request: Request, public_id: Any, offer_id: int) -> Response:
        hardship = self.own(public_id)
        offer = get_object_or_404(HardshipOffer, pk=offer_id, request=hardship)
        answer = services.hardship_offer_accept if self.accept else services.hardship_offer_decline
        answer(offer_id=offer.pk, borrower_id=hardship.borrower_id, actor=user_of(request))
        return Response(s.HardshipRequestDetailSerializer(self.own(public_id)).data)


class HardshipOfferAcceptView(HardshipOfferAnswerView):
    accept = True

    @extend_schema(operation_id="hardship_offers_accept", request=None,
                   responses={200: s.HardshipRequestDetailSerializer, **error_responses(409)},
                   summary="Accept an offer")
    def post(self, request: Request, public_id: Any, offer_id: int) -> Response:
        return super().post(request, public_id, offer_id)


class HardshipOfferDeclineView(HardshipOfferAnswerView):
    accept = False

    @extend_schema(operation_id="hardship_offers_decline", request=None,
                   responses={200: s.HardshipRequestDetailSerializer, **error_responses(409)},
                   summary="Decline an offer")
    def post(self, request: Request, public_id: Any, offer_id: int) -> Response:
        return super().post(request, public_id, offer_id)


# --- staff: cases -------------------------------------------------------------------------------------


class StaffView(APIView):
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permissions: dict[str, list[str]] = {}


class CaseListView(generics.ListAPIView):  # type: ignore[type-arg]
    """The queues: one query per page along the queue indexes, whatever the number of cases."""

    permission_classes = [IsAuthenticated, StaffPermission]
    required_permissions = {"GET": [VIEW_CASE]}
    serializer_class = s.CaseSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter

    def get_queryset(self) -> QuerySet[Case]:
        return Case.objects.select_related("loan", "borrower", "assigned_to").order_by("-priority", "id")

    @extend_schema(operation_id="staff_cases_list", summary="Case queue, highest priority first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _case_or_404(case_id: int) -> Case:
    return get_object_or_404(Case.objects.select_related("loan", "borrower"), pk=case_id)


class CaseDetailView(StaffView):
    required_permissions = {"GET": [VIEW_CASE]}

    @extend_schema(operation_id="staff_cases_retrieve", responses={200: s.CasePageSerializer},
                   summary="The case page: borrower (masked), loans, contacts, timeline, priority, strategy")
    def get(self, request: Request, case_id: int) -> Response:
        _case_or_404(case_id)
        page = selectors.case_page(case_id=case_id, as_of=business_today())
        return Response(s.CasePageSerializer(page).data)


class CaseChildListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Rows that hang off one case, newest first, with a create (POST) through a service."""

    permission_classes = [IsAuthenticated, StaffPermission]

    def case(self) -> Case:
        if not hasattr(self, "_case"):
            self._case = _case_or_404(self.kwargs["case_id"])
        return self._case


class ContactListView(CaseChildListView):
    required_permissions = {
        "GET": [VIEW_CASE, "collections.view_contactlog"],
        "POST": [VIEW_CASE, services.WORK_PERMISSION, "collections.add_contactlog"],
    }
    serializer_class = s.ContactLogSerializer

    def get_queryset(self) -> QuerySet[ContactLog]:
        return ContactLog.objects.filter(case=self.case()).select_related("agent").order_by("-at", "-id")

    @extend_schema(operation_id="staff_case_contacts_list", summary="Contacts logged on the case, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="staff_case_contacts_create", request=s.ContactLogCreateSerializer,
                   responses={201: s.ContactLogSerializer, **error_responses(409, 422)},
                   summary="Log a contact (under the conduct rules; a refusal names its rule)")
    def post(self, request: Request, case_id: int) -> Response:
        self.case()
        form = s.ContactLogCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        log = services.contact_log(
            case_id=case_id, actor=user_of(request), channel=data["channel"], party=data["party"],
            outcome=data["outcome"], overdue_reason=data["overdue_reason"], note=data["note"],
            emergency_contact_id=data.get("emergency_contact"), third_party_reason=data["third_party_reason"],
            debt_not_disclosed=data["debt_not_disclosed"], at=data.get("at"),
        )
        log = ContactLog.objects.select_related("agent").get(pk=log.pk)
        return Response(s.ContactLogSerializer(log).data, status=status.HTTP_201_CREATED)


class PromiseListView(CaseChildListView):
    required_permissions = {
        "GET": [VIEW_CASE, "collections.view_promisetopay"],
        "POST": [VIEW_CASE, services.WORK_PERMISSION, "collections.add_promisetopay"],
    }
    serializer_class = s.PromiseSerializer

    def get_queryset(self) -> QuerySet[PromiseToPay]:
        return PromiseToPay.objects.filter(case=self.case()).select_related("made_by").order_by("-created_at", "-id")

    @extend_schema(operation_id="staff_case_promises_list", summary="Promises to pay on the case, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="staff_case_promises_create", request=s.PromiseCreateSerializer,
                   responses={201: s.PromiseSerializer, **error_responses(409, 422)},
                   summary="Record a promise to pay (it replaces a pending one)")
    def post(self, request: Request, case_id: int) -> Response:
        self.case()
        form = s.PromiseCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        promise = services.promise_record(
            case_id=case_id, actor=user_of(request), amount=form.validated_data["amount"],
            promised_date=form.validated_data["promised_date"], contact_id=form.validated_data.get("contact"),
        )
        promise = PromiseToPay.objects.select_related("made_by").get(pk=promise.pk)
        return Response(s.PromiseSerializer(promise).data, status=status.HTTP_201_CREATED)


class NoteListView(CaseChildListView):
    required_permissions = {
        "GET": [VIEW_CASE, "collections.view_casenote"],
        "POST": [VIEW_CASE, services.WORK_PERMISSION, "collections.add_casenote"],
    }
    serializer_class = s.CaseNoteSerializer

    def get_queryset(self) -> QuerySet[CaseNote]:
        return CaseNote.objects.filter(case=self.case()).select_related("author").order_by("-created_at", "-id")

    @extend_schema(operation_id="staff_case_notes_list", summary="Notes on the case, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="staff_case_notes_create", request=s.CaseNoteSerializer,
                   responses={201: s.CaseNoteSerializer, **error_responses(409, 422)}, summary="Add a note")
    def post(self, request: Request, case_id: int) -> Response:
        self.case()
        form = s.CaseNoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        note = services.case_note_add(case_id=case_id, actor=user_of(request), text=form.validated_data["text"])
        note = CaseNote.objects.select_related("author").get(pk=note.pk)
        return Response(s.CaseNoteSerializer(note).data, status=status.HTTP_201_CREATED)


# --- staff: alerts --------------------------------------------------------------------------------------


def visible_alerts(request: Request) -> QuerySet[Alert]:
    """The alerts of the person's roles; auditors and superusers read every alert (as in the admin)."""
    user = user_of(request)
    alerts = Alert.objects.select_related("loan", "acknowledged_by").order_by("-created_at", "-id")
    if user.is_superuser or user.groups.filter(name="auditor").exists():
        return alerts
    return alerts.filter(role__in=alert_roles(user=user))


class AlertListView(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permissions = {"GET": ["collections.view_alert"]}
    serializer_class = s.AlertSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilter

    def get_queryset(self) -> QuerySet[Alert]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Alert.objects.none()
        return visible_alerts(self.request)

    @extend_schema(operation_id="staff_alerts_list", summary="Alerts of your roles, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AlertAcknowledgeView(StaffView):
    required_permissions = {"POST": ["collections.view_alert"]}

    @extend_schema(operation_id="staff_alerts_acknowledge", request=None,
                   responses={200: s.AlertSerializer, **error_responses(409)},
                   summary="Acknowledge an alert of your role (once)")
    def post(self, request: Request, alert_id: int) -> Response:
        get_object_or_404(visible_alerts(request), pk=alert_id)
        alert_acknowledge(alert_id=alert_id, actor=user_of(request))
        return Response(s.AlertSerializer(visible_alerts(request).get(pk=alert_id)).data)

