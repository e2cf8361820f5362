"""The borrower's printed notices through the API: the list, and each archived PDF (owner only)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from loans.api.views import BorrowerListView, BorrowerView
from portal.api.permissions import borrower_of
from portal.api.schema import error_responses

from .models import Notice
from .views import notice_file_response


class NoticeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reference = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    loan = serializers.CharField(source="loan.reference", read_only=True)
    language = serializers.CharField(read_only=True)
    generated_at = serializers.DateTimeField(read_only=True)
    sha256 = serializers.CharField(read_only=True)


class NoticeListView(BorrowerListView):
    serializer_class = NoticeSerializer

    @extend_schema(operation_id="notices_list", summary="Notices printed for you, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Notice]:
        if getattr(self, "swagger_fake_view", False):
            return Notice.objects.none()
        return Notice.objects.filter(borrower=borrower_of(self.request)).select_related("loan").order_by(
            "-generated_at", "-id")


class NoticeFileView(BorrowerView):
    @extend_schema(
        operation_id="notices_file",
        summary="The archived PDF of one of your notices, exactly as printed",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
                   **error_responses(404)},
    )
    def get(self, request: Request, reference: str) -> FileResponse:
        notice = get_object_or_404(Notice, reference=reference, borrower=borrower_of(request))
        return notice_file_response(notice, as_attachment=True)
