"""The case queue's filters (django-filter), on the same selectors as the admin's filters."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from loans.models import Stage

from .. import selectors
from ..models import Alert, AlertKind, Case, CaseClassification, PromiseState


def _queue_choices() -> list[tuple[str, str]]:
    return selectors.queue_choices()


def _dpd_choices() -> list[tuple[str, str]]:
    return [(bucket.key, bucket.label) for bucket in selectors.dpd_buckets()]


def _amount_choices() -> list[tuple[str, str]]:
    return [(bucket.key, bucket.label) for bucket in selectors.amount_buckets()]


class CaseFilter(django_filters.FilterSet):
    queue = django_filters.ChoiceFilter(
        choices=_queue_choices, method="filter_queue", label=_("queue"),
        help_text="mine, stage-<stage>, unassigned or closed; without it every open case.",
    )
    stage = django_filters.ChoiceFilter(choices=[(s.value, s.label) for s in selectors.CASE_STAGES])
    dpd = django_filters.ChoiceFilter(choices=_dpd_choices, method="filter_dpd", label=_("days past due"))
    amount = django_filters.ChoiceFilter(choices=_amount_choices, method="filter_amount", label=_("overdue amount"))
    promise_state = django_filters.ChoiceFilter(choices=PromiseState.choices)
    hardship_flag = django_filters.BooleanFilter()
    classification = django_filters.ChoiceFilter(choices=CaseClassification.choices)
    loan = django_filters.CharFilter(field_name="loan__reference", max_length=20, label=_("loan reference"))

    class Meta:
        model = Case
        fields = ["queue", "stage", "dpd", "amount", "promise_state", "hardship_flag", "classification", "loan"]

    def filter_queryset(self, queryset: QuerySet[Case]) -> QuerySet[Case]:
        # No queue chosen: every open case (the admin's "All open cases").
        if not self.form.cleaned_data.get("queue"):
            queryset = selectors.queue_filter(queryset, user_id=self._user_id(), queue=None)
        return super().filter_queryset(queryset)

    def _user_id(self) -> int | None:
        user = getattr(self.request, "user", None)
        return getattr(user, "pk", None)

    def filter_queue(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return selectors.queue_filter(queryset, user_id=self._user_id(), queue=value)

    def filter_dpd(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return selectors.bucket_filter(queryset, field="days_past_due", buckets=selectors.dpd_buckets(), key=value)

    def filter_amount(self, queryset: QuerySet[Case], name: str, value: str) -> QuerySet[Case]:
        return selectors.bucket_filter(queryset, field="overdue_amount", buckets=selectors.amount_buckets(), key=value)


class AlertFilter(django_filters.FilterSet):
    acknowledged = django_filters.BooleanFilter(method="filter_acknowledged", label=_("acknowledged"))
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)

    class Meta:
        model = Alert
        fields = ["acknowledged", "kind"]

    def filter_acknowledged(self, queryset: QuerySet[Alert], name: str, value: Any) -> QuerySet[Alert]:
        if value is None:
            return queryset
        return queryset.filter(acknowledged_at__isnull=not value)


__all__ = ["AlertFilter", "CaseFilter", "Stage"]
