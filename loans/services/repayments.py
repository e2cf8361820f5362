"""The borrower's way to pay: intents (choose, confirm, succeed or fail) and bank statements."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import secrets
import uuid
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from portal.audit import audit_record
from portal.errors import DomainError, IdempotencyKeyReused, InvalidAmount, NotAllowed
from portal.models import User
from portal.money import parse_amount

from ..models import (
    BankStatementImport,
    BankStatementLine,
    Channel,
    IntentStatus,
    Loan,
    LoanStatus,
    PaymentIntent,
    RepayMethod,
    RepayOption,
    StatementLineStatus,
)
from ..providers import get_provider
from ..selectors import repay_amounts
from .book import payment_post

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
REFERENCE_PATTERN = re.compile(r"\bRP[0-9A-HJKMNP-TV-Z]{8}\b")


def _new_reference_code() -> str:
    return "RP" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def _transition(intent: PaymentIntent, to: str) -> None:
    if to not in PaymentIntent.TRANSITIONS.get(intent.status, set()):
        raise NotAllowed(
            _("This payment is %(status)s and cannot change now.") % {"status": intent.get_status_display()}
        )
    intent.status = to


def _move(intent: PaymentIntent, to: str, *, actor: User | None, action: str, **changes: object) -> PaymentIntent:
    """Move a locked intent to `to`, set `changes`, save and audit: every transition goes here."""
    before = intent.status
    _transition(intent, to)
    for name, value in changes.items():
        setattr(intent, name, value)
    intent.save(update_fields=["status", *changes, "updated_at"])
    audit_record(actor=actor, action=action, target=intent,
                 before={"status": before}, after={"status": intent.status, **changes})
    return intent


def repayment_amount(
    *, loan: Loan, option: str, business_date: dt.date, custom_amount: str | Decimal | None = None
) -> Decimal:
    """What one choice of the repay page (or the API) asks for today. Amounts of the fixed
    options are computed from today's bills; only a custom amount comes from the borrower.
    Refuses a choice with nothing to pay and anything above the payoff quote."""
    amounts = repay_amounts(loan=loan, as_of=business_date)
    if option == RepayOption.CUSTOM:
        amount = parse_amount(custom_amount if custom_amount is not None else "")
    else:
        amount = amounts.get(option) or Decimal(0)
        if amount <= 0:
            raise NotAllowed(_("There is nothing to pay for this choice today."))
    if amount > amounts[RepayOption.PAYOFF]:
        raise InvalidAmount(
            _("¥%(amount)s is more than the ¥%(payoff)s that settles this loan today.")
            % {"amount": amount, "payoff": amounts[RepayOption.PAYOFF]}
        )
    return amount


def _same_choice(
    intent: PaymentIntent, *, borrower_id: int, loan_id: int, option: str, method: str,
    custom_amount: str | Decimal | None,
) -> PaymentIntent:
    """An intent made earlier under the same public id (a retried API request): the same
    choice returns it unchanged; anything else is refused and changes nothing."""
    same = (
        intent.borrower_id == borrower_id and intent.loan_id == loan_id
        and intent.option == option and intent.method == method
    )
    if same and option == RepayOption.CUSTOM:
        try:
            same = parse_amount(custom_amount if custom_amount is not None else "") == intent.amount
        except DomainError:
            same = False
    if not same:
        raise IdempotencyKeyReused(
            _("This request key was already used for a different payment; nothing was posted.")
        )
    return intent


def payment_intent_create(
    *,
    borrower_id: int,
    loan_id: int,
    option: str,
    method: str,
    business_date: dt.date,
    actor: User | None,
    custom_amount: str | Decimal | None = None,
    public_id: uuid.UUID | None = None,
) -> PaymentIntent:
    """Record what the borrower chose to pay (amount: `repayment_amount`).

    `public_id`, when given, is the intent's id and so its payment's idempotency key: the API
    derives it from the request's Idempotency-Key. Asked again with the same id and choice, the
    existing intent is returned and nothing is written; with another choice it is refused."""
    if option not in RepayOption.values or method not in RepayMethod.values:
        raise NotAllowed(_("Choose what to pay and how."))
    if public_id is not None:
        earlier = PaymentIntent.objects.filter(public_id=public_id).first()
        if earlier is not None:
            return _same_choice(earlier, borrower_id=borrower_id, loan_id=loan_id, option=option,
                                method=method, custom_amount=custom_amount)
    loan = Loan.objects.filter(pk=loan_id, borrower_id=borrower_id).first()
    if loan is None or loan.status != LoanStatus.ACTIVE:
        raise NotAllowed(_("This loan takes no payments."))
    amount = repayment_amount(loan=loan, option=option, business_date=business_date, custom_amount=custom_amount)
    for _attempt in range(5):  # a reference code collision is rare; draw again
        try:
            with transaction.atomic():
                intent = PaymentIntent.objects.create(
                    loan=loan, borrower_id=borrower_id, amount=amount, option=option, method=method,
                    reference_code=_new_reference_code(), **({"public_id": public_id} if public_id else {}),
                )
                audit_record(actor=actor, action="payment_intent.create", target=intent,
                             after={"amount": amount, "option": option, "method": method,
                                    "loan": loan.reference})
                return intent
        except IntegrityError:
            if public_id is not None:  # a twin with the same id committed first
                earlier = PaymentIntent.objects.filter(public_id=public_id).first()
                if earlier is not None:
                    return _same_choice(earlier, borrower_id=borrower_id, loan_id=loan_id, option=option,
                                        method=method, custom_amount=custom_amount)
            continue
    raise RuntimeError("could not draw a unique transfer reference")


def payment_intent_confirm(*, intent_id: int, actor: User | None) -> PaymentIntent:
    """The borrower confirms. A second click or a reload finds it confirmed and changes nothing."""
    with transaction.atomic():
        intent = PaymentIntent.objects.select_for_update().get(pk=intent_id)
        if intent.status != IntentStatus.CREATED:
            return intent
        if intent.method == RepayMethod.ONLINE:
            return _move(intent, IntentStatus.PROCESSING, actor=actor, action="payment_intent.confirm",
                         provider=get_provider().name)
        return _move(intent, IntentStatus.AWAITING_TRANSFER, actor=actor, action="payment_intent.confirm")


def payment_intent_succeed(
    *,
    intent_id: int,
    business_date: dt.date,
    provider_reference: str = "",
    amount: Decimal | None = None,
    actor: User | None = None,
) -> PaymentIntent:
    """Money arrived: post the payment (once: the intent is the idempotency key).

    When the loan no longer accepts the amount (paid meanwhile by other means), the intent
    fails with the reason, for staff to refund.
    """
    with transaction.atomic():
        intent = PaymentIntent.objects.select_for_update().get(pk=intent_id)
        if intent.status == IntentStatus.SUCCEEDED:
            return intent
        received = intent.amount if amount is None else amount
        channel = Channel.BANK_TRANSFER if intent.method == RepayMethod.BANK_TRANSFER else Channel.WEB
        try:
            with transaction.atomic():
                result = payment_post(
                    loan_id=intent.loan_id, amount=received, channel=channel,
                    idempotency_key=intent.idempotency_key, actor=actor, business_date=business_date,
                    external_reference=provider_reference,
                )
        except DomainError as refused:
            if intent.method == RepayMethod.BANK_TRANSFER:
                raise  # the statement import keeps the line for review
            return _move(intent, IntentStatus.FAILED, actor=actor, action="payment_intent.fail",
                         failure_reason=str(refused)[:300])
        return _move(intent, IntentStatus.SUCCEEDED, actor=actor, action="payment_intent.succeed",
                     provider_reference=provider_reference[:100], payment_id=result.payment.pk)


def payment_intent_fail(*, intent_id: int, reason: str, actor: User | None = None) -> PaymentIntent:
    with transaction.atomic():
        intent = PaymentIntent.objects.select_for_update().get(pk=intent_id)
        if intent.status == IntentStatus.FAILED:
            return intent
        return _move(intent, IntentStatus.FAILED, actor=actor, action="payment_intent.fail",
                     failure_reason=reason[:300])


def payment_intent_cancel(*, intent_id: int, actor: User | None) -> PaymentIntent:
    with transaction.atomic():
        intent = PaymentIntent.objects.select_for_update().get(pk=intent_id)
        if intent.status == IntentStatus.CANCELLED:
            return intent
        return _move(intent, IntentStatus.CANCELLED, actor=actor, action="payment_intent.cancel")


def sandbox_checkout_submit(*, intent_id: int, pay: bool) -> None:
    """The sandbox bank page's answer: confirmed asynchronously, like a provider's callback."""
    outcome = "pay" if pay else "decline"
    transaction.on_commit(lambda: async_task("loans.tasks.settle_sandbox_payment", intent_id, outcome))


# --- Bank statements ---------------------------------------------------------------------------

STATEMENT_COLUMNS = ("transaction_id", "value_date", "amount", "payer", "reference")


class StatementRejected(DomainError):
    code = "statement_rejected"


def _parse_statement(content: bytes) -> list[dict[str, object]]:
    """All lines or none: a malformed file is refused whole, naming the bad lines."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StatementRejected(_("The statement must be a UTF-8 CSV file.")) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in STATEMENT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise StatementRejected(
            _("The statement has no column(s): %(columns)s.") % {"columns": ", ".join(missing)}
        )
    rows, problems = [], []
    for number, row in enumerate(reader, start=2):
        try:
            transaction_id = (row["transaction_id"] or "").strip()[:64]
            if not transaction_id:
                raise ValueError("no transaction id")
            rows.append({
                "line_number": number,
                "bank_transaction_id": transaction_id,
                "value_date": dt.date.fromisoformat((row["value_date"] or "").strip()),
                "amount": parse_amount(row["amount"]),
                "payer": (row["payer"] or "").strip()[:120],
                "reference_text": (row["reference"] or "").strip()[:200],
            })
        except (ValueError, DomainError):
            problems.append(str(number))
    if problems:
        raise StatementRejected(
            _("Nothing was imported: line(s) %(lines)s have a missing id, a bad date (YYYY-MM-DD) or a bad amount.")
            % {"lines": ", ".join(problems[:20])}
        )
    return rows


