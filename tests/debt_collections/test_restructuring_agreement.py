"""An applied restructuring prints its agreement: the old and new schedules, archived as a notice."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from debt_collections import services
from notices.models import Notice, NoticeKind

from .restructuring_helpers import (  # noqa: F401 - fixtures
    clock,
    english,
    offered,
    open_case,
    overdue_loan,
)

pytestmark = pytest.mark.django_db


def test_applying_a_plan_prints_and_archives_its_agreement(
    clock, open_case, agent, supervisor, alice, private_media, django_capture_on_commit_callbacks
):
    proposal = offered(open_case, agent, supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        services.restructuring_offer_accept(proposal_id=proposal.pk, borrower_id=alice.pk, actor=alice.user,
                                            business_date=clock().date())
    notice = Notice.objects.get(kind=NoticeKind.RESTRUCTURING_AGREEMENT, loan=open_case.loan)
    with notice.file.open("rb") as stored:
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(stored.read())).pages)
    assert alice.real_name in text and open_case.loan.reference in text
    assert f"#{proposal.pk}" in text
