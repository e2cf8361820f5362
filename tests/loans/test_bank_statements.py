"""Bank statements: lines quoting a reference post once; every other line is kept for review."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loans import services
from loans.models import BankStatementLine, IntentStatus, Payment, PaymentIntent, StatementLineStatus
from portal import roles
from portal.errors import DomainError

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 1)
HEADER = "transaction_id,value_date,amount,payer,reference\n"


@pytest.fixture
def supervisor(make_staff):
    return make_staff("sam", roles.SUPERVISOR)


@pytest.fixture
def awaiting(alice, alices_loan):
    intent = services.payment_intent_create(
        borrower_id=alice.pk, loan_id=alices_loan.pk, option="custom", custom_amount="500.00",
        method="bank_transfer", business_date=TODAY, actor=alice.user,
    )
    return services.payment_intent_confirm(intent_id=intent.pk, actor=alice.user)


def statement(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def test_a_line_quoting_the_reference_posts_the_payment_and_completes_the_intent(awaiting, supervisor):
    content = statement(f"T1,2026-03-01,500.00,王丽,还款 {awaiting.reference_code.lower()}")
    imported = services.bank_statement_import(file_name="s.csv", content=content, actor=supervisor, business_date=TODAY)
    assert (imported.posted_count, imported.unmatched_count) == (1, 0)
    awaiting.refresh_from_db()
    assert awaiting.status == IntentStatus.SUCCEEDED
    payment = Payment.objects.get()
    assert payment.channel == "bank_transfer" and payment.external_reference == "T1"
    assert str(payment.amount) == "500.00"


def test_unmatched_lines_are_kept_and_nothing_posts_twice_on_a_second_import(awaiting, supervisor):
    content = statement(
        f"T1,2026-03-01,500.00,王丽,{awaiting.reference_code}",
        "T2,2026-03-01,88.00,无名,工资",
    )
    services.bank_statement_import(file_name="s.csv", content=content, actor=supervisor, business_date=TODAY)
    again = services.bank_statement_import(file_name="s.csv", content=content, actor=supervisor, business_date=TODAY)
    assert again.posted_count == 0
    assert Payment.objects.count() == 1
    statuses = sorted(BankStatementLine.objects.values_list("bank_transaction_id", "status"))
    assert statuses == [("T1", "duplicate"), ("T1", "posted"), ("T2", "duplicate"), ("T2", "unmatched")]


def test_a_transfer_larger_than_the_payoff_waits_for_review(awaiting, supervisor):
    content = statement(f"T9,2026-03-01,9999999.00,王丽,{awaiting.reference_code}")
    imported = services.bank_statement_import(file_name="s.csv", content=content, actor=supervisor, business_date=TODAY)
    line = BankStatementLine.objects.get()
    assert line.status == StatementLineStatus.NEEDS_REVIEW and "¥9999999.00" in line.note
    assert imported.unmatched_count == 1 and Payment.objects.count() == 0
    awaiting.refresh_from_db()
    assert awaiting.status == IntentStatus.AWAITING_TRANSFER


@pytest.mark.parametrize(
    "content",
    [
        statement("T1,2026-13-01,500.00,x,y"),
        statement("T1,2026-03-01,five,x,y"),
        statement(",2026-03-01,1.00,x,y"),
        b"id,date\nT1,2026-03-01\n",
        "transaction_id,value_date,amount,payer,reference\nT1,2026-03-01,1.00,张,x\n".encode("gbk"),
    ],
)
def test_a_malformed_statement_is_refused_whole(awaiting, supervisor, content):
    with pytest.raises(DomainError):
        services.bank_statement_import(file_name="s.csv", content=content, actor=supervisor, business_date=TODAY)
    assert BankStatementLine.objects.count() == 0 and Payment.objects.count() == 0


def test_staff_upload_a_statement_in_the_admin(client, supervisor, awaiting, monkeypatch):
    monkeypatch.setattr("loans.admin.business_today", lambda: TODAY)
    client.force_login(supervisor)
    upload = SimpleUploadedFile("march.csv", statement(f"T1,2026-03-01,500.00,王丽,{awaiting.reference_code}"))
    response = client.post(reverse("admin:loans_bankstatementimport_add"), {"statement": upload})
    assert response.status_code == 302
    assert PaymentIntent.objects.get().status == IntentStatus.SUCCEEDED
    page = client.get(response["Location"]).text
    assert "T1" in page


def test_a_bad_upload_shows_the_reason_and_imports_nothing(client, supervisor):
    client.force_login(supervisor)
    upload = SimpleUploadedFile("bad.csv", statement("T1,yesterday,1,x,y"))
    response = client.post(reverse("admin:loans_bankstatementimport_add"), {"statement": upload})
    assert response.status_code == 200 and "未导入任何内容" in response.text
    assert BankStatementLine.objects.count() == 0


def test_agents_cannot_import_statements(client, make_staff):
    client.force_login(make_staff("agnes", roles.AGENT))
    assert client.get(reverse("admin:loans_bankstatementimport_add")).status_code == 403
