"""The loan book: borrowers, products, loans, installments, payments and the journal.

Amounts change only through `loans.services`; these models hold the tables, their
constraints and small derived values.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.append_only import AppendOnlyModel
from portal.constraints import choices_constraint
from portal.masking import mask_mobile, mask_national_id
from portal.money import ZERO, MoneyField, RateField

from .validators import validate_mainland_mobile, validate_national_id

COMPONENTS = ("fees", "penalty", "interest", "principal")  # allocation order (Civil Code art. 561)
# The columns of one part of a bill: (due, paid, waived, written off).
_PART_COLUMNS = {c: (f"{c}_due", f"{c}_paid", f"{c}_waived", f"{c}_written_off") for c in COMPONENTS}



class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class Segment(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    SMALL_BUSINESS = "small_business", _("Small-business owner")


class Borrower(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
        related_name="borrower",
    )
    real_name = models.CharField(_("real name"), max_length=60)
    national_id = models.CharField(
        _("national ID"), max_length=18, unique=True, validators=[validate_national_id]
    )
    mobile = models.CharField(
        _("mobile number"), max_length=11, unique=True, validators=[validate_mainland_mobile]
    )
    segment = models.CharField(
        _("segment"), max_length=20, choices=Segment.choices, default=Segment.INDIVIDUAL
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=Language.choices, default=Language.ZH_HANS
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("borrower")
        verbose_name_plural = _("borrowers")
        permissions = [("reveal_identity", _("Can see full national ID and mobile number"))]
        constraints = [
            choices_constraint("borrower_segment_valid", "segment", Segment),
            choices_constraint("borrower_language_valid", "preferred_language", Language),
        ]

    def __str__(self) -> str:
        return f"{self.real_name} ({self.masked_mobile})"

    @property
    def masked_national_id(self) -> str:
        return mask_national_id(self.national_id)

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.mobile)


class RepaymentMethod(models.TextChoices):
    EQUAL_INSTALLMENT = "equal_installment", _("Equal installment")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")


class Product(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    annual_rate = RateField(_("annual interest rate"), help_text=_("As a fraction: 0.18 = 18 %."))
    penalty_rate = RateField(
        _("annual penalty rate"), blank=True,
        help_text=_("As a fraction. Left empty, the contract rate × 1.5."),
    )
    repayment_method = models.CharField(
        _("repayment method"), max_length=20, choices=RepaymentMethod.choices
    )
    term_months = models.PositiveSmallIntegerField(_("term in months"))
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=3)
    extension_days = models.PositiveSmallIntegerField(
        _("interest-free extension days"), default=30
    )
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        constraints = [
            choices_constraint("product_method_valid", "repayment_method", RepaymentMethod),
            models.CheckConstraint(
                condition=Q(annual_rate__gte=0, annual_rate__lt=1), name="product_rate_range"
            ),
            models.CheckConstraint(condition=Q(penalty_rate__gte=0), name="product_penalty_rate_gte_0"),
            models.CheckConstraint(
                condition=Q(term_months__gte=1, term_months__lte=360), name="product_term_range"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        if self.penalty_rate is None:
            self.penalty_rate = (
                Decimal(self.annual_rate) * settings.PORTAL_DEFAULT_PENALTY_FACTOR
            ).quantize(Decimal("0.000001"))
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SETTLED = "settled", _("Settled")
    WRITTEN_OFF = "written_off", _("Written off (bad debt)")


class Stage(models.TextChoices):
    """Delinquency stage by days past due; thresholds are settings (DESIGN.md)."""

    CURRENT = "current", _("Current")
    REMINDER = "reminder", _("Reminder (1–29 days)")
    COLLECTIONS = "collections", _("Collections (30+ days)")
    NON_PERFORMING = "non_performing", _("Non-performing (90+ days)")
    WRITE_OFF_CANDIDATE = "write_off_candidate", _("Write-off candidate (180+ days)")


class Loan(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True)
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="loans"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="loans"
    )
    # Contract terms are copied from the product at disbursement: later product edits never
    # change a signed contract.
    principal = MoneyField(_("amount lent"))
    annual_rate = RateField(_("annual interest rate"))
    penalty_rate = RateField(_("annual penalty rate"))
    repayment_method = models.CharField(
        _("repayment method"), max_length=20, choices=RepaymentMethod.choices
    )
    term_months = models.PositiveSmallIntegerField(_("term in months"))
    grace_days = models.PositiveSmallIntegerField(_("grace days"))
    disbursed_on = models.DateField(_("disbursed on"))
    status = models.CharField(
        _("status"), max_length=20, choices=LoanStatus.choices, default=LoanStatus.ACTIVE
    )
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices, default=Stage.CURRENT)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    # Last business date whose penalty accrual and ageing ran for this loan.
    aged_through = models.DateField(_("aged through"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        constraints = [
            choices_constraint("loan_status_valid", "status", LoanStatus),
            choices_constraint("loan_stage_valid", "stage", Stage),
            choices_constraint("loan_method_valid", "repayment_method", RepaymentMethod),
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_gt_0"),
        ]
        indexes = [models.Index(fields=["stage", "status"])]

    def __str__(self) -> str:
        return self.reference


class InstallmentStatus(models.TextChoices):
    PENDING = "pending", _("Not yet due")
    DUE = "due", _("Due (in grace period)")
    OVERDUE = "overdue", _("Overdue")
    PAID = "paid", _("Paid")
    SUPERSEDED = "superseded", _("Superseded by a new schedule")
    # Nothing owed on the books because what was left is written off (bad debt); it becomes
    # "paid" once recoveries have covered every written-off fen (loans.services.write_off).
    WRITTEN_OFF = "written_off", _("Written off (bad debt)")


class Installment(models.Model):
    """One dated bill of a loan's schedule, with what was charged, paid, waived and written off
    of each part. Outstanding = due − paid − waived − written off; the written-off columns are
    non-zero only on written-off loans (loans.services.write_off explains the books)."""

    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="installments"
    )
    number = models.PositiveSmallIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=12, choices=InstallmentStatus.choices,
        default=InstallmentStatus.PENDING,
    )
    principal_due = MoneyField(_("principal due"))
    interest_due = MoneyField(_("interest due"))
    penalty_due = MoneyField(_("penalty interest charged"))
    fees_due = MoneyField(_("fees charged"))
    principal_paid = MoneyField(_("principal paid"))
    interest_paid = MoneyField(_("interest paid"))
    penalty_paid = MoneyField(_("penalty paid"))
    fees_paid = MoneyField(_("fees paid"))
    principal_waived = MoneyField(_("principal waived"))
    interest_waived = MoneyField(_("interest waived"))
    penalty_waived = MoneyField(_("penalty waived"))
    fees_waived = MoneyField(_("fees waived"))
    principal_written_off = MoneyField(_("principal written off"))
    interest_written_off = MoneyField(_("interest written off"))
    penalty_written_off = MoneyField(_("penalty written off"))
    fees_written_off = MoneyField(_("fees written off"))
    # First business date on which this bill was past its grace days; kept once set, because
    # "was ever overdue" decides the first-time-overdue extension.
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)
    settled_on = models.DateField(_("settled on"), null=True, blank=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["loan_id", "due_date", "number"]
        constraints = [
            choices_constraint("installment_status_valid", "status", InstallmentStatus),
            models.UniqueConstraint(
                fields=["loan", "number"],
                condition=~Q(status="superseded"),
                name="installment_number_unique_in_schedule",
            ),
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{c}_paid__gte": 0, f"{c}_waived__gte": 0, f"{c}_due__gte": 0,
                                   f"{c}_written_off__gte": 0})
                    # Rounded to the fen: SQLite adds these as doubles (166.18 + 0.02 is
                    # 166.20000000000002 there); PostgreSQL's numeric is exact either way.
                    & Q(**{f"{c}_due__gte": Round(
                        F(f"{c}_paid") + F(f"{c}_waived") + F(f"{c}_written_off"), 2
                    )}),
                    name=f"installment_{c}_within_due",
                )
                for c in COMPONENTS
            ],
        ]
        indexes = [
            # Ageing touches only open bills whose date has come: never a scan of the book.
            # Carries the loan id so the close of business finds its loans from the index alone.
            models.Index(
                fields=["due_date", "loan"], condition=Q(status__in=["pending", "due", "overdue"]),
                name="installment_open_due_loan_idx",
            ),
            # The dashboard's recovery curve: bills that ever went overdue, by due date (a few
            # percent of the book).
            models.Index(
                fields=["due_date"], condition=Q(overdue_since__isnull=False),
                name="installment_overdue_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} #{self.number} {self.due_date}"

    def outstanding(self, component: str) -> Decimal:
        due, paid, waived, written_off = _PART_COLUMNS[component]
        return getattr(self, due) - getattr(self, paid) - getattr(self, waived) - getattr(self, written_off)

    @property
    def penalty_outstanding(self) -> Decimal:
        return self.outstanding("penalty")

    @property
    def total_outstanding(self) -> Decimal:
        # Spelt out: a payment asks this about every bill several times (exact: Decimal sums).
        return (
            ZERO + self.fees_due + self.penalty_due + self.interest_due + self.principal_due
            - self.fees_paid - self.penalty_paid - self.interest_paid - self.principal_paid
            - self.fees_waived - self.penalty_waived - self.interest_waived - self.principal_waived
            - self.fees_written_off - self.penalty_written_off - self.interest_written_off
            - self.principal_written_off
        )

    @property
    def has_write_off(self) -> bool:
        return any(getattr(self, f"{c}_written_off") for c in COMPONENTS)

    @property
    def total_due(self) -> Decimal:
        return sum((getattr(self, f"{c}_due") for c in COMPONENTS), ZERO)


class Channel(models.TextChoices):
    APP = "app", _("Mobile app")
    WEB = "web", _("Website")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    AGENT = "agent", _("Collected by an agent")
    COURT = "court", _("Court enforcement")


class PaymentStatus(models.TextChoices):
    POSTED = "posted", _("Posted")
    REVERSED = "reversed", _("Reversed")


class Payment(models.Model):
    loan = models.ForeignKey(
        Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="payments"
    )
    # Copied from the loan so that idempotency keys can be unique per borrower in the database.
    borrower = models.ForeignKey(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="payments"
    )
    amount = MoneyField(_("amount"), default=None)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    request_fingerprint = models.CharField(max_length=64, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.POSTED
    )
    business_date = models.DateField(_("business date"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("posted by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    external_reference = models.CharField(_("external reference"), max_length=100, blank=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversal_reason = models.CharField(_("reversal reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["borrower", "idempotency_key"], name="payment_idempotency_key_per_borrower"
            ),
            choices_constraint("payment_channel_valid", "channel", Channel),
            choices_constraint("payment_status_valid", "status", PaymentStatus),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.loan} ¥{self.amount} {self.get_channel_display()}"


class AllocationKind(models.TextChoices):
    PAID = "paid", _("Paid")
    WAIVED = "waived", _("Waived on settlement")
    # A recovery on a written-off loan first takes its amount off the bills' written-off
    # columns (these rows), then pays it (PAID rows of the same parts).
    REINSTATED = "reinstated", _("Reinstated from written off for a recovery")


class Allocation(AppendOnlyModel):
    """How much of one payment went to each part of one installment; a reversal undoes exactly this."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=AllocationKind.choices)
    fees = MoneyField(_("fees"))
    penalty = MoneyField(_("penalty interest"))
    interest = MoneyField(_("interest"))
    principal = MoneyField(_("principal"))

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["payment_id", "id"]
        constraints = [
            choices_constraint("allocation_kind_valid", "kind", AllocationKind),
            models.CheckConstraint(
                condition=Q(fees__gte=0, penalty__gte=0, interest__gte=0, principal__gte=0),
                name="allocation_parts_gte_0",
            ),
        ]

    @property
    def total(self) -> Decimal:
        return self.fees + self.penalty + self.interest + self.principal


