"""Forms of the reporting admin: dashboard filters, a correction, a file's submission status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from loans.models import Product, Segment

from .dashboard import Filters
from .models import CreditStatus, FileStatus

DEFAULT_MONTHS = 6


def _add_months(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


class MonthField(forms.CharField):
    """A month as YYYY-MM (the browser's month input), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value: Any) -> dt.date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(_("Give a month as YYYY-MM.")) from None


class DashboardFilterForm(forms.Form):
    product = forms.ModelChoiceField(
        label=_("product"), queryset=Product.objects.order_by("name"), required=False, empty_label=_("all products")
    )
    segment = forms.ChoiceField(label=_("segment"), choices=[("", _("all segments")), *Segment.choices], required=False)
    first_month = MonthField(label=_("from month"), required=False)
    last_month = MonthField(label=_("to month"), required=False)

    def filters(self, *, today: dt.date) -> Filters:
        """The chosen filters; the last six months up to this one when nothing (valid) is chosen."""
        data = self.cleaned_data if self.is_valid() else {}
        last = data.get("last_month") or today.replace(day=1)
        first = data.get("first_month") or _add_months(last, -(DEFAULT_MONTHS - 1))
        if first > last:
            first, last = last, first
        first = max(first, _add_months(last, -35))  # at most three years at a time
        product = data.get("product")
        return Filters(
            product_id=product.pk if product is not None else None,
            segment=data.get("segment") or None,
            first_month=first,
            last_month=last,
        )


class CorrectionForm(forms.Form):
    status = forms.ChoiceField(label=_("corrected status"), choices=CreditStatus.choices)
    balance = forms.DecimalField(label=_("balance"), min_value=0, max_digits=14, decimal_places=2)
    principal_balance = forms.DecimalField(label=_("principal balance"), min_value=0, max_digits=14, decimal_places=2)
    overdue_amount = forms.DecimalField(label=_("overdue amount"), min_value=0, max_digits=14, decimal_places=2)
    overdue_principal = forms.DecimalField(label=_("overdue principal"), min_value=0, max_digits=14, decimal_places=2)
    reason = forms.CharField(
        label=_("reason"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the correction and in the audit trail; not sent to the bureau."),
    )


class FileStatusForm(forms.Form):
    to_status = forms.ChoiceField(label=_("new status"), choices=[])
    note = forms.CharField(
        label=_("note"), max_length=500, required=False,
        help_text=_("The bureau's reference or answer; required when the file was rejected."),
    )

    def __init__(self, *args: Any, allowed: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(FileStatus.choices)
        self.fields["to_status"].choices = [(value, labels[value]) for value in allowed]  # type: ignore[attr-defined]
