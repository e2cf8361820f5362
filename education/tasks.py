"""django-q2 entry points for education: each calls one service."""

from __future__ import annotations

from portal.calendar import business_today

from .services import lecture_reminders_queue


def queue_lecture_reminders() -> int:
    """Daily (schedule "lecture-reminders"): a text message the day before each lecture."""
    return lecture_reminders_queue(today=business_today())
