"""Admin building blocks shared by every app."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils.functional import cached_property


class ReadOnlyAdminMixin:
    """Rows are shown, never added, changed or deleted here: services own every change."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class CappedCountPaginator(Paginator):
    """Counts the rows of a list up to `cap` and no further.

    The admin counts every row that matches a list's filters on each page load: at 100,000 open
    cases that is 10 to 20 ms of every load of the queue. Past `cap` rows this paginator stops
    counting (`count` is then `cap` + 1 and `capped` is true): the page says "more than 10,000",
    and its links reach the pages up to there (later pages still open by number).
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return int(self.object_list[: self.cap + 1].count())  # type: ignore[attr-defined]

    @property
    def capped(self) -> bool:
        return self.count > self.cap


class LongListMixin:
    """A list of a table that may hold millions of rows (loans, journal, audit trail…): no count
    of the whole table beside the filtered list, and the filtered list counted only up to
    CappedCountPaginator.cap."""

    show_full_result_count = False
    paginator: type[Paginator] = CappedCountPaginator
