"""Serializers of collections for the API."""

from __future__ import annotations

from rest_framework import serializers

from loans.api.serializers import LoanSummarySerializer, money
from portal.masking import mask_mobile

from ..conduct import borrower_time_zone
from ..models import (
    DESCRIPTION_MAX_LENGTH,
    Alert,
    Case,
    CaseNote,
    ContactChannel,
    ContactLog,
    ContactOutcome,
    ContactParty,
    EmergencyContact,
    HardshipEvidence,
    HardshipOffer,
    HardshipReason,
    HardshipRequest,
    HelpKind,
    OverdueReason,
    PromiseToPay,
)
from ..services.cases import NOTE_MAX_LENGTH, THIRD_PARTY_REASON_MAX_LENGTH

# --- hardship (borrowers) ---------------------------------------------------------------------


class HardshipOfferSerializer(serializers.ModelSerializer):
    terms = serializers.CharField(read_only=True, help_text="In your language (Chinese when there is no English text).")
    can_be_answered = serializers.BooleanField(read_only=True)

    class Meta:
        model = HardshipOffer
        fields = ["id", "kind", "terms", "new_monthly_amount", "waived_amount", "grace_days", "expires_at",
                  "status", "can_be_answered", "created_at", "decided_at"]
        read_only_fields = fields


class HardshipEvidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = HardshipEvidence
        fields = ["id", "original_name", "content_type", "size", "uploaded_at"]
        read_only_fields = fields


class HardshipRequestSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    number = serializers.IntegerField(source="pk", read_only=True, help_text="The number our messages quote.")
    loan = serializers.CharField(source="loan.reference", read_only=True, allow_null=True)
    help_wanted = serializers.ListField(child=serializers.ChoiceField(choices=HelpKind.choices), read_only=True)
    offers = HardshipOfferSerializer(many=True, read_only=True)
    evidence_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = HardshipRequest
        fields = ["id", "number", "loan", "reason", "description", "help_wanted", "status", "decision_note",
                  "created_at", "decided_at", "offers", "evidence_count"]
        read_only_fields = fields


class HardshipRequestDetailSerializer(HardshipRequestSerializer):
    evidence = HardshipEvidenceSerializer(many=True, read_only=True)

    class Meta(HardshipRequestSerializer.Meta):
        fields = [*HardshipRequestSerializer.Meta.fields, "evidence"]
        read_only_fields = fields


class HardshipSubmitSerializer(serializers.Serializer):
    loan = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=20,
                                 help_text="The reference of the loan it is about; empty when not one loan.")
    reason = serializers.ChoiceField(choices=HardshipReason.choices)
    description = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH, trim_whitespace=False)
    help_wanted = serializers.ListField(child=serializers.ChoiceField(choices=HelpKind.choices), min_length=1,
                                        max_length=len(HelpKind.values))
    evidence = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True), required=False, default=list,
        max_length=20, help_text="PDF, JPEG or PNG files (multipart only), checked by their content.",
    )


# --- staff: cases -------------------------------------------------------------------------------


class CaseSerializer(serializers.ModelSerializer):
    loan = serializers.CharField(source="loan.reference", read_only=True)
    borrower = serializers.CharField(source="borrower.real_name", read_only=True)
    borrower_mobile = serializers.SerializerMethodField()
    assigned_to = serializers.CharField(source="assigned_to.username", read_only=True, allow_null=True)

    class Meta:
        model = Case
        fields = ["id", "loan", "borrower", "borrower_mobile", "status", "stage", "days_past_due", "overdue_amount",
                  "outstanding_amount", "priority", "broken_promises", "promise_state", "hardship_flag",
                  "classification", "assigned_to", "assigned_at", "failed_contacts", "legal_review_requested",
                  "legal_review_candidate", "write_off_candidate", "opened_on", "closed_on", "last_contact_at"]
        read_only_fields = fields

    def get_borrower_mobile(self, case: Case) -> str:
        return case.borrower.masked_mobile


