"""Restructuring offers where borrowers already look: their loan's page and their hardship request."""

from __future__ import annotations

from typing import Any

from django import template

from loans.models import Loan

from ..models import HardshipRequest, RestructuringProposal
from ..selectors_restructuring import borrower_visible

register = template.Library()


@register.inclusion_tag("debt_collections/_restructuring_banner.html")
def restructuring_for_loan(loan: Loan) -> dict[str, Any]:
    """The loan's restructuring offers and applied plans the borrower may see (one query)."""
    proposals = list(
        RestructuringProposal.objects.filter(borrower_visible(), loan=loan).order_by("-created_at", "-id")[:5]
    )
    return {"proposals": proposals}


@register.inclusion_tag("debt_collections/_restructuring_banner.html")
def restructuring_for_request(request: HardshipRequest) -> dict[str, Any]:
    """The plan that answered this hardship request, once applied (one query)."""
    proposals = list(
        RestructuringProposal.objects.filter(borrower_visible(), hardship_request=request).order_by(
            "-created_at", "-id"
        )
    )
    return {"proposals": proposals}
