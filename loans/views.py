"""Borrower pages for loans: dashboard, loan page, messages. Thin: selectors read, services write."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from education.selectors import reader_language, recommended_articles
from portal.access import borrower_required
from portal.calendar import business_today
from portal.models import SmsMessage

from . import selectors
from .models import Extension, Loan


@borrower_required
def dashboard(request: HttpRequest) -> HttpResponse:
    borrower = request.borrower  # type: ignore[attr-defined]
    summaries = selectors.borrower_loans(borrower=borrower, as_of=business_today())
    return render(request, "loans/dashboard.html", {
        "borrower": borrower,
        "summaries": summaries,
        "active": [s for s in summaries if selectors.is_active(s.loan)],
        "closed": [s for s in summaries if not selectors.is_active(s.loan)],
        "has_extension": Extension.objects.filter(borrower=borrower).exists(),
        "recommendations": recommended_articles(borrower_id=borrower.pk, language=reader_language()),
    })


@borrower_required
def loan_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        summary, payments = selectors.borrower_loan(
            borrower=request.borrower, reference=reference, as_of=business_today()  # type: ignore[attr-defined]
        )
    except Loan.DoesNotExist:
        raise Http404 from None
    return render(request, "loans/loan_detail.html", {"s": summary, "loan": summary.loan, "payments": payments})


@borrower_required
def messages_list(request: HttpRequest) -> HttpResponse:
    sms = SmsMessage.objects.filter(recipient=request.borrower.user_id).order_by(  # type: ignore[attr-defined]
        "-created_at", "-id"
    )[:200]
    return render(request, "loans/messages.html", {"sms": sms})
