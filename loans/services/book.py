"""Every change of the loan book: disbursement, ageing, payments, reversals and waivers.

Each function validates, locks the loan (then its installments, by id), writes the rows, the
journal entry and the audit event in one transaction, and raises a DomainError that a person
can read when it refuses.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import operator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Field, QuerySet
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_event, audit_record, audit_record_many
from portal.bulk import bulk_update_rows
from portal.errors import IdempotencyKeyReused, InvalidAmount, NotAllowed
from portal.models import AuditEvent, User
from portal.money import ZERO, parse_amount
from portal.statements import bound_cursor

from ..allocation import Allocated, Parts, payoff_quote, plan_payment
from ..delinquency import (  # noqa: F401  (stage_for is part of the services' API)
    accrue_penalty,
    open_installments,
    refresh_loan,
    stage_for,
)
from ..models import (
    COMPONENTS,
    Allocation,
    AllocationKind,
    Borrower,
    Channel,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanEvent,
    LoanEventKind,
    LoanStatus,
    Payment,
    PaymentStatus,
    Product,
    StageChange,
)
from ..schedule import plan_schedule
from .batch import Batch

MIN_PRINCIPAL = Decimal("100.00")


# --- Delinquency ------------------------------------------------------------------------------


_INSTALLMENT_FIELDS = [
    "due_date", "status", "overdue_since", "settled_on",
    *[f"{c}_{kind}" for c in COMPONENTS for kind in ("due", "paid", "waived", "written_off")],
]


_LOAN_FIELDS = ["status", "stage", "days_past_due", "aged_through"]


@dataclass
class LockedLoan:
    """A loan and its bills, locked for one service call; writes back only what changed."""

    loan: Loan
    installments: list[Installment]
    original: dict[int, tuple[Any, ...]]
    loan_original: tuple[Any, ...] = ()

    def changed(self) -> tuple[list[tuple[Installment, list[str]]], list[str]]:
        """What changed since the lock: each changed bill with the names of its changed columns,
        and the names of the loan's changed columns."""
        bills = []
        for installment in self.installments:
            before, now = self.original[installment.pk], _bill_snapshot(installment)
            if now != before:
                bills.append((installment, [
                    name for name, old, new in zip(_INSTALLMENT_FIELDS, before, now, strict=True) if new != old
                ]))
        if not self.loan_original:
            return bills, list(_LOAN_FIELDS)
        now = _loan_snapshot(self.loan)
        return bills, [name for name, old, new in zip(_LOAN_FIELDS, self.loan_original, now, strict=True) if new != old]

    def save(self) -> None:
        """Write what changed: the changed bills in one statement (the union of their changed
        columns), then the loan's changed columns; nothing when nothing changed."""
        bills, loan = self.changed()
        if bills:
            fields = [name for name in _INSTALLMENT_FIELDS if any(name in names for _, names in bills)]
            bulk_update_rows(
                Installment, fields, [[*(getattr(i, name) for name in fields), i.pk] for i, _ in bills]
            )
        if loan:
            self.loan.save(update_fields=loan)

    def save_into(self, batch: Batch) -> None:
        """`save`, as parts of the caller's batch (written when the batch is)."""
        bills, loan = self.changed()
        for installment, names in bills:
            batch.update(Installment, installment.pk, {name: getattr(installment, name) for name in names})
        batch.update(Loan, self.loan.pk, {name: getattr(self.loan, name) for name in loan})


