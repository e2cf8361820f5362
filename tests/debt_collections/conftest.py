"""Fixtures for hardship requests: private media in a temporary folder, a decider, real files."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from debt_collections import services
from debt_collections.evidence import CheckedEvidence, evidence_check
from debt_collections.models import HardshipOffer, HardshipRequest
from portal.models import User

DECIDER_PERMISSIONS = [
    "view_hardshiprequest",
    "change_hardshiprequest",
    "view_hardshipevidence",
    "view_hardshipoffer",
]

PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
)


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(
    name: str, content: bytes, content_type: str = "application/octet-stream"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def pdf_upload(name: str = "doctor-note.pdf") -> SimpleUploadedFile:
    return upload(name, PDF, "application/pdf")


def png_upload(name: str = "damage.png") -> SimpleUploadedFile:
    return upload(name, image_bytes("PNG"), "image/png")


def jpeg_upload(name: str = "photo.jpg") -> SimpleUploadedFile:
    return upload(name, image_bytes("JPEG"), "image/jpeg")


def checked(*uploads: SimpleUploadedFile) -> list[CheckedEvidence]:
    return [evidence_check(u) for u in uploads]


@pytest.fixture(autouse=True)
def private_media(settings: Any, tmp_path: Any) -> Any:
    """Evidence goes to a temporary MEDIA_ROOT, never to var/private-media."""
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


@pytest.fixture
def decider(db: Any) -> User:
    """A staff member who may review, reject and make offers, and download evidence."""
    user = User.objects.create_user("dora", password="dora-pass-2026", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="collections", codename__in=DECIDER_PERMISSIONS
        )
    )
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def submit(db: Any) -> Any:
    """Submit a request through the service, as its borrower."""

    def make(
        borrower: Any,
        loan: Any = None,
        *,
        files: list[SimpleUploadedFile] | None = None,
        description: str = "我失业了，三月起没有收入。",
        reason: str = "unemployment",
        help_wanted: tuple[str, ...] = ("grace_period",),
    ) -> HardshipRequest:
        return services.hardship_request_submit(
            borrower_id=borrower.pk,
            loan_id=loan.pk if loan is not None else None,
            reason=reason,
            description=description,
            help_wanted=list(help_wanted),
            evidence=checked(*(files or [])),
            actor=borrower.user,
        )

    return make


@pytest.fixture
def offer_on(decider: User) -> Any:
    """Make an offer on a request, as the decider."""

    def make(
        request: HardshipRequest, *, kind: str = "grace_period", days: int = 7, **kwargs: Any
    ) -> HardshipOffer:
        values: dict[str, Any] = {
            "terms_zh": "宽限 30 天，期间不收罚息。",
            "terms_en": "30 days' grace, no penalty interest.",
            "grace_days": 30,
        }
        values.update(kwargs)
        return services.hardship_offer_make(
            request_id=request.pk,
            actor=decider,
            kind=kind,
            expires_at=timezone.now() + dt.timedelta(days=days),
            **values,
        )

    return make


# --- Case work (test_case_services, test_conduct, test_case_admin) ---------------------------


@pytest.fixture
def agent(make_staff: Any) -> User:
    from portal.roles import AGENT

    return make_staff("agnes", AGENT)


@pytest.fixture
def supervisor(make_staff: Any) -> User:
    from portal.roles import SUPERVISOR

    return make_staff("sue", SUPERVISOR)


@pytest.fixture
def case(alices_loan: Any) -> Any:
    """An open collections case on alice's loan, 35 days past due, unassigned."""
    from .factories import make_case

    return make_case(alices_loan)
