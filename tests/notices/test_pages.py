"""The pages around notices: the borrower's Messages and downloads, and the staff's admin pages
(print one, the archive, delivery, batches and their progress, the case-queue action)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.files.base import ContentFile
from django.db import connection
from django.template.response import TemplateResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from debt_collections.models import Case
from notices.admin import print_notices_for_cases
from notices.models import BatchStatus, DeliveryStatus, Notice, NoticeBatch, NoticeKind
from notices.selectors import notice_timeline_text, notices_for_borrower, notices_for_case
from notices.services import notice_generate
from portal import roles
from portal.models import AuditEvent, SmsMessage

from .conftest import TODAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices_notice(alices_case, legal) -> Notice:
    return notice_generate(
        kind=NoticeKind.LAWYER_LETTER, actor=legal, case_id=alices_case.pk, as_of=TODAY
    )


def quick_notice(loan: Any, case: Case | None = None, n: int = 0) -> Notice:
    """A notice row with a stand-in file, for pages that only list notices (no rendering)."""
    notice = Notice(
        reference=f"CS-20260401-{n:08X}",
        kind=NoticeKind.PAYMENT_REMINDER,
        borrower_id=loan.borrower_id,
        loan=loan,
        case=case,
        language="zh-hans",
        sha256="0" * 64,
        size=9,
        pages=1,
        template_version="0" * 12,
        facts={},
        generated_at=timezone.now() - dt.timedelta(minutes=n),
    )
    notice.file.save("x.pdf", ContentFile(b"%PDF-1.4\n"), save=False)
    notice.save()
    return notice


def count_queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response
    return len(ctx.captured_queries)


# --- the borrower ------------------------------------------------------------------------


def test_messages_list_texts_and_notices_newest_first_with_a_download(client, alice, alices_notice):
    SmsMessage.objects.create(
        recipient=alice.user,
        mobile=alice.mobile,
        language="zh-hans",
        kind="t",
        body="较早的短信",
        dedupe_key="old",
        created_at=timezone.now() - dt.timedelta(days=1),
    )
    SmsMessage.objects.create(
        recipient=alice.user,
        mobile=alice.mobile,
        language="zh-hans",
        kind="t",
        body="最新的短信",
        dedupe_key="new",
        created_at=timezone.now() + dt.timedelta(minutes=1),
    )
    client.force_login(alice.user)
    page = client.get(reverse("loans:messages")).text
    download = reverse("notices:notice-pdf", args=[alices_notice.pk])
    # The title as printed, in the borrower's language.
    assert download in page and alices_notice.reference in page and "律师函" in page
    assert page.index("最新的短信") < page.index(alices_notice.reference) < page.index("较早的短信")


def test_only_the_borrower_downloads_their_notice(client, alice, bob, charlie, alices_notice):
    url = reverse("notices:notice-pdf", args=[alices_notice.pk])
    client.force_login(alice.user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="notice-{alices_notice.reference}.pdf"'
    )
    assert b"".join(response.streaming_content) == alices_notice.file.open("rb").read()
    client.force_login(bob.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("notices:notice-pdf", args=[999999])).status_code == 404
    client.force_login(charlie)  # staff have no borrower pages: they use the admin's
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url)["Location"].startswith("/sign-in/?next=")


def test_messages_cost_fixed_queries_however_many_notices(client, alice, alices_case):
    client.force_login(alice.user)
    quick_notice(alices_case.loan, alices_case)
    few = count_queries(client, reverse("loans:messages"))
    for n in range(1, 8):
        quick_notice(alices_case.loan, alices_case, n)
        SmsMessage.objects.create(
            recipient=alice.user,
            mobile=alice.mobile,
            language="zh-hans",
            kind="t",
            body=f"m{n}",
            dedupe_key=f"k{n}",
        )
    assert count_queries(client, reverse("loans:messages")) == few


def test_selectors_for_the_case_timeline_and_the_borrower(alices_case, bobs_case, alices_notice):
    other = quick_notice(bobs_case.loan, bobs_case, 1)
    loan_only = quick_notice(alices_case.loan, None, 2)  # e.g. a restructuring agreement
    with CaptureQueriesContext(connection) as ctx:
        for_case = list(notices_for_case(alices_case.pk))
    assert len(ctx.captured_queries) == 1
    assert [n.pk for n in for_case] == [alices_notice.pk, loan_only.pk]
    assert [n.pk for n in notices_for_borrower(bobs_case.borrower_id)] == [other.pk]
    line = notice_timeline_text(alices_notice)
    assert (
        line.startswith(alices_notice.reference) and str(alices_notice.get_kind_display()) in line
    )


# --- staff: printing one notice ------------------------------------------------------------


def test_a_legal_officer_prints_one_notice_from_a_case(client, alices_case, legal):
    client.force_login(legal)
    url = reverse("admin:notices_notice_generate") + f"?case={alices_case.pk}&kind=lawyer_letter"
    page = client.get(url)
    assert page.status_code == 200 and 'value="lawyer_letter" selected' in page.text
    response = client.post(
        reverse("admin:notices_notice_generate"), {"case": alices_case.pk, "kind": "lawyer_letter"}
    )
    notice = Notice.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "admin:notices_notice_pdf", args=[notice.pk]
    )
    assert notice.case_id == alices_case.pk and notice.generated_by == legal
    pdf = client.get(response["Location"])
    assert pdf.status_code == 200 and pdf["Content-Disposition"].startswith("inline")
    assert AuditEvent.objects.filter(action="notice.download", actor=legal).count() == 1


def test_a_refused_notice_shows_why_on_the_form(client, bob, make_loan, legal):
    from tests.debt_collections.factories import make_case

    case = make_case(make_loan(bob, on=dt.date(2026, 3, 20)))  # nothing overdue
    client.force_login(legal)
    page = client.post(
        reverse("admin:notices_notice_generate"), {"case": case.pk, "kind": "payment_reminder"}
    )
    assert (
        page.status_code == 200 and "nothing overdue" in page.text and Notice.objects.count() == 0
    )


@pytest.mark.parametrize(
    ("role", "list_status", "print_status"),
    [
        (roles.LEGAL_OFFICER, 200, 200),
        (roles.SUPERVISOR, 200, 200),
        (roles.AGENT, 200, 403),
        (roles.AUDITOR, 200, 403),
        (roles.EDITOR, 403, 403),
    ],
)
def test_each_role_reaches_its_notice_pages(
    client, make_staff, alices_notice, role, list_status, print_status
):
    client.force_login(make_staff("someone", role))
    assert client.get(reverse("admin:notices_notice_changelist")).status_code == list_status
    assert (
        client.get(reverse("admin:notices_notice_change", args=[alices_notice.pk])).status_code
        == list_status
    )
    assert (
        client.get(reverse("admin:notices_notice_pdf", args=[alices_notice.pk])).status_code
        == list_status
    )
    assert client.get(reverse("admin:notices_noticebatch_changelist")).status_code == list_status
    generate = reverse("admin:notices_notice_generate") + f"?case={alices_notice.case_id}"
    assert client.get(generate).status_code == print_status


def test_the_notice_list_costs_fixed_queries(client, legal, alices_case):
    client.force_login(legal)
    quick_notice(alices_case.loan, alices_case)
    one = count_queries(client, reverse("admin:notices_notice_changelist"))
    for n in range(1, 8):
        quick_notice(alices_case.loan, alices_case, n)
    assert count_queries(client, reverse("admin:notices_notice_changelist")) == one


def test_delivery_is_recorded_from_the_notice_page_and_the_list(
    client, legal, make_staff, alices_notice, alices_case
):
    client.force_login(legal)
    page = client.get(reverse("admin:notices_notice_change", args=[alices_notice.pk])).text
    assert 'name="to_status"' in page and 'value="printed"' in page and 'value="posted"' not in page
    before = page[: page.index('<form id="notice-delivery"')]
    assert before.count("<form") == before.count("</form>")  # not nested in the change form
    delivery = reverse("admin:notices_notice_delivery", args=[alices_notice.pk])
    client.post(delivery, {"to_status": "printed"})
    client.post(delivery, {"to_status": "posted", "note": "EMS 9876543210"})
    alices_notice.refresh_from_db()
    assert alices_notice.delivery_status == DeliveryStatus.POSTED
    assert alices_notice.delivery_events.last().note == "EMS 9876543210"

    other = quick_notice(alices_case.loan, alices_case, 1)
    client.post(
        reverse("admin:notices_notice_changelist"),
        {"action": "mark_printed", "_selected_action": [alices_notice.pk, other.pk]},
    )
    other.refresh_from_db()
    assert (
        other.delivery_status == DeliveryStatus.PRINTED
    )  # the posted one was refused, with a message
    alices_notice.refresh_from_db()
    assert alices_notice.delivery_status == DeliveryStatus.POSTED

    client.force_login(make_staff("agnes", roles.AGENT))
    assert client.post(delivery, {"to_status": "delivered"}).status_code == 403


# --- staff: batches ------------------------------------------------------------------------


def action_request(user: Any, data: dict[str, Any]) -> Any:
    request = RequestFactory().post("/admin/collections/case/", data)
    request.user = user
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def test_the_case_action_starts_a_batch_and_the_progress_page_follows_it(
    client, legal, alices_case, bobs_case, django_capture_on_commit_callbacks
):
    modeladmin = admin.site._registry[Case]
    queryset = Case.objects.filter(pk__in=[alices_case.pk, bobs_case.pk])
    chooser = print_notices_for_cases(
        modeladmin, action_request(legal, {"action": "print_notices_for_cases"}), queryset
    )
    assert isinstance(chooser, TemplateResponse) and chooser.status_code == 200
    assert chooser.template_name == "notices/admin/print_for_cases.html"

    with django_capture_on_commit_callbacks(execute=True):
        response = print_notices_for_cases(
            modeladmin, action_request(legal, {"apply": "1", "kind": "pre_litigation"}), queryset
        )
    batch = NoticeBatch.objects.get()
    assert response is not None and response["Location"] == reverse(
        "admin:notices_noticebatch_progress", args=[batch.pk]
    )
    assert (
        batch.status == BatchStatus.DONE
        and batch.total == 2
        and Notice.objects.filter(batch=batch).count() == 2
    )

    client.force_login(legal)
    page = client.get(response["Location"]).text
    assert "notice-batch-progress.js" in page and 'data-status="done"' in page
    status = client.get(reverse("admin:notices_noticebatch_status", args=[batch.pk])).json()
    assert (
        status["status"] == "done"
        and status["done"] == status["total"] == 2
        and status["percent"] == 100
    )
    assert status["download_url"] == reverse("admin:notices_noticebatch_pdf", args=[batch.pk])
    download = client.get(status["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"%PDF-")
    assert client.get(reverse("admin:notices_noticebatch_change", args=[batch.pk]))[
        "Location"
    ].endswith("/progress/")


def test_the_case_action_is_refused_without_the_print_permission(make_staff, alices_case):
    agent = make_staff("agnes", roles.AGENT)
    result = print_notices_for_cases(
        admin.site._registry[Case],
        action_request(agent, {"apply": "1", "kind": "pre_litigation"}),
        Case.objects.filter(pk=alices_case.pk),
    )
    assert result is None and NoticeBatch.objects.count() == 0


def test_a_queued_batch_reports_its_progress_without_a_download(client, legal, alices_case):
    batch = NoticeBatch.objects.create(
        kind=NoticeKind.LAWYER_LETTER, requested_by=legal, case_ids=[alices_case.pk], total=1
    )
    client.force_login(legal)
    status = client.get(reverse("admin:notices_noticebatch_status", args=[batch.pk])).json()
    assert status == {**status, "status": "queued", "done": 0, "percent": 0, "download_url": ""}
    assert client.get(reverse("admin:notices_noticebatch_pdf", args=[batch.pk])).status_code == 404