class _CompiledQuery:
    """The SQL of `queryset(id)`, compiled once per database: `lock_loan` runs the same two
    statements for every payment, and compiling them each time cost more than everything else a
    payment does in Python. The id is bound on the server (`portal.statements`), so PostgreSQL
    prepares both statements once a connection. Rows become instances as the ORM makes them
    (`from_db`, after the backend's and the fields' converters)."""

    _MARKER = -1

    def __init__(self, model: type[Any], queryset: Any) -> None:
        self.model, self.queryset = model, queryset
        self.compiled: dict[str, tuple[str, list[str], list[tuple[int, list[Any], Any]]]] = {}

    def _compile(self, connection: Any) -> tuple[str, list[str], list[tuple[int, list[Any], Any]]]:
        compiler = self.queryset(self._MARKER).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        if list(params) != [self._MARKER]:
            raise RuntimeError(f"{self.model.__name__}: the query takes one parameter, the id")
        columns = [column for column, _, _ in compiler.select]
        converters = [
            (position, convert, column)
            for position, column in enumerate(columns)
            if (convert := connection.ops.get_db_converters(column) + column.get_db_converters(connection))
        ]
        return sql, [column.target.attname for column in columns], converters

    def fetch(self, value: int) -> list[Any]:
        connection = transaction.get_connection()
        compiled = self.compiled.get(connection.alias)
        if compiled is None:
            compiled = self.compiled[connection.alias] = self._compile(connection)
        sql, names, converters = compiled
        with bound_cursor(connection) as cursor:
            cursor.execute(sql, [value])
            rows = cursor.fetchall()
        instances = []
        for row in rows:
            if converters:
                row = list(row)
                for position, convert, column in converters:
                    for converter in convert:
                        row[position] = converter(row[position], column, connection)
            instances.append(self.model.from_db(connection.alias, names, row))
        return instances


_LOCK_LOAN = _CompiledQuery(Loan, lambda pk: Loan.objects.select_for_update().filter(pk=pk))
_LOCK_BILLS = _CompiledQuery(
    Installment, lambda pk: Installment.objects.select_for_update().filter(loan_id=pk).order_by("id")
)
_bill_snapshot = operator.attrgetter(*_INSTALLMENT_FIELDS)
_loan_snapshot = operator.attrgetter(*_LOAN_FIELDS)


def lock_loan(loan_id: int) -> LockedLoan:
    """Lock the loan row first, then its installments in id order: one order everywhere.

    Two statements on purpose: in READ COMMITTED the bills are read with a snapshot taken once
    the loan is locked, so bills a concurrent restructuring added while this call waited for the
    loan are seen (one joined statement would read them with its snapshot from before the wait).
    """
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError("lock_loan must run inside the service's transaction")
    loans = _LOCK_LOAN.fetch(loan_id)
    if not loans:
        raise Loan.DoesNotExist("Loan matching query does not exist.")
    loan = loans[0]
    installments = _LOCK_BILLS.fetch(loan_id)
    original = {i.pk: _bill_snapshot(i) for i in installments}
    return LockedLoan(loan, installments, original, _loan_snapshot(loan))


def state_change_rows(
    loan: Loan, changes: dict[str, Any], *, business_date: dt.date, reason: str
) -> tuple[list[StageChange], list[LoanEvent]]:
    """The history and outbox rows for what `refresh_loan` changed (unsaved: callers save them)."""
    history: list[StageChange] = []
    events: list[LoanEvent] = []
    if "stage" in changes:
        old, new = changes["stage"]
        history.append(StageChange(
            loan=loan, from_stage=old, to_stage=new, business_date=business_date,
            days_past_due=loan.days_past_due, reason=reason[:200],
        ))
        events.append(LoanEvent(
            loan=loan, kind=LoanEventKind.STAGE_CHANGED, business_date=business_date,
            payload={"from": old, "to": new, "days_past_due": loan.days_past_due, "reason": reason[:200]},
        ))
    if "status" in changes:
        old, new = changes["status"]
        events.append(LoanEvent(
            loan=loan, kind=LoanEventKind.STATUS_CHANGED, business_date=business_date,
            payload={"from": old, "to": new, "reason": reason[:200]},
        ))
    return history, events


def stage_change_audit(loan: Loan, changes: dict[str, Any], *, reason: str, actor: User | None) -> AuditEvent:
    return audit_event(
        actor=actor, actor_label="close-of-business", action="loan.stage_change", target=loan, summary=reason,
        before={k: v[0] for k, v in changes.items()}, after={k: v[1] for k, v in changes.items()},
    )


def record_state_change(
    loan: Loan, changes: dict[str, Any], *, business_date: dt.date, reason: str, actor: User | None,
    audit: bool = True,
) -> None:
    """Keep a stage or status move: history row, outbox event and (unless the caller's own audit
    event already holds the change) an audit event, in the caller's transaction.
    `changes` is what `refresh_loan` returned."""
    history, events = state_change_rows(loan, changes, business_date=business_date, reason=reason)
    StageChange.objects.bulk_create(history)
    LoanEvent.objects.bulk_create(events)
    if audit and ("stage" in changes or "status" in changes):
        audit_record_many([stage_change_audit(loan, changes, reason=reason, actor=actor)])


