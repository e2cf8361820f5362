"""django-q2 entry points for loans: each takes ids and calls one service."""

from __future__ import annotations

from portal.calendar import business_today

from .services import payment_intent_fail, payment_intent_succeed


def settle_sandbox_payment(intent_id: int, outcome: str) -> str:
    """The sandbox provider's asynchronous confirmation (a real provider calls back instead)."""
    if outcome == "pay":
        intent = payment_intent_succeed(
            intent_id=intent_id, business_date=business_today(), provider_reference=f"sandbox-{intent_id}"
        )
    else:
        intent = payment_intent_fail(intent_id=intent_id, reason="declined by the sandbox bank")
    return intent.status
