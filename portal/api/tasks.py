"""django-q2 entry points of the API (schedules are created elsewhere, by name)."""

from __future__ import annotations

from django.utils import timezone

from .models import IdempotencyRecord


def purge_expired_idempotency_records() -> int:
    """Delete idempotency records past their expiry (hourly is plenty). Returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
