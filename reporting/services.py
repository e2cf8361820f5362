"""Credit-bureau reporting: advance notices, the monthly run, its files, their submission status
and corrections. Every function is keyword-only, runs in a transaction and audits what it changes.

The monthly run (`credit_report_month`) is organised like the close of business: a run row per
month with a status, steps that commit chunk by chunk, resumable after a failure or a kill:

1. ``records``: every loan to report gets its record for the month (unique per loan and month,
   bulk inserted per chunk; a chunk's records and its counts commit together). A negative status
   (1–7, B) of a borrower never notified sends the notice now; one notified less than
   PORTAL_CREDIT_NOTICE_DAYS before the reporting date is held back until the period has passed.
2. ``file``: the file pair of the run, in one transaction: the month's records not held back,
   earlier months' held-back records whose notice period has passed by now, and corrections
   made since the last file.

Running a completed month again does nothing; a failed or killed run is taken over by the next
start and ends as an uninterrupted run would have.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, Exists, F, Min, OuterRef, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from debt_collections.models import CloseOfBusinessRun
from debt_collections.models import RunStatus as CobRunStatus
from loans.models import (
    Borrower,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanStatus,
)
from portal.audit import audit_record
from portal.calendar import business_today
from portal.errors import DomainError, NotAllowed
from portal.models import User
from portal.money import ZERO, parse_amount, round_money
from portal.sms import sms_queue

from .files import write_report_files
from .models import (
    NEGATIVE_STATUSES,
    CreditCorrection,
    CreditNotice,
    CreditRecord,
    CreditStatus,
    FileStatus,
    ReportFile,
    ReportFileTransition,
    ReportingRun,
    RunStatus,
    month_end,
)
from .status import Bill, JournalFacts, month_figures

log = logging.getLogger(__name__)

ACTOR_LABEL = "credit-reporting"
# The interest-free extension's penalty waiver is a product term, not a concession (status.py).
EXTENSION_WAIVER_MEMO = "interest-free extension"

NOTICE_SMS = gettext_lazy(
    "Loan %(reference)s is overdue. If it is still overdue at a month end, we will report it to the "
    "Credit Reference Center of the People's Bank of China, from %(date)s at the earliest. Repay in "
    "the app to avoid this, or call %(hotline)s."
)
NOTICE_MESSAGE = gettext_lazy(
    "We must tell you before we report negative information about you to the credit bureau "
    "(Credit Reporting Industry Regulation, article 15). Your loan %(reference)s is overdue. Every "
    "month we report the repayment status of each loan to the Credit Reference Center of the "
    "People's Bank of China: if this loan is still overdue at a month end, that month will be "
    "reported as overdue, from %(date)s at the earliest. Repaying now keeps an overdue status out "
    "of your credit report. If you cannot pay, ask for hardship help in the app or call %(hotline)s."
)


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def previous_month(month: dt.date) -> dt.date:
    return (month.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def notice_days() -> dt.timedelta:
    return dt.timedelta(days=settings.PORTAL_CREDIT_NOTICE_DAYS)


# --- Advance notices ---------------------------------------------------------------------------


def credit_notice_document(*, notice_id: int) -> str:
    """Print the notice's PDF through the notices app (`notices.services.notice_generate`, kind
    "credit_report_notice") and keep its reference on the notice; "" when there is none.

    Run by a task after the notice's transaction commits: rendering takes a fraction of a second
    per notice and must not hold the run's transaction open. Safe to run twice.
    """
    notice = CreditNotice.objects.get(pk=notice_id)
    if notice.document_reference:
        return notice.document_reference
    try:
        from notices.services import notice_generate
    except ImportError:  # the notices app is not installed: the SMS and portal message stand alone
        return ""
    report_date = max(notice.reportable_from, notice.notified_on + dt.timedelta(days=1))
    try:
        document = notice_generate(
            kind="credit_report_notice", actor=None, loan_id=notice.loan_id, as_of=notice.notified_on,
            extra_context={"report_date": report_date},
        )
    except DomainError as refusal:  # e.g. nothing overdue any more: the SMS and message stand
        log.warning("no printed credit notice for notice %s: %s", notice_id, refusal)
        return ""
    with transaction.atomic():
        CreditNotice.objects.filter(pk=notice_id, document_reference="").update(
            document_reference=document.reference[:100]
        )
    return document.reference


def credit_notice_send(
    *, borrower_id: int, loan_id: int, notified_on: dt.date, actor: User | None = None
) -> CreditNotice | None:
    """Tell a borrower, before their first negative status is reported, that it will be: an SMS
    and a portal message now, the printed notice after commit (`credit_notice_document`). Once
    per borrower: returns None when they were already told."""
    with transaction.atomic():
        borrower = Borrower.objects.select_related("user").get(pk=borrower_id)
        loan = Loan.objects.only("pk", "reference", "borrower_id").get(pk=loan_id, borrower_id=borrower_id)
        if CreditNotice.objects.filter(borrower_id=borrower_id).exists():
            return None
        params: dict[str, object] = {
            "reference": loan.reference,
            "date": (notified_on + notice_days()).isoformat(),
            "hotline": settings.PORTAL_HOTLINE,
        }
        with translation.override(borrower.preferred_language):
            message = str(NOTICE_MESSAGE) % params
        try:
            with transaction.atomic():
                notice = CreditNotice.objects.create(
                    borrower=borrower, loan=loan, notified_on=notified_on, message=message
                )
        except IntegrityError:  # a concurrent run told them first
            return None
        from debt_collections.stage_actions import sms_not_before

        notice.sms = sms_queue(
            recipient=borrower.user, mobile=borrower.mobile, language=borrower.preferred_language,
            kind="credit_notice", text=NOTICE_SMS, params=params, dedupe_key=f"credit-notice:{borrower_id}",
            not_before=sms_not_before(timezone.now()),
        )
        notice.save(update_fields=["sms"])
        notice_id = notice.pk
        transaction.on_commit(lambda: async_task("reporting.tasks.print_credit_notice", notice_id))
        audit_record(
            actor=actor, actor_label=ACTOR_LABEL, action="credit_notice.send", target=notice,
            summary=f"{loan.reference}: negative reporting from {params['date']}",
            after={"loan": loan.reference, "notified_on": notified_on, "reportable_from": params["date"]},
        )
    return notice


def borrowers_to_notify(*, business_date: dt.date) -> list[tuple[int, int]]:
    """(borrower, loan) for borrowers with a loan overdue now (or written off) and no notice yet:
    their next month end may bring their first negative status."""
    told = CreditNotice.objects.filter(borrower_id=OuterRef("borrower_id"))
    rows = (
        Loan.objects.filter(Q(status=LoanStatus.ACTIVE, days_past_due__gt=0) | Q(status=LoanStatus.WRITTEN_OFF))
        .exclude(Exists(told))
        .values("borrower_id")
        .annotate(loan_id=Min("id"))
        .order_by("borrower_id")
    )
    return [(row["borrower_id"], row["loan_id"]) for row in rows]


def credit_notices_advance(*, business_date: dt.date) -> int:
    """Daily: notify every borrower who may get a first negative status at the next month end."""
    sent = 0
    for borrower_id, loan_id in borrowers_to_notify(business_date=business_date):
        sent += credit_notice_send(borrower_id=borrower_id, loan_id=loan_id, notified_on=business_date) is not None
    return sent


# --- The monthly run: records ------------------------------------------------------------------


def loans_to_report(*, month: dt.date) -> list[int]:
    """Loans disbursed by the month end that have no record for the month yet, except loans
    that were closed before the month began (their last record, C or G, was an earlier month's).
    Written-off loans are reported (B) every month."""
    end = month_end(month)
    closed_in_or_after = Installment.objects.filter(loan_id=OuterRef("pk"), settled_on__gte=month).exclude(
        status=InstallmentStatus.SUPERSEDED
    )
    recorded = CreditRecord.objects.filter(loan_id=OuterRef("pk"), month=month)
    return list(
        Loan.objects.filter(disbursed_on__lte=end)
        .exclude(Q(status=LoanStatus.SETTLED) & ~Exists(closed_in_or_after))
        .exclude(Exists(recorded))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _money_sum(expression: Any, **kwargs: Any) -> Any:
    return Coalesce(Sum(expression, **kwargs), ZERO, output_field=DecimalField(max_digits=14, decimal_places=2))


def _journal_facts(loan_ids: Sequence[int], month: dt.date, end: dt.date) -> dict[int, JournalFacts]:
    total = F("principal") + F("interest") + F("penalty") + F("fees")
    concession = Q(kind=EntryKind.WAIVER, payment__isnull=True) & ~Q(memo__startswith=EXTENSION_WAIVER_MEMO)
    rows = (
        JournalEntry.objects.filter(loan_id__in=loan_ids, business_date__lte=end)
        .values("loan_id")
        .annotate(
            principal_sum=_money_sum("principal"),
            total_sum=_money_sum(total),
            paid=_money_sum(total, filter=Q(kind__in=[EntryKind.REPAYMENT, EntryKind.REVERSAL],
                                             business_date__gte=month)),
            # What is still written off: write-offs less what recoveries reinstated (loans.services.write_off).
            written_off=_money_sum(total, filter=Q(kind__in=[EntryKind.WRITE_OFF, "reinstatement"])),
            concessions=Count("id", filter=concession),
        )
        .order_by()
    )
    # SQLite sums decimals as doubles: round back to the fen (exact on PostgreSQL already).
    return {
        r["loan_id"]: JournalFacts(
            principal=round_money(Decimal(r["principal_sum"])),
            total=round_money(Decimal(r["total_sum"])),
            paid_in_month=-round_money(Decimal(r["paid"])),
            written_off=-round_money(Decimal(r["written_off"])),
            forgiven=r["concessions"] > 0,
        )
        for r in rows
    }


def _bills(loan_ids: Sequence[int]) -> dict[int, list[Bill]]:
    bills: dict[int, list[Bill]] = {}
    rows = (
        Installment.objects.filter(loan_id__in=loan_ids)
        .exclude(status=InstallmentStatus.SUPERSEDED)
        .order_by("loan_id", "due_date", "number")
        .values_list(
            "loan_id", "due_date", "settled_on", "principal_due", "principal_waived", "interest_due",
            "interest_waived", "fees_due", "fees_waived", "penalty_due", "penalty_waived",
        )
    )
    for loan_id, due, settled, p_due, p_w, i_due, i_w, f_due, f_w, pen_due, pen_w in rows:
        bills.setdefault(loan_id, []).append(Bill(
            due_date=due, settled_on=settled, principal=p_due - p_w,
            other=(i_due - i_w) + (f_due - f_w) + (pen_due - pen_w), scheduled=p_due + i_due + f_due,
        ))
    return bills


def _records_chunk(run: ReportingRun, loan_ids: Sequence[int]) -> Counter[str]:
    """Compute and insert the month's records of these loans (caller's transaction)."""
    month, end = run.month, run.month_end
    loans = list(
        Loan.objects.filter(pk__in=loan_ids)
        .exclude(Exists(CreditRecord.objects.filter(loan_id=OuterRef("pk"), month=month)))
        .order_by("pk")
        .values("id", "borrower_id", "status", "grace_days", "product_id", "borrower__segment")
    )
    ids = [loan["id"] for loan in loans]
    bills = _bills(ids)
    journal = _journal_facts(ids, month, end)
    # A loan written off after the month end was not bad debt yet at the month end.
    written_off = dict(
        JournalEntry.objects.filter(
            loan_id__in=[loan["id"] for loan in loans if loan["status"] == LoanStatus.WRITTEN_OFF],
            kind=EntryKind.WRITE_OFF,
        ).values("loan_id").annotate(first=Min("business_date")).order_by().values_list("loan_id", "first")
    )
    previous = dict(
        CreditRecord.objects.filter(loan_id__in=ids, month=previous_month(month)).values_list(
            "loan_id", "month_end_state"
        )
    )
    notified = dict(
        CreditNotice.objects.filter(borrower_id__in={loan["borrower_id"] for loan in loans}).values_list(
            "borrower_id", "notified_on"
        )
    )
    thresholds = settings.PORTAL_STAGE_THRESHOLDS
    counts: Counter[str] = Counter()
    records: list[CreditRecord] = []
    to_notify: dict[int, int] = {}
    for loan in loans:
        figures = month_figures(
            month=month, month_end=end, grace_days=loan["grace_days"], bills=bills.get(loan["id"], []),
            journal=journal.get(loan["id"], JournalFacts()),
            written_off_on=written_off.get(loan["id"]),
            written_off_now=loan["status"] == LoanStatus.WRITTEN_OFF, thresholds=thresholds,
        )
        held_until = None
        if figures.status in NEGATIVE_STATUSES:
            notified_on = notified.get(loan["borrower_id"])
            if notified_on is None:
                to_notify.setdefault(loan["borrower_id"], loan["id"])
                notified_on = run.reporting_date
            if notified_on + notice_days() > run.reporting_date:
                held_until = notified_on + notice_days()
                counts["held_back"] += 1
        records.append(CreditRecord(
            run=run, loan_id=loan["id"], month=month, status=figures.status,
            days_past_due=figures.days_past_due, worst_days_past_due=figures.worst_days_past_due,
            overdue_installments=figures.overdue_installments, balance=figures.balance,
            principal_balance=figures.principal_balance, overdue_amount=figures.overdue_amount,
            overdue_principal=figures.overdue_principal, scheduled_amount=figures.scheduled_amount,
            paid_amount=figures.paid_amount, written_off_amount=figures.written_off_amount,
            month_end_state=figures.month_end_state, previous_state=previous.get(loan["id"], ""),
            product_id=loan["product_id"], segment=loan["borrower__segment"], held_back_until=held_until,
        ))
        counts[f"status_{figures.status}"] += 1
    CreditRecord.objects.bulk_create(records)
    counts["records"] += len(records)
    for borrower_id, loan_id in to_notify.items():
        counts["notices_sent"] += credit_notice_send(
            borrower_id=borrower_id, loan_id=loan_id, notified_on=run.reporting_date
        ) is not None
    return counts


# --- The monthly run: the file -----------------------------------------------------------------


def _notice_old_enough(reporting_date: dt.date, borrower_path: str) -> Q:
    told = CreditNotice.objects.filter(
        borrower_id=OuterRef(borrower_path), notified_on__lte=reporting_date - notice_days()
    )
    return Q(Exists(told))


def _record_row(r: dict[str, Any], kind: str) -> dict[str, Any]:
    def money(name: str) -> str:
        return f"{r[name]:.2f}"

    return {
        "record_type": kind,
        "record_id": r["the_record_id"],
        "correction_id": r.get("correction_id"),
        "account_number": r["reference"],
        "borrower_name": r["real_name"],
        "id_type": "10",
        "id_number": r["national_id"],
        "product_code": r["product_code"],
        "credit_amount": money("credit_amount"),
        "opened_on": r["disbursed_on"].isoformat(),
        "term_months": r["term_months"],
        "month": r["month"].strftime("%Y-%m"),
        "status": r["status"],
        "days_past_due": r["days_past_due"],
        "worst_days_past_due": r["worst_days_past_due"],
        "overdue_installments": r["overdue_installments"],
        "balance": money("balance"),
        "principal_balance": money("principal_balance"),
        "overdue_amount": money("overdue_amount"),
        "overdue_principal": money("overdue_principal"),
        "scheduled_amount": money("scheduled_amount"),
        "paid_amount": money("paid_amount"),
        "written_off_amount": money("written_off_amount"),
        "corrected_at": r.get("corrected_at"),
    }


_RECORD_VALUES = {
    "the_record_id": F("id"), "reference": F("loan__reference"), "real_name": F("loan__borrower__real_name"),
    "national_id": F("loan__borrower__national_id"), "product_code": F("loan__product__code"),
    "credit_amount": F("loan__principal"), "disbursed_on": F("loan__disbursed_on"),
    "term_months": F("loan__term_months"),
}
_RECORD_FIELDS = [
    "month", "status", "days_past_due", "worst_days_past_due", "overdue_installments", "balance",
    "principal_balance", "overdue_amount", "overdue_principal", "scheduled_amount", "paid_amount",
    "written_off_amount",
]


def _file_rows(report: ReportFile) -> Iterator[dict[str, Any]]:
    records = (
        CreditRecord.objects.filter(file=report)
        .order_by("month", "loan_id")
        .values(*_RECORD_FIELDS, **_RECORD_VALUES)
    )
    for row in records.iterator(chunk_size=2000):
        yield _record_row(row, "D")
    corrections = (
        CreditCorrection.objects.filter(file=report)
        .order_by("corrected_at", "id")
        .values(
            "status", "balance", "principal_balance", "overdue_amount", "overdue_principal", "corrected_at",
            correction_id=F("id"), month=F("record__month"), days_past_due=F("record__days_past_due"),
            worst_days_past_due=F("record__worst_days_past_due"),
            overdue_installments=F("record__overdue_installments"),
            scheduled_amount=F("record__scheduled_amount"), paid_amount=F("record__paid_amount"),
            written_off_amount=F("record__written_off_amount"),
            **{k: F(f"record__{v.name}") for k, v in _RECORD_VALUES.items()},  # type: ignore[attr-defined]
        )
    )
    for correction in corrections.iterator(chunk_size=2000):
        values: dict[str, Any] = dict(correction)
        values["corrected_at"] = timezone.localtime(values["corrected_at"]).isoformat(timespec="seconds")
        yield _record_row(values, "C")


def _file_step(run: ReportingRun) -> Counter[str]:
    """Write the run's file pair and mark what it carries, in one transaction."""
    from debt_collections.evidence import PrivateMediaStorage

    counts: Counter[str] = Counter()
    with transaction.atomic():
        ReportingRun.objects.select_for_update().get(pk=run.pk)  # one file step at a time
        if ReportFile.objects.filter(run=run).exists():
            return counts
        institution = settings.PORTAL_CREDIT_INSTITUTION_CODE
        report = ReportFile.objects.create(run=run, month=run.month, institution_code=institution)
        due = Q(held_back_until__isnull=True) | Q(held_back_until__lte=run.reporting_date)
        counts["records_reported"] = CreditRecord.objects.filter(
            due, file__isnull=True, month=run.month
        ).update(file=report)
        counts["late_records_reported"] = CreditRecord.objects.filter(
            due, file__isnull=True, month__lt=run.month
        ).update(file=report)
        counts["records_still_held_back"] = CreditRecord.objects.filter(
            file__isnull=True, month__lte=run.month
        ).count()
        # A correction to a negative status waits for the borrower's notice period as well.
        eligible = CreditCorrection.objects.filter(file__isnull=True, record__file__isnull=False).filter(
            ~Q(status__in=NEGATIVE_STATUSES) | _notice_old_enough(run.reporting_date, "record__loan__borrower_id")
        )
        counts["corrections_reported"] = CreditCorrection.objects.filter(
            pk__in=list(eligible.values_list("pk", flat=True))
        ).update(file=report)
        month_label = run.month.strftime("%Y-%m")
        written = write_report_files(
            storage=PrivateMediaStorage(),
            base_name=f"credit-reports/{month_label}/{institution}_{month_label}_{run.pk}",
            institution_code=institution,
            month=month_label,
            rows=_file_rows(report),
        )
        report.csv_file.name = written.csv_name
        report.json_file.name = written.json_name
        report.csv_sha256, report.json_sha256 = written.csv_sha256, written.json_sha256
        report.body_sha256_csv, report.body_sha256_json = written.csv_body_sha256, written.json_records_sha256
        report.record_count = written.record_count
        report.late_count = counts["late_records_reported"]
        report.correction_count = counts["corrections_reported"]
        report.generated_at = report.status_changed_at = timezone.now()
        report.save()
        audit_record(
            actor=None, actor_label=ACTOR_LABEL, action="credit_report.generate", target=report,
            summary=f"{month_label}: {written.record_count} records",
            after={"month": month_label, "records": written.record_count, "late": report.late_count,
                   "corrections": report.correction_count, "csv_sha256": written.csv_sha256,
                   "json_sha256": written.json_sha256},
        )
    return counts


