"""Staff forms for printing notices and recording their delivery (the services check again)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BATCH_KINDS, DELIVERY_TRANSITIONS, DeliveryStatus, NoticeKind

KIND_CHOICES = [(kind.value, kind.label) for kind in BATCH_KINDS]


class NoticeGenerateForm(forms.Form):
    """One notice from a case. The restructuring agreement is not offered here: it is printed
    from its restructuring proposal, which holds its terms."""

    kind = forms.ChoiceField(label=_("kind of notice"), choices=KIND_CHOICES)
    report_date = forms.DateField(
        label=_("reporting date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_(
            "Advance notice of credit reporting only: the day from which the overdue loan will be "
            "reported. Left empty: the credit-reporting day of the loan, and never before the "
            "payment deadline."
        ),
    )

    def extra_context(self) -> dict[str, Any]:
        if self.cleaned_data["kind"] == NoticeKind.CREDIT_REPORT_NOTICE and self.cleaned_data.get(
            "report_date"
        ):
            return {"report_date": self.cleaned_data["report_date"]}
        return {}


class NoticeBatchForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind of notice"), choices=KIND_CHOICES)


class NoticeDeliveryForm(forms.Form):
    to_status = forms.ChoiceField(label=_("new delivery status"))
    note = forms.CharField(
        label=_("note"),
        max_length=200,
        required=False,
        help_text=_(
            "For example the registered-mail tracking number, or why the letter came back."
        ),
    )

    def __init__(self, *args: Any, current: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = DELIVERY_TRANSITIONS.get(current, frozenset())
        field = self.fields["to_status"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.value, s.label) for s in DeliveryStatus if s in allowed]
