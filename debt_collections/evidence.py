"""Evidence files for hardship requests: checked by their content, stored outside the static root.

A file is accepted only when its bytes are a PDF, JPEG or PNG (sniffed with `filetype`, never
trusted from the name or the browser's content type), it is within the size limit, and images
decode completely with Pillow. Files live under MEDIA_ROOT (var/private-media), which no URL
serves: views stream them to the owning borrower and to staff with permission.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from PIL import Image, UnidentifiedImageError

# Sniffed type → stored extension. The stored name never comes from the borrower.
ALLOWED_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
ACCEPT_ATTRIBUTE = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_FILES = 5
# Decoding a larger image could take hundreds of megabytes of memory.
DEFAULT_MAX_PIXELS = 50_000_000
# Active content in a PDF runs when staff open it in some readers.
_PDF_ACTIVE_CONTENT = (b"/JavaScript", b"/Launch", b"/EmbeddedFile")
_CHUNK = 64 * 1024


def evidence_max_bytes() -> int:
    return int(getattr(settings, "PORTAL_EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def evidence_max_files() -> int:
    return int(getattr(settings, "PORTAL_EVIDENCE_MAX_FILES", DEFAULT_MAX_FILES))


@deconstructible
class PrivateMediaStorage(FileSystemStorage):
    """MEDIA_ROOT on disk, with no public URL: a link to a file must go through a view."""

    def __init__(self) -> None:
        super().__init__()  # location and permissions follow the settings, also when overridden

    def url(self, name: str | None) -> str:
        raise NotImplementedError("private files have no public URL; link to the download view")


def evidence_upload_to(instance: Any, filename: str) -> str:
    """hardship/<request's public id>/<random>.<extension of the sniffed type>."""
    extension = ALLOWED_TYPES.get(instance.content_type, "")
    return f"hardship/{instance.request.public_id}/{uuid.uuid4().hex}{extension}"


@dataclass(frozen=True)
class CheckedEvidence:
    """An upload that passed `evidence_check`; only that function makes these."""

    upload: UploadedFile
    original_name: str
    content_type: str
    size: int
    sha256: str


def safe_original_name(name: str | None) -> str:
    """The file's own name, without folders or control characters, for display only."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r"\s+", " ", base).strip()
    return base[:200] or "file"


def _read_all(upload: UploadedFile) -> tuple[bytes, bytes, str]:
    """The first and last 8 KiB and the SHA-256 of the whole file, reading it in chunks."""
    digest = hashlib.sha256()
    head = b""
    tail = b""
    upload.seek(0)
    for chunk in upload.chunks(_CHUNK):
        if len(head) < 8192:
            head += chunk[: 8192 - len(head)]
        tail = (tail + chunk)[-8192:]
        digest.update(chunk)
    upload.seek(0)
    return head, tail, digest.hexdigest()


def _check_pdf(upload: UploadedFile, tail: bytes) -> None:
    if b"%%EOF" not in tail:
        raise ValidationError(
            _("“%(name)s” is not a complete PDF file."),
            code="corrupt_file",
            params={"name": safe_original_name(upload.name)},
        )
    upload.seek(0)
    previous = b""
    for chunk in upload.chunks(_CHUNK):
        window = previous + chunk
        if any(marker in window for marker in _PDF_ACTIVE_CONTENT):
            upload.seek(0)
            raise ValidationError(
                _(
                    "“%(name)s” contains scripts or embedded files, which we cannot accept. "
                    "Please send a plain PDF, a photo or a scan."
                ),
                code="active_content",
                params={"name": safe_original_name(upload.name)},
            )
        previous = chunk[-32:]
    upload.seek(0)


def _check_image(upload: UploadedFile, content_type: str) -> None:
    expected = {"image/jpeg": "JPEG", "image/png": "PNG"}[content_type]
    broken = ValidationError(
        _("“%(name)s” is damaged or not a real image."),
        code="corrupt_file",
        params={"name": safe_original_name(upload.name)},
    )
    max_pixels = int(getattr(settings, "PORTAL_EVIDENCE_MAX_PIXELS", DEFAULT_MAX_PIXELS))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as image:
                if image.format != expected:
                    raise broken
                width, height = image.size
                if width * height > max_pixels:
                    raise ValidationError(
                        _("“%(name)s” has too many pixels. Please send a smaller photo."),
                        code="too_many_pixels",
                        params={"name": safe_original_name(upload.name)},
                    )
                image.verify()  # structure and checksums (PNG chunks)
            upload.seek(0)
            with Image.open(upload) as image:
                image.load()  # decodes every pixel: a truncated JPEG fails here
    except ValidationError:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        UnidentifiedImageError,
    ):
        raise broken from None
    finally:
        upload.seek(0)


def evidence_check(upload: UploadedFile) -> CheckedEvidence:
    """Accept one uploaded file or raise ValidationError with a message for the borrower."""
    name = safe_original_name(upload.name)
    size = upload.size or 0
    max_bytes = evidence_max_bytes()
    if size <= 0:
        raise ValidationError(_("“%(name)s” is empty."), code="empty_file", params={"name": name})
    if size > max_bytes:
        raise ValidationError(
            _("“%(name)s” is %(size)s; each file may be at most %(limit)s."),
            code="file_too_large",
            params={"name": name, "size": filesizeformat(size), "limit": filesizeformat(max_bytes)},
        )
    head, tail, sha256 = _read_all(upload)
    kind = filetype.guess(head)
    content_type = kind.mime if kind is not None else ""
    if content_type not in ALLOWED_TYPES:
        raise ValidationError(
            _(
                "“%(name)s” is not a PDF, JPEG or PNG file. Other kinds of file cannot be "
                "accepted, whatever their name."
            ),
            code="wrong_file_type",
            params={"name": name},
        )
    if content_type == "application/pdf":
        _check_pdf(upload, tail)
    else:
        _check_image(upload, content_type)
    return CheckedEvidence(
        upload=upload, original_name=name, content_type=content_type, size=size, sha256=sha256
    )


def evidence_check_all(uploads: Sequence[UploadedFile]) -> list[CheckedEvidence]:
    """Check every file; report every bad one at once (a ValidationError with a list)."""
    max_files = evidence_max_files()
    if len(uploads) > max_files:
        raise ValidationError(
            ngettext_lazy(
                "You can send at most %(count)s file with one request.",
                "You can send at most %(count)s files with one request.",
                "count",
            ),
            code="too_many_files",
            params={"count": max_files},
        )
    checked: list[CheckedEvidence] = []
    errors: list[ValidationError] = []
    for upload in uploads:
        try:
            checked.append(evidence_check(upload))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)
    return checked
