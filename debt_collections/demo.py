"""Demo case work: the close of business opens the cases, agents get them, and the two overdue
personas have a history an agent would find (calls, a broken promise, an emergency contact)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from loans.models import Loan, LoanStatus
from portal.calendar import business_today
from portal.demo_logins import Writable
from portal.models import User
from portal.roles import AGENT

from . import services
from .close_of_business import close_business_day
from .models import Case, CaseStatus, ContactChannel, ContactOutcome, ContactParty, EmergencyContact, OverdueReason

EMERGENCY_CONTACTS = {
    "DEMO-DPD45": [("王芳", "配偶", "13811110003")],
    "DEMO-DPD95": [("刘洋", "兄弟", "13811110004"), ("赵敏", "同事", "13811110005")],
}


def _morning(days_ago: int, hour: int) -> dt.datetime:
    """A time inside the contact hours, `days_ago` days before now (local time)."""
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 15)))


def seed_case_work(*, as_of: dt.date, stdout: Writable | None = None) -> None:
    """Close the last aged date (opens the portfolio's cases), share them among the agents and
    give the personas' cases some history. Does nothing twice."""
    last_closed = as_of - dt.timedelta(days=1)
    # Only on data aged exactly through that date (as seeding leaves it): an older database
    # needs the scheduled run, which catches up every missed date in order.
    behind = Loan.objects.filter(status=LoanStatus.ACTIVE, aged_through__lt=last_closed).exists()
    if last_closed < business_today() and not behind:
        run = close_business_day(business_date=last_closed)
        if stdout is not None and run is not None:
            stdout.write(f"Close of business {last_closed}: {run.counts}\n")
    if Group.objects.filter(name=AGENT, user__is_active=True).exists():
        services.cases_assign_automatically(actor=None)
    agent = User.objects.filter(username="agent").first()
    if agent is None:
        return
    for reference, contacts in EMERGENCY_CONTACTS.items():
        loan = Loan.objects.filter(reference=reference).select_related("borrower").first()
        if loan is None or EmergencyContact.objects.filter(borrower=loan.borrower).exists():
            continue
        EmergencyContact.objects.bulk_create(
            EmergencyContact(borrower=loan.borrower, name=name, relationship=relation, mobile=mobile)
            for name, relation, mobile in contacts
        )
        case = Case.objects.filter(loan=loan, status=CaseStatus.OPEN).first()
        if case is None:
            continue
        _persona_history(case, agent, reference)


def _persona_history(case: Case, agent: User, reference: str) -> None:
    def call(outcome: str, at: dt.datetime, reason: str = OverdueReason.UNKNOWN, note: str = "") -> None:
        services.contact_log(case_id=case.pk, actor=agent, channel=ContactChannel.CALL, party=ContactParty.BORROWER,
                             outcome=outcome, at=at, overdue_reason=reason, note=note)

    # All on the day before today: the case opened then, and a contact never predates its case.
    if reference == "DEMO-DPD45":
        call(ContactOutcome.NO_ANSWER, _morning(1, 10))
        call(ContactOutcome.PROMISED, _morning(1, 14), reason=OverdueReason.CASH_FLOW,
             note="工资推迟发放，承诺月底前先还一部分。")
        services.promise_record(case_id=case.pk, actor=agent, amount=Decimal("1500.00"),
                                promised_date=timezone.localdate() + dt.timedelta(days=3))
        services.case_note_add(case_id=case.pk, actor=agent, text="借款人态度配合，建议跟进还款计划。")
    else:
        for hour in (9, 10, 11):
            call(ContactOutcome.NO_ANSWER, _morning(1, hour))
        contact = EmergencyContact.objects.filter(borrower_id=case.borrower_id).first()
        assert contact is not None
        services.contact_log(
            case_id=case.pk, actor=agent, channel=ContactChannel.CALL, party=ContactParty.EMERGENCY_CONTACT,
            emergency_contact_id=contact.pk, outcome=ContactOutcome.MESSAGE_LEFT, debt_not_disclosed=True,
            third_party_reason="本人多次无法接通，请其转告回电。", at=_morning(1, 15),
        )
