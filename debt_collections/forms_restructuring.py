"""Forms of the restructuring screens: propose (with a preview), approve, reject, withdraw.

They check what was typed; `loans.restructuring` and the services check the rules.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from loans.restructuring import (
    GRACE_PERIOD,
    HOLIDAY_ADD,
    HOLIDAY_WAIVE,
    INSTALMENT_PLAN,
    MAX_EXTRA_MONTHS,
    MAX_HOLIDAY_MONTHS,
    MAX_PARTS,
    TERM_EXTENSION,
)

from .models import RestructuringKind
from .services.restructuring import COMMENT_MAX_LENGTH, REASON_MAX_LENGTH

HUNDRED = Decimal(100)


class ProposeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=RestructuringKind.choices)
    extra_months = forms.IntegerField(
        label=_("Extra months"), required=False, min_value=1, max_value=MAX_EXTRA_MONTHS,
        help_text=_("Term extension: months added to the remaining term."),
    )
    parts = forms.IntegerField(
        label=_("Parts"), required=False, min_value=2, max_value=MAX_PARTS,
        help_text=_("Instalment plan: monthly parts of the overdue amount, added to the coming bills."),
    )
    holiday_months = forms.IntegerField(
        label=_("Holiday months"), required=False, min_value=1, max_value=MAX_HOLIDAY_MONTHS,
        help_text=_("Grace period: months with no payment; later bills move by as many months."),
    )
    holiday_interest = forms.ChoiceField(
        label=_("Holiday interest"), required=False,
        choices=[("", "—"), (HOLIDAY_WAIVE, _("Not charged")), (HOLIDAY_ADD, _("Added to the later bills"))],
    )
    interest_percent = forms.DecimalField(
        label=_("Overdue interest waived (%)"), required=False, min_value=Decimal("0.01"),
        max_value=HUNDRED, max_digits=5, decimal_places=2,
    )
    interest_amount = forms.DecimalField(
        label=_("Overdue interest waived (¥)"), required=False, min_value=Decimal("0.01"),
        max_digits=14, decimal_places=2,
    )
    penalty_percent = forms.DecimalField(
        label=_("Penalty interest waived (%)"), required=False, min_value=Decimal("0.01"),
        max_value=HUNDRED, max_digits=5, decimal_places=2,
    )
    penalty_amount = forms.DecimalField(
        label=_("Penalty interest waived (¥)"), required=False, min_value=Decimal("0.01"),
        max_digits=14, decimal_places=2,
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why this plan: the borrower's situation and why they can keep to it."),
    )
    # The fingerprint of the bills the preview showed: confirming needs the same bills.
    previewed = forms.CharField(required=False, widget=forms.HiddenInput)

    def parameters(self) -> dict[str, Any]:
        """The kind's own parameters and any waivers, as `loans.restructuring` reads them."""
        data = self.cleaned_data
        kind = data["kind"]
        out: dict[str, Any] = {}
        if kind == TERM_EXTENSION:
            out["extra_months"] = data.get("extra_months")
        elif kind == INSTALMENT_PLAN:
            out["parts"] = data.get("parts")
        elif kind == GRACE_PERIOD:
            out["holiday_months"] = data.get("holiday_months")
            out["holiday_interest"] = data.get("holiday_interest")
        for component in ("interest", "penalty"):
            percent = data.get(f"{component}_percent")
            amount = data.get(f"{component}_amount")
            if percent is not None:
                out[f"{component}_share"] = str((percent / HUNDRED).quantize(Decimal("0.0001")))
            if amount is not None:
                out[f"{component}_amount"] = str(amount)
        return {k: v for k, v in out.items() if v not in (None, "")}


class ApproveForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RejectForm(forms.Form):
    comment = forms.CharField(
        label=_("Why it is rejected"), max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the offer is withdrawn"), max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
