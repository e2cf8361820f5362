"""Validators for Chinese personal identifiers."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

_NATIONAL_ID = re.compile(r"[0-9]{17}[0-9X]")
_MOBILE = re.compile(r"1[0-9]{10}")


def validate_national_id(value: str) -> None:
    """Resident identity card number: 18 characters, known region, real birth date and the
    ISO 7064 MOD 11-2 check digit (python-stdnum). ASCII digits only: full-width digits would
    make a second account for the same person look like a different number."""
    invalid = ValidationError(_("Enter a valid 18-character resident ID number."), code="invalid_national_id")
    if not _NATIONAL_ID.fullmatch(value):
        raise invalid
    try:
        ric.validate(value)
        born = ric.get_birth_date(value)
    except StdnumError:
        raise invalid from None
    if born > timezone.localdate():
        raise invalid


def validate_mainland_mobile(value: str) -> None:
    """An 11-digit mainland China mobile number, without +86."""
    ok = bool(_MOBILE.fullmatch(value))  # ASCII digits: str.isdigit() also accepts "１３８…"
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
