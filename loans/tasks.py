"""django-q2 entry points for loans: each takes ids and calls one service."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from portal.calendar import business_today

from .models import PaymentIntent
from .services import payment_intent_fail, payment_intent_succeed
from .services.reminders import reminders_queue_first


def settle_sandbox_payment(intent_id: int, outcome: str) -> str:
    """The sandbox provider's asynchronous confirmation (a real provider calls back instead)."""
    if outcome == "pay":
        intent = payment_intent_succeed(
            intent_id=intent_id, business_date=business_today(), provider_reference=f"sandbox-{intent_id}"
        )
    else:
        language = PaymentIntent.objects.values_list("borrower__preferred_language", flat=True).get(pk=intent_id)
        with translation.override(language):  # the reason is shown to the borrower as stored
            reason = gettext("The bank declined the payment.")
        intent = payment_intent_fail(intent_id=intent_id, reason=reason)
    return intent.status


def queue_first_reminders() -> int:
    """Daily (schedule "first-reminders"): the first SMS after each bill's due date."""
    return reminders_queue_first(business_date=business_today(), hotline=settings.PORTAL_HOTLINE)
