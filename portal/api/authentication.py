"""Authentication for the API: bearer tokens for apps, the session for the browser.

    Authorization: Bearer pt_<random>

Only the SHA-256 of a key is stored (`ApiToken.key_hash`): a key is 32 random bytes, so a fast
hash is enough (nobody can guess one, and the database alone gives no usable key). A token
authenticates its user only while it is not revoked and the user is active. On success the
user's saved language is activated, as `portal.middleware.UserLanguageMiddleware` does for a
session (DRF authenticates after the middleware ran).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.preferences import language_of

from .models import ApiToken

KEY_PREFIX = "pt_"
# last_used_at is written at most this often per token: not one write per request.
LAST_USED_PRECISION = dt.timedelta(minutes=1)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def activate_user_language(request: HttpRequest | Request, user: Any) -> None:
    language = language_of(user)
    if language:
        translation.activate(language)
        request.LANGUAGE_CODE = language


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("The Authorization header must be “Bearer” and one token."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This token is not valid, or it was revoked.")) from None
        token = (
            ApiToken.objects.select_related("user", "user__borrower")
            .filter(key_hash=hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("This token is not valid, or it was revoked."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        activate_user_language(request, token.user)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "portal.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token from POST /api/v1/auth/tokens/ (shown once).",
        }