# --- The monthly run: claim, steps, failure ----------------------------------------------------


def _chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    it = iter(ids)
    while chunk := list(islice(it, size)):
        yield chunk


def _claim(month: dt.date, reporting_date: dt.date) -> ReportingRun | None:
    try:
        with transaction.atomic():
            return ReportingRun.objects.create(month=month, reporting_date=reporting_date)
    except IntegrityError:
        pass
    run = ReportingRun.objects.get(month=month)
    if run.status == RunStatus.COMPLETED:
        return None
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.PORTAL_CREDIT_REPORT_STALE_SECONDS)
    claimed = ReportingRun.objects.filter(pk=run.pk).filter(
        Q(status=RunStatus.FAILED) | Q(status=RunStatus.RUNNING, heartbeat_at__lte=stale)
    ).update(status=RunStatus.RUNNING, attempts=F("attempts") + 1, heartbeat_at=now, finished_at=None)
    if claimed != 1:
        raise NotAllowed(
            _("The credit report for %(month)s is already being made (last sign of life %(at)s).")
            % {"month": month.strftime("%Y-%m"), "at": timezone.localtime(run.heartbeat_at).strftime("%H:%M:%S")}
        )
    run.refresh_from_db()
    return run


def _add_counts(run: ReportingRun, step: str, counts: Counter[str]) -> None:
    """Add a chunk's counts to the run in the chunk's own transaction."""
    locked = ReportingRun.objects.select_for_update().get(pk=run.pk)
    totals = Counter(locked.counts.get(step, {}))
    totals.update({k: v for k, v in counts.items() if v})
    locked.counts = {**locked.counts, step: dict(totals)}
    locked.heartbeat_at = timezone.now()
    locked.save(update_fields=["counts", "heartbeat_at"])
    run.counts = locked.counts


