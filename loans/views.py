"""Borrower pages for loans: dashboard, loan page, messages. Thin: selectors read, services write."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from education.selectors import reader_language, recommended_articles
from notices.models import Notice
from notices.selectors import notices_for_borrower
from portal.access import borrower_required
from portal.calendar import business_today
from portal.models import SmsMessage
from reporting.selectors import loan_credit_history

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


PAYMENTS_PER_PAGE = 20


@borrower_required
def loan_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        summary, payments = selectors.borrower_loan(
            borrower=request.borrower, reference=reference, as_of=business_today()  # type: ignore[attr-defined]
        )
    except Loan.DoesNotExist:
        raise Http404 from None
    credit = loan_credit_history(loan_id=summary.loan.pk, borrower_id=summary.loan.borrower_id)
    # get_page: a page number past the end or not a number shows the nearest page, not an error.
    payments_page = Paginator(payments, PAYMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "loans/loan_detail.html", {
        "s": summary, "loan": summary.loan, "payments": payments_page, "credit": credit,
    })


MESSAGES_SHOWN = 200


@dataclass(frozen=True)
class MessageItem:
    """One line of the Messages page: a text message or a printed notice."""

    at: dt.datetime
    sms: SmsMessage | None = None
    notice: Notice | None = None


@borrower_required
def messages_list(request: HttpRequest) -> HttpResponse:
    """Every text message and printed notice sent to the borrower, newest first (two queries)."""
    borrower = request.borrower  # type: ignore[attr-defined]
    sms = SmsMessage.objects.filter(recipient=borrower.user_id).order_by("-created_at", "-id")[:MESSAGES_SHOWN]
    notices = notices_for_borrower(borrower.pk, limit=MESSAGES_SHOWN)
    items = [MessageItem(m.created_at, sms=m) for m in sms] + [MessageItem(n.generated_at, notice=n) for n in notices]
    items.sort(key=lambda item: item.at, reverse=True)
    return render(request, "loans/messages.html", {"items": items[:MESSAGES_SHOWN]})
