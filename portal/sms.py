"""Queue and send text messages through the outbox (portal.models.SmsMessage)."""

from __future__ import annotations

import datetime as dt
import logging

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
    with translation.override(language):
        body = str(text) % (params or {})
    try:
        with transaction.atomic():
            message = SmsMessage.objects.create(
                recipient=recipient, mobile=mobile, language=language, kind=kind, body=body,
                dedupe_key=dedupe_key, next_attempt_at=not_before or timezone.now(),
            )
    except IntegrityError:
        if SmsMessage.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    message_id = message.pk
    if not_before is not None and not_before > timezone.now():
        return message
    transaction.on_commit(lambda: async_task("portal.tasks.send_sms", message_id))
    return message


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