# --- Borrowers and disbursement ---------------------------------------------------------------


def borrower_register(
    *,
    mobile: str,
    real_name: str,
    national_id: str,
    password: str | None,
    segment: str = "individual",
    preferred_language: str = "zh-hans",
    actor: User | None = None,
) -> Borrower:
    with transaction.atomic():
        user = User(username=mobile)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        borrower = Borrower(
            user=user, real_name=real_name, national_id=national_id.upper(), mobile=mobile,
            segment=segment, preferred_language=preferred_language,
        )
        borrower.full_clean(exclude=["user"])  # validators run before anything is written
        user.full_clean(exclude=["password"])
        user.save()
        borrower.user = user
        borrower.save()
        audit_record(
            actor=actor, action="borrower.register", target=borrower,
            after={"real_name": real_name, "mobile": borrower.masked_mobile,
                   "national_id": borrower.masked_national_id, "segment": segment},
        )
    return borrower


def loan_disburse(
    *,
    borrower_id: int,
    product_id: int,
    principal: Decimal | str,
    disbursed_on: dt.date,
    actor: User | None = None,
    reference: str | None = None,
) -> Loan:
    amount = parse_amount(principal)
    if amount < MIN_PRINCIPAL:
        raise InvalidAmount(_("The smallest loan is ¥%(min)s.") % {"min": MIN_PRINCIPAL})
    with transaction.atomic():
        product = Product.objects.get(pk=product_id)
        if not product.is_active:
            raise NotAllowed(_("The product “%(name)s” is no longer offered.") % {"name": product.name})
        borrower = Borrower.objects.get(pk=borrower_id)
        plan = plan_schedule(
            principal=amount, annual_rate=product.annual_rate, months=product.term_months,
            method=product.repayment_method, start=disbursed_on,
        )
        loan = Loan.objects.create(
            reference=reference or _new_reference(disbursed_on),
            borrower=borrower, product=product, principal=amount,
            annual_rate=product.annual_rate, penalty_rate=product.penalty_rate,
            repayment_method=product.repayment_method, term_months=product.term_months,
            grace_days=product.grace_days, disbursed_on=disbursed_on,
        )
        Installment.objects.bulk_create(
            Installment(
                loan=loan, number=p.number, due_date=p.due_date,
                principal_due=p.principal, interest_due=p.interest,
            )
            for p in plan
        )
        total_interest = sum((p.interest for p in plan), ZERO)
        JournalEntry.objects.create(
            loan=loan, kind=EntryKind.DISBURSEMENT, business_date=disbursed_on,
            principal=amount, interest=total_interest, memo=f"schedule of {len(plan)} installments",
        )
        audit_record(
            actor=actor, action="loan.disburse", target=loan,
            after={"principal": amount, "product": product.code, "interest": total_interest,
                   "installments": len(plan)},
        )
    return loan


def _new_reference(disbursed_on: dt.date) -> str:
    import secrets

    return f"L{disbursed_on:%y%m%d}{secrets.token_hex(4).upper()}"


# --- Ageing: penalty interest and days past due for one business date -------------------------


@dataclass(frozen=True)
class AgeingResult:
    penalty_accrued: Decimal
    days_past_due: int
    stage: str
    already_aged: bool


def loan_age(*, loan_id: int, business_date: dt.date, actor: User | None = None) -> AgeingResult:
    """Close one business date for one loan: statuses, penalty accrual, days past due, stage.

    Idempotent per date: penalty accrues at most once per loan and date (a unique constraint
    backs this up), and the rest is recomputed from the same facts.
    """
    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan, installments = locked.loan, locked.installments
        if loan.status != LoanStatus.ACTIVE or (loan.aged_through and business_date < loan.aged_through):
            # Closed, or a later date already ran: an old date replayed must not move it back.
            return AgeingResult(ZERO, loan.days_past_due, loan.stage, already_aged=True)
        already = JournalEntry.objects.filter(
            loan_id=loan_id, kind=EntryKind.ACCRUAL, business_date=business_date
        ).exists() or (loan.aged_through is not None and loan.aged_through >= business_date)
        penalty = ZERO
        if not already:
            penalty = accrue_penalty(loan, installments, business_date)
            if penalty > 0:
                JournalEntry.objects.create(
                    loan=loan, kind=EntryKind.ACCRUAL, business_date=business_date, penalty=penalty,
                )
            loan.aged_through = max(loan.aged_through or business_date, business_date)
        changes = refresh_loan(loan, installments, business_date)
        locked.save()
        record_state_change(
            loan, changes, business_date=business_date, reason=f"close of business {business_date}", actor=actor
        )
    return AgeingResult(penalty, loan.days_past_due, loan.stage, already_aged=already)