def credit_report_month(
    *, month: dt.date, reporting_date: dt.date | None = None, chunk_size: int | None = None
) -> ReportingRun | None:
    """Report one month (or resume its run); None when the month was already reported.

    `reporting_date` (default today) is fixed by the first attempt: it must be after the month
    end. Raises what made the run fail after recording it on the run.
    """
    month = first_of_month(month)
    today = reporting_date or business_today()
    if today <= month_end(month):
        raise NotAllowed(_("Only a month that has ended can be reported."))
    run = _claim(month, today)
    if run is None:
        return None
    size = chunk_size or settings.PORTAL_CREDIT_REPORT_CHUNK_SIZE
    try:
        if "records" not in run.steps_done:
            for chunk in _chunks(loans_to_report(month=month), size):
                with transaction.atomic():
                    _add_counts(run, "records", _records_chunk(run, chunk))
            _finish_step(run, "records")
        if "file" not in run.steps_done:
            counts = _file_step(run)
            with transaction.atomic():
                _add_counts(run, "file", counts)
            _finish_step(run, "file")
    except Exception as error:
        _record_failure(run, error)
        raise
    run.status = RunStatus.COMPLETED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    log.info("credit report %s completed: %s", month.strftime("%Y-%m"), run.counts)
    return run


def _finish_step(run: ReportingRun, step: str) -> None:
    run.steps_done = [*run.steps_done, step]
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["steps_done", "heartbeat_at"])


