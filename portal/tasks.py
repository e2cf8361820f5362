"""django-q2 entry points: each takes ids and calls one service."""

from __future__ import annotations

from portal.sms import sms_send, sms_send_due


def send_sms(message_id: int) -> str:
    return sms_send(message_id=message_id)


def send_due_sms() -> int:
    return sms_send_due()
