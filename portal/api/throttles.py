"""Throttles for the endpoints worth guessing at or hammering: sign-in and money.

Per signed-in user, else per client address (REMOTE_ADDR, or the address the trusted proxies
give: REST_FRAMEWORK["NUM_PROXIES"]). Rates are settings (REST_FRAMEWORK
["DEFAULT_THROTTLE_RATES"], from PORTAL_API_RATE_SIGN_IN and PORTAL_API_RATE_MONEY), read on
each request. Counts live in the cache PORTAL_API_THROTTLE_CACHE: per process in memory on one
machine, in Redis when REDIS_URL is set, so that all web processes share them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class PortalRateThrottle(SimpleRateThrottle):
    scope = ""

    def __init__(self) -> None:
        self.cache = caches[settings.PORTAL_API_THROTTLE_CACHE]
        super().__init__()

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate else None

    def get_cache_key(self, request: Request, view: Any) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user-{user.pk}"
        else:
            ident = f"addr-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class SignInThrottle(PortalRateThrottle):
    """Token sign-in: per client address (django-axes locks a number after wrong passwords)."""

    scope = "sign_in"


class MoneyThrottle(PortalRateThrottle):
    """Repayments and the extension: per user (per address before sign-in)."""

    scope = "money"
