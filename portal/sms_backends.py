"""Where text messages go, in the style of Django's e-mail backends.

`PORTAL_SMS_BACKEND` names the class. A real provider is one more class with `send`.
Each backend gets the outbox row's id as the client reference, so a provider that
deduplicates on it never delivers one message twice.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import ClassVar

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from portal.models import SmsMessage


class SmsDeliveryError(Exception):
    """The provider refused or could not be reached; the message will be retried."""


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> str:
        """Deliver the message; return the provider's id for it."""
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> str:
        sys.stdout.write(f"[SMS to {message.mobile}] {message.body}\n")
        return f"console-{message.pk}"


class FileSmsBackend(BaseSmsBackend):
    """One JSON line per message in PORTAL_SMS_FILE (default var/sms.jsonl)."""

    def send(self, message: SmsMessage) -> str:
        path = Path(settings.PORTAL_SMS_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            record = {"id": message.pk, "to": message.mobile, "kind": message.kind,
                      "text": message.body, "at": timezone.now().isoformat()}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return f"file-{message.pk}"


class DatabaseOnlySmsBackend(BaseSmsBackend):
    """Development: the outbox row is the message; nothing leaves the machine."""

    def send(self, message: SmsMessage) -> str:
        return f"db-{message.pk}"


class MemorySmsBackend(BaseSmsBackend):
    """Tests: keeps what was sent in a list; `fail_next` makes the next sends fail."""

    outbox: ClassVar[list[SmsMessage]] = []
    fail_next: ClassVar[int] = 0

    def send(self, message: SmsMessage) -> str:
        if MemorySmsBackend.fail_next > 0:
            MemorySmsBackend.fail_next -= 1
            raise SmsDeliveryError("simulated provider failure")
        MemorySmsBackend.outbox.append(message)
        return f"mem-{message.pk}"


def get_backend() -> BaseSmsBackend:
    backend_class: type[BaseSmsBackend] = import_string(settings.PORTAL_SMS_BACKEND)
    return backend_class()
