"""`Idempotency-Key` for requests that must happen once (IETF httpapi draft, as Stripe does it).

- no key: 400 (`idempotency_key_missing`); a malformed one: 400;
- a new key: the key is claimed by inserting a record (the unique (user, key) constraint decides
  between two requests racing), committed before the work starts; the work and the record's
  completion (status and body of the response) then commit in one transaction;
- the same key and the same request (method, path, query and canonical JSON body) once
  finished: the stored response, status and body, with `Idempotent-Replayed: true`; nothing runs;
- the same key with a different request: 422 (`idempotency_key_reused`);
- the same key while its first request still runs: 409 (`idempotency_request_in_progress`);
- responses 4xx are stored and replayed like successes; a 5xx is not: its work rolled back,
  the claim is released and the client may send the request again.

Keys are per user and kept PORTAL_API_IDEMPOTENCY_HOURS (at least 24); after that a record is
ignored and the task `portal.api.tasks.purge_expired_idempotency_records` deletes it.

A request that died between its claim and its completion left a claim and no work (they commit
together or not at all); once the claim is older than PORTAL_API_IDEMPOTENCY_LEASE_SECONDS the
next request with the key takes it over and runs. Should the first one merely have been slow,
the services' own idempotency keys, derived from this key (`derived_uuid`), make the second run
find the first one's rows instead of making new ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.models import User

from .errors import (
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    IdempotencyKeyMissing,
    IdempotencyRequestInProgress,
)
from .models import IdempotencyRecord, IdempotencyStatus

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII
# Derived ids (payment intents) live in their own namespace.
NAMESPACE = uuid.UUID("6f1f7c2e-4c1a-5b8e-9d3a-2a7e0c5b9f41")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    location=OpenApiParameter.HEADER,
    required=True,
    type=str,
    description=(
        "A unique value per request you want done once (a UUID is a good choice), 1 to 255 visible "
        "ASCII characters. Send the same key with the same body to retry safely: the first response "
        "is returned again with `Idempotent-Replayed: true`. Keys are per user and kept for at least "
        "24 hours."
    ),
)


def parse_key(raw: str | None) -> str:
    value = (raw or "").strip()
    if not value:
        raise IdempotencyKeyMissing()
    if len(value) >= 2 and value[0] == value[-1] == '"':  # the draft's structured-field string
        value = value[1:-1]
    if not _KEY.match(value):
        raise IdempotencyKeyInvalid()
    return value


def request_fingerprint(*, method: str, path: str, query: str, data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    raw = "\n".join([method.upper(), path, query, canonical])
    return hashlib.sha256(raw.encode()).hexdigest()


def derived_uuid(record: IdempotencyRecord, *, purpose: str) -> uuid.UUID:
    """A stable id for what one claim of a key creates: the same claim (retried, taken over),
    the same id; a key used again after its record expired is a new claim, with a new id."""
    return uuid.uuid5(NAMESPACE, f"{purpose}:{record.user_id}:{record.key}:{record.pk}")


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PORTAL_API_IDEMPOTENCY_LEASE_SECONDS)


def idempotency_claim(
    *, user: User, key: str, fingerprint: str, method: str, path: str, now: dt.datetime | None = None
) -> IdempotencyRecord:
    """The record of this key: claimed for this request (status in progress), or completed
    (replay it). Raises IdempotencyKeyMismatch or IdempotencyRequestInProgress."""
    now = now or timezone.now()
    for _attempt in range(3):
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is not None:
            if existing.expires_at <= now:  # forgotten: the key is new again
                IdempotencyRecord.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
                continue
            if existing.fingerprint != fingerprint:
                raise IdempotencyKeyMismatch()
            if existing.status == IdempotencyStatus.COMPLETED:
                return existing
            if existing.locked_at <= now - _lease():
                # Its request died (work and completion commit together): take the claim over.
                taken = IdempotencyRecord.objects.filter(
                    pk=existing.pk, status=IdempotencyStatus.IN_PROGRESS, locked_at=existing.locked_at
                ).update(locked_at=now)
                if taken:
                    existing.locked_at = now
                    return existing
            raise IdempotencyRequestInProgress()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user=user, key=key, fingerprint=fingerprint, method=method.upper(), path=path[:300],
                    created_at=now, locked_at=now,
                    expires_at=now + dt.timedelta(hours=settings.PORTAL_API_IDEMPOTENCY_HOURS),
                )
        except IntegrityError:
            continue  # claimed by a twin at this moment: look again
    raise IdempotencyRequestInProgress()


def _stored_body(response: Response) -> Any:
    return json.loads(JSONRenderer().render(response.data) or b"null")


def idempotency_complete(record: IdempotencyRecord, response: Response) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyStatus.COMPLETED, response_status=response.status_code,
        response_body=_stored_body(response), completed_at=timezone.now(),
    )


def idempotency_release(record: IdempotencyRecord) -> None:
    IdempotencyRecord.objects.filter(pk=record.pk, status=IdempotencyStatus.IN_PROGRESS).delete()


def replay(record: IdempotencyRecord) -> Response:
    assert record.response_status is not None
    return Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"})


class _ServerError(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


Handler = TypeVar("Handler", bound=Callable[..., Response])


def idempotent(handler: Handler) -> Handler:
    """Decorate an APIView method handler (post). The claim is at `request.idempotency_record`."""

    @wraps(handler)
    def wrapper(view: APIView, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = parse_key(request.headers.get(HEADER))
        user = cast(User, request.user)
        fingerprint = request_fingerprint(
            method=request.method or "POST", path=request.path,
            query=request.META.get("QUERY_STRING", ""), data=request.data,
        )
        record = idempotency_claim(user=user, key=key, fingerprint=fingerprint,
                                   method=request.method or "POST", path=request.path)
        if record.status == IdempotencyStatus.COMPLETED:
            return replay(record)
        request.idempotency_record = record  # type: ignore[attr-defined]
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if response.status_code >= 500:
                    raise _ServerError(response)
                idempotency_complete(record, response)
            return response
        except _ServerError as failed:
            idempotency_release(record)
            return failed.response
        except Exception as exc:  # the view refused: the same refusal is the answer next time
            response = view.handle_exception(exc)
            if response.status_code >= 500:
                idempotency_release(record)
            else:
                with transaction.atomic():
                    idempotency_complete(record, response)
            return response

    return cast(Handler, wrapper)
