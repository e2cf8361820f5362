"""Masked forms of personal identifiers, shown wherever no permission allows the full value."""

from __future__ import annotations


def mask_national_id(value: str) -> str:
    """110101199003077777 -> 110***********7777 (region prefix and last four only)."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_mobile(value: str) -> str:
    """13812345678 -> 138****5678."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
