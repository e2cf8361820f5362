"""Online payment providers. A real one is one more class; the sandbox stands in for it."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from .models import PaymentIntent


class PaymentProvider:
    name = "base"

    def checkout_url(self, intent: PaymentIntent) -> str:
        """Where the borrower goes to authorise the payment; the provider confirms later."""
        raise NotImplementedError


class SandboxProvider(PaymentProvider):
    """A pretend bank page inside the portal: the borrower pays or declines, and a django-q2
    task confirms asynchronously, as a real provider's callback would."""

    name = "sandbox"

    def checkout_url(self, intent: PaymentIntent) -> str:
        return reverse("loans:sandbox-checkout", args=[intent.public_id])


def get_provider() -> PaymentProvider:
    provider_class: type[PaymentProvider] = import_string(settings.PORTAL_PAYMENT_PROVIDER)
    return provider_class()
