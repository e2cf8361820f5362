"""The demo logins that `manage.py seed_demo` creates, and the table it prints every time.

Every demo account has the same documented password. The borrowers sign in with their mobile
number as username; staff sign in to the admin with a short role name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol

from django.urls import NoReverseMatch, reverse

from portal import roles

DEMO_PASSWORD = "demo-pass-2026"
SITE_URL = "http://127.0.0.1:8000/"
ADMIN_URL = "http://127.0.0.1:8000/admin/"


class Writable(Protocol):
    """A text stream: sys.stdout, io.StringIO or a management command's self.stdout."""

    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


@dataclass(frozen=True)
class DemoLogin:
    role: str
    username: str
    password: str
    shows: str
    is_borrower: bool = False
    group: str | None = None  # the staff group of portal/roles.py
    is_superuser: bool = False
    last_name: str = ""  # staff names, as the admin shows them (family name first)
    first_name: str = ""


# Borrower usernames are their mobile numbers (loans.demo creates them through the services).
CURRENT_BORROWER = "13800000001"
FIRST_TIME_OVERDUE_BORROWER = "13800000002"
DPD45_BORROWER = "13800000003"
DPD95_BORROWER = "13800000004"

DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("borrower, current", CURRENT_BORROWER, DEMO_PASSWORD,
              "陈晓明: pays every bill on time, nothing overdue (loan DEMO-CURRENT)",
              is_borrower=True),
    DemoLogin("borrower, first-time overdue", FIRST_TIME_OVERDUE_BORROWER, DEMO_PASSWORD,
              "林小红: one bill 5 days past due, never late before (loan DEMO-FIRSTLATE)",
              is_borrower=True),
    DemoLogin("borrower, 45 days overdue", DPD45_BORROWER, DEMO_PASSWORD,
              "王建国: collections stage (loan DEMO-DPD45)", is_borrower=True),
    DemoLogin("borrower, 95 days overdue", DPD95_BORROWER, DEMO_PASSWORD,
              "刘志强, small-business owner: non-performing (loan DEMO-DPD95)", is_borrower=True),
    DemoLogin("agent", "agent", DEMO_PASSWORD, "reads the loan book; IDs masked",
              group=roles.AGENT, last_name="张", first_name="伟"),
    DemoLogin("supervisor", "supervisor", DEMO_PASSWORD,
              "loan book with full IDs, audit trail", group=roles.SUPERVISOR,
              last_name="刘", first_name="芳"),
    DemoLogin("legal officer", "legal", DEMO_PASSWORD, "loan book with full IDs",
              group=roles.LEGAL_OFFICER, last_name="陈", first_name="静"),
    DemoLogin("editor", "editor", DEMO_PASSWORD, "articles and lectures (admin, Education)",
              group=roles.EDITOR, last_name="杨", first_name="洋"),
    DemoLogin("auditor", "auditor", DEMO_PASSWORD, "loan book and audit trail, read-only",
              group=roles.AUDITOR, last_name="赵", first_name="敏"),
    DemoLogin("admin (superuser)", "admin", DEMO_PASSWORD, "everything", is_superuser=True),
)


def _width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def print_demo_logins(stdout: Writable) -> None:
    """Print the demo logins as a table, with where to use them."""
    header = ("who", "username", "password", "shows")
    rows = [(d.role, d.username, d.password, d.shows) for d in DEMO_LOGINS]
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(3)]

    def line(row: tuple[str, str, str, str]) -> str:
        return "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]

    rule = "-" * (sum(widths) + 6 + max(_width(r[3]) for r in [header, *rows]))
    stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})\n")
    stdout.write(rule + "\n" + line(header) + "\n" + rule + "\n")
    for row in rows:
        stdout.write(line(row) + "\n")
    stdout.write(rule + "\n")
    stdout.write(f"Staff sign in to the admin: {ADMIN_URL}\n")
    sign_in = borrower_sign_in_url()
    if sign_in:
        stdout.write(f"Borrowers sign in with their mobile number: {sign_in}\n")
    else:
        stdout.write("Borrowers sign in with their mobile number; their portal pages come later.\n")
    stdout.write(
        f"The admin shows every loan and bill: {ADMIN_URL}loans/loan/ (search a reference, "
        "e.g. DEMO-DPD45).\n"
    )


def borrower_sign_in_url() -> str | None:
    """The borrowers' sign-in page, once the portal has one."""
    try:
        return SITE_URL.rstrip("/") + reverse("portal:sign-in")
    except NoReverseMatch:
        return None
