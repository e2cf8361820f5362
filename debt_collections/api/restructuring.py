"""Restructuring through the API, on the same services as the admin and the loan page:
staff read proposals and approve or reject them (the same permission and four-eyes rule);
borrowers read the plans offered to them and accept or decline."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loans.restructuring import KINDS
from portal.api.permissions import IsBorrower, StaffPermission, borrower_of, user_of
from portal.api.schema import error_responses
from portal.calendar import business_today

from .. import services
from ..models import Case, RestructuringProposal, RestructuringStatus

VIEW = "collections.view_restructuringproposal"
APPROVE = "collections.approve_restructuring"


class TotalsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    total = serializers.CharField(read_only=True)
    bills = serializers.IntegerField(read_only=True)
    end_date = serializers.CharField(read_only=True, allow_null=True)


class ProposalSerializer(serializers.Serializer):  # type: ignore[type-arg]
    public_id = serializers.UUIDField(read_only=True)
    loan = serializers.CharField(source="loan.reference", read_only=True)
    kind = serializers.CharField(read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status = serializers.CharField(read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    origin = serializers.CharField(source="source", read_only=True)
    reason = serializers.CharField(read_only=True)
    parameters = serializers.DictField(read_only=True)
    needs_second_approval = serializers.BooleanField(read_only=True)
    waiver_share = serializers.DecimalField(max_digits=7, decimal_places=6, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    offer_expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    current_totals = serializers.SerializerMethodField()
    proposed_totals = serializers.SerializerMethodField()

    def _totals(self, proposal: RestructuringProposal, key: str) -> dict[str, Any]:
        totals = ((proposal.plan or {}).get("totals") or {}).get(key) or {}
        return {"total": str(totals.get("total", "")), "bills": int(totals.get("bills", 0) or 0),
                "end_date": totals.get("end_date")}

    @extend_schema_field(TotalsSerializer)
    def get_current_totals(self, proposal: RestructuringProposal) -> dict[str, Any]:
        return self._totals(proposal, "current")

    @extend_schema_field(TotalsSerializer)
    def get_proposed_totals(self, proposal: RestructuringProposal) -> dict[str, Any]:
        return self._totals(proposal, "proposed")


class DecisionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


def _proposals() -> QuerySet[RestructuringProposal]:
    return RestructuringProposal.objects.select_related("loan").order_by("-created_at", "-id")


class StaffProposalListView(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permissions = {"GET": [VIEW]}
    serializer_class = ProposalSerializer

    @extend_schema(operation_id="staff_restructurings_list", summary="Restructuring proposals, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RestructuringProposal]:
        status = self.request.query_params.get("status", "")
        queryset = _proposals()
        return queryset.filter(status=status) if status in RestructuringStatus.values else queryset


class StaffProposalDecisionView(APIView):
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permissions = {"POST": [VIEW, APPROVE]}
    approve = True

    def post(self, request: Request, public_id: Any) -> Response:
        proposal = get_object_or_404(RestructuringProposal, public_id=public_id)
        decision = DecisionSerializer(data=request.data)
        decision.is_valid(raise_exception=True)
        comment = decision.validated_data["comment"]
        if self.approve:
            services.restructuring_approve(proposal_id=proposal.pk, actor=user_of(request),
                                           business_date=business_today(), comment=comment)
        else:
            services.restructuring_reject(proposal_id=proposal.pk, actor=user_of(request), comment=comment)
        return Response(ProposalSerializer(_proposals().get(pk=proposal.pk)).data)


class StaffProposalApproveView(StaffProposalDecisionView):
    approve = True

    @extend_schema(operation_id="staff_restructurings_approve", request=DecisionSerializer,
                   responses={200: ProposalSerializer, **error_responses(409, 422)},
                   summary="Approve a proposal (never your own)")
    def post(self, request: Request, public_id: Any) -> Response:
        return super().post(request, public_id)


class StaffProposalRejectView(StaffProposalDecisionView):
    approve = False

    @extend_schema(operation_id="staff_restructurings_reject", request=DecisionSerializer,
                   responses={200: ProposalSerializer, **error_responses(409, 422)},
                   summary="Reject a proposal with a comment")
    def post(self, request: Request, public_id: Any) -> Response:
        return super().post(request, public_id)


def _own(request: Request) -> QuerySet[RestructuringProposal]:
    return _proposals().filter(loan__borrower=borrower_of(request))


class OfferListView(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated, IsBorrower]
    serializer_class = ProposalSerializer

    @extend_schema(operation_id="restructurings_list", summary="Restructured plans offered to you or applied")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RestructuringProposal]:
        if getattr(self, "swagger_fake_view", False):
            return RestructuringProposal.objects.none()
        shown = [RestructuringStatus.OFFERED, RestructuringStatus.ACCEPTED, RestructuringStatus.DECLINED,
                 RestructuringStatus.EXPIRED, RestructuringStatus.APPLIED]
        return _own(self.request).filter(status__in=shown)


class OfferAnswerView(APIView):
    permission_classes = [IsAuthenticated, IsBorrower]
    accept = True

    def post(self, request: Request, public_id: Any) -> Response:
        proposal = get_object_or_404(_own(request), public_id=public_id)
        borrower = borrower_of(request)
        if self.accept:
            services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=borrower.pk,
                                                actor=user_of(request), business_date=business_today())
        else:
            services.restructuring_offer_decline(proposal_id=proposal.pk, borrower_id=borrower.pk,
                                                 actor=user_of(request))
        return Response(ProposalSerializer(_proposals().get(pk=proposal.pk)).data)


class OfferAcceptView(OfferAnswerView):
    accept = True

    @extend_schema(operation_id="restructurings_accept", request=None,
                   responses={200: ProposalSerializer, **error_responses(409)}, summary="Accept an offered plan")
    def post(self, request: Request, public_id: Any) -> Response:
        return super().post(request, public_id)


class OfferDeclineView(OfferAnswerView):
    accept = False

    @extend_schema(operation_id="restructurings_decline", request=None,
                   responses={200: ProposalSerializer, **error_responses(409)}, summary="Decline an offered plan")
    def post(self, request: Request, public_id: Any) -> Response:
        return super().post(request, public_id)


class ProposeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=[(k, k) for k in KINDS])
    parameters = serializers.DictField(required=False, default=dict)
    reason = serializers.CharField(max_length=2000)


class StaffProposeView(APIView):
    permission_classes = [IsAuthenticated, StaffPermission]
    required_permissions = {"POST": ["collections.view_case", "collections.add_restructuringproposal"]}

    @extend_schema(operation_id="staff_cases_restructurings_propose", request=ProposeSerializer,
                   responses={201: ProposalSerializer, **error_responses(404, 409, 422)},
                   summary="Propose a restructuring of the case's loan (a supervisor approves it)")
    def post(self, request: Request, case_id: int) -> Response:
        case = get_object_or_404(Case, pk=case_id)
        data = ProposeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        proposal = services.restructuring_propose(
            actor=user_of(request), case_id=case.pk, kind=data.validated_data["kind"],
            parameters=data.validated_data["parameters"], reason=data.validated_data["reason"],
            business_date=business_today(),
        )
        return Response(ProposalSerializer(_proposals().get(pk=proposal.pk)).data, status=201)