class EntryKind(models.TextChoices):
    DISBURSEMENT = "disbursement", _("Disbursement")
    ACCRUAL = "accrual", _("Penalty interest accrual")
    REPAYMENT = "repayment", _("Repayment")
    WAIVER = "waiver", _("Waiver")
    RESTRUCTURING = "restructuring", _("Restructuring")
    WRITE_OFF = "write_off", _("Write-off")
    REVERSAL = "reversal", _("Reversal")
    # Puts written-off amounts back on the books just before a recovery pays them.
    REINSTATEMENT = "reinstatement", _("Written-off amount reinstated for a recovery")


class JournalEntry(AppendOnlyModel):
    """One money movement on a loan, as signed changes to what the borrower owes.

    A disbursement adds the principal and the contractual interest; accruals add penalty;
    repayments, waivers and write-offs subtract; a reversal adds back what its payment took; a
    reinstatement adds back written-off amounts that a recovery's repayment then subtracts.
    The sum of all entries of a loan equals the outstanding of its installments.
    """

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="journal")
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    business_date = models.DateField(_("business date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest"))
    penalty = MoneyField(_("penalty interest"))
    fees = MoneyField(_("fees"))
    memo = models.CharField(_("memo"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["loan_id", "id"]
        constraints = [
            choices_constraint("journal_kind_valid", "kind", EntryKind),
            # Penalty accrues at most once per loan and business date, whatever retries happen.
            models.UniqueConstraint(
                fields=["loan", "business_date"], condition=Q(kind="accrual"),
                name="journal_one_accrual_per_loan_and_date",
            ),
            models.UniqueConstraint(
                fields=["payment", "kind"], condition=Q(payment__isnull=False),
                name="journal_one_entry_per_payment_and_kind",
            ),
        ]
        indexes = [
            # The dashboard's restructured loans of a period: a few rows among millions.
            models.Index(
                fields=["business_date", "loan"], condition=Q(kind="restructuring"),
                name="journal_restructuring_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.kind} {self.business_date}"

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.penalty + self.fees


class RepayOption(models.TextChoices):
    OVERDUE = "overdue", _("Everything due now")
    NEXT_BILL = "next_bill", _("Due now plus the next bill")
    PAYOFF = "payoff", _("Settle the whole loan")
    CUSTOM = "custom", _("Another amount")


class RepayMethod(models.TextChoices):
    ONLINE = "online", _("Pay online")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")


class IntentStatus(models.TextChoices):
    CREATED = "created", _("Waiting for your confirmation")
    PROCESSING = "processing", _("Being processed by the payment provider")
    AWAITING_TRANSFER = "awaiting_transfer", _("Waiting for your bank transfer")
    SUCCEEDED = "succeeded", _("Payment received")
    FAILED = "failed", _("Not paid")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentIntent(models.Model):
    """A borrower's decision to pay an amount by a method, before the money arrives.

    The intent's id is the payment's idempotency key: however often the confirmation is
    clicked, reloaded or retried, one payment posts.
    """

    TRANSITIONS: dict[str, set[str]] = {
        IntentStatus.CREATED: {IntentStatus.PROCESSING, IntentStatus.AWAITING_TRANSFER, IntentStatus.CANCELLED},
        IntentStatus.PROCESSING: {IntentStatus.SUCCEEDED, IntentStatus.FAILED},
        IntentStatus.AWAITING_TRANSFER: {IntentStatus.SUCCEEDED, IntentStatus.CANCELLED},
    }

    public_id = models.UUIDField(_("public id"), unique=True, default=uuid.uuid4, editable=False)
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="intents")
    borrower = models.ForeignKey(Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("amount"), default=None)
    option = models.CharField(_("what to pay"), max_length=12, choices=RepayOption.choices)
    method = models.CharField(_("method"), max_length=16, choices=RepayMethod.choices)
    status = models.CharField(_("status"), max_length=20, choices=IntentStatus.choices, default=IntentStatus.CREATED)
    # Quoted on bank transfers so the statement line finds its intent; unique, never reused.
    reference_code = models.CharField(_("transfer reference"), max_length=12, unique=True)
    provider = models.CharField(_("provider"), max_length=30, blank=True)
    provider_reference = models.CharField(_("provider reference"), max_length=100, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=300, blank=True)
    payment = models.OneToOneField(
        Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="intent"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("payment intent")
        verbose_name_plural = _("payment intents")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_constraint("intent_status_valid", "status", IntentStatus),
            choices_constraint("intent_option_valid", "option", RepayOption),
            choices_constraint("intent_method_valid", "method", RepayMethod),
            models.CheckConstraint(condition=Q(amount__gt=0), name="intent_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.reference_code} ¥{self.amount} {self.status}"

    @property
    def idempotency_key(self) -> str:
        return f"intent-{self.public_id}"


class Extension(models.Model):
    """The one-time interest-free extension (免息延期): at most one per borrower, ever."""

    borrower = models.OneToOneField(
        Borrower, verbose_name=_("borrower"), on_delete=models.PROTECT, related_name="extension"
    )
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="extensions")
    business_date = models.DateField(_("granted on"))
    days = models.PositiveSmallIntegerField(_("days"))
    new_due_date = models.DateField(_("new due date"))
    # The deferred bills with their dates before the extension: [{"installment": id, "due_date": "..."}].
    deferred = models.JSONField(_("deferred bills"))
    penalty_waived = MoneyField(_("penalty waived"))
    interest_not_charged = MoneyField(_("interest not charged for the deferral"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("interest-free extension")
        verbose_name_plural = _("interest-free extensions")

    def __str__(self) -> str:
        return f"{self.loan} → {self.new_due_date}"


class StatementLineStatus(models.TextChoices):
    POSTED = "posted", _("Posted to a loan")
    UNMATCHED = "unmatched", _("No matching transfer reference")
    NEEDS_REVIEW = "needs_review", _("Matched, but the payment was refused")
    DUPLICATE = "duplicate", _("Already imported")


class BankStatementImport(models.Model):
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    file_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    posted_count = models.PositiveIntegerField(_("posted"), default=0)
    unmatched_count = models.PositiveIntegerField(_("unmatched"), default=0)

    class Meta:
        verbose_name = _("bank statement import")
        verbose_name_plural = _("bank statement imports")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.uploaded_at:%Y-%m-%d %H:%M})"


class BankStatementLine(models.Model):
    """Every line of every imported statement is kept, matched or not: nothing is lost."""

    statement = models.ForeignKey(
        BankStatementImport, verbose_name=_("statement"), on_delete=models.PROTECT, related_name="lines"
    )
    line_number = models.PositiveIntegerField(_("line"))
    bank_transaction_id = models.CharField(_("bank transaction id"), max_length=64)
    value_date = models.DateField(_("value date"))
    amount = MoneyField(_("amount"), default=None)
    payer = models.CharField(_("payer"), max_length=120, blank=True)
    reference_text = models.CharField(_("reference text"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=14, choices=StatementLineStatus.choices)
    intent = models.ForeignKey(
        PaymentIntent,
        verbose_name=_("payment intent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("bank statement line")
        verbose_name_plural = _("bank statement lines")
        ordering = ["statement_id", "line_number"]
        constraints = [
            choices_constraint("statement_line_status_valid", "status", StatementLineStatus),
            # The bank's id is unique once imported; repeats are kept as duplicates, never posted twice.
            models.UniqueConstraint(
                fields=["bank_transaction_id"], condition=~Q(status="duplicate"),
                name="statement_line_bank_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank_transaction_id} ¥{self.amount} {self.status}"


class StageChange(AppendOnlyModel):
    """Every move of a loan between delinquency stages, kept for ever (never updated or deleted)."""

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="stage_changes")
    from_stage = models.CharField(_("from"), max_length=24, choices=Stage.choices)
    to_stage = models.CharField(_("to"), max_length=24, choices=Stage.choices)
    business_date = models.DateField(_("business date"))
    days_past_due = models.PositiveIntegerField(_("days past due"))
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["loan_id", "id"]
        constraints = [
            choices_constraint("stage_change_from_valid", "from_stage", Stage),
            choices_constraint("stage_change_to_valid", "to_stage", Stage),
            models.CheckConstraint(condition=~Q(from_stage=F("to_stage")), name="stage_change_moves"),
        ]
        indexes = [models.Index(fields=["business_date", "to_stage"])]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.from_stage} → {self.to_stage} ({self.business_date})"


class LoanEventKind(models.TextChoices):
    STAGE_CHANGED = "stage_changed", _("Stage changed")
    STATUS_CHANGED = "status_changed", _("Status changed")
    PAYMENT_REVERSED = "payment_reversed", _("Payment reversed")
    PROMISE_BROKEN = "promise_broken", _("Promise to pay broken")
    PROMISE_KEPT = "promise_kept", _("Promise to pay kept")
    CASE_OPENED = "case_opened", _("Collection case opened")
    CASE_CLOSED = "case_closed", _("Collection case closed")


class LoanEvent(AppendOnlyModel):
    """The state-change outbox: written in the transaction of the change, read by consumers
    (alerts, and later the credit-bureau run) in id order, at least once."""

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("kind"), max_length=24, choices=LoanEventKind.choices)
    business_date = models.DateField(_("business date"))
    payload = models.JSONField(_("details"), default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("loan event")
        verbose_name_plural = _("loan events")
        ordering = ["id"]
        constraints = [choices_constraint("loan_event_kind_valid", "kind", LoanEventKind)]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.loan_id}"


class OutboxCursor(models.Model):
    """How far one consumer has read the loan-event outbox."""

    consumer = models.CharField(_("consumer"), max_length=40, unique=True)
    last_event_id = models.BigIntegerField(_("last event read"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("outbox cursor")
        verbose_name_plural = _("outbox cursors")

    def __str__(self) -> str:
        return f"{self.consumer} @ {self.last_event_id}"


# --- Write-off to bad debt (loans.services.write_off) -------------------------------------------


class WriteOffKind(models.TextChoices):
    APPROVED = "approved", _("Approved write-off of the loan")
    AFTER_REVERSAL = "after_reversal", _("Written off again after a reversed payment")


class WriteOff(AppendOnlyModel):
    """One move of amounts from the books to bad debt (呆账), with its lines per bill.

    The approved write-off of a loan happens once (a unique constraint backs the service's
    check); a payment reversed on a written-off loan writes off again what it put back.
    `journal_entry` is the WRITE_OFF entry; its parts are the sum of the lines.
    """

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.PROTECT, related_name="write_offs")
    kind = models.CharField(_("kind"), max_length=16, choices=WriteOffKind.choices)
    business_date = models.DateField(_("business date"))
    journal_entry = models.OneToOneField(
        JournalEntry, verbose_name=_("journal entry"), on_delete=models.PROTECT, related_name="write_off"
    )
    # The WAIVER entry cancelling interest of periods not started when the loan was written off.
    waiver_entry = models.OneToOneField(
        JournalEntry, verbose_name=_("waiver of later interest"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    # The reversed payment, for a write-off after a reversal.
    payment = models.ForeignKey(
        Payment, verbose_name=_("reversed payment"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest"))
    penalty = MoneyField(_("penalty interest"))
    fees = MoneyField(_("fees"))
    # The loan as it was when written off (afterwards it is off the books: stage current, 0 days).
    days_past_due = models.PositiveIntegerField(_("days past due"))
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices)
    reason = models.CharField(_("reason"), max_length=300)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        ordering = ["loan_id", "id"]
        constraints = [
            choices_constraint("write_off_kind_valid", "kind", WriteOffKind),
            choices_constraint("write_off_stage_valid", "stage", Stage),
            models.UniqueConstraint(
                fields=["loan"], condition=Q(kind="approved"), name="write_off_approved_once_per_loan"
            ),
            models.CheckConstraint(
                condition=Q(kind="approved", payment__isnull=True)
                | Q(kind="after_reversal", payment__isnull=False),
                name="write_off_reversal_names_its_payment",
            ),
            models.CheckConstraint(
                condition=Q(fees__gte=0, penalty__gte=0, interest__gte=0, principal__gte=0)
                & (Q(fees__gt=0) | Q(penalty__gt=0) | Q(interest__gt=0) | Q(principal__gt=0)),
                name="write_off_parts_gte_0_and_some",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.kind} ¥{self.total} ({self.business_date})"

    @property
    def total(self) -> Decimal:
        return self.fees + self.penalty + self.interest + self.principal


class WriteOffLine(AppendOnlyModel):
    """What one write-off moved off one bill, per part (added to the bill's written-off columns)."""

    write_off = models.ForeignKey(WriteOff, on_delete=models.PROTECT, related_name="lines")
    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="+")
    fees = MoneyField(_("fees"))
    penalty = MoneyField(_("penalty interest"))
    interest = MoneyField(_("interest"))
    principal = MoneyField(_("principal"))

    class Meta:
        verbose_name = _("write-off line")
        verbose_name_plural = _("write-off lines")
        ordering = ["write_off_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fees__gte=0, penalty__gte=0, interest__gte=0, principal__gte=0),
                name="write_off_line_parts_gte_0",
            ),
            models.UniqueConstraint(fields=["write_off", "installment"], name="write_off_line_once_per_bill"),
        ]

    @property
    def total(self) -> Decimal:
        return self.fees + self.penalty + self.interest + self.principal