class EmergencyContactSerializer(serializers.ModelSerializer):
    mobile = serializers.SerializerMethodField()

    class Meta:
        model = EmergencyContact
        fields = ["id", "name", "relationship", "mobile"]
        read_only_fields = fields

    def get_mobile(self, contact: EmergencyContact) -> str:
        return mask_mobile(contact.mobile)


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField(read_only=True)
    kind = serializers.ChoiceField(
        choices=["sms", "contact", "note", "promise", "payment", "stage", "hardship", "call_task"], read_only=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # DRF pops declared fields
    text = serializers.CharField(read_only=True)
    actor = serializers.CharField(read_only=True)


class PriorityExplanationSerializer(serializers.Serializer):
    score = money()
    amount_points = money()
    days_points = money()
    promise_points = money()
    text = serializers.CharField(read_only=True)


class PromiseSerializer(serializers.ModelSerializer):
    made_by = serializers.CharField(source="made_by.username", read_only=True)

    class Meta:
        model = PromiseToPay
        fields = ["id", "amount", "promised_date", "paid_before", "status", "made_by", "contact", "created_at",
                  "resolved_on"]
        read_only_fields = fields


class ArticleReadSerializer(serializers.Serializer):
    title = serializers.CharField(source="article.title", read_only=True)
    language = serializers.CharField(source="article.language", read_only=True)
    slug = serializers.CharField(source="article.slug", read_only=True)
    first_read_at = serializers.DateTimeField(read_only=True)


class CasePageSerializer(serializers.Serializer):
    case = CaseSerializer(read_only=True)
    loans = LoanSummarySerializer(many=True, read_only=True)
    emergency_contacts = EmergencyContactSerializer(many=True, read_only=True)
    timeline = TimelineEntrySerializer(many=True, read_only=True)
    pending_promise = PromiseSerializer(read_only=True, allow_null=True)
    priority = PriorityExplanationSerializer(read_only=True)
    strategy = serializers.CharField(read_only=True)
    articles_read = ArticleReadSerializer(many=True, read_only=True)


class ContactLogSerializer(serializers.ModelSerializer):
    agent = serializers.CharField(source="agent.username", read_only=True)
    number = serializers.SerializerMethodField()

    class Meta:
        model = ContactLog
        fields = ["id", "at", "agent", "channel", "party", "emergency_contact", "number", "outcome",
                  "overdue_reason", "third_party_reason", "note"]
        read_only_fields = fields

    def get_number(self, contact: ContactLog) -> str:
        return mask_mobile(contact.number) if contact.number else ""


class ContactLogCreateSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False, allow_null=True, default_timezone=borrower_time_zone(),
        help_text="When it happened; without a UTC offset it is the borrower's local time (as in the "
                  "admin). Empty for now.",
    )
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    party = serializers.ChoiceField(choices=ContactParty.choices, default=ContactParty.BORROWER)
    emergency_contact = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                                 max_value=2**62)
    outcome = serializers.ChoiceField(choices=ContactOutcome.choices)
    overdue_reason = serializers.ChoiceField(choices=OverdueReason.choices, default=OverdueReason.UNKNOWN)
    third_party_reason = serializers.CharField(required=False, allow_blank=True, default="",
                                               max_length=THIRD_PARTY_REASON_MAX_LENGTH)
    debt_not_disclosed = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX_LENGTH)


class PromiseCreateSerializer(serializers.Serializer):
    amount = serializers.CharField(max_length=20, help_text="Yuan with at most two decimals, as text.")
    promised_date = serializers.DateField()
    contact = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62,
                                       help_text="The contact log in which it was promised.")


class CaseNoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = CaseNote
        fields = ["id", "text", "author", "created_at"]
        read_only_fields = ["id", "author", "created_at"]
        extra_kwargs = {"text": {"max_length": NOTE_MAX_LENGTH, "trim_whitespace": False}}


# --- staff: alerts --------------------------------------------------------------------------------


class AlertSerializer(serializers.ModelSerializer):
    loan = serializers.CharField(source="loan.reference", read_only=True, allow_null=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = ["id", "kind", "role", "message", "loan", "case", "created_at", "acknowledged_by", "acknowledged_at"]
        read_only_fields = fields
