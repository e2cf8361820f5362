"""Conduct rules for contacting borrowers and third parties, enforced by the case services.

Each rule is a small function that raises `RuleRefused` (a `NotAllowed`) whose message names the
rule, so an agent who is refused knows which rule refused and why. The numbers are settings:

- quiet hours (`PORTAL_QUIET_HOURS`, default 22:00–08:00 borrower local time, the time zone
  `PORTAL_BORROWER_TIME_ZONE`, default Asia/Shanghai): no contact is made at a time in them;
- daily call limit (`PORTAL_MAX_CALLS_PER_NUMBER_PER_DAY`, default 6): call attempts to one
  number on one borrower-local day, whoever called and for which case;
- borrower unreachable (`PORTAL_THIRD_PARTY_MIN_FAILED_ATTEMPTS`, default 3, in
  `PORTAL_THIRD_PARTY_WINDOW_DAYS`, default 7): a third party (an emergency contact) may be
  contacted only after at least that many failed attempts to reach the borrower in that many
  days before the contact, counted after the last contact that reached the borrower;
- no disclosure: a third party is never told about the debt. The agent confirms it for every
  third-party contact, and what is logged about it must not read as if the debt was discussed.

A promise's date or a callback is not a contact: only a contact's own time (`at`) is checked.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.errors import NotAllowed

from .models import FAILED_OUTCOMES, ContactChannel, ContactLog, ContactParty

QUIET_HOURS = "quiet_hours"
DAILY_CALL_LIMIT = "daily_call_limit"
BORROWER_UNREACHABLE = "borrower_unreachable"
NO_DISCLOSURE = "no_disclosure"

RULE_NAMES: dict[str, Promise] = {
    QUIET_HOURS: gettext_lazy("Quiet hours"),
    DAILY_CALL_LIMIT: gettext_lazy("Daily call limit per number"),
    BORROWER_UNREACHABLE: gettext_lazy("Third parties only when the borrower cannot be reached"),
    NO_DISCLOSURE: gettext_lazy("Never tell a third party about the debt"),
}

# Words that show a third party was told about (or asked about) the debt, in both languages.
# fmt: off
DISCLOSURE_WORDS = (
    "debt", "owe", "owes", "owed", "owing", "overdue", "arrears", "loan", "repay", "repayment",
    "collection", "collections", "default", "lawsuit", "court",
    "欠款", "欠债", "欠钱", "债务", "逾期", "贷款", "借款",
    "还款", "还钱", "催收", "起诉", "法院", "违约",
)
# fmt: on
_LATIN_WORD = re.compile(r"[a-z]+")


class RuleRefused(NotAllowed):
    """A conduct rule refused the action; `rule` is one of the names above."""

    code = "conduct_rule"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(
            _("Refused by the rule “%(rule)s”: %(reason)s")
            % {"rule": RULE_NAMES[rule], "reason": message}
        )
        self.rule = rule


def rules_text() -> str:
    """The rules with today's settings, in one sentence for the contact form."""
    start, end = settings.PORTAL_QUIET_HOURS
    return _(
        "Rules: no contact between %(start)s and %(end)s borrower local time; at most %(calls)s "
        "calls a day to one number; a third party only after %(failed)s failed attempts to reach "
        "the borrower in %(days)s days, with the reason, and never told about the debt."
    ) % {
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "calls": settings.PORTAL_MAX_CALLS_PER_NUMBER_PER_DAY,
        "failed": settings.PORTAL_THIRD_PARTY_MIN_FAILED_ATTEMPTS,
        "days": settings.PORTAL_THIRD_PARTY_WINDOW_DAYS,
    }


def borrower_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.PORTAL_BORROWER_TIME_ZONE)


def borrower_local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(borrower_time_zone())


def borrower_today() -> dt.date:
    return borrower_local(timezone.now()).date()


