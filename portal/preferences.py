"""Per-user preferences that outlive a browser: the language."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from portal.audit import audit_record
from portal.models import User

LANGUAGES = {code for code, _ in settings.LANGUAGES}


def language_of(user: Any) -> str | None:
    """The borrower's saved language, or None for staff and anonymous visitors (cookie decides)."""
    if not getattr(user, "is_authenticated", False):
        return None
    borrower = getattr(user, "borrower", None)
    return borrower.preferred_language if borrower is not None else None


def language_set(*, user: User, language: str) -> None:
    """Remember a borrower's language choice (staff keep it in the cookie only)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    borrower = getattr(user, "borrower", None)
    if borrower is None or borrower.preferred_language == language:
        return
    with transaction.atomic():
        before = borrower.preferred_language
        borrower.preferred_language = language
        borrower.save(update_fields=["preferred_language"])
        audit_record(actor=user, action="borrower.language", target=borrower,
                     before={"language": before}, after={"language": language})
