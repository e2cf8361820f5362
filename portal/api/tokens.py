"""Personal access tokens: made at sign-in (the key shown once), listed, revoked.

Signing in for a token goes through `django.contrib.auth.authenticate` with the request, so
django-axes counts wrong passwords and locks the number exactly as for the web sign-in, and a
successful sign-in sends `user_logged_in` (last login, axes' reset, the staff audit trail).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.audit import audit_record
from portal.errors import NotAllowed
from portal.models import User

from .authentication import activate_user_language, hash_key, new_key
from .errors import SignInFailed, SignInLocked
from .models import ApiToken
from .permissions import user_of
from .schema import error_responses
from .throttles import SignInThrottle

MAX_ACTIVE_TOKENS = 20


# --- services -----------------------------------------------------------------------------------


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns it and its key (the only time the key exists in clear)."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # serialise one user's sign-ins
        active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).count()
        if active >= MAX_ACTIVE_TOKENS:
            raise NotAllowed(
                _("You have %(count)s active app sign-ins. Sign out on a device you no longer use first.")
                % {"count": active}
            )
        key = new_key()
        token = ApiToken.objects.create(user=user, name=name.strip()[:60] or "app", prefix=key[:10],
                                        key_hash=hash_key(key))
        audit_record(actor=user, action="api_token.create", target=token, summary=token.name,
                     after={"name": token.name, "prefix": token.prefix})
    return token, key


def api_token_revoke(*, token_id: int, user: User) -> ApiToken:
    """Revoke one of the user's tokens (again: nothing changes)."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token_id, user=user)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor=user, action="api_token.revoke", target=token, summary=token.name,
                         before={"revoked_at": None}, after={"revoked_at": token.revoked_at})
    return token


# --- views --------------------------------------------------------------------------------------


class SignInSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="A borrower's mobile number, or a staff username.")
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=60, required=False, default="app",
                                 help_text="What this token is for, e.g. the device (shown in the token list).")


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class NewTokenSerializer(TokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown this once: keep it safe; only its hash is stored.")
    is_staff = serializers.BooleanField(source="user.is_staff", read_only=True)
    is_borrower = serializers.SerializerMethodField()

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "key", "is_staff", "is_borrower"]
        read_only_fields = fields

    def get_is_borrower(self, token: ApiToken) -> bool:
        return hasattr(token.user, "borrower")


class TokenListView(APIView):
    """Sign in for an app (POST, the key shown once) or list your tokens (GET)."""

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_authenticators(self) -> list[Any]:
        # Signing in needs no credentials (and no CSRF token from a session).
        return [] if getattr(self.request, "method", None) == "POST" else super().get_authenticators()

    def get_throttles(self) -> list[Any]:
        return [SignInThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        operation_id="auth_tokens_list", responses={200: TokenSerializer(many=True), **error_responses(401, 403)},
        summary="Your app tokens (without their keys)",
    )
    def get(self, request: Request) -> Response:
        tokens = ApiToken.objects.filter(user=user_of(request)).order_by("-created_at", "-id")[:100]
        return Response(TokenSerializer(tokens, many=True).data)

    @extend_schema(
        operation_id="auth_tokens_create", request=SignInSerializer, auth=[],
        responses={201: NewTokenSerializer, **error_responses(400, 409, 429)},
        summary="Sign in: a new token, its key shown once",
        description="Wrong passwords count towards the lock-out of the web sign-in (django-axes): "
                    "after PORTAL_SIGN_IN_FAILURE_LIMIT of them the number is locked (429 `sign_in_locked`).",
    )
    def post(self, request: Request) -> Response:
        form = SignInSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        http_request = request._request
        user = authenticate(http_request, username=form.validated_data["username"],
                            password=form.validated_data["password"])
        locked = bool(getattr(http_request, "axes_locked_out", False))
        # The answer is ours (JSON); AxesMiddleware would replace it with the web page.
        http_request.axes_locked_out = False  # type: ignore[attr-defined]
        if locked:
            raise SignInLocked()
        if not isinstance(user, User):
            raise SignInFailed()
        activate_user_language(request, user)
        user_logged_in.send(sender=type(user), request=http_request, user=user)
        token, key = api_token_create(user=user, name=form.validated_data["name"])
        token.key = key  # type: ignore[attr-defined]
        return Response(NewTokenSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenDetailView(generics.GenericAPIView):
    serializer_class = TokenSerializer

    @extend_schema(
        operation_id="auth_tokens_revoke", request=None,
        responses={204: None, **error_responses(401, 403, 404)},
        summary="Revoke one of your tokens (sign out on that device)",
    )
    def delete(self, request: Request, token_id: int) -> Response:
        user = user_of(request)
        if not ApiToken.objects.filter(pk=token_id, user=user).exists():
            raise exceptions.NotFound()
        api_token_revoke(token_id=token_id, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CurrentTokenView(APIView):
    @extend_schema(
        operation_id="auth_tokens_revoke_current", request=None,
        responses={204: None, **error_responses(401, 403, 409)},
        summary="Revoke the token of this request (sign out)",
    )
    def delete(self, request: Request) -> Response:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise NotAllowed(_("This request is not signed in with a token."))
        api_token_revoke(token_id=token.pk, user=user_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


__all__ = ["CurrentTokenView", "TokenDetailView", "TokenListView", "api_token_create", "api_token_revoke"]
