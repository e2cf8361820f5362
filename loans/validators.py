"""Validators for Chinese personal identifiers."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError


def validate_national_id(value: str) -> None:
    """Resident identity card number: 18 characters, known region, real birth date and the
    ISO 7064 MOD 11-2 check digit (python-stdnum)."""
    try:
        ric.validate(value)
    except StdnumError:
        raise ValidationError(
            _("Enter a valid 18-character resident ID number."), code="invalid_national_id"
        ) from None


def validate_mainland_mobile(value: str) -> None:
    """An 11-digit mainland China mobile number, without +86."""
    ok = value.isdigit() and len(value) == 11
    if ok:
        number = phonenumbers.parse(value, "CN")
        ok = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
    if not ok:
        raise ValidationError(
            _("Enter a valid 11-digit mainland mobile number."), code="invalid_mobile"
        )
