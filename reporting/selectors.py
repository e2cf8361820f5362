"""Read models of credit reporting for the borrower pages: a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, Q, Subquery
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import CreditCorrection, CreditNotice, CreditRecord

MONTHS_SHOWN = 24  # the central bank's repayment record covers 24 months

# What each status means, in the borrower's words.
EXPLANATIONS: dict[str, Promise] = {
    "N": _("Paid on time: nothing was overdue at the end of the month."),
    "1": _("Overdue at the end of the month, by 1 to 30 days."),
    "2": _("Overdue at the end of the month, by 31 to 60 days."),
    "3": _("Overdue at the end of the month, by 61 to 90 days."),
    "4": _("Overdue at the end of the month, by 91 to 120 days."),
    "5": _("Overdue at the end of the month, by 121 to 150 days."),
    "6": _("Overdue at the end of the month, by 151 to 180 days."),
    "7": _("Overdue at the end of the month, by more than 180 days."),
    "C": _("Repaid in full: the loan is closed."),
    "G": _("Closed, but not by full repayment (part of the debt was forgiven)."),
    "B": _("Written off as bad debt."),
}


@dataclass(frozen=True)
class ReportedMonth:
    month: dt.date
    status: str
    explanation: Promise
    corrected: bool
    # Set while a negative status waits for the notice period: the first date it may be reported.
    held_until: dt.date | None

    @property
    def is_negative(self) -> bool:
        return self.status not in ("N", "C", "G")


@dataclass(frozen=True)
class CreditHistory:
    months: list[ReportedMonth]
    notice: CreditNotice | None


def loan_credit_history(*, loan_id: int, borrower_id: int) -> CreditHistory:
    """What was reported for each of the loan's last 24 months (a correction sent to the bureau
    replaces the status), and months held back for the notice period: two queries."""
    reported_correction = (
        CreditCorrection.objects.filter(record_id=OuterRef("pk"), file__isnull=False)
        .order_by("-corrected_at", "-id")
        .values("status")[:1]
    )
    records = (
        CreditRecord.objects.filter(loan_id=loan_id)
        .filter(Q(file__isnull=False) | Q(held_back_until__isnull=False))
        .annotate(corrected_status=Subquery(reported_correction))
        .order_by("-month")
        .values("month", "status", "corrected_status", "file_id", "held_back_until")[:MONTHS_SHOWN]
    )
    months = []
    for row in records:
        status = row["corrected_status"] or row["status"]
        months.append(ReportedMonth(
            month=row["month"], status=status, explanation=EXPLANATIONS[status],
            corrected=row["corrected_status"] is not None,
            held_until=row["held_back_until"] if row["file_id"] is None else None,
        ))
    notice = CreditNotice.objects.filter(borrower_id=borrower_id).first()
    return CreditHistory(months=months, notice=notice)
