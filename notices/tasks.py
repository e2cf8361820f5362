"""django-q2 entry points for notices: each takes ids and calls one service."""

from __future__ import annotations

from .services import notice_batch_run


def run_notice_batch(batch_id: int) -> str:
    """Queued by notice_batch_create (after commit): print the batch's notices."""
    return notice_batch_run(batch_id=batch_id)
