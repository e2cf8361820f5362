"""Borrower pages for hardship help, and the evidence download for borrowers and staff.

Thin: every query is scoped to the signed-in borrower (another borrower's id is a 404), and
every change goes through `debt_collections.services`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loans.models import Borrower
from portal.access import borrower_required
from portal.audit import audit_record
from portal.errors import DomainError
from portal.models import User

from . import services
from .forms import HardshipRequestForm
from .models import HardshipEvidence, HardshipOffer, HardshipRequest

EVIDENCE_PERMISSION = "collections.view_hardshipevidence"


def signed_in_user(request: HttpRequest) -> User:
    """The person behind a request that borrower_required or the admin already let in."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


def own_borrower(request: HttpRequest) -> Borrower:
    """Set by portal.access.borrower_required."""
    borrower: Borrower = request.borrower  # type: ignore[attr-defined]
    return borrower


def _offers() -> Prefetch:
    return Prefetch("offers", queryset=HardshipOffer.objects.order_by("-created_at", "-id"))


def _own_request(request: HttpRequest, public_id: Any) -> HardshipRequest:
    return get_object_or_404(
        HardshipRequest.objects.select_related("loan"),
        public_id=public_id,
        borrower=own_borrower(request),
    )


def _own_offer(request: HttpRequest, public_id: Any, offer_id: int) -> HardshipOffer:
    return get_object_or_404(
        HardshipOffer,
        pk=offer_id,
        request__public_id=public_id,
        request__borrower=own_borrower(request),
    )


@borrower_required
def hardship_list(request: HttpRequest) -> HttpResponse:
    requests = (
        HardshipRequest.objects.filter(borrower=own_borrower(request))
        .select_related("loan")
        .annotate(evidence_count=Count("evidence"))
        .prefetch_related(_offers())
        .order_by("-created_at", "-id")
    )
    return render(request, "debt_collections/hardship_list.html", {"requests": requests})


@borrower_required
def hardship_new(request: HttpRequest) -> HttpResponse:
    borrower = own_borrower(request)
    form = HardshipRequestForm(request.POST or None, request.FILES or None, borrower=borrower)
    if request.method != "POST":
        loans = list(form.fields["loan"].queryset)  # type: ignore[attr-defined]
        if len(loans) == 1:
            form.initial["loan"] = loans[0].pk
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.hardship_request_submit(
                borrower_id=borrower.pk,
                loan_id=data["loan"].pk if data["loan"] else None,
                reason=data["reason"],
                description=data["description"],
                help_wanted=data["help_wanted"],
                evidence=data["evidence"],
                actor=signed_in_user(request),
            )
        except DomainError as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(
                request,
                _("Your hardship request is sent. We will tell you the outcome by text message."),
            )
            return redirect("collections:hardship-detail", public_id=created.public_id)
    return render(
        request,
        "debt_collections/hardship_new.html",
        {
            "form": form,
            "files_sent": bool(request.FILES),
        },
    )


@borrower_required
def hardship_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    hardship = _own_request(request, public_id)
    return render(
        request,
        "debt_collections/hardship_detail.html",
        {
            "hardship": hardship,
            "evidence": list(hardship.evidence.order_by("id")),
            "offers": list(hardship.offers.order_by("-created_at", "-id")),
        },
    )


@borrower_required
@require_POST
def hardship_withdraw(request: HttpRequest, public_id: Any) -> HttpResponse:
    hardship = _own_request(request, public_id)
    try:
        services.hardship_request_withdraw(
            request_id=hardship.pk, borrower_id=hardship.borrower_id, actor=signed_in_user(request)
        )
    except DomainError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Your hardship request is withdrawn."))
    return redirect("collections:hardship-detail", public_id=hardship.public_id)


def _answer_offer(request: HttpRequest, public_id: Any, offer_id: int, *, accept: bool) -> HttpResponse:
    offer = _own_offer(request, public_id, offer_id)
    answer = services.hardship_offer_accept if accept else services.hardship_offer_decline
    try:
        answer(offer_id=offer.pk, borrower_id=own_borrower(request).pk, actor=signed_in_user(request))
    except DomainError as refused:
        messages.error(request, str(refused))
    else:
        if accept:
            messages.success(request, _(
                "You accepted the offer. We will confirm the new arrangement "
                "and the changes to your bills."
            ))
        else:
            messages.info(request, _("You declined the offer. Call us if you would like to talk about other help."))
    return redirect("collections:hardship-detail", public_id=public_id)


@borrower_required
@require_POST
def hardship_offer_accept(request: HttpRequest, public_id: Any, offer_id: int) -> HttpResponse:
    return _answer_offer(request, public_id, offer_id, accept=True)


@borrower_required
@require_POST
def hardship_offer_decline(request: HttpRequest, public_id: Any, offer_id: int) -> HttpResponse:
    return _answer_offer(request, public_id, offer_id, accept=False)


def _stream(evidence: HardshipEvidence) -> FileResponse:
    """The file as a download with the type its content was checked to be; never rendered here."""
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# borrower_required is annotated for HttpResponse; a FileResponse (streaming) works the same.
@borrower_required
def hardship_evidence(request: HttpRequest, public_id: Any, evidence_id: int) -> FileResponse:
    evidence = get_object_or_404(
        HardshipEvidence,
        pk=evidence_id,
        request__public_id=public_id,
        request__borrower=own_borrower(request),
    )
    return _stream(evidence)


def staff_evidence_download(request: HttpRequest, evidence_id: int) -> FileResponse:
    """For staff with the evidence permission; mounted in the admin (which handles sign-in)."""
    user = signed_in_user(request)
    if not (user.is_active and user.is_staff and user.has_perm(EVIDENCE_PERMISSION)):
        raise PermissionDenied
    evidence = get_object_or_404(HardshipEvidence, pk=evidence_id)
    response = _stream(evidence)
    # Borrowers' documents are personal information: who opened which one is on the record.
    with transaction.atomic():
        audit_record(
            actor=user,
            action="hardship.evidence.download",
            target=evidence,
            summary=f"request #{evidence.request_id}",
        )
    return response