def _record_failure(run: ReportingRun, error: Exception) -> None:
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    with transaction.atomic():
        locked = ReportingRun.objects.select_for_update().get(pk=run.pk)
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
        locked.errors = f"{locked.errors}\n[{stamp}] attempt {locked.attempts}: {detail}".strip()[-5000:]
        locked.status = RunStatus.FAILED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["errors", "status", "finished_at"])
    log.error("credit report %s failed: %s", run.month.strftime("%Y-%m"), detail)


def month_to_report(*, today: dt.date) -> dt.date | None:
    """The previous month, when its last day has been closed and it is not reported yet."""
    month = previous_month(today)
    if ReportingRun.objects.filter(month=month, status=RunStatus.COMPLETED).exists():
        return None
    closed = CloseOfBusinessRun.objects.filter(
        business_date=month_end(month), status=CobRunStatus.COMPLETED
    ).exists()
    return month if closed else None


# --- Submission status -------------------------------------------------------------------------


def report_file_transition(*, file_id: int, to_status: str, actor: User, note: str = "") -> ReportFile:
    """Record that a file was submitted to the bureau, or the bureau's answer."""
    if not actor.has_perm("reporting.submit_reportfile"):
        raise NotAllowed(_("You may not change the submission status of report files."))
    note = note.strip()
    with transaction.atomic():
        report = ReportFile.objects.select_for_update().get(pk=file_id)
        allowed = ReportFile.TRANSITIONS.get(report.status, set())
        if to_status not in allowed:
            raise NotAllowed(
                _("A file that is “%(status)s” cannot become “%(to)s”.")
                % {"status": report.get_status_display(), "to": FileStatus(to_status).label
                   if to_status in FileStatus.values else to_status}
            )
        if to_status == FileStatus.REJECTED and not note:
            raise NotAllowed(_("Give the bureau's reason for rejecting the file."))
        before = report.status
        report.status = to_status
        report.status_changed_at = timezone.now()
        if note:
            report.bureau_note = note[:500]
        report.save(update_fields=["status", "status_changed_at", "bureau_note"])
        ReportFileTransition.objects.create(file=report, from_status=before, to_status=to_status, actor=actor,
                                            note=note[:500])
        audit_record(
            actor=actor, action=f"credit_report.{to_status}", target=report, summary=note,
            before={"status": before}, after={"status": to_status},
        )
    return report


