"""Alerts for staff: raised once per cause (a dedupe key), read in an inbox per role."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from loans.models import Installment, InstallmentStatus, Loan, LoanEvent, LoanEventKind, Stage
from loans.outbox import events_consume
from portal.audit import audit_record
from portal.calendar import years_without_official_data
from portal.errors import NotAllowed
from portal.models import User
from portal.money import round_money
from portal.roles import AGENT, AUDITOR, EDITOR, LEGAL_OFFICER, ROLE_PERMISSIONS, SUPERVISOR

from ..models import Alert, AlertKind, Case, CaseStatus


def alert_raise(
    *,
    kind: str,
    role: str,
    message: str,
    dedupe_key: str,
    loan: Loan | None = None,
    case: Case | None = None,
) -> Alert | None:
    """Raise an alert for everyone of `role`; None when this cause already raised one."""
    try:
        with transaction.atomic():
            return Alert.objects.create(
                kind=kind, role=role, message=message[:300], dedupe_key=dedupe_key[:120], loan=loan, case=case
            )
    except IntegrityError:
        if Alert.objects.filter(dedupe_key=dedupe_key[:120]).exists():
            return None
        raise


# --- Alerts from the loan-event outbox ------------------------------------------------------------
#
# Messages are stored as text, so they are stored in both site languages, Chinese first, joined
# by " · " as the admin's own header is ("贷款 … · Loan …"): every reader understands them whatever
# language they chose, and a message never changes after it was raised. Storing the kind and
# parameters and rendering them in the reader's language would read better, but `Alert` has no
# column for parameters (its migration is not this change's) and other services already raise
# alerts with finished text; the kind is stored and shown translated beside the message.

ALERTS_CONSUMER = "alerts"
SEPARATOR = " · "

# Worse is later in this list.
_STAGE_ORDER = [Stage.CURRENT, Stage.REMINDER, Stage.COLLECTIONS, Stage.NON_PERFORMING, Stage.WRITE_OFF_CANDIDATE]
_OVERDUE_STAGES = set(_STAGE_ORDER[1:])
_OPEN_BILLS = (InstallmentStatus.PENDING, InstallmentStatus.DUE, InstallmentStatus.OVERDUE)


def bilingual(message: str, params: dict[str, Any]) -> str:
    """`message` (marked with gettext_noop) translated into each site language, Chinese first,
    and joined; once when they read the same. Lazy parameters (stage names) are translated too."""
    texts: list[str] = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            text = _(message) % {key: str(value) for key, value in params.items()}
        if text not in texts:
            texts.append(text)
    return SEPARATOR.join(texts)


def _stage_role(stage: str) -> str | None:
    """Who is told when a loan enters `stage` (None: nobody)."""
    if stage == Stage.COLLECTIONS:
        return AGENT
    if stage in (Stage.NON_PERFORMING, Stage.WRITE_OFF_CANDIDATE):
        return SUPERVISOR
    if stage == Stage.REMINDER and settings.PORTAL_ALERT_REMINDER_STAGE:
        return AGENT
    return None


def _is_worse(old: str, new: str) -> bool:
    try:
        return _STAGE_ORDER.index(Stage(new)) > _STAGE_ORDER.index(Stage(old))
    except ValueError:  # a stage this code does not know: no alert rather than a wrong one
        return False


def _money(value: Any) -> str:
    return f"{Decimal(str(value)):,.2f}"


def _event_key(event: LoanEvent, kind: str, role: str) -> str:
    # One alert per event, kind and role: reading an event twice raises nothing twice.
    return f"loan-event:{event.pk}:{kind}:{role}"


def _outstanding_principal(loan_ids: set[int]) -> dict[int, Decimal]:
    if not loan_ids:
        return {}
    rows = (
        Installment.objects.filter(loan_id__in=loan_ids, status__in=_OPEN_BILLS)
        .values("loan_id")
        .annotate(principal=Sum(F("principal_due") - F("principal_paid") - F("principal_waived")))
        .values_list("loan_id", "principal")
    )
    # SQLite sums decimals as doubles: back to the fen (exact on PostgreSQL already).
    return {loan_id: round_money(Decimal(str(value or 0))) for loan_id, value in rows}


def _alerts_for(events: list[LoanEvent]) -> list[Alert]:
    """The alerts these events call for (unsaved), with a fixed number of queries per batch."""
    wanted = [e for e in events if e.kind in (LoanEventKind.STAGE_CHANGED, LoanEventKind.PROMISE_BROKEN,
                                              LoanEventKind.PAYMENT_REVERSED)]
    worse = {e.pk for e in wanted if e.kind == LoanEventKind.STAGE_CHANGED
             and _is_worse(str(e.payload.get("from", "")), str(e.payload.get("to", "")))}
    if not wanted:
        return []
    loan_ids = {e.loan_id for e in wanted}
    references = dict(Loan.objects.filter(pk__in=loan_ids).values_list("pk", "reference"))
    open_cases = dict(
        Case.objects.filter(loan_id__in=loan_ids, status=CaseStatus.OPEN).values_list("loan_id", "pk")
    )
    principal = _outstanding_principal({e.loan_id for e in wanted if e.pk in worse})
    large = settings.PORTAL_LARGE_EXPOSURE_AMOUNT
    alerts: list[Alert] = []

    def add(event: LoanEvent, kind: str, role: str, message: str, case_id: int | None) -> None:
        alerts.append(Alert(
            kind=kind, role=role, message=message[:300], dedupe_key=_event_key(event, kind, role),
            loan_id=event.loan_id, case_id=case_id,
        ))

    for event in wanted:
        loan = references.get(event.loan_id, str(event.loan_id))
        payload = event.payload
        if event.kind == LoanEventKind.STAGE_CHANGED:
            if event.pk not in worse:
                continue
            stage = Stage(payload["to"])
            days = payload.get("days_past_due", "")
            role = _stage_role(stage)
            if role is not None:
                add(event, AlertKind.STAGE_ENTERED, role, bilingual(gettext_noop(
                    "Loan %(loan)s entered the stage “%(stage)s”: %(days)s days past due."
                ), {"loan": loan, "stage": stage.label, "days": days}), open_cases.get(event.loan_id))
            owed = principal.get(event.loan_id)
            if stage in _OVERDUE_STAGES and owed is not None and owed >= large:
                add(event, AlertKind.LARGE_EXPOSURE, SUPERVISOR, bilingual(gettext_noop(
                    "Large exposure: loan %(loan)s, ¥%(principal)s principal outstanding, "
                    "entered the stage “%(stage)s” (%(days)s days past due)."
                ), {"loan": loan, "principal": _money(owed), "stage": stage.label, "days": days}),
                    open_cases.get(event.loan_id))
        elif event.kind == LoanEventKind.PROMISE_BROKEN:
            case_id = payload.get("case")
            add(event, AlertKind.PROMISE_BROKEN, AGENT, bilingual(gettext_noop(
                "Case #%(case)s (loan %(loan)s): the promise to pay ¥%(amount)s by %(date)s was broken; "
                "¥%(paid)s paid since it was made."
            ), {"case": case_id, "loan": loan, "amount": _money(payload.get("amount", 0)),
                 "date": payload.get("promised_date", ""), "paid": _money(payload.get("paid_since", 0))}),
                int(case_id) if case_id else open_cases.get(event.loan_id))
        else:  # PAYMENT_REVERSED
            reason = str(payload.get("reason", ""))
            reason = reason if len(reason) <= 60 else reason[:59] + "…"
            add(event, AlertKind.PAYMENT_REVERSED, SUPERVISOR, bilingual(gettext_noop(
                "Payment #%(payment)s of ¥%(amount)s on loan %(loan)s was reversed: %(reason)s"
            ), {"payment": payload.get("payment", ""), "amount": _money(payload.get("amount", 0)),
                 "loan": loan, "reason": reason}), open_cases.get(event.loan_id))
    return alerts


def _save_new(alerts: list[Alert]) -> int:
    """Insert the alerts whose key is new; returns how many. Keys already taken are skipped, also
    when another reader inserts the same key at the same moment (the unique key decides)."""
    if not alerts:
        return 0
    taken = set(
        Alert.objects.filter(dedupe_key__in=[a.dedupe_key for a in alerts]).values_list("dedupe_key", flat=True)
    )
    new = [a for a in alerts if a.dedupe_key not in taken]
    Alert.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def alerts_from_events(*, batch_size: int = 1000) -> int:
    """The outbox consumer "alerts": read new loan events into alerts; returns how many alerts it raised.

    A loan entering a worse stage tells the stage's role (collections: agents; non-performing and
    write-off candidate: supervisors; reminder: agents only if PORTAL_ALERT_REMINDER_STAGE), and
    supervisors when its principal outstanding is at least PORTAL_LARGE_EXPOSURE_AMOUNT; a broken
    promise tells agents; a reversed payment tells supervisors. Reading an event again raises
    nothing again (one dedupe key per event, kind and role).
    """
    raised = 0

    def handle(events: list[LoanEvent]) -> None:
        nonlocal raised
        raised += _save_new(_alerts_for(events))

    events_consume(consumer=ALERTS_CONSUMER, handler=handle, batch_size=batch_size)
    return raised


def alert_calendar_check(*, today: dt.date) -> Alert | None:
    """Tell supervisors when the official working-day calendar of this year or the next is missing
    (once per year). Returns the alert raised by this call, or None when nothing new is missing;
    when both years are new, both are raised and the later one is returned."""
    raised: Alert | None = None
    for year in years_without_official_data([today.year, today.year + 1]):
        message = bilingual(gettext_noop(
            "The official working-day calendar for %(year)s is not available yet: enter that year's "
            "public holidays and swapped working days under Calendar overrides."
        ), {"year": year})
        alert = alert_raise(kind=AlertKind.CALENDAR_MISSING, role=SUPERVISOR, message=message,
                            dedupe_key=f"calendar-missing:{year}")  # its own transaction
        raised = alert or raised
    return raised


# --- Acknowledging ---------------------------------------------------------------------------------


def alert_roles(*, user: User) -> list[str]:
    """The alert roles whose inbox `user` reads: their role groups, or every role for a superuser."""
    if user.is_superuser:
        return list(ROLE_PERMISSIONS)
    return [name for name in user.groups.values_list("name", flat=True) if name in ROLE_PERMISSIONS]


def alert_acknowledge(*, alert_id: int, actor: User) -> Alert:
    """Mark the alert seen, once, by a member of its role (or a superuser); audited."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise NotAllowed(_("This alert does not exist."))
        if not actor.is_active or not (actor.is_superuser or actor.groups.filter(name=alert.role).exists()):
            raise NotAllowed(
                _("Only members of the role “%(role)s” can acknowledge this alert.") % {"role": role_label(alert.role)}
            )
        if alert.acknowledged_at is not None:
            by = alert.acknowledged_by.get_username() if alert.acknowledged_by else "?"
            raise NotAllowed(
                _("This alert was already acknowledged by %(user)s at %(at)s.")
                % {"user": by, "at": timezone.localtime(alert.acknowledged_at).strftime("%Y-%m-%d %H:%M")}
            )
        alert.acknowledged_by = actor
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["acknowledged_by", "acknowledged_at"])
        audit_record(
            actor=actor, action="alert.acknowledge", target=alert, summary=alert.message,
            before={"acknowledged_at": None, "acknowledged_by": None},
            after={"acknowledged_at": alert.acknowledged_at, "acknowledged_by": actor.get_username(),
                   "kind": alert.kind, "role": alert.role},
        )
    return alert


ROLE_LABELS = {
    AGENT: gettext_lazy("Agents"),
    SUPERVISOR: gettext_lazy("Supervisors"),
    LEGAL_OFFICER: gettext_lazy("Legal officers"),
    EDITOR: gettext_lazy("Editors"),
    AUDITOR: gettext_lazy("Auditors"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
