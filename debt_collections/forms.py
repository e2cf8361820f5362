"""Forms for hardship requests (borrowers) and for staff decisions (admin).

Forms check what a person typed and say what is wrong in the page's language; the services
check again and own every change.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.models import Borrower, Loan, LoanStatus
from portal.errors import DomainError
from portal.money import parse_amount
from portal.plain_text import MARKUP_REFUSED, contains_markup

from .evidence import ACCEPT_ATTRIBUTE, evidence_check_all, evidence_max_bytes, evidence_max_files
from .models import DESCRIPTION_MAX_LENGTH, TERMS_MAX_LENGTH, HardshipReason, HelpKind
from .services import MAX_OFFER_DAYS


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more files from one <input type=file multiple>."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class LoanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.reference} · {obj.product.name}"


class HardshipRequestForm(forms.Form):
    loan = LoanChoiceField(
        label=_("Which loan is it about?"),
        queryset=Loan.objects.none(),
        required=False,
        empty_label=_("Not about one particular loan"),
    )
    reason = forms.ChoiceField(
        label=_("What happened?"),
        choices=HardshipReason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please choose what happened.")},
    )
    help_wanted = forms.MultipleChoiceField(
        label=_("What help would you like?"),
        choices=HelpKind.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Please choose at least one kind of help.")},
    )
    description = forms.CharField(
        label=_("Tell us about your situation"),
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What changed, since when, and what you can pay now. At most 2000 characters."),
        error_messages={"required": _("Please tell us about your situation.")},
    )
    evidence = MultipleFileField(label=_("Evidence (optional)"), required=False)

    def __init__(self, *args: Any, borrower: Borrower, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        loans = (
            Loan.objects.filter(borrower=borrower, status=LoanStatus.ACTIVE)
            .select_related("product")
            .order_by("disbursed_on", "id")
        )
        field = self.fields["loan"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = loans
        self.fields["evidence"].help_text = _(
            "PDF, JPEG or PNG: up to %(count)s files, at most %(size)s MB each. For example a "
            "doctor's note, a termination letter or photos of damage."
        ) % {"count": evidence_max_files(), "size": evidence_max_bytes() // (1024 * 1024)}

    def clean_description(self) -> str:
        text: str = self.cleaned_data["description"]
        if contains_markup(text):
            raise forms.ValidationError(MARKUP_REFUSED % {"field": _("description")})
        return text

    def clean_evidence(self) -> list[Any]:
        uploads = self.cleaned_data.get("evidence") or []
        return evidence_check_all(uploads)


class HardshipOfferForm(forms.Form):
    """Staff's offer on a request (admin)."""

    kind = forms.ChoiceField(label=_("kind of help"), choices=HelpKind.choices)
    terms_zh = forms.CharField(
        label=_("terms (Chinese)"),
        max_length=TERMS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    terms_en = forms.CharField(
        label=_("terms (English)"),
        max_length=TERMS_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    new_monthly_amount = forms.CharField(
        label=_("new monthly amount"), required=False, max_length=20
    )
    waived_amount = forms.CharField(label=_("amount waived"), required=False, max_length=20)
    grace_days = forms.IntegerField(
        label=_("grace days"), required=False, min_value=1, max_value=365
    )
    expires_in_days = forms.IntegerField(
        label=_("Days the borrower has to answer"), initial=7, min_value=1, max_value=MAX_OFFER_DAYS
    )

    def _amount(self, name: str) -> Decimal | None:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        try:
            return parse_amount(raw)
        except DomainError as error:
            raise ValidationError(str(error)) from None

    def clean_new_monthly_amount(self) -> Decimal | None:
        return self._amount("new_monthly_amount")

    def clean_waived_amount(self) -> Decimal | None:
        return self._amount("waived_amount")

    def expires_at(self) -> dt.datetime:
        return timezone.now() + dt.timedelta(days=self.cleaned_data["expires_in_days"])


class HardshipRejectForm(forms.Form):
    note = forms.CharField(
        label=_("note to the borrower"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to the borrower on their request page."),
    )