def loans_needing_ageing(business_date: dt.date) -> QuerySet[Loan]:
    """Active loans with a bill whose date has come and is not paid: nothing else can change."""
    return Loan.objects.filter(
        status=LoanStatus.ACTIVE,
        installments__status__in=[InstallmentStatus.PENDING, InstallmentStatus.DUE, InstallmentStatus.OVERDUE],
        installments__due_date__lte=business_date,
    ).distinct()


# --- Payments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentResult:
    payment: Payment
    replayed: bool  # True when the idempotency key had already posted this payment


def payment_fingerprint(loan_id: int, amount: Decimal, channel: str, external_reference: str) -> str:
    """What makes two requests with one idempotency key "the same request"."""
    raw = f"{loan_id}|{amount}|{channel}|{external_reference}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _replay(borrower_id: int, key: str, fingerprint: str) -> Payment | None:
    existing = Payment.objects.filter(borrower_id=borrower_id, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            _("This request key was already used for a different payment; nothing was posted.")
        )
    return existing


@functools.cache
def _insert_payment_sql(vendor: str) -> tuple[str, tuple[Field[Any, Any], ...]]:
    meta = Payment._meta
    quote = transaction.get_connection().ops.quote_name
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    (key,) = [c for c in meta.constraints if c.name == "payment_idempotency_key_per_borrower"]
    columns = {f.name: f.column for f in fields}
    target = ", ".join(quote(columns[name]) for name in key.fields)  # type: ignore[attr-defined]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({target}) DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def insert_payment_once(payment: Payment) -> bool:
    """INSERT the payment unless its borrower already used its idempotency key: the key check
    and the insert in one statement (`ON CONFLICT (borrower, key) DO NOTHING`, PostgreSQL and
    SQLite). True when inserted, the payment then saved with its id; False when the key was
    taken, by a committed payment (on PostgreSQL the statement waits for a twin still in flight,
    so no error aborts the transaction and no savepoint is needed). Other constraints still raise.
    """
    connection = transaction.get_connection()
    sql, fields = _insert_payment_sql(connection.vendor)
    values = [f.get_db_prep_save(f.pre_save(payment, True), connection) for f in fields]
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    payment.pk = row[0]
    payment._state.adding = False
    payment._state.db = connection.alias
    return True


def apply_allocations(allocations: list[Allocated], kind: str, sign: int) -> Parts:
    """Add (sign=1) or take back (sign=-1) allocated parts on the installments' paid or waived
    columns; a reinstatement (sign=1) takes its parts off the written-off columns."""
    column = {
        AllocationKind.PAID: "paid", AllocationKind.WAIVED: "waived", AllocationKind.REINSTATED: "written_off",
    }[AllocationKind(kind)]
    if kind == AllocationKind.REINSTATED:
        sign = -sign
    total = Parts()
    for allocated in allocations:
        for component in COMPONENTS:
            amount = getattr(allocated.parts, component)
            field = f"{component}_{column}"
            setattr(allocated.installment, field, getattr(allocated.installment, field) + sign * amount)
        total = total + allocated.parts
    return total


