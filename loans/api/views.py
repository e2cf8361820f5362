"""Borrower endpoints of the loan book. Thin: selectors read, services write; every lookup goes
through the signed-in borrower, so another borrower's loan, payment or repayment is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, derived_uuid, idempotent
from portal.api.permissions import IsBorrower, borrower_of, user_of
from portal.api.schema import error_responses
from portal.api.throttles import MoneyThrottle
from portal.calendar import business_today
from portal.errors import NotAllowed
from portal.models import SmsMessage
from portal.money import ZERO
from portal.preferences import language_set

from .. import selectors, services
from ..allocation import plan_payment
from ..models import Loan, Payment, PaymentIntent, RepayMethod, RepayOption
from ..services.extensions import extension_quote
from ..services.repayments import repayment_amount
from . import serializers as s

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="The loan's reference.")


class BorrowerView(APIView):
    permission_classes = [IsAuthenticated, IsBorrower]

    def own_loan(self, reference: str) -> Loan:
        return get_object_or_404(Loan.objects.select_related("product"), reference=reference,
                                 borrower=borrower_of(self.request))


class BorrowerListView(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated, IsBorrower]


# --- the borrower ---------------------------------------------------------------------------------


class MeView(BorrowerView):
    @extend_schema(operation_id="me_retrieve", responses={200: s.BorrowerSerializer}, summary="Your profile")
    def get(self, request: Request) -> Response:
        return Response(s.BorrowerSerializer(borrower_of(request)).data)

    @extend_schema(operation_id="me_language", request=s.LanguageSerializer,
                   responses={200: s.BorrowerSerializer}, summary="Choose your language (zh-hans or en)")
    def patch(self, request: Request) -> Response:
        form = s.LanguageSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        language_set(user=user_of(request), language=form.validated_data["preferred_language"])
        borrower = borrower_of(request)
        borrower.refresh_from_db(fields=["preferred_language"])
        return Response(s.BorrowerSerializer(borrower).data)


# --- loans ----------------------------------------------------------------------------------------


class LoanListView(BorrowerListView):
    """Your loans with today's figures: two queries, however many loans and bills."""

    serializer_class = s.LoanSummarySerializer

    @extend_schema(operation_id="loans_list", summary="Your loans")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> list[selectors.LoanSummary]:  # type: ignore[override]
        if getattr(self, "swagger_fake_view", False):
            return []
        return selectors.borrower_loans(borrower=borrower_of(self.request), as_of=business_today())


