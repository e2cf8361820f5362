"""django-q2 entry points for notices: each takes ids and calls one service."""

from __future__ import annotations

from .services import notice_batch_run


def run_notice_batch(batch_id: int) -> str:
    """Queued by notice_batch_create (after commit): print the batch's notices."""
    return notice_batch_run(batch_id=batch_id)


def print_restructuring_agreement(proposal_id: int) -> int:
    """Queued when a restructuring is applied (after commit): its agreement, archived."""
    from .services import restructuring_agreement_print

    return restructuring_agreement_print(proposal_id=proposal_id, actor=None).pk