def report_file_download(*, file_id: int, kind: str, actor: User) -> ReportFile:
    """Audit a download of a report file (it holds borrowers' names and ID numbers)."""
    with transaction.atomic():
        report = ReportFile.objects.get(pk=file_id)
        audit_record(actor=actor, action="credit_report.download", target=report, summary=kind)
    return report


# --- Corrections -------------------------------------------------------------------------------


def current_values(record: CreditRecord) -> dict[str, Any]:
    """What the bureau holds for the record now: the latest correction's values, or the record's."""
    latest = record.corrections.order_by("-corrected_at", "-id").first()
    source: Any = latest if latest is not None else record
    return {
        "status": source.status,
        "balance": source.balance,
        "principal_balance": source.principal_balance,
        "overdue_amount": source.overdue_amount,
        "overdue_principal": source.overdue_principal,
    }


def _amount(value: Decimal | str, label: str) -> Decimal:
    """A corrected amount: zero, or a positive amount in fen (never rounded)."""
    text = str(value).strip()
    try:
        if Decimal(text) == 0:
            return ZERO
    except InvalidOperation:
        pass
    try:
        return parse_amount(text)
    except DomainError as error:
        raise NotAllowed(f"{label}: {error}") from None


def credit_record_correct(
    *,
    record_id: int,
    actor: User,
    status: str,
    balance: Decimal | str,
    principal_balance: Decimal | str,
    overdue_amount: Decimal | str,
    overdue_principal: Decimal | str,
    reason: str,
    business_date: dt.date | None = None,
) -> CreditCorrection:
    """Correct a reported month; the correction goes to the bureau in the next file."""
    if not actor.has_perm("reporting.correct_record"):
        raise NotAllowed(_("You may not correct credit records."))
    reason = reason.strip()
    if not reason:
        raise NotAllowed(_("Give the reason for the correction."))
    if status not in CreditStatus.values:
        raise NotAllowed(_("Unknown status."))
    values: dict[str, Any] = {
        "status": status,
        "balance": _amount(balance, _("balance")),
        "principal_balance": _amount(principal_balance, _("principal balance")),
        "overdue_amount": _amount(overdue_amount, _("overdue amount")),
        "overdue_principal": _amount(overdue_principal, _("overdue principal")),
    }
    if values["overdue_principal"] > values["overdue_amount"]:
        raise NotAllowed(_("The overdue principal cannot be more than the overdue amount."))
    with transaction.atomic():
        record = CreditRecord.objects.select_for_update().select_related("loan").get(pk=record_id)
        if record.file_id is None:
            raise NotAllowed(_("This month has not been reported yet; there is nothing to correct."))
        before = current_values(record)
        if before == values:
            raise NotAllowed(_("The corrected values are the ones already reported."))
        correction = CreditCorrection.objects.create(
            record=record, corrected_by=actor, reason=reason[:1000],
            previous={k: str(v) for k, v in before.items()}, **values,
        )
        if status in NEGATIVE_STATUSES:
            # A negative status needs the borrower's notice first (held until the period passes).
            credit_notice_send(
                borrower_id=record.loan.borrower_id, loan_id=record.loan_id,
                notified_on=business_date or business_today(), actor=actor,
            )
        audit_record(
            actor=actor, action="credit_record.correct", target=correction,
            summary=f"{record.loan.reference} {record.month:%Y-%m}: {reason}"[:300],
            before={k: v for k, v in before.items()}, after=values,
        )
    return correction

