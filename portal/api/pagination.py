"""Pages without a count: one query per page whatever the size of the table.

    ?page=2&page_size=50  ->  {"next": url | null, "previous": url | null, "results": [...]}

A COUNT(*) over every collection case would cost more than the page itself (the admin's queue
leaves it out for the same reason); `next` is known by reading one row more than the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE = 10_000


class PagePagination(BasePagination):
    page_size = 20
    max_page_size = 100
    page_query_param = "page"
    page_size_query_param = "page_size"

    def _number(self, request: Request, name: str, default: int, maximum: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= maximum:
            raise exceptions.ValidationError(
                {name: [_("Enter a whole number from 1 to %(max)s.") % {"max": maximum}]}
            )
        return value

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page = self._number(request, self.page_query_param, 1, MAX_PAGE)
        self.size = self._number(request, self.page_size_query_param, self.page_size, self.max_page_size)
        start = (self.page - 1) * self.size
        rows = list(queryset[start : start + self.size + 1])
        self.has_next = len(rows) > self.size
        return rows[: self.size]

    def _link(self, page: int) -> str:
        url = self.request.build_absolute_uri()
        if page == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data: Sequence[Any]) -> Response:
        return Response({
            "next": self._link(self.page + 1) if self.has_next else None,
            "previous": self._link(self.page - 1) if self.page > 1 else None,
            "results": data,
        })

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param, "in": "query", "required": False,
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": self.page_size_query_param, "in": "query", "required": False,
                "description": f"Rows per page (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]