def payment_post(
    *,
    loan_id: int,
    amount: Decimal | str,
    channel: str,
    idempotency_key: str,
    actor: User | None,
    business_date: dt.date,
    external_reference: str = "",
) -> PaymentResult:
    """Post a repayment: oldest bill first, fees → penalty → interest → principal.

    The same idempotency key with the same request returns the first payment and posts
    nothing; with a different request it is refused. Paying exactly the payoff quote
    settles the loan (later periods' interest is waived); paying more is refused.
    """
    value = parse_amount(amount)
    if channel not in Channel.values:
        raise NotAllowed(_("Unknown payment channel."))
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise NotAllowed(_("Each payment needs a request key of 1 to 100 characters."))
    fingerprint = payment_fingerprint(loan_id, value, channel, external_reference)

    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan, installments = locked.loan, locked.installments
        if loan.status == LoanStatus.WRITTEN_OFF:  # a recovery of bad debt: see write_off.py
            replay = _replay(loan.borrower_id, key, fingerprint)
            if replay is not None:
                return PaymentResult(replay, replayed=True)
            from .write_off import recovery_post_locked

            return recovery_post_locked(
                locked, value=value, channel=channel, key=key, fingerprint=fingerprint, actor=actor,
                business_date=business_date, external_reference=external_reference,
            )
        refusal: NotAllowed | InvalidAmount | None = None
        if loan.status != LoanStatus.ACTIVE:
            refusal = NotAllowed(
                _("This loan is %(status)s; it takes no payments.") % {"status": loan.get_status_display()}
            )
        else:
            try:
                plan = plan_payment(installments, value, business_date)
            except ValueError:
                refusal = InvalidAmount(
                    _("¥%(amount)s is more than the ¥%(payoff)s that settles this loan today.")
                    % {"amount": value, "payoff": payoff_quote(installments, business_date).amount}
                )
        if refusal is not None:
            # A retry of a payment that settled the loan is answered with it, not refused.
            replay = _replay(loan.borrower_id, key, fingerprint)
            if replay is not None:
                return PaymentResult(replay, replayed=True)
            raise refusal
        payment = Payment(
            loan=loan, borrower_id=loan.borrower_id, amount=value, channel=channel,
            idempotency_key=key, request_fingerprint=fingerprint, business_date=business_date,
            posted_by=actor, external_reference=external_reference,
        )
        if not insert_payment_once(payment):  # the key was used: this request before, or another
            replay = _replay(loan.borrower_id, key, fingerprint)
            if replay is None:
                raise IntegrityError("payment idempotency key taken but no payment found")
            return PaymentResult(replay, replayed=True)

        waived = apply_allocations(plan.waived, AllocationKind.WAIVED, +1)
        paid = apply_allocations(plan.paid, AllocationKind.PAID, +1)
        changes = refresh_loan(loan, installments, business_date)
        # Everything else in one round trip: allocations, journal, bills, loan, history, audit.
        batch = Batch()
        batch.insert(
            [Allocation(payment=payment, installment=a.installment, kind=AllocationKind.WAIVED, **vars(a.parts))
             for a in plan.waived]
            + [Allocation(payment=payment, installment=a.installment, kind=AllocationKind.PAID, **vars(a.parts))
               for a in plan.paid]
        )
        entries = [JournalEntry(
            loan=loan, kind=EntryKind.REPAYMENT, business_date=business_date, payment=payment,
            **{c: -getattr(paid, c) for c in COMPONENTS},
        )]
        if waived.total > 0:
            entries.append(JournalEntry(
                loan=loan, kind=EntryKind.WAIVER, business_date=business_date, payment=payment,
                memo="interest of later periods, waived on early settlement",
                **{c: -getattr(waived, c) for c in COMPONENTS},
            ))
        batch.insert(entries)
        locked.save_into(batch)
        history, events = state_change_rows(loan, changes, business_date=business_date, reason=f"payment {payment.pk}")
        batch.insert(history)
        batch.insert(events)
        batch.insert([audit_event(
            actor=actor, action="payment.post", target=payment,
            summary=f"¥{value} to {loan.reference} by {channel}",
            after={"loan": loan.reference, "amount": value, "channel": channel,
                   "paid": vars(paid), "waived": vars(waived), **{k: v[1] for k, v in changes.items()}},
        )])
        batch.write()
    return PaymentResult(payment, replayed=False)


