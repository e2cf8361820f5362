"""Queue and send text messages through the outbox (portal.models.SmsMessage)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.functional import Promise
from django_q.tasks import async_task

from portal.models import SmsMessage, SmsStatus, User
from portal.sms_backends import SmsDeliveryError, get_backend

log = logging.getLogger(__name__)


def sms_queue(
    *,
    recipient: User,
    mobile: str,
    language: str,
    kind: str,
    text: str | Promise,
    params: dict[str, object] | None = None,
    dedupe_key: str,
    not_before: dt.datetime | None = None,
) -> SmsMessage | None:
    """Render `text` (a lazy translatable string) in the recipient's language and queue it.

    Returns None when a message with the same dedupe key exists: its cause was already told.
    Sending starts after the surrounding transaction commits, or at `not_before` (messages
    queued at night wait for the morning: `sms_send_due` sends them then).
    """
    draft = SmsDraft(recipient, mobile, language, kind, text, params or {}, dedupe_key)
    try:
        with transaction.atomic():
            message = SmsMessage.objects.create(**draft.fields(not_before))
    except IntegrityError:
        if SmsMessage.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    if not _held(not_before):
        transaction.on_commit(functools.partial(async_task, "portal.tasks.send_sms", message.pk))
    return message


@dataclass(frozen=True)
class SmsDraft:
    recipient: User
    mobile: str
    language: str
    kind: str
    text: str | Promise
    params: dict[str, object]
    dedupe_key: str

    def fields(self, not_before: dt.datetime | None) -> dict[str, object]:
        with translation.override(self.language):
            body = str(self.text) % self.params
        return {"recipient": self.recipient, "mobile": self.mobile, "language": self.language, "kind": self.kind,
                "body": body, "dedupe_key": self.dedupe_key, "next_attempt_at": not_before or timezone.now()}


def sms_queue_many(drafts: Sequence[SmsDraft], *, not_before: dt.datetime | None = None) -> int:
    """Queue many messages with one INSERT, as `sms_queue` queues one; returns how many were new.

    For a job that is the only writer of its dedupe keys (the close of business, which one run
    at a time holds): keys already queued are skipped, and a key another writer added meanwhile
    fails the whole statement, so the caller's transaction retries rather than sends twice.
    """
    wanted = {draft.dedupe_key: draft for draft in drafts}  # a key twice in one call: once
    existing = set(SmsMessage.objects.filter(dedupe_key__in=list(wanted)).values_list("dedupe_key", flat=True))
    messages = SmsMessage.objects.bulk_create(
        SmsMessage(**draft.fields(not_before)) for key, draft in wanted.items() if key not in existing
    )
    if messages and not _held(not_before):
        # One task sends the lot (`sms_send_due`), not a task a message: thousands at a time.
        transaction.on_commit(functools.partial(async_task, "portal.tasks.send_due_sms"))
    return len(messages)


def _held(not_before: dt.datetime | None) -> bool:
    """Queued at night: `sms_send_due` sends it in the morning."""
    return not_before is not None and not_before > timezone.now()


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=2 ** min(attempts, 8))


def sms_send(*, message_id: int) -> str:
    """Send one queued message. Claims the row first, so two workers never both send it."""
    now = timezone.now()
    claimed = SmsMessage.objects.filter(
        pk=message_id, status=SmsStatus.QUEUED, next_attempt_at__lte=now
    ).update(status=SmsStatus.SENDING, attempts=F("attempts") + 1)
    if claimed != 1:
        return "not-claimed"  # sent, being sent, failed for good, or not due yet
    message = SmsMessage.objects.get(pk=message_id)
    try:
        provider_id = get_backend().send(message)
    except SmsDeliveryError as error:
        final = message.attempts >= settings.PORTAL_SMS_MAX_ATTEMPTS
        SmsMessage.objects.filter(pk=message_id, status=SmsStatus.SENDING).update(
            status=SmsStatus.FAILED if final else SmsStatus.QUEUED,
            next_attempt_at=now + _backoff(message.attempts), last_error=str(error)[:300],
        )
        log.warning("SMS %s attempt %s failed: %s", message_id, message.attempts, error)
        return "failed" if final else "retry"
    SmsMessage.objects.filter(pk=message_id, status=SmsStatus.SENDING).update(
        status=SmsStatus.SENT, provider_id=provider_id[:100], sent_at=timezone.now(), last_error="",
    )
    return "sent"


def sms_send_due(*, limit: int = 500) -> int:
    """Periodic: hand every queued message whose time has come to `sms_send`."""
    due = list(
        SmsMessage.objects.filter(status=SmsStatus.QUEUED, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in due:
        sms_send(message_id=message_id)
    return len(due)
