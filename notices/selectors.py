"""Read queries for the case timeline, the borrower's messages and the admin: one query each."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from debt_collections.models import Case

from .models import Notice


def notices_for_case(case_id: int, *, limit: int = 50) -> QuerySet[Notice]:
    """The notices printed from the case or about its loan, newest first (one query)."""
    loan_id = Case.objects.filter(pk=case_id).values("loan_id")
    return (
        Notice.objects.filter(Q(case_id=case_id) | Q(loan_id__in=loan_id))
        .select_related("generated_by", "loan")
        .order_by("-generated_at", "-id")[:limit]
    )


def notices_for_borrower(borrower_id: int, *, limit: int = 200) -> QuerySet[Notice]:
    """Every notice to the borrower, newest first, with its loan (one query)."""
    return (
        Notice.objects.filter(borrower_id=borrower_id)
        .select_related("loan")
        .order_by("-generated_at", "-id")[:limit]
    )


def notice_timeline_text(notice: Notice) -> str:
    """One line for a timeline entry: reference · kind · delivery."""
    return _("%(reference)s · %(kind)s · %(delivery)s") % {
        "reference": notice.reference,
        "kind": notice.get_kind_display(),
        "delivery": notice.get_delivery_status_display(),
    }
