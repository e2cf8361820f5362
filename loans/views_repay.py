"""Borrower pages that move money: repay, the payment intent, the sandbox bank, receipts, the
interest-free extension. Every write goes through loans.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.access import borrower_required
from portal.calendar import business_today
from portal.errors import DomainError

from . import selectors, services
from .allocation import plan_payment
from .forms import RepayForm
from .models import IntentStatus, Loan, Payment, PaymentIntent, RepayOption
from .providers import SandboxProvider, get_provider
from .services.extensions import extension_quote
from .services.repayments import sandbox_checkout_submit


def _own_loan(request: HttpRequest, reference: str) -> Loan:
    return get_object_or_404(Loan.objects.select_related("product"), reference=reference,
                             borrower=request.borrower)  # type: ignore[attr-defined]


def _own_intent(request: HttpRequest, public_id: str) -> PaymentIntent:
    return get_object_or_404(PaymentIntent.objects.select_related("loan", "payment"), public_id=public_id,
                             borrower=request.borrower)  # type: ignore[attr-defined]


@borrower_required
def repay(request: HttpRequest, reference: str) -> HttpResponse:
    loan = _own_loan(request, reference)
    today = business_today()
    summary = selectors.summarise(loan, list(loan.installments.order_by("due_date", "number")), today)
    amounts = selectors.repay_amounts_for(summary)
    form = RepayForm(request.POST or None, amounts=amounts,
                     initial={"option": RepayOption.OVERDUE if amounts[RepayOption.OVERDUE] else RepayOption.NEXT_BILL})
    if request.method == "POST" and form.is_valid():
        try:
            intent = services.payment_intent_create(
                borrower_id=loan.borrower_id, loan_id=loan.pk, option=form.cleaned_data["option"],
                method=form.cleaned_data["method"], custom_amount=form.cleaned_data.get("custom_amount"),
                business_date=today, actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as refused:
            form.add_error(None, str(refused))
        else:
            return redirect("loans:intent", public_id=intent.public_id)
    choices = [(value, label, amounts.get(value)) for value, label in RepayOption.choices]
    return render(request, "loans/repay.html", {"loan": loan, "s": summary, "form": form, "choices": choices})


@borrower_required
def intent_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    intent = _own_intent(request, public_id)
    context: dict[str, object] = {"intent": intent, "loan": intent.loan, "bank": settings.PORTAL_BANK_ACCOUNT}
    if intent.status == IntentStatus.CREATED:
        installments = list(intent.loan.installments.order_by("due_date", "number"))
        try:
            context["plan"] = plan_payment(installments, intent.amount, business_today())
        except ValueError:  # the bills changed since the choice (another payment posted)
            context["stale"] = True
    return render(request, "loans/intent.html", context)


@borrower_required
@require_POST
def intent_confirm(request: HttpRequest, public_id: str) -> HttpResponse:
    intent = _own_intent(request, public_id)
    was_new = intent.status == IntentStatus.CREATED
    intent = services.payment_intent_confirm(intent_id=intent.pk, actor=request.user)  # type: ignore[arg-type]
    if was_new and intent.status == IntentStatus.PROCESSING:
        return redirect(get_provider().checkout_url(intent))
    return redirect("loans:intent", public_id=intent.public_id)


@borrower_required
@require_POST
def intent_cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    intent = _own_intent(request, public_id)
    try:
        services.payment_intent_cancel(intent_id=intent.pk, actor=request.user)  # type: ignore[arg-type]
        messages.info(request, _("The payment was cancelled; nothing was charged."))
    except DomainError as refused:
        messages.error(request, str(refused))
    return redirect("loans:loan", reference=intent.loan.reference)


@borrower_required
def sandbox_checkout(request: HttpRequest, public_id: str) -> HttpResponse:
    """The pretend bank page of the sandbox provider (404 when a real provider is configured)."""
    if not isinstance(get_provider(), SandboxProvider):
        raise Http404
    intent = _own_intent(request, public_id)
    if request.method == "POST" and intent.status == IntentStatus.PROCESSING:
        sandbox_checkout_submit(intent_id=intent.pk, pay=request.POST.get("outcome") == "pay")
        return redirect("loans:intent", public_id=intent.public_id)
    return render(request, "loans/sandbox_checkout.html", {"intent": intent})


@borrower_required
def receipt(request: HttpRequest, payment_id: int) -> HttpResponse:
    payment = get_object_or_404(Payment.objects.select_related("loan"), pk=payment_id,
                                borrower=request.borrower)  # type: ignore[attr-defined]
    allocations = payment.allocations.select_related("installment").order_by("installment__due_date", "id")
    return render(request, "loans/receipt.html", {"payment": payment, "allocations": allocations})


@borrower_required
def extension(request: HttpRequest, reference: str) -> HttpResponse:
    loan = _own_loan(request, reference)
    today = business_today()
    quote = extension_quote(borrower=request.borrower, loan=loan,  # type: ignore[attr-defined]
                            installments=list(loan.installments.order_by("due_date", "number")), as_of=today)
    if request.method == "POST":
        try:
            granted = services.extension_grant(borrower_id=loan.borrower_id, loan_id=loan.pk, business_date=today,
                                               actor=request.user)  # type: ignore[arg-type]
        except DomainError as refused:
            messages.error(request, str(refused))
            return redirect("loans:extension", reference=loan.reference)
        messages.success(request, _("Your interest-free extension is granted. Please pay the moved bills by %(date)s.")
                         % {"date": granted.new_due_date.isoformat()})
        return redirect("loans:loan", reference=loan.reference)
    return render(request, "loans/extension.html", {"loan": loan, "quote": quote})
