"""The monthly run: records for every loan, the files read back with their checksums, idempotency,
resume after a failure or a kill, advance notices and the notice period, corrections in the next
file, the submission status, the command and the daily schedule."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from debt_collections.models import CloseOfBusinessRun
from debt_collections.models import RunStatus as CobStatus
from loans.models import Loan
from portal.errors import NotAllowed
from portal.models import AuditEvent, SmsMessage
from reporting import services
from reporting.files import read_csv, read_json
from reporting.models import (
    CreditCorrection,
    CreditNotice,
    CreditRecord,
    FileStatus,
    ReportFile,
    ReportFileTransition,
    ReportingRun,
    RunStatus,
)

from .conftest import JUNE, JUNE_END, REPORTED_ON, overdue_loan

pytestmark = pytest.mark.django_db

JULY = dt.date(2026, 7, 1)
AUGUST_1 = dt.date(2026, 8, 1)


def run(month: dt.date = JUNE, on: dt.date = REPORTED_ON, chunk_size: int = 2) -> ReportingRun | None:
    return services.credit_report_month(month=month, reporting_date=on, chunk_size=chunk_size)


def notify(borrower: Any, loan: Any, on: dt.date) -> CreditNotice:
    notice = services.credit_notice_send(borrower_id=borrower.pk, loan_id=loan.pk, notified_on=on)
    assert notice is not None
    return notice


def portfolio(borrowers: Any, product: Any) -> list[Any]:
    """Five loans: on time, 10, 45 and 100 days past due (all told long ago), and one settled."""
    loans = []
    for days in (0, 10, 45, 100):
        borrower = borrowers()
        loan = overdue_loan(borrower, product, days=days) if days else overdue_loan(borrower, product, days=-5)
        if days:
            notify(borrower, loan, dt.date(2026, 5, 1))
        loans.append(loan)
    return loans


def snapshot() -> dict[str, Any]:
    return {
        "records": sorted(CreditRecord.objects.values_list(
            "loan__reference", "month", "status", "days_past_due", "balance", "overdue_amount", "held_back_until",
            "file__month")),
        "files": sorted(ReportFile.objects.values_list("month", "record_count", "body_sha256_csv", "status")),
        "notices": sorted(CreditNotice.objects.values_list("borrower_id", "notified_on")),
        "sms": sorted(SmsMessage.objects.values_list("dedupe_key", "body")),
        "runs": sorted(ReportingRun.objects.values_list("month", "status", "counts", "steps_done")),
    }


def stored(report: ReportFile, kind: str) -> bytes:
    field = report.csv_file if kind == "csv" else report.json_file
    with field.open("rb") as handle:
        return handle.read()


# --- Records and files ---------------------------------------------------------------------------


def test_every_loan_gets_one_record_and_the_file_carries_them(borrowers, product):
    loans = portfolio(borrowers, product)
    result = run()
    assert result is not None and result.status == RunStatus.COMPLETED
    assert result.steps_done == ["records", "file"]
    assert result.counts["records"]["records"] == 4
    statuses = dict(CreditRecord.objects.values_list("loan_id", "status"))
    assert [statuses[loan.pk] for loan in loans] == ["N", "1", "2", "4"]
    report = ReportFile.objects.get(run=result)
    assert report.record_count == 4 and report.status == FileStatus.GENERATED
    assert CreditRecord.objects.filter(file=report).count() == 4
    assert AuditEvent.objects.filter(action="credit_report.generate", object_id=str(report.pk)).exists()


def test_the_files_read_back_with_their_checksums(borrowers, product, settings):
    settings.PORTAL_CREDIT_INSTITUTION_CODE = "B1234567890123"
    loans = portfolio(borrowers, product)
    report = ReportFile.objects.get(run=run())
    raw_csv, raw_json = stored(report, "csv"), stored(report, "json")
    # The stored checksums are of the whole files; the headers carry the body's.
    assert hashlib.sha256(raw_csv).hexdigest() == report.csv_sha256
    assert hashlib.sha256(raw_json).hexdigest() == report.json_sha256
    csv_file, json_file = read_csv(raw_csv), read_json(raw_json)
    assert csv_file.checksum_ok and json_file.checksum_ok
    assert csv_file.header == {
        "record_type": "H", "format": "portal-credit-report/1", "institution_code": "B1234567890123",
        "month": "2026-06", "record_count": 4, "sha256": report.body_sha256_csv,
    }
    assert json_file.header["sha256"] == report.body_sha256_json and json_file.header["record_count"] == 4
    assert raw_csv.decode("utf-8").startswith("H,portal-credit-report/1,B1234567890123,2026-06,4,")
    by_account = {row["account_number"]: row for row in csv_file.records}
    overdue = loans[2]
    row = by_account[overdue.reference]
    record = CreditRecord.objects.get(loan=overdue)
    assert row == {**row, "record_type": "D", "month": "2026-06", "status": "2", "days_past_due": "45",
                   "id_type": "10", "id_number": overdue.borrower.national_id,
                   "borrower_name": overdue.borrower.real_name, "principal_balance": f"{record.principal_balance:.2f}",
                   "overdue_amount": f"{record.overdue_amount:.2f}", "record_id": str(record.pk)}
    # The JSON file holds the same records (numbers as numbers, amounts as text).
    as_json = {r["account_number"]: r for r in json_file.records}
    assert as_json[overdue.reference]["days_past_due"] == 45
    assert {k: str(v) if v is not None else "" for k, v in as_json[overdue.reference].items()} == row
    # A changed byte breaks the checksum.
    assert not read_csv(raw_csv.replace(b",2026-06,2,", b",2026-06,1,")).checksum_ok


def test_an_empty_month_still_makes_a_file_with_no_records(db):
    report = ReportFile.objects.get(run=run())
    parsed = read_csv(stored(report, "csv"))
    assert parsed.checksum_ok and parsed.records == [] and report.record_count == 0
    assert read_json(stored(report, "json")).checksum_ok


def test_only_a_month_that_has_ended_can_be_reported(db):
    with pytest.raises(NotAllowed):
        services.credit_report_month(month=JUNE, reporting_date=JUNE_END)


def test_the_previous_months_state_is_kept_beside_this_months(borrowers, product):
    loan = overdue_loan(borrowers(), product, days=20, month_end=dt.date(2026, 5, 31))
    notify(loan.borrower, loan, dt.date(2026, 5, 1))
    run(dt.date(2026, 5, 1), dt.date(2026, 6, 1))
    run()
    june = CreditRecord.objects.get(loan=loan, month=JUNE)
    assert (june.previous_state, june.month_end_state) == ("reminder", "collections")


# --- Idempotency and resume ----------------------------------------------------------------------


def test_a_second_run_of_a_reported_month_changes_nothing(borrowers, product):
    portfolio(borrowers, product)
    overdue_loan(borrowers(), product, days=15)  # never told: a notice and a held-back record
    run()
    before = snapshot()
    assert run() is None
    assert snapshot() == before


def test_a_run_that_failed_halfway_is_resumed_and_ends_as_an_uninterrupted_run(borrowers, product, monkeypatch):
    loans = portfolio(borrowers, product)
    real = services._records_chunk
    calls = {"n": 0}

    def crash_on_second_chunk(run_: ReportingRun, ids: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(run_, ids)

    monkeypatch.setattr(services, "_records_chunk", crash_on_second_chunk)
    with pytest.raises(RuntimeError):
        run(chunk_size=2)
    failed = ReportingRun.objects.get(month=JUNE)
    assert failed.status == RunStatus.FAILED and "disk full" in failed.errors
    assert CreditRecord.objects.count() == 2 and not ReportFile.objects.exists()
    monkeypatch.setattr(services, "_records_chunk", real)
    resumed = run(on=dt.date(2026, 7, 5), chunk_size=2)  # a later day: the first attempt's date holds
    assert resumed is not None and resumed.status == RunStatus.COMPLETED and resumed.attempts == 2
    assert resumed.reporting_date == REPORTED_ON
    assert resumed.counts["records"]["records"] == 4
    assert sorted(CreditRecord.objects.values_list("loan_id", flat=True)) == sorted(loan.pk for loan in loans)
    assert ReportFile.objects.get().record_count == 4


def test_a_crash_while_writing_the_file_leaves_nothing_marked_and_the_next_start_writes_it(
    borrowers, product, monkeypatch
):
    portfolio(borrowers, product)

    def broken(**kwargs: Any) -> Any:
        list(kwargs["rows"])
        raise OSError("storage unavailable")

    monkeypatch.setattr(services, "write_report_files", broken)
    with pytest.raises(OSError):
        run()
    assert not ReportFile.objects.exists() and not CreditRecord.objects.filter(file__isnull=False).exists()
    monkeypatch.undo()
    result = run()
    assert result is not None and result.steps_done == ["records", "file"]
    assert ReportFile.objects.get().record_count == 4


def test_a_killed_run_is_taken_over_once_it_is_stale_and_a_live_one_is_refused(borrowers, product, settings):
    portfolio(borrowers, product)
    ReportingRun.objects.create(month=JUNE, reporting_date=REPORTED_ON, status=RunStatus.RUNNING)
    with pytest.raises(NotAllowed):
        run()
    ReportingRun.objects.filter(month=JUNE).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    result = run()
    assert result is not None and result.status == RunStatus.COMPLETED and result.attempts == 2


# --- Advance notice and the notice period --------------------------------------------------------


def test_a_first_negative_status_without_a_notice_sends_one_and_is_held_back(borrowers, product):
    borrower = borrowers("en")
    loan = overdue_loan(borrower, product, days=15)
    result = run()
    notice = CreditNotice.objects.get(borrower=borrower)
    assert notice.notified_on == REPORTED_ON and notice.loan == loan
    sms = SmsMessage.objects.get(dedupe_key=f"credit-notice:{borrower.pk}")
    assert notice.sms == sms and loan.reference in sms.body and "2026-07-08" in sms.body
    assert "Credit Reference Center" in notice.message and "article 15" in notice.message
    record = CreditRecord.objects.get(loan=loan)
    assert record.file is None and record.held_back_until == dt.date(2026, 7, 8)
    assert result is not None and result.counts["records"]["held_back"] == 1
    assert result.counts["records"]["notices_sent"] == 1
    assert AuditEvent.objects.filter(action="credit_notice.send", object_id=str(notice.pk)).exists()
    assert ReportFile.objects.get().record_count == 0


@pytest.mark.parametrize(("days_before", "held"), [(6, True), (7, False)])
def test_notified_six_days_before_is_held_back_and_seven_days_is_reported(
    borrowers, product, client, supervisor, days_before, held
):
    borrower = borrowers()
    loan = overdue_loan(borrower, product, days=15)
    notify(borrower, loan, REPORTED_ON - dt.timedelta(days=days_before))
    run()
    record = CreditRecord.objects.get(loan=loan)
    assert (record.file is None) is held
    assert record.held_back_until == (REPORTED_ON + dt.timedelta(days=1) if held else None)
    client.force_login(supervisor)
    page = client.get(reverse("admin:reporting_heldbackrecord_changelist")).text
    assert (loan.reference in page) is held


def test_a_held_back_record_is_reported_by_the_next_run_once_the_period_has_passed(borrowers, product):
    borrower = borrowers()
    loan = overdue_loan(borrower, product, days=15)
    run()  # notice sent on 07-01: June's record waits until 07-08
    run(JULY, AUGUST_1)
    june = CreditRecord.objects.get(loan=loan, month=JUNE)
    july = CreditRecord.objects.get(loan=loan, month=JULY)
    august_file = ReportFile.objects.get(month=JULY)
    assert june.file == august_file and july.file == august_file and july.held_back_until is None
    assert august_file.late_count == 1 and august_file.record_count == 2
    rows = read_csv(stored(august_file, "csv")).records
    assert sorted((r["month"], r["status"]) for r in rows) == [("2026-06", "1"), ("2026-07", "2")]


def test_a_positive_status_never_waits_and_sends_no_notice(borrowers, product):
    loan = overdue_loan(borrowers(), product, days=-3)
    run()
    assert CreditRecord.objects.get(loan=loan).file is not None
    assert not CreditNotice.objects.exists()


def test_the_daily_advance_notice_goes_to_newly_overdue_borrowers_once(borrowers, product, alice, alices_loan):
    overdue = overdue_loan(borrowers(), product, days=10)
    Loan.objects.filter(pk=overdue.pk).update(days_past_due=10, stage="reminder")
    assert services.credit_notices_advance(business_date=dt.date(2026, 6, 12)) == 1
    assert CreditNotice.objects.get().borrower_id == overdue.borrower_id  # alice is current: nothing
    assert services.credit_notices_advance(business_date=dt.date(2026, 6, 13)) == 0
    assert SmsMessage.objects.filter(kind="credit_notice").count() == 1


def test_the_printed_notice_is_made_after_commit(borrowers, product, django_capture_on_commit_callbacks):
    borrower = borrowers()
    loan = overdue_loan(borrower, product, days=15, month_end=dt.date(2026, 6, 20))
    with django_capture_on_commit_callbacks(execute=True):
        notice = notify(borrower, loan, dt.date(2026, 6, 20))
    notice.refresh_from_db()
    from notices.models import Notice

    document = Notice.objects.get(reference=notice.document_reference)
    assert document.kind == "credit_report_notice" and document.loan_id == loan.pk


# --- Corrections ---------------------------------------------------------------------------------


def test_a_correction_is_reported_in_the_next_file_and_audited(borrowers, product, supervisor):
    loans = portfolio(borrowers, product)
    run()
    record = CreditRecord.objects.get(loan=loans[2])  # reported "2"
    correction = services.credit_record_correct(
        record_id=record.pk, actor=supervisor, status="1", balance=record.balance,
        principal_balance=record.principal_balance, overdue_amount="100.00", overdue_principal="80.00",
        reason="payment of 06-28 posted late by the bank", business_date=dt.date(2026, 7, 10),
    )
    assert correction.previous["status"] == "2" and correction.file is None
    event = AuditEvent.objects.get(action="credit_record.correct", object_id=str(correction.pk))
    assert event.actor == supervisor and event.before is not None and event.after is not None
    assert event.before["status"] == "2" and event.after["status"] == "1"
    run(JULY, AUGUST_1)
    correction.refresh_from_db()
    report = ReportFile.objects.get(month=JULY)
    assert correction.file == report and report.correction_count == 1
    rows = [r for r in read_csv(stored(report, "csv")).records if r["record_type"] == "C"]
    assert len(rows) == 1
    assert rows[0] == {**rows[0], "account_number": loans[2].reference, "month": "2026-06", "status": "1",
                       "overdue_amount": "100.00", "overdue_principal": "80.00", "record_id": str(record.pk),
                       "correction_id": str(correction.pk)}
    # Reported once: the next month's file does not carry it again.
    run(dt.date(2026, 8, 1), dt.date(2026, 9, 1))
    assert ReportFile.objects.get(month=dt.date(2026, 8, 1)).correction_count == 0


def test_a_correction_is_refused_without_permission_reason_or_report(borrowers, product, supervisor, auditor):
    borrower = borrowers()
    loan = overdue_loan(borrower, product, days=15)
    run()  # held back: not reported yet
    record = CreditRecord.objects.get(loan=loan)
    values: dict[str, Any] = {"status": "N", "balance": "0", "principal_balance": "0", "overdue_amount": "0",
              "overdue_principal": "0"}
    with pytest.raises(NotAllowed, match="not been reported"):
        services.credit_record_correct(record_id=record.pk, actor=supervisor, reason="x", **values)
    CreditRecord.objects.filter(pk=record.pk).update(file=ReportFile.objects.get())
    with pytest.raises(NotAllowed):
        services.credit_record_correct(record_id=record.pk, actor=auditor, reason="x", **values)
    with pytest.raises(NotAllowed):
        services.credit_record_correct(record_id=record.pk, actor=supervisor, reason="  ", **values)
    assert not CreditCorrection.objects.exists()


def test_a_correction_to_a_negative_status_waits_for_the_notice_period(borrowers, product, supervisor):
    loan = overdue_loan(borrowers(), product, days=-3)  # reported N, borrower never told
    run()
    record = CreditRecord.objects.get(loan=loan)
    services.credit_record_correct(
        record_id=record.pk, actor=supervisor, status="1", balance=record.balance,
        principal_balance=record.principal_balance, overdue_amount="10.00", overdue_principal="0",
        reason="the bill was due earlier", business_date=dt.date(2026, 7, 28),
    )
    assert CreditNotice.objects.get().notified_on == dt.date(2026, 7, 28)
    run(JULY, AUGUST_1)  # 4 days after the notice: waits
    assert CreditCorrection.objects.get().file is None
    run(dt.date(2026, 8, 1), dt.date(2026, 9, 1))
    assert CreditCorrection.objects.get().file == ReportFile.objects.get(month=dt.date(2026, 8, 1))


def test_staff_correct_a_record_in_the_admin(borrowers, product, supervisor, client):
    loans = portfolio(borrowers, product)
    run()
    record = CreditRecord.objects.get(loan=loans[1])
    client.force_login(supervisor)
    url = reverse("admin:reporting_creditrecord_correct", args=[record.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"status": "N", "balance": "0.00", "principal_balance": "0.00",
                                 "overdue_amount": "0.00", "overdue_principal": "0.00",
                                 "reason": "paid at the counter on 06-29"})
    assert response.status_code == 302
    assert CreditCorrection.objects.get().status == "N"


# --- Submission status ---------------------------------------------------------------------------


def test_the_submission_status_moves_along_its_transitions_and_is_audited(db, supervisor, auditor):
    report = ReportFile.objects.get(run=run())
    with pytest.raises(NotAllowed):
        services.report_file_transition(file_id=report.pk, to_status="accepted", actor=supervisor)
    with pytest.raises(NotAllowed):
        services.report_file_transition(file_id=report.pk, to_status="submitted", actor=auditor)
    services.report_file_transition(file_id=report.pk, to_status="submitted", actor=supervisor, note="batch 7781")
    with pytest.raises(NotAllowed, match="reason"):
        services.report_file_transition(file_id=report.pk, to_status="rejected", actor=supervisor)
    services.report_file_transition(file_id=report.pk, to_status="rejected", actor=supervisor, note="bad header")
    services.report_file_transition(file_id=report.pk, to_status="submitted", actor=supervisor)
    services.report_file_transition(file_id=report.pk, to_status="accepted", actor=supervisor)
    report.refresh_from_db()
    assert report.status == FileStatus.ACCEPTED
    assert list(ReportFileTransition.objects.filter(file=report).values_list("from_status", "to_status")) == [
        ("generated", "submitted"), ("submitted", "rejected"), ("rejected", "submitted"), ("submitted", "accepted")]
    assert AuditEvent.objects.filter(object_type="reporting.reportfile", action__in=[
        "credit_report.submitted", "credit_report.rejected", "credit_report.accepted"]).count() == 4
    with pytest.raises(NotAllowed):
        services.report_file_transition(file_id=report.pk, to_status="submitted", actor=supervisor)


def test_staff_download_the_files_and_record_the_submission_in_the_admin(db, supervisor, client):
    report = ReportFile.objects.get(run=run())
    client.force_login(supervisor)
    response = client.get(reverse("admin:reporting_reportfile_download", args=[report.pk, "csv"]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == stored(report, "csv")
    assert AuditEvent.objects.filter(action="credit_report.download", actor=supervisor).count() == 1
    url = reverse("admin:reporting_reportfile_status", args=[report.pk])
    assert client.post(url, {"to_status": "submitted", "note": "sent"}).status_code == 302
    report.refresh_from_db()
    assert report.status == FileStatus.SUBMITTED and report.bureau_note == "sent"


# --- The command and the schedule ----------------------------------------------------------------


def test_the_command_reports_a_month_and_then_leaves_it_alone(borrowers, product, monkeypatch, capsys):
    portfolio(borrowers, product)
    monkeypatch.setattr("reporting.services.business_today", lambda: REPORTED_ON)
    call_command("credit_report_month", "--month", "2026-06")
    assert "2026-06 reported" in capsys.readouterr().out
    call_command("credit_report_month", "--month", "2026-06")
    assert "already reported" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("credit_report_month", "--month", "June")
    with pytest.raises(CommandError):
        call_command("credit_report_month", "--month", "2026-07")  # not ended on 07-01


migration = importlib.import_module("reporting.migrations.0002_credit_reporting_schedule")


def test_the_schedule_is_created_once_and_points_at_the_task(db):
    Schedule.objects.filter(name=migration.NAME).delete()  # transactional tests flush
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    schedule = Schedule.objects.get(name="credit-reporting")
    assert schedule.func == "reporting.tasks.run_credit_reporting" and schedule.schedule_type == "D"
    from django.utils.module_loading import import_string

    assert callable(import_string(schedule.func))


def test_the_daily_task_reports_last_month_once_its_last_day_is_closed(borrowers, product, monkeypatch):
    from reporting import tasks

    portfolio(borrowers, product)
    monkeypatch.setattr(tasks, "business_today", lambda: REPORTED_ON)
    assert tasks.run_credit_reporting()["reported"] is None  # 06-30 not closed yet
    CloseOfBusinessRun.objects.create(business_date=JUNE_END, status=CobStatus.COMPLETED)
    assert tasks.run_credit_reporting()["reported"] == "2026-06"
    assert tasks.run_credit_reporting()["reported"] is None
    assert ReportingRun.objects.get().reporting_date == REPORTED_ON


def test_amounts_are_exact_in_the_file(borrowers, interest_free):
    loan = overdue_loan(borrowers(), interest_free, days=40, principal="1200.00")
    notify(loan.borrower, loan, dt.date(2026, 5, 1))
    report = ReportFile.objects.get(run=run())
    row = read_csv(stored(report, "csv")).records[0]
    assert (row["credit_amount"], row["overdue_amount"], row["principal_balance"]) == ("1200.00", "200.00", "1200.00")
    assert Decimal(row["balance"]) == Decimal("1200.00")


def test_every_admin_page_of_a_run_renders(borrowers, product, supervisor, client):
    loans = portfolio(borrowers, product)
    overdue_loan(borrowers(), product, days=15)  # never told: held back
    result = run()
    assert result is not None
    record = CreditRecord.objects.get(loan=loans[1])
    services.credit_record_correct(record_id=record.pk, actor=supervisor, status="N", balance="0",
                                   principal_balance="0", overdue_amount="0", overdue_principal="0",
                                   reason="paid at the bank", business_date=dt.date(2026, 7, 3))
    client.force_login(supervisor)
    held = CreditRecord.objects.get(file__isnull=True)
    for name, pk in (("reportingrun", result.pk), ("reportfile", ReportFile.objects.get().pk),
                     ("creditrecord", record.pk), ("heldbackrecord", held.pk),
                     ("creditnotice", CreditNotice.objects.first().pk),  # type: ignore[union-attr]
                     ("creditcorrection", CreditCorrection.objects.get().pk)):
        assert client.get(reverse(f"admin:reporting_{name}_change", args=[pk])).status_code == 200, name
        assert client.get(reverse(f"admin:reporting_{name}_changelist")).status_code == 200, name
    assert (
        client.get(reverse("admin:reporting_reportfile_status", args=[ReportFile.objects.get().pk])).status_code == 200
    )
    june = client.get(reverse("admin:reporting_creditrecord_changelist") + "?month=2026-06-01").text
    assert loans[1].reference in june and "2026-06" in june
    assert loans[1].reference not in client.get(
        reverse("admin:reporting_creditrecord_changelist") + "?month=2026-05-01").text
