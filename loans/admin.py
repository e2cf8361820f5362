"""Admin for the loan book: everything about money is read-only; services change it."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from portal.admin_audit import AuditedModelAdmin
from portal.admin_tools import LongListMixin, ReadOnlyAdminMixin, ReadOnlyInline
from portal.audit import audit_record
from portal.calendar import business_today
from portal.errors import DomainError

from . import services
from .models import (
    Allocation,
    BankStatementImport,
    BankStatementLine,
    Borrower,
    Extension,
    Installment,
    JournalEntry,
    Loan,
    LoanEvent,
    Payment,
    PaymentIntent,
    Product,
    StageChange,
)

# Set per request (contextvars are per thread), read by the display methods, which get no request.
_reveal_identity: ContextVar[bool] = ContextVar("reveal_identity", default=False)


@admin.register(Borrower)
class BorrowerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Lists show identities masked. A borrower's own page shows them in full to staff with
    `loans.reveal_identity`, and each such view is a reveal written to the audit trail."""

    list_display = ["real_name", "shown_mobile", "shown_national_id", "segment", "preferred_language"]
    list_filter = ["segment", "preferred_language"]
    search_fields = ["real_name", "=mobile", "=national_id"]
    fields = ("real_name", "shown_mobile", "shown_national_id", "segment", "preferred_language", "created_at")
    readonly_fields = fields

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        reveal = request.user.has_perm("loans.reveal_identity")
        borrower = Borrower.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if reveal and borrower is not None and self.has_view_permission(request, borrower):
            with transaction.atomic():
                audit_record(actor=request.user, action="borrower.identity_reveal", target=borrower,  # type: ignore[arg-type]
                             summary="borrower page in the admin", after={"shown": ["national_id", "mobile"]})
        token = _reveal_identity.set(reveal)
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # while the permission is known to the display methods
            return response
        finally:
            _reveal_identity.reset(token)

    @admin.display(description=_("mobile number"))
    def shown_mobile(self, obj: Borrower) -> str:
        return obj.mobile if _reveal_identity.get() else obj.masked_mobile

    @admin.display(description=_("national ID"))
    def shown_national_id(self, obj: Borrower) -> str:
        return obj.national_id if _reveal_identity.get() else obj.masked_national_id


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    """Products are edited here (contracts copy their terms at disbursement); every edit is
    audited with the values before and after ("product.create", "product.change")."""

    list_display = [
        "code",
        "name",
        "annual_rate",
        "penalty_rate",
        "repayment_method",
        "term_months",
        "grace_days",
        "is_active",
    ]
    list_filter = ["repayment_method", "is_active"]


class InstallmentInline(ReadOnlyInline):
    model = Installment
    fields = (
        "number", "due_date", "status", "principal_due", "interest_due", "penalty_due", "fees_due",
        "principal_paid", "interest_paid", "penalty_paid", "fees_paid",
        "interest_waived", "penalty_waived", "overdue_since", "settled_on",
    )
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("received_at", "amount", "channel", "status", "business_date", "external_reference")
    readonly_fields = fields


class JournalInline(ReadOnlyInline):
    model = JournalEntry
    fields = ("business_date", "kind", "principal", "interest", "penalty", "fees", "memo", "payment")
    readonly_fields = fields


@admin.register(Loan)
class LoanAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["reference", "borrower", "product", "principal", "status", "stage", "days_past_due", "disbursed_on"]
    list_filter = ["status", "stage", "product"]
    search_fields = ["=reference", "borrower__real_name"]
    list_select_related = ["borrower", "product"]
    inlines = [InstallmentInline, PaymentInline, JournalInline]


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fields = ("installment", "kind", "fees", "penalty", "interest", "principal")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "loan", "amount", "channel", "status", "business_date"]
    list_filter = ["channel", "status"]
    search_fields = ["=loan__reference", "=idempotency_key", "=external_reference"]
    list_select_related = ["loan"]
    inlines = [AllocationInline]


@admin.register(JournalEntry)
class JournalEntryAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "loan", "kind", "business_date", "principal", "interest", "penalty", "fees"]
    list_filter = ["kind"]
    search_fields = ["=loan__reference"]
    list_select_related = ["loan"]


class StatementUploadForm(forms.Form):
    statement = forms.FileField(
        label=_("Bank statement (CSV)"),
        help_text=_("Columns: transaction_id, value_date (YYYY-MM-DD), amount, payer, reference."),
    )


class StatementLineInline(ReadOnlyInline):
    model = BankStatementLine
    fields = ("line_number", "bank_transaction_id", "value_date", "amount", "payer", "reference_text",
              "status", "payment", "note")
    readonly_fields = fields


@admin.register(BankStatementImport)
class BankStatementImportAdmin(admin.ModelAdmin):
    """Upload replaces the add form: the service imports, nothing is typed in by hand."""

    list_display = ["uploaded_at", "file_name", "line_count", "posted_count", "unmatched_count", "uploaded_by"]
    list_select_related = ["uploaded_by"]
    inlines = [StatementLineInline]
    fields = ("file_name", "uploaded_by", "uploaded_at", "sha256", "line_count", "posted_count", "unmatched_count")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("loans.add_bankstatementimport")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StatementUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["statement"]
            try:
                statement = services.bank_statement_import(
                    file_name=upload.name, content=upload.read(), actor=request.user,  # type: ignore[arg-type]
                    business_date=business_today(),
                )
            except DomainError as refused:
                form.add_error("statement", str(refused))
            else:
                self.message_user(request, _("%(posted)s of %(lines)s lines posted; %(unmatched)s wait for review.")
                                  % {"posted": statement.posted_count, "lines": statement.line_count,
                                     "unmatched": statement.unmatched_count})
                return redirect("admin:loans_bankstatementimport_change", statement.pk)
        context = {**self.admin_site.each_context(request), "title": _("Import a bank statement"), "form": form,
                   "opts": self.model._meta}
        return render(request, "admin/loans/statement_upload.html", context)


@admin.register(BankStatementLine)
class BankStatementLineAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["bank_transaction_id", "value_date", "amount", "payer", "reference_text", "status", "note"]
    list_filter = ["status"]
    search_fields = ["=bank_transaction_id", "reference_text", "payer"]


@admin.register(PaymentIntent)
class PaymentIntentAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "reference_code", "loan", "amount", "method", "status"]
    list_filter = ["status", "method"]
    search_fields = ["=reference_code", "=loan__reference"]
    list_select_related = ["loan"]


@admin.register(Extension)
class ExtensionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["business_date", "loan", "borrower", "new_due_date", "penalty_waived"]
    list_select_related = ["loan", "borrower"]


@admin.register(StageChange)
class StageChangeAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every move of a loan between stages (written by services, read by auditors)."""

    list_display = ["business_date", "loan", "from_stage", "to_stage", "days_past_due", "reason"]
    list_filter = ["to_stage"]
    search_fields = ["=loan__reference"]
    list_select_related = ["loan"]
    date_hierarchy = "business_date"


@admin.register(LoanEvent)
class LoanEventAdmin(LongListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The state-change outbox, as its consumers read it (loans.outbox)."""

    list_display = ["id", "created_at", "business_date", "loan", "kind", "payload"]
    list_filter = ["kind"]
    search_fields = ["=loan__reference"]
    list_select_related = ["loan"]
