"""The OpenAPI schema (drf-spectacular): every operation also documents the error shape.

`PortalAutoSchema` adds the errors any endpoint can answer (400 malformed, 401, 403, 404, 406,
415 for bodies, 429, 500, and `default`) to what each view declares, all with `Error`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from .errors import ErrorSerializer

DESCRIPTIONS = {
    400: "Malformed request or invalid fields (`invalid`, with `fields`).",
    401: "No credentials, or a bad or revoked token.",
    403: "Signed in, but not allowed (wrong kind of user or missing role permission).",
    404: "Not found, or not yours.",
    405: "Method not allowed.",
    406: "Cannot answer in a format the Accept header allows.",
    409: "The current state does not allow it (`not_allowed`), or the same Idempotency-Key is still running.",
    415: "Unsupported body format: send JSON (or multipart where the operation says so).",
    422: "Refused by a business rule, or an Idempotency-Key reused with a different request.",
    429: "Too many requests (`throttled`, with Retry-After) or sign-in locked (`sign_in_locked`).",
    500: "Something failed on our side (a generic message; details are logged, never sent).",
}

# Errors every operation may answer whatever it does.
COMMON = (400, 401, 403, 404, 406, 429, 500)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS.get(code, "Error.")) for code in codes}


class PortalAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = list(COMMON)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append(415)
        for code in codes:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[code]), str(code), direction=direction
                )
        responses.setdefault("default", self._get_response_for_code(
            OpenApiResponse(ErrorSerializer, description="Any other error, in the same shape."), "default",
            direction=direction,
        ))
        return responses
