"""Domain errors: raised by services, shown to people as they are.

Each carries a machine-readable `code` (for the API) and a message in the active language.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class InvalidAmount(DomainError):
    code = "invalid_amount"


class IdempotencyKeyReused(DomainError):
    """The same idempotency key was sent again with a different request."""

    code = "idempotency_key_reused"


class NotAllowed(DomainError):
    """The request is well formed but the current state does not allow it."""

    code = "not_allowed"
