"""Which articles suit a borrower's situation: a pure rule over a small description of it.

`education.selectors.reader_situations` builds the `Situation` from the database (one query
for any number of borrowers); `recommended_audiences` decides, with no database at all, which
audience tags to recommend and in which order. To recommend by something new (a collections
case's classification, say), add a field here, one annotation in the selector, and a line in
the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Audience

LONG_OVERDUE_DAYS = 45


@dataclass(frozen=True)
class Situation:
    """What we know about a borrower that decides what they should read."""

    days_past_due: int = 0  # the most of any of their active loans
    first_time_overdue: bool = False  # overdue now, and no bill of theirs was ever overdue before
    hardship: bool = False  # has a hardship request that was not withdrawn or rejected
    small_business: bool = False

    @property
    def is_overdue(self) -> bool:
        return self.days_past_due > 0


def recommended_audiences(situation: Situation) -> list[Audience]:
    """Audience tags to recommend from, the most pressing first; "everyone" always last.

    - 45 or more days past due: restructuring options;
    - overdue for the first time: what overdue means for the credit record, and the one-time
      interest-free extension;
    - hardship flagged: hardship help;
    - small-business owner: the support programme;
    - overdue at all: how overdue turns into bad debt, how to repay, borrowers' rights.
    """
    wanted: list[Audience] = []
    # Past 45 days a new plan is the most pressing (the loan card still offers the extension).
    if situation.days_past_due >= LONG_OVERDUE_DAYS:
        wanted.append(Audience.LONG_OVERDUE)
    if situation.first_time_overdue and situation.is_overdue:
        wanted.append(Audience.FIRST_TIME_OVERDUE)
    if situation.hardship:
        wanted.append(Audience.HARDSHIP)
    if situation.small_business:
        wanted.append(Audience.SMALL_BUSINESS)
    if situation.is_overdue:
        wanted.append(Audience.OVERDUE)
    wanted.append(Audience.EVERYONE)
    return wanted
