"""Generating and archiving notices, who may, what is refused, and their delivery history."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from notices.models import DeliveryStatus, Notice, NoticeDeliveryEvent, NoticeKind
from notices.rendering import template_version
from notices.services import notice_delivery_record, notice_generate
from portal import roles
from portal.append_only import AppendOnlyError
from portal.errors import DomainError, NotAllowed
from portal.models import AuditEvent

from .conftest import TODAY, assert_printed, pdf_text
from .test_rendering import RESTRUCTURING_TERMS

pytestmark = pytest.mark.django_db


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


def test_a_notice_is_archived_with_its_hash_version_facts_and_author(
    alices_case, legal, private_media
):
    notice = notice_generate(
        kind=NoticeKind.PAYMENT_REMINDER, actor=legal, case_id=alices_case.pk, as_of=TODAY
    )
    data = Path(notice.file.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == notice.sha256 and notice.size == len(data)
    assert data.startswith(b"%PDF-")
    assert notice.template_version == template_version(NoticeKind.PAYMENT_REMINDER, "zh-hans")
    assert notice.case_id == alices_case.pk and notice.loan_id == alices_case.loan_id
    assert notice.borrower_id == alices_case.borrower_id and notice.generated_by == legal
    assert notice.delivery_status == DeliveryStatus.GENERATED
    assert notice.facts["borrower"] == {
        "name": "王丽",
        "national_id": "110***********002X",
        "mobile": "138****8000",
    }
    assert (
        notice.facts["overdue"]["total"] == "2239.10" and notice.facts["deadline"] == "2026-04-08"
    )
    assert (
        notice.reference.startswith("CS-20260401-")
        and notice.file.name == f"notices/2026/{notice.generated_at:%m}/{notice.reference}.pdf"
    )
    assert Path(notice.file.path).is_relative_to(private_media)  # outside the static files
    event = AuditEvent.objects.get(action="notice.generate")
    assert event.actor == legal and event.object_id == str(notice.pk)
    after: dict[str, Any] = event.after or {}
    assert after["sha256"] == notice.sha256 and after["template_version"] == notice.template_version


def test_printing_again_makes_a_second_notice_and_never_overwrites_the_first(
    alices_case, legal, private_media
):
    first = notice_generate(
        kind=NoticeKind.LAWYER_LETTER, actor=legal, case_id=alices_case.pk, as_of=TODAY
    )
    first_bytes = Path(first.file.path).read_bytes()
    second = notice_generate(
        kind=NoticeKind.LAWYER_LETTER, actor=legal, case_id=alices_case.pk, as_of=TODAY
    )
    assert Notice.objects.count() == 2 and first.reference != second.reference
    assert first.file.name != second.file.name
    assert Path(first.file.path).read_bytes() == first_bytes
    assert hashlib.sha256(first_bytes).hexdigest() == Notice.objects.get(pk=first.pk).sha256
    assert len(stored_files(private_media)) == 2


def test_a_stored_notice_cannot_be_changed_or_deleted(alices_case, legal):
    notice = notice_generate(
        kind=NoticeKind.PAYMENT_REMINDER, actor=legal, case_id=alices_case.pk, as_of=TODAY
    )
    notice.sha256 = "0" * 64
    with pytest.raises(AppendOnlyError):
        notice.save()
    with pytest.raises(AppendOnlyError):
        notice.save(update_fields=["sha256"])
    with pytest.raises(AppendOnlyError):
        Notice.objects.filter(pk=notice.pk).update(sha256="0" * 64)
    with pytest.raises(AppendOnlyError):
        notice.delete()
    with pytest.raises(AppendOnlyError):
        Notice.objects.all().delete()
    assert Notice.objects.get(pk=notice.pk).sha256 != "0" * 64


def test_when_the_transaction_rolls_back_the_written_file_is_deleted(
    alices_case, legal, private_media, monkeypatch
):
    def fail(**kwargs: Any) -> None:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr("notices.services.audit_record", fail)
    with pytest.raises(RuntimeError):
        notice_generate(
            kind=NoticeKind.PAYMENT_REMINDER, actor=legal, case_id=alices_case.pk, as_of=TODAY
        )
    assert Notice.objects.count() == 0
    assert stored_files(private_media) == []


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (roles.LEGAL_OFFICER, True),
        (roles.SUPERVISOR, True),
        (roles.AGENT, False),
        (roles.AUDITOR, False),
        (roles.EDITOR, False),
    ],
)
def test_only_legal_officers_and_supervisors_print(alices_case, make_staff, role, allowed):
    user = make_staff("someone", role)
    assert user.has_perm("notices.print_notice") is allowed
    assert user.has_perm("notices.view_notice") is (role != roles.EDITOR)
    if allowed:
        notice_generate(
            kind=NoticeKind.PAYMENT_REMINDER, actor=user, case_id=alices_case.pk, as_of=TODAY
        )
        assert Notice.objects.count() == 1
    else:
        with pytest.raises(NotAllowed):
            notice_generate(
                kind=NoticeKind.PAYMENT_REMINDER, actor=user, case_id=alices_case.pk, as_of=TODAY
            )
        assert Notice.objects.count() == 0


def test_the_system_may_generate_without_a_person(overdue_loan):
    """e.g. the restructuring service when the borrower accepts a plan online."""
    notice = notice_generate(
        kind=NoticeKind.RESTRUCTURING_AGREEMENT,
        actor=None,
        loan_id=overdue_loan.pk,
        as_of=TODAY,
        extra_context=RESTRUCTURING_TERMS,
    )
    assert notice.generated_by is None and notice.case_id is None
    assert notice.facts["restructuring"]["new_total"] == "1854.12"
    assert notice.facts["restructuring"]["waived_total"] == "384.98"
    assert AuditEvent.objects.get(action="notice.generate").actor_label == "system"


def test_a_demand_for_a_loan_with_nothing_overdue_is_refused(bob, make_loan, legal):
    loan = make_loan(bob, on=dt.date(2026, 3, 20))  # first bill 2026-04-20: nothing overdue
    with pytest.raises(DomainError, match="nothing overdue"):
        notice_generate(kind=NoticeKind.LAWYER_LETTER, actor=legal, loan_id=loan.pk, as_of=TODAY)
    assert Notice.objects.count() == 0


def test_the_credit_reporting_date_is_a_parameter_and_must_come_after_the_notice(
    overdue_loan, legal
):
    notice = notice_generate(
        kind=NoticeKind.CREDIT_REPORT_NOTICE,
        actor=legal,
        loan_id=overdue_loan.pk,
        as_of=TODAY,
        extra_context={"report_date": dt.date(2026, 4, 20)},
    )
    assert notice.facts["credit_report"]["report_date"] == "2026-04-20"
    assert_printed(pdf_text(notice.file.read()), "如您在2026年4月20日前仍未归还上述逾期款项")
    default = notice_generate(
        kind=NoticeKind.CREDIT_REPORT_NOTICE, actor=legal, loan_id=overdue_loan.pk, as_of=TODAY
    )
    # 30 days after 2026-02-15 is past: never before the payment deadline.
    assert default.facts["credit_report"]["report_date"] == "2026-04-08"
    with pytest.raises(DomainError, match="after the notice"):
        notice_generate(
            kind=NoticeKind.CREDIT_REPORT_NOTICE,
            actor=legal,
            loan_id=overdue_loan.pk,
            as_of=TODAY,
            extra_context={"report_date": TODAY},
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"reason": " "}, "reason"),
        ({"new_rows": []}, "at least one row"),
        ({"new_total": "1854.13"}, "does not match"),
        ({"old_rows": [{"due_date": "2026-02-15", "principal": "1.001"}]}, "two decimals"),
        ({"old_rows": [{"due_date": "2026-02-15", "principal": 1.5}]}, "not float"),
        ({"old_rows": [{"due_date": "someday", "principal": "1.00"}]}, "not a date"),
        (
            {"old_rows": [{"due_date": "2026-02-15", "principal": "1.00", "total": "2.00"}]},
            "sum of its parts",
        ),
        ({"effective_date": "2026-03-01"}, "before it is made"),
    ],
)
def test_malformed_restructuring_terms_are_refused(overdue_loan, legal, change, message):
    terms = {**RESTRUCTURING_TERMS, **change}
    if "old_rows" in change:
        terms.pop("old_total")
    with pytest.raises(DomainError, match=message):
        notice_generate(
            kind=NoticeKind.RESTRUCTURING_AGREEMENT,
            actor=legal,
            loan_id=overdue_loan.pk,
            as_of=TODAY,
            extra_context=terms,
        )


def test_case_and_loan_must_agree(alices_case, bobs_overdue_loan, legal):
    with pytest.raises(DomainError):
        notice_generate(
            kind=NoticeKind.PAYMENT_REMINDER,
            actor=legal,
            case_id=alices_case.pk,
            loan_id=bobs_overdue_loan.pk,
            as_of=TODAY,
        )
    with pytest.raises(DomainError):
        notice_generate(kind="birthday_card", actor=legal, case_id=alices_case.pk, as_of=TODAY)


# --- delivery ----------------------------------------------------------------------------


@pytest.fixture
def notice(alices_case, legal) -> Notice:
    return notice_generate(
        kind=NoticeKind.PAYMENT_REMINDER, actor=legal, case_id=alices_case.pk, as_of=TODAY
    )


def test_delivery_moves_along_the_declared_transitions_with_one_history_row_each(notice, legal):
    path = [
        (DeliveryStatus.PRINTED, ""),
        (DeliveryStatus.POSTED, "EMS 1234567890"),
        (DeliveryStatus.RETURNED, "addressee unknown"),
        (DeliveryStatus.POSTED, "EMS 1234567891"),
        (DeliveryStatus.DELIVERED, ""),
    ]
    for to_status, note in path:
        notice_delivery_record(notice_id=notice.pk, to_status=to_status, actor=legal, note=note)
    notice.refresh_from_db()
    assert (
        notice.delivery_status == DeliveryStatus.DELIVERED
        and notice.delivery_updated_at is not None
    )
    events = list(NoticeDeliveryEvent.objects.filter(notice=notice).order_by("id"))
    assert [(e.from_status, e.to_status, e.note) for e in events] == [
        ("generated", "printed", ""),
        ("printed", "posted", "EMS 1234567890"),
        ("posted", "returned", "addressee unknown"),
        ("returned", "posted", "EMS 1234567891"),
        ("posted", "delivered", ""),
    ]
    assert all(e.actor == legal for e in events)
    assert (
        AuditEvent.objects.filter(action="notice.delivery", object_id=str(notice.pk)).count() == 5
    )


@pytest.mark.parametrize(
    ("moves", "refused"),
    [
        ([], DeliveryStatus.DELIVERED),
        ([], DeliveryStatus.POSTED),
        ([], DeliveryStatus.GENERATED),
        ([DeliveryStatus.PRINTED], DeliveryStatus.PRINTED),
        (
            [DeliveryStatus.PRINTED, DeliveryStatus.POSTED, DeliveryStatus.DELIVERED],
            DeliveryStatus.RETURNED,
        ),
    ],
)
def test_moves_not_declared_are_refused_and_leave_no_trace(notice, legal, moves, refused):
    for to_status in moves:
        notice_delivery_record(notice_id=notice.pk, to_status=to_status, actor=legal)
    before = NoticeDeliveryEvent.objects.count()
    with pytest.raises(NotAllowed):
        notice_delivery_record(notice_id=notice.pk, to_status=refused, actor=legal)
    assert NoticeDeliveryEvent.objects.count() == before


def test_delivery_is_recorded_only_by_those_who_print(notice, make_staff):
    with pytest.raises(NotAllowed):
        notice_delivery_record(
            notice_id=notice.pk,
            to_status=DeliveryStatus.PRINTED,
            actor=make_staff("agnes", roles.AGENT),
        )
    with pytest.raises(DomainError):
        notice_delivery_record(
            notice_id=notice.pk, to_status="lost", actor=make_staff("sue", roles.SUPERVISOR)
        )


def test_the_database_refuses_undeclared_moves_and_history_is_append_only(notice, legal):
    notice_delivery_record(notice_id=notice.pk, to_status=DeliveryStatus.PRINTED, actor=legal)
    row = NoticeDeliveryEvent.objects.get(notice=notice)
    with pytest.raises(AppendOnlyError):
        row.delete()
    with transaction.atomic(), pytest.raises(IntegrityError):
        NoticeDeliveryEvent.objects.create(
            notice=notice, from_status="generated", to_status="delivered"
        )
    with transaction.atomic(), pytest.raises(IntegrityError):
        # A status without its date (the constraint ties them), written around the model's guard.
        Notice.objects.filter(pk=notice.pk).update(
            delivery_status="posted", delivery_updated_at=None
        )
