from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.errors import DomainError
from portal.money import parse_amount

from .models import RepayMethod, RepayOption


class RepayForm(forms.Form):
    option = forms.ChoiceField(label=_("What to pay"), choices=RepayOption.choices, widget=forms.RadioSelect)
    custom_amount = forms.CharField(
        label=_("Amount (yuan)"), required=False, max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"}),
    )
    method = forms.ChoiceField(label=_("How to pay"), choices=RepayMethod.choices, widget=forms.RadioSelect,
                               initial=RepayMethod.ONLINE)

    def __init__(self, *args: Any, amounts: dict[str, Decimal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.amounts = amounts

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        option = data.get("option")
        if option == RepayOption.CUSTOM:
            try:
                amount = parse_amount(data.get("custom_amount", ""))
            except DomainError as error:
                self.add_error("custom_amount", str(error))
                return data
            if amount > self.amounts[RepayOption.PAYOFF]:
                self.add_error("custom_amount", _("That is more than the ¥%(payoff)s that settles the loan today.")
                               % {"payoff": self.amounts[RepayOption.PAYOFF]})
        elif option and self.amounts.get(option, Decimal(0)) <= 0:
            self.add_error("option", _("There is nothing to pay for this choice today."))
        return data
