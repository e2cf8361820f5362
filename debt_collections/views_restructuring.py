"""Borrower pages for restructuring offers: see the current and the new schedule, accept or decline.

Thin: every query is scoped to the signed-in borrower (another borrower's proposal is a 404,
and so is a proposal the borrower is not shown: staff's deliberations), and every change goes
through `debt_collections.services`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loans.restructuring import Plan
from portal.access import borrower_required
from portal.calendar import business_today
from portal.errors import DomainError

from . import selectors_restructuring as selectors
from . import services
from .models import RestructuringProposal
from .views import own_borrower, signed_in_user


def _own_proposal(request: HttpRequest, public_id: Any) -> RestructuringProposal:
    return get_object_or_404(
        RestructuringProposal.objects.filter(selectors.borrower_visible()).select_related("loan"),
        public_id=public_id,
        loan__borrower=own_borrower(request),
    )


@borrower_required
def restructuring_list(request: HttpRequest) -> HttpResponse:
    proposals = selectors.borrower_proposals(borrower=own_borrower(request))
    return render(request, "debt_collections/restructuring_list.html", {"proposals": proposals})


@borrower_required
def restructuring_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    proposal = _own_proposal(request, public_id)
    c = selectors.comparison(Plan.from_json(proposal.plan))
    return render(
        request,
        "debt_collections/restructuring_detail.html",
        {
            "proposal": proposal,
            "c": c,
            "totals": selectors.totals_lines(c),
            "months": settings.PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN,
        },
    )


@borrower_required
@require_POST
def restructuring_accept(request: HttpRequest, public_id: Any) -> HttpResponse:
    proposal = _own_proposal(request, public_id)
    try:
        services.restructuring_offer_accept(
            proposal_id=proposal.pk,
            borrower_id=own_borrower(request).pk,
            actor=signed_in_user(request),
            business_date=business_today(),
        )
    except DomainError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("You accepted the new plan. Your new bills are on your loan's page."))
    return redirect("collections:restructuring-detail", public_id=proposal.public_id)


@borrower_required
@require_POST
def restructuring_decline(request: HttpRequest, public_id: Any) -> HttpResponse:
    proposal = _own_proposal(request, public_id)
    try:
        services.restructuring_offer_decline(
            proposal_id=proposal.pk, borrower_id=own_borrower(request).pk, actor=signed_in_user(request)
        )
    except DomainError as refused:
        messages.error(request, str(refused))
    else:
        messages.info(
            request,
            _(
                "You declined the new plan. Your bills stay as they are; "
                "call us if you would like to talk about other help."
            ),
        )
    return redirect("collections:restructuring-detail", public_id=proposal.public_id)
