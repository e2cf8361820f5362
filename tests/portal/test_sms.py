"""The SMS outbox: queued in the caller's transaction, sent once after commit, retried on failure."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import SmsMessage, SmsStatus
from portal.sms import sms_queue, sms_send, sms_send_due
from portal.sms_backends import MemorySmsBackend

pytestmark = pytest.mark.django_db

GREETING = _("Hello %(name)s, your bill of ¥%(amount)s is due.")


@pytest.fixture(autouse=True)
def empty_outbox():
    MemorySmsBackend.outbox.clear()
    MemorySmsBackend.fail_next = 0
    yield
    MemorySmsBackend.fail_next = 0


def queue(borrower, key="k1"):
    return sms_queue(
        recipient=borrower.user, mobile=borrower.mobile, language=borrower.preferred_language,
        kind="test", text=GREETING, params={"name": borrower.real_name, "amount": "12.30"},
        dedupe_key=key,
    )


def test_it_sends_a_queued_message_once_after_commit(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue(alice)
    assert message is not None
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 1
    assert [m.pk for m in MemorySmsBackend.outbox] == [message.pk]
    assert sms_send(message_id=message.pk) == "not-claimed"
    assert len(MemorySmsBackend.outbox) == 1


def test_it_renders_the_text_with_the_parameters(bob):
    message = queue(bob)
    assert message is not None
    assert message.body == "Hello 李强, your bill of ¥12.30 is due."
    assert message.language == "en"


def test_the_same_cause_queues_one_message(alice):
    assert queue(alice, key="reminder:L1:2026-02-16") is not None
    assert queue(alice, key="reminder:L1:2026-02-16") is None
    assert SmsMessage.objects.count() == 1


def test_a_rolled_back_change_leaves_no_message_and_sends_nothing(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                queue(alice)
                raise RuntimeError("the change failed")
    assert SmsMessage.objects.count() == 0
    assert MemorySmsBackend.outbox == []


def test_a_failed_send_is_retried_later_with_back_off(alice):
    message = queue(alice)
    assert message is not None
    MemorySmsBackend.fail_next = 1
    assert sms_send(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == SmsStatus.QUEUED
    assert message.next_attempt_at > timezone.now() + dt.timedelta(minutes=1)
    assert sms_send_due() == 0  # not due yet
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert sms_send_due() == 1
    message.refresh_from_db()
    assert message.status == SmsStatus.SENT and message.attempts == 2


@override_settings(PORTAL_SMS_MAX_ATTEMPTS=2)
def test_it_gives_up_after_the_last_attempt(alice):
    message = queue(alice)
    assert message is not None
    MemorySmsBackend.fail_next = 5
    assert sms_send(message_id=message.pk) == "retry"
    SmsMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert sms_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == SmsStatus.FAILED and "simulated" in message.last_error
    assert MemorySmsBackend.outbox == []