class LoanDetailView(BorrowerView):
    @extend_schema(operation_id="loans_retrieve", parameters=[REFERENCE], responses={200: s.LoanSummarySerializer},
                   summary="One of your loans")
    def get(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        summary = selectors.summarise(loan, list(loan.installments.order_by("due_date", "number")), business_today())
        return Response(s.LoanSummarySerializer(summary).data)


class ScheduleView(BorrowerView):
    @extend_schema(operation_id="loans_schedule", parameters=[REFERENCE], responses={200: s.ScheduleSerializer},
                   summary="The loan's bills, as the contract numbers them")
    def get(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        installments = list(loan.installments.exclude(status="superseded").order_by("number", "due_date"))
        return Response(s.ScheduleSerializer({"loan": loan.reference, "installments": installments}).data)


class PayoffQuoteView(BorrowerView):
    @extend_schema(operation_id="loans_payoff_quote", parameters=[REFERENCE], responses={200: s.PayoffQuoteSerializer},
                   summary="What settles the loan today")
    def get(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        summary = selectors.summarise(loan, list(loan.installments.order_by("due_date", "number")), business_today())
        quote = summary.payoff
        waived = sum((a.parts.total for a in quote.waived), ZERO)
        return Response(s.PayoffQuoteSerializer({"as_of": quote.as_of, "amount": quote.amount, "owed": quote.owed,
                                                 "waived": waived}).data)


class LoanPaymentListView(BorrowerListView):
    serializer_class = s.PaymentSerializer

    @extend_schema(operation_id="loans_payments", parameters=[REFERENCE], summary="Payments on the loan, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Payment]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Payment.objects.none()
        loan = get_object_or_404(Loan, reference=self.kwargs["reference"], borrower=borrower_of(self.request))
        return Payment.objects.filter(loan=loan).select_related("loan").order_by("-received_at", "-id")


class ReceiptView(BorrowerView):
    @extend_schema(operation_id="payments_retrieve", responses={200: s.ReceiptSerializer},
                   summary="A payment's receipt: how it was applied")
    def get(self, request: Request, payment_id: int) -> Response:
        payment = get_object_or_404(
            Payment.objects.select_related("loan").prefetch_related("allocations__installment"),
            pk=payment_id, borrower=borrower_of(request),
        )
        return Response(s.ReceiptSerializer(payment).data)


# --- repaying -------------------------------------------------------------------------------------


class RepaymentOptionsView(BorrowerView):
    @extend_schema(operation_id="loans_repayment_options", parameters=[REFERENCE],
                   responses={200: s.RepaymentOptionsSerializer}, summary="What can be paid today, and how")
    def get(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        today = business_today()
        summary = selectors.summarise(loan, list(loan.installments.order_by("due_date", "number")), today)
        amounts = selectors.repay_amounts_for(summary) if selectors.is_active(loan) else {}
        options = [
            {"option": value, "label": str(label), "amount": amounts.get(value),
             "available": (value == RepayOption.CUSTOM and bool(amounts.get(RepayOption.PAYOFF)))
             or (amounts.get(value) or ZERO) > 0}
            for value, label in RepayOption.choices
        ]
        methods = [{"method": value, "label": str(label)} for value, label in RepayMethod.choices]
        return Response(s.RepaymentOptionsSerializer({"as_of": today, "options": options, "methods": methods}).data)


class RepaymentPreviewView(BorrowerView):
    @extend_schema(operation_id="loans_repayment_preview", parameters=[REFERENCE, s.PreviewQuerySerializer],
                   responses={200: s.RepaymentPreviewSerializer, **error_responses(409, 422)},
                   summary="How a payment would be applied today (nothing is charged)")
    def get(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        query = s.PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        today = business_today()
        if not selectors.is_active(loan):
            raise NotAllowed(_("This loan takes no payments."))
        amount = repayment_amount(loan=loan, option=query.validated_data["option"], business_date=today,
                                  custom_amount=query.validated_data.get("amount"))
        plan = plan_payment(list(loan.installments.order_by("due_date", "number")), amount, today)
        return Response(s.RepaymentPreviewSerializer({"as_of": today, "amount": plan.amount, "settles": plan.settles,
                                                      "paid": plan.paid, "waived": plan.waived}).data)


class RepaymentCreateView(BorrowerView):
    throttle_classes = [MoneyThrottle]

    @extend_schema(
        operation_id="loans_repay", parameters=[REFERENCE, IDEMPOTENCY_KEY_PARAMETER],
        request=s.RepaySerializer,
        responses={201: s.IntentSerializer, **error_responses(409, 422)},
        summary="Repay: choose and confirm a payment (Idempotency-Key required)",
        description=(
            "Creates the payment intent and confirms it, as the repay page and its confirmation do. "
            "Online: open `checkout_url` to pay; the payment posts when the provider confirms. Bank "
            "transfer: send the amount to `bank_account` quoting `reference_code`. The intent is the "
            "payment's idempotency key, and its id is derived from the Idempotency-Key. A replayed "
            "response carries `Idempotent-Replayed: true`."
        ),
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        form = s.RepaySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        public_id = derived_uuid(request.idempotency_record, purpose="payment-intent")  # type: ignore[attr-defined]
        intent = services.payment_intent_create(
            borrower_id=loan.borrower_id, loan_id=loan.pk, option=form.validated_data["option"],
            method=form.validated_data["method"], custom_amount=form.validated_data.get("amount"),
            business_date=business_today(), actor=user, public_id=public_id,
        )
        intent = services.payment_intent_confirm(intent_id=intent.pk, actor=user)
        intent = PaymentIntent.objects.select_related("loan").get(pk=intent.pk)
        return Response(s.IntentSerializer(intent, context={"request": request}).data, status=status.HTTP_201_CREATED)


class RepaymentListView(BorrowerListView):
    serializer_class = s.IntentSerializer

    @extend_schema(operation_id="repayments_list", summary="Your repayments (payment intents), newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[PaymentIntent]:
        if getattr(self, "swagger_fake_view", False):
            return PaymentIntent.objects.none()
        return (PaymentIntent.objects.filter(borrower=borrower_of(self.request)).select_related("loan")
                .order_by("-created_at", "-id"))


class OwnRepaymentView(BorrowerView):
    def own_intent(self, public_id: Any) -> PaymentIntent:
        return get_object_or_404(PaymentIntent.objects.select_related("loan"), public_id=public_id,
                                 borrower=borrower_of(self.request))


class RepaymentDetailView(OwnRepaymentView):
    @extend_schema(operation_id="repayments_retrieve", responses={200: s.IntentSerializer},
                   summary="One repayment: its status (poll until succeeded or failed)")
    def get(self, request: Request, public_id: Any) -> Response:
        return Response(s.IntentSerializer(self.own_intent(public_id), context={"request": request}).data)


class RepaymentCancelView(OwnRepaymentView):
    @extend_schema(operation_id="repayments_cancel", request=None,
                   responses={200: s.IntentSerializer, **error_responses(409)},
                   summary="Cancel a repayment not paid yet (nothing is charged)")
    def post(self, request: Request, public_id: Any) -> Response:
        intent = self.own_intent(public_id)
        services.payment_intent_cancel(intent_id=intent.pk, actor=user_of(request))
        return Response(s.IntentSerializer(self.own_intent(public_id), context={"request": request}).data)


# --- the interest-free extension --------------------------------------------------------------------


class ExtensionView(BorrowerView):
    def get_throttles(self) -> list[Any]:
        return [MoneyThrottle()] if self.request.method == "POST" else []

    @extend_schema(operation_id="loans_extension_quote", parameters=[REFERENCE],
                   responses={200: s.ExtensionQuoteSerializer},
                   summary="Whether the one-time interest-free extension applies, and what it would do")
    def get(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        quote = extension_quote(borrower=borrower_of(request), loan=loan,
                                installments=list(loan.installments.order_by("due_date", "number")),
                                as_of=business_today())
        return Response(s.ExtensionQuoteSerializer(quote).data)

    @extend_schema(operation_id="loans_extension_grant", parameters=[REFERENCE], request=None,
                   responses={201: s.ExtensionSerializer, **error_responses(409)},
                   summary="Take the one-time interest-free extension (once per borrower, ever)")
    def post(self, request: Request, reference: str) -> Response:
        loan = self.own_loan(reference)
        extension = services.extension_grant(borrower_id=loan.borrower_id, loan_id=loan.pk,
                                             business_date=business_today(), actor=user_of(request))
        return Response(s.ExtensionSerializer(extension).data, status=status.HTTP_201_CREATED)


# --- messages ---------------------------------------------------------------------------------------


class MessageListView(BorrowerListView):
    serializer_class = s.MessageSerializer

    @extend_schema(operation_id="messages_list", summary="Text messages sent to you, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[SmsMessage]:
        if getattr(self, "swagger_fake_view", False):
            return SmsMessage.objects.none()
        return SmsMessage.objects.filter(recipient=user_of(self.request)).order_by("-created_at", "-id")