def _borrower_day(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The borrower-local day around `at`, as [start, end)."""
    zone = borrower_time_zone()
    day = borrower_local(at).date()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def in_quiet_hours(at: dt.datetime) -> bool:
    start, end = settings.PORTAL_QUIET_HOURS
    clock = borrower_local(at).time()
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end  # the quiet hours wrap midnight


def quiet_hours_check(*, at: dt.datetime) -> None:
    """No contact at a time in the quiet hours, borrower local time."""
    if in_quiet_hours(at):
        start, end = settings.PORTAL_QUIET_HOURS
        raise RuleRefused(
            QUIET_HOURS,
            _(
                "no contact between %(start)s and %(end)s borrower local time; "
                "this contact is at %(time)s."
            )
            % {
                "start": f"{start:%H:%M}",
                "end": f"{end:%H:%M}",
                "time": f"{borrower_local(at):%H:%M}",
            },
        )


def number_lock(number: str) -> None:
    """Serialise call logging per number across cases and borrowers, until the transaction ends.

    The caller also locks its case row. On PostgreSQL this adds a transaction-level advisory lock
    keyed by the number (one number can be dialled for two cases, or be two borrowers' emergency
    contact); SQLite's IMMEDIATE transactions already run one writer at a time.
    """
    if connection.vendor == "postgresql" and number:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [0x43414C4C, zlib.crc32(number.encode()) - 2**31],
            )


def calls_on_day(*, number: str, at: dt.datetime) -> int:
    start, end = _borrower_day(at)
    return ContactLog.objects.filter(
        channel=ContactChannel.CALL, number=number, at__gte=start, at__lt=end
    ).count()


def daily_call_limit_check(*, number: str, at: dt.datetime) -> None:
    """At most PORTAL_MAX_CALLS_PER_NUMBER_PER_DAY call attempts to one number on one local day.
    The caller holds the locks (its case row and `number_lock`)."""
    limit = settings.PORTAL_MAX_CALLS_PER_NUMBER_PER_DAY
    made = calls_on_day(number=number, at=at)
    if made >= limit:
        raise RuleRefused(
            DAILY_CALL_LIMIT,
            _(
                "this number was already called %(made)s times on %(day)s (borrower local time); "
                "at most %(limit)s calls a day."
            )
            % {"made": made, "day": borrower_local(at).date().isoformat(), "limit": limit},
        )


def failed_attempts_since_reached(*, borrower_id: int, at: dt.datetime) -> int:
    """Failed attempts to reach the borrower (any of their cases) in the window before `at`,
    after the last contact that reached them."""
    window_start = at - dt.timedelta(days=settings.PORTAL_THIRD_PARTY_WINDOW_DAYS)
    to_borrower = ContactLog.objects.filter(
        case__borrower_id=borrower_id, party=ContactParty.BORROWER, at__lte=at
    )
    reached = to_borrower.exclude(outcome__in=FAILED_OUTCOMES)
    last_reached = reached.aggregate(last=Max("at"))["last"]
    since = max(window_start, last_reached) if last_reached else window_start
    return to_borrower.filter(outcome__in=FAILED_OUTCOMES, at__gt=since).count()


def borrower_unreachable_check(*, borrower_id: int, at: dt.datetime) -> None:
    """A third party only after PORTAL_THIRD_PARTY_MIN_FAILED_ATTEMPTS failed attempts to reach the
    borrower in the last PORTAL_THIRD_PARTY_WINDOW_DAYS days, none of them followed by a contact
    that reached the borrower."""
    needed = settings.PORTAL_THIRD_PARTY_MIN_FAILED_ATTEMPTS
    failed = failed_attempts_since_reached(borrower_id=borrower_id, at=at)
    if failed < needed:
        raise RuleRefused(
            BORROWER_UNREACHABLE,
            _(
                "a third party may be contacted only after %(needed)s failed attempts to reach the "
                "borrower in the last %(days)s days with no contact since; there were %(failed)s."
            )
            % {"needed": needed, "days": settings.PORTAL_THIRD_PARTY_WINDOW_DAYS, "failed": failed},
        )


def disclosure_words(text: str) -> list[str]:
    """The words of DISCLOSURE_WORDS found in `text` (whole words for English)."""
    lowered = text.lower()
    latin = set(_LATIN_WORD.findall(lowered))
    return [
        word for word in DISCLOSURE_WORDS if (word in latin if word.isascii() else word in lowered)
    ]


def no_disclosure_check(*, confirmed: bool, texts: Iterable[str]) -> None:
    """The agent confirms the debt was not disclosed, and the logged texts do not mention it."""
    if not confirmed:
        raise RuleRefused(
            NO_DISCLOSURE,
            _(
                "confirm that the debt was not mentioned to the third party before logging the "
                "contact."
            ),
        )
    found = [word for text in texts for word in disclosure_words(text)]
    if found:
        raise RuleRefused(
            NO_DISCLOSURE,
            _(
                "what is logged about a third-party contact mentions “%(word)s”. A third party may "
                "only be asked to pass on a message; write the note without the debt."
            )
            % {"word": found[0]},
        )
