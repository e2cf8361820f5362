"""Serializers of the loan book for the API. Money is a string with two decimals ("1234.50")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    Allocation,
    Borrower,
    Installment,
    IntentStatus,
    Language,
    Payment,
    PaymentIntent,
    RepayMethod,
    RepayOption,
)
from ..providers import get_provider


def money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


class PartsSerializer(serializers.Serializer):
    """An amount split as payments are applied: fees, penalty interest, interest, principal."""

    fees = money()
    penalty = money()
    interest = money()
    principal = money()
    total = money()


class BorrowerSerializer(serializers.ModelSerializer):
    mobile = serializers.CharField(source="masked_mobile", read_only=True)
    national_id = serializers.CharField(source="masked_national_id", read_only=True)
    has_extension = serializers.SerializerMethodField()

    class Meta:
        model = Borrower
        fields = ["real_name", "mobile", "national_id", "segment", "preferred_language", "has_extension"]
        read_only_fields = ["real_name", "mobile", "national_id", "segment", "has_extension"]

    def get_has_extension(self, borrower: Borrower) -> bool:
        return hasattr(borrower, "extension")


class LanguageSerializer(serializers.Serializer):
    preferred_language = serializers.ChoiceField(choices=Language.choices)


class BillSerializer(serializers.ModelSerializer):
    amount_outstanding = money(source="total_outstanding")

    class Meta:
        model = Installment
        fields = ["number", "due_date", "status", "amount_outstanding"]
        read_only_fields = fields


class MilestoneSerializer(serializers.Serializer):
    on = serializers.DateField(read_only=True)
    what = serializers.ChoiceField(
        choices=["credit_report", "collections", "legal"], read_only=True,
        help_text="credit_report: reported to the credit bureau; collections: handed to an agent; "
                  "legal: considered for legal action.",
    )


class LoanSummarySerializer(serializers.Serializer):
    """One loan as the dashboard and the loan page show it, computed for today."""

    reference = serializers.CharField(source="loan.reference", read_only=True)
    product = serializers.CharField(source="loan.product.name", read_only=True)
    principal = money(source="loan.principal")
    annual_rate = serializers.DecimalField(source="loan.annual_rate", max_digits=9, decimal_places=6, read_only=True)
    penalty_rate = serializers.DecimalField(source="loan.penalty_rate", max_digits=9, decimal_places=6, read_only=True)
    repayment_method = serializers.CharField(source="loan.repayment_method", read_only=True)
    term_months = serializers.IntegerField(source="loan.term_months", read_only=True)
    disbursed_on = serializers.DateField(source="loan.disbursed_on", read_only=True)
    status = serializers.CharField(source="loan.status", read_only=True)
    stage = serializers.CharField(source="loan.stage", read_only=True)
    as_of = serializers.DateField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    days_past_due = serializers.IntegerField(read_only=True)
    next_bill = BillSerializer(read_only=True, allow_null=True)
    overdue = PartsSerializer(read_only=True)
    due_now = PartsSerializer(read_only=True)
    daily_penalty = money(help_text="What each further day overdue adds in penalty interest.")
    payoff_amount = money(source="payoff.amount", help_text="What settles the loan today.")
    milestones = MilestoneSerializer(many=True, read_only=True)


class InstallmentSerializer(serializers.ModelSerializer):
    amount_due = money(source="total_due")
    amount_outstanding = money(source="total_outstanding")

    class Meta:
        model = Installment
        fields = [
            "number", "due_date", "status",
            "principal_due", "interest_due", "penalty_due", "fees_due",
            "principal_paid", "interest_paid", "penalty_paid", "fees_paid",
            "principal_waived", "interest_waived", "penalty_waived", "fees_waived",
            "amount_due", "amount_outstanding", "overdue_since", "settled_on",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    loan = serializers.CharField(source="loan.reference", read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "loan", "amount", "channel", "status", "business_date", "received_at", "reversed_at"]
        read_only_fields = fields


class AllocationSerializer(serializers.ModelSerializer):
    installment = serializers.IntegerField(source="installment.number", read_only=True)
    due_date = serializers.DateField(source="installment.due_date", read_only=True)
    total = money()

    class Meta:
        model = Allocation
        fields = ["installment", "due_date", "kind", "fees", "penalty", "interest", "principal", "total"]
        read_only_fields = fields


class ReceiptSerializer(PaymentSerializer):
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "allocations"]
        read_only_fields = fields


class PayoffQuoteSerializer(serializers.Serializer):
    as_of = serializers.DateField(read_only=True)
    amount = money(help_text="Pay exactly this today to settle the loan.")
    owed = PartsSerializer(read_only=True)
    waived = money(help_text="Interest of later periods forgiven when the loan is settled today.")


class ScheduleSerializer(serializers.Serializer):
    loan = serializers.CharField(read_only=True)
    installments = InstallmentSerializer(many=True, read_only=True)


class RepayChoiceSerializer(serializers.Serializer):
    option = serializers.ChoiceField(choices=RepayOption.choices, read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # DRF pops declared fields
    amount = money(allow_null=True, help_text="Null for `custom` (the borrower types it).")
    available = serializers.BooleanField(read_only=True)


class RepayMethodSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=RepayMethod.choices, read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # DRF pops declared fields


class RepaymentOptionsSerializer(serializers.Serializer):
    as_of = serializers.DateField(read_only=True)
    options = RepayChoiceSerializer(many=True, read_only=True)
    methods = RepayMethodSerializer(many=True, read_only=True)


class AllocatedSerializer(serializers.Serializer):
    installment = serializers.IntegerField(source="installment.number", read_only=True)
    due_date = serializers.DateField(source="installment.due_date", read_only=True)
    parts = PartsSerializer(read_only=True)


class PreviewQuerySerializer(serializers.Serializer):
    option = serializers.ChoiceField(choices=RepayOption.choices)
    amount = serializers.CharField(required=False, max_length=20, help_text="Only for option=custom, e.g. 500.00.")


class RepaymentPreviewSerializer(serializers.Serializer):
    as_of = serializers.DateField(read_only=True)
    amount = money()
    settles = serializers.BooleanField(read_only=True, help_text="True when this payment settles the loan.")
    paid = AllocatedSerializer(many=True, read_only=True)
    waived = AllocatedSerializer(many=True, read_only=True)


class RepaySerializer(serializers.Serializer):
    option = serializers.ChoiceField(choices=RepayOption.choices)
    method = serializers.ChoiceField(choices=RepayMethod.choices)
    amount = serializers.CharField(
        required=False, allow_null=True, max_length=20,
        help_text="Only for option=custom: yuan with at most two decimals, as text (\"500.00\").",
    )


class BankAccountSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    bank = serializers.CharField(read_only=True)
    number = serializers.CharField(read_only=True)


class IntentSerializer(serializers.ModelSerializer):
    """A repayment: what the borrower chose, and what to do next to pay it."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    loan = serializers.CharField(source="loan.reference", read_only=True)
    payment = serializers.IntegerField(source="payment_id", read_only=True, allow_null=True)
    checkout_url = serializers.SerializerMethodField(
        help_text="Online: open this page to pay (while the status is `processing`).")
    bank_account = serializers.SerializerMethodField(
        help_text="Bank transfer: send the amount here, quoting `reference_code`.")

    class Meta:
        model = PaymentIntent
        fields = ["id", "loan", "amount", "option", "method", "status", "reference_code", "failure_reason",
                  "payment", "checkout_url", "bank_account", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_checkout_url(self, intent: PaymentIntent) -> str | None:
        if intent.method != RepayMethod.ONLINE or intent.status != IntentStatus.PROCESSING:
            return None
        url = get_provider().checkout_url(intent)
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    @extend_schema_field(BankAccountSerializer(allow_null=True))
    def get_bank_account(self, intent: PaymentIntent) -> dict[str, str] | None:
        if intent.method != RepayMethod.BANK_TRANSFER:
            return None
        return dict(settings.PORTAL_BANK_ACCOUNT)


class ExtensionQuoteSerializer(serializers.Serializer):
    eligible = serializers.BooleanField(read_only=True)
    refusal = serializers.CharField(read_only=True, help_text="Why not, when not eligible.")
    bills = BillSerializer(many=True, read_only=True)
    days = serializers.IntegerField(read_only=True)
    new_due_date = serializers.DateField(read_only=True, allow_null=True)
    penalty_waived = money()
    interest_not_charged = money()
    amount_due_by_new_date = money()


class ExtensionSerializer(serializers.Serializer):
    loan = serializers.CharField(source="loan.reference", read_only=True)
    business_date = serializers.DateField(read_only=True)
    days = serializers.IntegerField(read_only=True)
    new_due_date = serializers.DateField(read_only=True)
    penalty_waived = money()
    interest_not_charged = money()


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    kind = serializers.CharField(read_only=True)
    body = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
