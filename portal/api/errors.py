"""One JSON shape for every error of the API, in the user's language.

    {"error": {"code": "not_allowed", "message": "This loan takes no payments.", "fields": {}}}

`code` is for programs (stable, English); `message` is for people, in the language of the
request (the borrower's saved language, else the language cookie or Accept-Language);
`fields` maps request fields to their problems (empty when the error is not about a field).

Status codes: 400 malformed request or invalid fields; 401 no or bad credentials; 403 not
allowed for this user; 404 not found (also another borrower's object); 405; 409 the current
state does not allow it (`NotAllowed`) or the same Idempotency-Key is still running; 415;
422 refused by a business rule (other `DomainError`s) or an Idempotency-Key reused with a
different request; 429 throttled or signed-in locked out; 500 with a generic message (the
exception is logged here, never sent).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from portal.errors import DomainError, NotAllowed

logger = logging.getLogger("portal.api")


# --- errors the API raises itself -------------------------------------------------------------


class ApiError(exceptions.APIException):
    """An API refusal with its own code (subclasses set status, code and message)."""


class IdempotencyKeyMissing(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "idempotency_key_missing"
    default_detail = gettext_lazy(
        "This request needs an Idempotency-Key header: a unique value of your choice, the same "
        "when you send the same request again."
    )


class IdempotencyKeyInvalid(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "idempotency_key_invalid"
    default_detail = gettext_lazy(
        "The Idempotency-Key header must be 1 to 255 visible ASCII characters."
    )


class IdempotencyKeyMismatch(ApiError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used for a different request; nothing was done. "
        "Use a new key for a new request."
    )


class IdempotencyRequestInProgress(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_request_in_progress"
    default_detail = gettext_lazy(
        "A request with this Idempotency-Key is still being processed. Wait a moment, then send "
        "it again to get its result."
    )


class SignInLocked(ApiError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "sign_in_locked"
    default_detail = gettext_lazy(
        "Too many wrong passwords: signing in with this number is locked for a while. "
        "Please try again later or call us."
    )


class SignInFailed(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "sign_in_failed"
    default_detail = gettext_lazy("The mobile number or password is not right. Please try again.")


# --- the shape ----------------------------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_allowed`.")
    message = serializers.CharField(help_text="For people, in the language of the request.")
    fields = serializers.DictField(  # type: ignore[assignment]  # DRF pops declared fields
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Problems per request field (empty when the error is not about a field).",
    )


class ErrorSerializer(serializers.Serializer):
    """Every error response of the API."""

    error = ErrorBodySerializer()


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation detail as {"field" or "field.sub" or "items.0": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, messages in _flatten(value, name).items():
                out.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                for field, messages in _flatten(item, name).items():
                    out.setdefault(field, []).extend(messages)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def _domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotAllowed):
        return status.HTTP_409_CONFLICT
    return status.HTTP_422_UNPROCESSABLE_ENTITY


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: every exception of a view becomes the one shape."""
    set_rollback()
    headers: dict[str, str] = {}
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, str(exc)), status=_domain_status(exc))
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        general = fields.pop("non_field_errors", [])
        message = " ".join(general) if general else _("Some fields are not valid; see the fields for what to correct.")
        return Response(error_body("invalid", message, fields), status=exc.status_code)
    if isinstance(exc, exceptions.APIException):
        auth_header = getattr(exc, "auth_header", None)  # set by APIView.handle_exception on 401
        if auth_header:
            headers["WWW-Authenticate"] = str(auth_header)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait)))
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else str(exc.default_detail)
        return Response(error_body(_code_of(exc), message), status=exc.status_code, headers=headers)

    view = context.get("view")
    logger.exception("Unexpected error in API view %s", type(view).__name__ if view else "?")
    return Response(
        error_body(
            "server_error",
            _("Something went wrong on our side. Please try again later; if it keeps happening, call us."),
        ),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


# --- outside DRF views: unknown /api/ paths and errors in middleware ------------------------------


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any path under /api/ that matches no endpoint."""
    return JsonResponse(error_body("not_found", _("There is nothing at this address.")), status=404)


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """handler500: JSON under /api/, the site's own page everywhere else."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(
                "server_error",
                _("Something went wrong on our side. Please try again later; if it keeps happening, call us."),
            ),
            status=500,
        )
    from django.views.defaults import server_error as page

    return page(request)
