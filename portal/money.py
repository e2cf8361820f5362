"""Exact money: Decimal with two places, rounded half-up in one place only."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.errors import InvalidAmount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("999999999999.99")  # what DecimalField(max_digits=14, decimal_places=2) holds
_THOUSANDS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")
_PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def round_money(value: Decimal) -> Decimal:
    """Round a computed amount (interest, penalty) to the fen, half-up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(raw: Any) -> Decimal:
    """Turn user input into a positive amount of at most two decimal places, or refuse it.

    Never rounds: an amount the user did not type exactly is refused, not changed.
    """
    if isinstance(raw, float):
        raise InvalidAmount(_("Amounts must be given as text or Decimal, not as a float."))
    text = str(raw).strip()
    if "," in text and not _THOUSANDS.fullmatch(text):  # "1,00" is a typo, not one hundred
        raise InvalidAmount(_("“%(raw)s” is not an amount of money.") % {"raw": raw})
    text = text.replace(",", "")
    # Plain ASCII digits only: Decimal() would also read "1e3", "1_000" and full-width digits.
    if not _PLAIN.fullmatch(text):
        raise InvalidAmount(_("“%(raw)s” is not an amount of money.") % {"raw": raw})
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise InvalidAmount(_("“%(raw)s” is not an amount of money.") % {"raw": raw}) from None
    if not value.is_finite():
        raise InvalidAmount(_("“%(raw)s” is not an amount of money.") % {"raw": raw})
    if value <= 0:
        raise InvalidAmount(_("The amount must be greater than zero."))
    if value > MAX_AMOUNT:  # before quantize, which overflows on values like 1e30
        raise InvalidAmount(_("The amount is too large."))
    if value != value.quantize(CENT):
        raise InvalidAmount(_("The amount can have at most two decimal places (fen)."))
    return value.quantize(CENT)


def MoneyField(verbose_name: Any = None, **kwargs: Any) -> models.DecimalField:  # noqa: N802
    """The one column type for amounts of money."""
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


def RateField(verbose_name: Any = None, **kwargs: Any) -> models.DecimalField:  # noqa: N802
    """Annual rates as fractions (0.180000 = 18 % a year)."""
    return models.DecimalField(verbose_name, max_digits=8, decimal_places=6, **kwargs)
