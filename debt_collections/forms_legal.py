"""The forms of the legal and write-off pages. They check what was typed; the services
(`debt_collections.services.legal` / `.write_off`) check the rules and do the work."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import (
    ASSESSED_CLASSIFICATIONS,
    EnforcementDifficulty,
    EnforcementKind,
    EnforcementMeasure,
    JudgmentOutcome,
    LegalAssessmentStatus,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _money(
    label: Any, *, required: bool = True, minimum: Decimal = Decimal(0), **kwargs: Any
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=required, min_value=minimum, max_digits=14, decimal_places=2, **kwargs
    )


class LegalAssessmentForm(forms.Form):
    win_probability = forms.DecimalField(
        label=_("Probability of winning (%)"),
        min_value=Decimal(0),
        max_value=Decimal(100),
        decimal_places=2,
        help_text=_("0 to 100."),
    )
    enforcement_difficulty = forms.ChoiceField(
        label=_("Enforcement difficulty"), choices=EnforcementDifficulty.choices
    )
    has_bank_accounts = forms.BooleanField(label=_("Bank accounts known"), required=False)
    has_property = forms.BooleanField(label=_("Property known"), required=False)
    has_income = forms.BooleanField(label=_("Regular income known"), required=False)
    assets_note = forms.CharField(
        label=_("What is known of the assets"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    expected_recovery = _money(_("Expected recovery (¥)"))
    expected_cost = _money(_("Expected cost (¥)"), help_text=_("Court fees, lawyers, enforcement."))
    classification = forms.ChoiceField(
        label=_("Classification"), choices=[(c.value, c.label) for c in ASSESSED_CLASSIFICATIONS]
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def fraction(self) -> Decimal:
        return (self.cleaned_data["win_probability"] / 100).quantize(Decimal("0.0001"))

    def fingerprint(self) -> str:
        """What the recommendation shown was computed from: saving needs the same figures."""
        data = self.cleaned_data
        raw = "|".join(
            str(data[name])
            for name in (
                "win_probability",
                "enforcement_difficulty",
                "expected_recovery",
                "expected_cost",
                "classification",
            )
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


class LegalDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        widget=forms.RadioSelect,
        choices=[
            (LegalAssessmentStatus.GO, _("Go: take legal action")),
            (LegalAssessmentStatus.NO_GO, _("No-go")),
        ],
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required when you decide against the recommendation."),
    )


class LegalActionOpenForm(forms.Form):
    law_firm = forms.CharField(label=_("Law firm"), max_length=120)
    court = forms.CharField(label=_("Court"), max_length=120)
    case_number = forms.CharField(
        label=_("Court case number"),
        max_length=60,
        required=False,
        help_text=_("Once the court has accepted the case."),
    )
    filing_date = forms.DateField(label=_("Filing date"), required=False, widget=DATE)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class FilingForm(forms.Form):
    case_number = forms.CharField(label=_("Court case number"), max_length=60)
    filing_date = forms.DateField(label=_("Filing date"), widget=DATE)


class HearingForm(forms.Form):
    hearing_date = forms.DateField(label=_("Hearing date"), widget=DATE)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class JudgmentForm(forms.Form):
    judgment_date = forms.DateField(label=_("Judgment date"), widget=DATE)
    outcome = forms.ChoiceField(label=_("Judgment"), choices=JudgmentOutcome.choices)
    amount_awarded = _money(_("Amount awarded (¥)"), required=False)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class MeasureForm(forms.Form):
    kind = forms.ChoiceField(label=_("Measure"), choices=EnforcementKind.choices)
    ordered_on = forms.DateField(label=_("Ordered on"), widget=DATE)
    amount = _money(_("Amount covered (¥)"), required=False, minimum=Decimal("0.01"))
    description = forms.CharField(label=_("Description"), required=False, max_length=500)


class RecoveryForm(forms.Form):
    amount = _money(_("Amount (¥)"), minimum=Decimal("0.01"))
    received_on = forms.DateField(label=_("Received on"), widget=DATE)
    reference = forms.CharField(
        label=_("Transfer reference"),
        max_length=100,
        help_text=_("The court's or bank's reference: the same reference is never posted twice."),
    )
    measure = forms.TypedChoiceField(
        label=_("From the measure"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, measures: list[EnforcementMeasure], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["measure"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "—"), *[(m.pk, str(m)) for m in measures]]


class WriteOffProposeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why the debt cannot be collected: contacts tried, assets, legal assessment."),
    )


class WriteOffApproveForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class WriteOffRejectForm(forms.Form):
    comment = forms.CharField(
        label=_("Why not"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )
