"""Staff roles as Django groups, declared here as data and synced after every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

AGENT, SUPERVISOR, LEGAL_OFFICER, EDITOR, AUDITOR = (
    "agent", "supervisor", "legal officer", "editor", "auditor",
)

_READ_LOAN_BOOK = [
    "loans.view_borrower", "loans.view_product", "loans.view_loan", "loans.view_installment",
    "loans.view_payment", "loans.view_journalentry", "loans.view_allocation",
]

_PAYMENTS_DESK = [
    "loans.view_paymentintent", "loans.view_extension", "loans.view_bankstatementimport",
    "loans.add_bankstatementimport", "loans.view_bankstatementline",
]

_READ_HARDSHIP = [
    "collections.view_hardshiprequest", "collections.view_hardshipoffer", "collections.view_hardshipevidence",
]
_DECIDE_HARDSHIP = [*_READ_HARDSHIP, "collections.change_hardshiprequest"]

_CALENDAR = [
    "portal.view_calendaroverride", "portal.add_calendaroverride", "portal.change_calendaroverride",
    "portal.delete_calendaroverride",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    AGENT: [*_READ_LOAN_BOOK, *_READ_HARDSHIP, "loans.view_paymentintent", "loans.view_extension"],
    SUPERVISOR: [*_READ_LOAN_BOOK, *_PAYMENTS_DESK, *_DECIDE_HARDSHIP, *_CALENDAR, "loans.reveal_identity",
                 "portal.view_auditevent"],
    LEGAL_OFFICER: [*_READ_LOAN_BOOK, "loans.reveal_identity"],
    EDITOR: [],
    AUDITOR: [*_READ_LOAN_BOOK, *_READ_HARDSHIP, "portal.view_auditevent"],
}


def sync_roles(**kwargs: Any) -> None:
    """Make each group hold exactly its declared permissions (idempotent)."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:  # app not migrated yet in this run; the next signal adds it
                continue
            wanted.append(permission)
        group.permissions.set(wanted)