def payment_reverse(
    *, payment_id: int, reason: str, actor: User | None, business_date: dt.date
) -> Payment:
    """Undo a posted payment (e.g. a bank transfer that bounced), restoring every part exactly."""
    reason = reason.strip()
    if not reason:
        raise NotAllowed(_("Give a reason for the reversal."))
    loan_id = Payment.objects.values_list("loan_id", flat=True).get(pk=payment_id)
    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan, installments = locked.loan, locked.installments
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status != PaymentStatus.POSTED:
            raise NotAllowed(_("This payment was already reversed."))
        by_id = {i.pk: i for i in installments}
        # Bills a restructuring replaced are history: money put back on them would owe nothing.
        if any(by_id[row.installment_id].status == InstallmentStatus.SUPERSEDED for row in payment.allocations.all()):
            raise NotAllowed(_(
                "This payment went to bills that a restructuring has since replaced, so it cannot be "
                "reversed automatically. Please ask a supervisor to correct the loan."
            ))
        restored = Parts()
        for row in payment.allocations.all():
            if row.kind == AllocationKind.REINSTATED:
                continue  # the reinstatement stands; what the recovery paid is written off again below
            parts = Parts(**{c: getattr(row, c) for c in COMPONENTS})
            restored = restored + apply_allocations([Allocated(by_id[row.installment_id], parts)], row.kind, -1)
        payment.status = PaymentStatus.REVERSED
        payment.reversed_at = timezone.now()
        payment.reversal_reason = reason[:300]
        payment.save(update_fields=["status", "reversed_at", "reversal_reason"])
        JournalEntry.objects.create(
            loan=loan, kind=EntryKind.REVERSAL, business_date=business_date, payment=payment,
            memo=reason[:200], **{c: getattr(restored, c) for c in COMPONENTS},
        )
        if loan.status == LoanStatus.WRITTEN_OFF:  # what the reversal put back is bad debt too
            from .write_off import write_off_after_reversal

            write_off_after_reversal(locked, payment=payment, business_date=business_date, actor=actor)
        changes = refresh_loan(loan, installments, business_date)
        locked.save()
        LoanEvent.objects.create(
            loan=loan, kind=LoanEventKind.PAYMENT_REVERSED, business_date=business_date,
            payload={"payment": payment.pk, "amount": payment.amount, "reason": reason[:200]},
        )
        record_state_change(
            loan, changes, business_date=business_date, reason=f"reversal of payment {payment.pk}",
            actor=actor, audit=False,
        )
        audit_record(
            actor=actor, action="payment.reverse", target=payment, summary=reason,
            before={"status": PaymentStatus.POSTED}, after={"status": PaymentStatus.REVERSED,
            "restored": vars(restored), **{k: v[1] for k, v in changes.items()}},
        )
    return payment


# --- Waivers -----------------------------------------------------------------------------------


def loan_waive(
    *,
    loan_id: int,
    reason: str,
    actor: User | None,
    business_date: dt.date,
    interest: Decimal = ZERO,
    penalty: Decimal = ZERO,
    fees: Decimal = ZERO,
) -> JournalEntry:
    """Forgive part of the interest, penalty or fees owed, oldest bill first."""
    wanted = Parts(fees=fees, penalty=penalty, interest=interest)
    if any(
        getattr(wanted, c) < 0 or getattr(wanted, c) != getattr(wanted, c).quantize(Decimal("0.01"))
        for c in ("fees", "penalty", "interest")
    ):
        raise InvalidAmount(_("Waived amounts must be zero or more, in fen."))
    if wanted.total == 0:
        raise InvalidAmount(_("Nothing to waive."))
    if not reason.strip():
        raise NotAllowed(_("Give a reason for the waiver."))
    with transaction.atomic():
        locked = lock_loan(loan_id)
        loan, installments = locked.loan, locked.installments
        unpaid = open_installments(installments)
        waived: list[Allocated] = []
        for component in ("fees", "penalty", "interest"):
            remaining = getattr(wanted, component)
            if remaining > sum((i.outstanding(component) for i in unpaid), ZERO):
                raise InvalidAmount(_("You cannot waive more %(part)s than is owed.") % {"part": _(component)})
            for installment in unpaid:
                take = min(remaining, installment.outstanding(component))
                if take > 0:
                    waived.append(Allocated(installment, Parts(**{component: take})))
                    remaining -= take
        total = apply_allocations(waived, AllocationKind.WAIVED, +1)
        entry = JournalEntry.objects.create(
            loan=loan, kind=EntryKind.WAIVER, business_date=business_date, memo=reason[:200],
            **{c: -getattr(total, c) for c in COMPONENTS},
        )
        changes = refresh_loan(loan, installments, business_date)
        locked.save()
        record_state_change(loan, changes, business_date=business_date, reason="waiver", actor=actor, audit=False)
        audit_record(
            actor=actor, action="loan.waive", target=loan, summary=reason,
            after={"waived": vars(total), **{k: v[1] for k, v in changes.items()}},
        )
    return entry
