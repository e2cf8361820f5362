"""The audit trail: one call per state change, inside the service's transaction."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from portal.models import AuditEvent, User


def audit_event(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str = "system",
) -> AuditEvent:
    """An unsaved audit event: `audit_record` saves one, `audit_record_many` saves many at once."""
    return AuditEvent(
        actor=actor,
        actor_label=actor.get_username() if actor is not None else actor_label,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        summary=summary[:300],
        before=before,
        after=after,
    )


def _require_transaction() -> None:
    # An audit row outside a transaction could survive a change that rolled back.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the service's transaction")


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_label: str = "system",
) -> AuditEvent:
    _require_transaction()
    event = audit_event(
        actor=actor, action=action, target=target, summary=summary, before=before, after=after,
        actor_label=actor_label,
    )
    event.save()
    return event


def audit_record_many(events: list[AuditEvent]) -> None:
    """Save events built by `audit_event` in one statement (set-based jobs)."""
    _require_transaction()
    AuditEvent.objects.bulk_create(events)
