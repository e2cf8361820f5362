"""The one-time interest-free extension (免息延期) for borrowers overdue for the first time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.audit import audit_record
from portal.errors import NotAllowed
from portal.models import User
from portal.money import ZERO, round_money
from portal.sms import sms_queue

from ..allocation import Allocated, Parts
from ..models import (
    AllocationKind,
    Borrower,
    EntryKind,
    Extension,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanStatus,
)
from ..selectors import summarise
from .book import apply_allocations, lock_loan, record_state_change, refresh_loan

# Rendered in the borrower's language when queued.
EXTENSION_SMS = gettext_lazy(
    "Your interest-free extension for loan %(reference)s is granted. The new due date is %(date)s; "
    "no penalty or interest is charged for the extension."
)


@dataclass
class ExtensionQuote:
    """What the extension would do today, or why it is refused (shown before confirming)."""

    eligible: bool
    refusal: str = ""
    bills: list[Installment] = field(default_factory=list)
    days: int = 0
    new_due_date: dt.date | None = None
    penalty_waived: Decimal = ZERO
    interest_not_charged: Decimal = ZERO

    @property
    def amount_due_by_new_date(self) -> Decimal:
        return sum((bill.total_outstanding for bill in self.bills), ZERO) - self.penalty_waived


def extension_quote(
    *, borrower: Borrower, loan: Loan, installments: list[Installment], as_of: dt.date
) -> ExtensionQuote:
    """Eligible when: the loan is active and has a bill past its grace days; the borrower never
    had an extension; and no bill of any of their loans was ever overdue before this one."""
    existing = Extension.objects.filter(borrower=borrower).first()
    if existing is not None:
        return ExtensionQuote(
            False,
            _("You used your one-time interest-free extension on %(date)s; it can be given only once.")
            % {"date": existing.business_date.isoformat()},
        )
    if loan.status != LoanStatus.ACTIVE:
        return ExtensionQuote(False, _("This loan is not active."))
    summary = summarise(loan, installments, as_of)
    if not summary.overdue_bills:
        return ExtensionQuote(
            False, _("Nothing on this loan is overdue. The extension is for bills past their due date and grace days.")
        )
    # An earlier episode is a bill that was overdue and no longer is (paid late, deferred...).
    # Bills overdue right now, on this or another loan, are this first episode.
    current = {bill.pk for bill in summary.overdue_bills}
    earlier = (
        Installment.objects.filter(loan__borrower=borrower, overdue_since__isnull=False)
        .exclude(status=InstallmentStatus.OVERDUE)
        .exclude(pk__in=current)
    )
    if earlier.exists():
        return ExtensionQuote(
            False,
            _(
                "The extension is for borrowers overdue for the first time, "
                "and your record shows an earlier overdue bill. Please ask for hardship help instead."
            ),
        )
    days = loan.product.extension_days
    overdue_principal = sum((bill.outstanding("principal") for bill in summary.overdue_bills), ZERO)
    return ExtensionQuote(
        True, bills=summary.overdue_bills, days=days, new_due_date=as_of + dt.timedelta(days=days),
        penalty_waived=sum((bill.outstanding("penalty") for bill in summary.overdue_bills), ZERO),
        interest_not_charged=round_money(overdue_principal * loan.annual_rate / 360 * days),
    )


def extension_grant(*, borrower_id: int, loan_id: int, business_date: dt.date, actor: User | None) -> Extension:
    """Defer the overdue bills to a new due date, waive their penalty, charge no interest for
    the deferral. Once per borrower for life: a unique constraint makes a concurrent twin fail."""
    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan = locked.loan
        if loan.borrower_id != borrower_id:
            raise NotAllowed(_("This loan is not yours."))
        borrower = Borrower.objects.get(pk=borrower_id)
        quote = extension_quote(borrower=borrower, loan=loan, installments=locked.installments, as_of=business_date)
        if not quote.eligible or quote.new_due_date is None:
            raise NotAllowed(quote.refusal)
        try:
            with transaction.atomic():
                extension = Extension.objects.create(
                    borrower=borrower, loan=loan, business_date=business_date, days=quote.days,
                    new_due_date=quote.new_due_date,
                    deferred=[{"installment": b.pk, "due_date": b.due_date.isoformat()} for b in quote.bills],
                    penalty_waived=quote.penalty_waived, interest_not_charged=quote.interest_not_charged,
                )
        except IntegrityError:
            raise NotAllowed(_("You have already used your one-time interest-free extension.")) from None
        by_pk = {bill.pk: bill for bill in locked.installments}
        waived = apply_allocations(
            [Allocated(by_pk[b.pk], Parts(penalty=b.outstanding("penalty"))) for b in quote.bills],
            AllocationKind.WAIVED, +1,
        )
        for bill in quote.bills:
            by_pk[bill.pk].due_date = quote.new_due_date
        if waived.total > 0:
            JournalEntry.objects.create(
                loan=loan, kind=EntryKind.WAIVER, business_date=business_date, penalty=-waived.penalty,
                memo="interest-free extension: penalty waived",
            )
        changes = refresh_loan(loan, locked.installments, business_date)
        locked.save()
        record_state_change(
            loan, changes, business_date=business_date, reason="interest-free extension", actor=actor, audit=False
        )
        audit_record(
            actor=actor, action="extension.grant", target=extension,
            summary=f"{loan.reference} deferred to {quote.new_due_date}",
            after={"loan": loan.reference, "new_due_date": quote.new_due_date, "penalty_waived": waived.penalty,
                   "bills": [b.number for b in quote.bills], **{k: v[1] for k, v in changes.items()}},
        )
        sms_queue(
            recipient=borrower.user, mobile=borrower.mobile, language=borrower.preferred_language,
            kind="extension_granted", dedupe_key=f"extension:{extension.pk}",
            text=EXTENSION_SMS, params={"reference": loan.reference, "date": quote.new_due_date.isoformat()},
        )
    return extension