def bank_statement_import(
    *, file_name: str, content: bytes, actor: User, business_date: dt.date
) -> BankStatementImport:
    """Import a bank statement: every line is kept; lines quoting a transfer reference post a
    payment once (the bank's transaction id is the idempotency key); the rest wait for staff."""
    rows = _parse_statement(content)
    with transaction.atomic():
        statement = BankStatementImport.objects.create(
            uploaded_by=actor, file_name=file_name[:200], sha256=hashlib.sha256(content).hexdigest(),
            line_count=len(rows),
        )
        already = set(
            BankStatementLine.objects.filter(
                bank_transaction_id__in=[r["bank_transaction_id"] for r in rows]
            ).exclude(status=StatementLineStatus.DUPLICATE).values_list("bank_transaction_id", flat=True)
        )
        codes = {
            m.group(0) for r in rows if (m := REFERENCE_PATTERN.search(str(r["reference_text"]).upper()))
        }
        intents = {i.reference_code: i for i in PaymentIntent.objects.filter(reference_code__in=codes)}
        lines = []
        for row in rows:
            line = BankStatementLine(statement=statement, **row)  # type: ignore[arg-type]
            match = REFERENCE_PATTERN.search(str(row["reference_text"]).upper())
            intent = intents.get(match.group(0)) if match else None
            if line.bank_transaction_id in already:
                line.status = StatementLineStatus.DUPLICATE
                line.note = "already imported"
            elif intent is None:
                line.status = StatementLineStatus.UNMATCHED
            else:
                line.intent = intent
                try:
                    with transaction.atomic():
                        posted = payment_post(
                            loan_id=intent.loan_id, amount=line.amount, channel=Channel.BANK_TRANSFER,
                            idempotency_key=f"bank-{line.bank_transaction_id}", actor=actor,
                            business_date=business_date, external_reference=line.bank_transaction_id,
                        )
                        if intent.status == IntentStatus.AWAITING_TRANSFER:
                            intent.status = IntentStatus.SUCCEEDED
                            intent.payment = posted.payment
                            intent.save(update_fields=["status", "payment", "updated_at"])
                    line.payment = posted.payment
                    line.status = StatementLineStatus.POSTED
                except DomainError as refused:
                    line.status = StatementLineStatus.NEEDS_REVIEW
                    line.note = str(refused)[:300]
            already.add(line.bank_transaction_id)
            lines.append(line)
        BankStatementLine.objects.bulk_create(lines)
        statement.posted_count = sum(1 for line in lines if line.status == StatementLineStatus.POSTED)
        statement.unmatched_count = sum(
            1 for line in lines if line.status in (StatementLineStatus.UNMATCHED, StatementLineStatus.NEEDS_REVIEW)
        )
        statement.save(update_fields=["posted_count", "unmatched_count"])
        audit_record(actor=actor, action="bank_statement.import", target=statement, summary=file_name,
                     after={"lines": len(lines), "posted": statement.posted_count,
                            "unmatched": statement.unmatched_count})
    return statement
