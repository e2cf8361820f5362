"""Evidence files are judged by their bytes: PDF, JPEG or PNG, complete, within the limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from debt_collections.evidence import (
    PrivateMediaStorage,
    evidence_check,
    evidence_check_all,
    safe_original_name,
)

from .conftest import PDF, image_bytes, jpeg_upload, pdf_upload, png_upload, upload


def refusal(error: pytest.ExceptionInfo) -> tuple[list[str], str]:
    with translation.override("en"):
        return [e.code or "" for e in error.value.error_list], " ".join(error.value.messages)


@pytest.mark.parametrize(
    "make, expected",
    [
        (pdf_upload, "application/pdf"),
        (png_upload, "image/png"),
        (jpeg_upload, "image/jpeg"),
    ],
)
def test_real_pdf_png_and_jpeg_files_are_accepted(make, expected):
    checked = evidence_check(make())
    assert checked.content_type == expected
    assert checked.size > 0 and len(checked.sha256) == 64


def test_the_type_comes_from_the_content_not_the_name_or_the_browser():
    checked = evidence_check(upload("scan.pdf", image_bytes("PNG"), "application/pdf"))
    assert checked.content_type == "image/png"


@pytest.mark.parametrize(
    "name, content, code",
    [
        ("x.pdf", b"just some text pretending to be a PDF\n", "wrong_file_type"),
        (
            "invoice.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200,
            "wrong_file_type",
        ),
        ("photo.jpg", b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 30, "wrong_file_type"),
        ("page.png", b"<html><script>alert(1)</script></html>", "wrong_file_type"),
        ("cut.png", image_bytes("PNG", (200, 200))[:-60], "corrupt_file"),
        ("cut.jpg", image_bytes("JPEG", (400, 300))[:200], "corrupt_file"),
        ("no-end.pdf", PDF.replace(b"%%EOF", b""), "corrupt_file"),
        (
            "script.pdf",
            PDF.replace(
                b"/Type /Catalog",
                b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
            ),
            "active_content",
        ),
        ("empty.pdf", b"", "empty_file"),
    ],
)
def test_files_that_are_not_what_we_accept_are_refused(name, content, code):
    with pytest.raises(ValidationError) as refused:
        evidence_check(upload(name, content, "application/pdf"))
    codes, message = refusal(refused)
    assert codes == [code]
    assert name in message


def test_a_renamed_exe_is_refused_with_a_readable_message():
    with pytest.raises(ValidationError) as refused:
        evidence_check(upload("payslip.pdf", b"MZ\x90\x00" + b"\x00" * 300))
    assert refusal(refused)[1] == (
        "“payslip.pdf” is not a PDF, JPEG or PNG file. "
        "Other kinds of file cannot be accepted, whatever their name."
    )


def test_an_oversized_file_is_refused_before_it_is_read(settings):
    settings.PORTAL_EVIDENCE_MAX_BYTES = 100
    with pytest.raises(ValidationError) as refused:
        evidence_check(pdf_upload("big.pdf"))
    codes, message = refusal(refused)
    assert codes == ["file_too_large"] and "big.pdf" in message and "100" in message


def test_the_default_limit_is_five_megabytes():
    big = PDF[:-6] + b"0" * (5 * 1024 * 1024) + b"\n%%EOF\n"
    with pytest.raises(ValidationError) as refused:
        evidence_check(upload("huge.pdf", big))
    assert refusal(refused)[0] == ["file_too_large"]


def test_an_image_with_too_many_pixels_is_refused(settings):
    settings.PORTAL_EVIDENCE_MAX_PIXELS = 1000
    with pytest.raises(ValidationError) as refused:
        evidence_check(png_upload())
    assert refusal(refused)[0] == ["too_many_pixels"]


def test_at_most_five_files_and_every_bad_one_is_named():
    with pytest.raises(ValidationError) as refused:
        evidence_check_all([pdf_upload(f"{n}.pdf") for n in range(6)])
    assert refusal(refused)[0] == ["too_many_files"]
    with pytest.raises(ValidationError) as refused:
        evidence_check_all([pdf_upload(), upload("a.pdf", b"text"), upload("b.png", b"more text")])
    codes, message = refusal(refused)
    assert (
        codes == ["wrong_file_type", "wrong_file_type"]
        and "a.pdf" in message
        and "b.png" in message
    )
    assert len(evidence_check_all([pdf_upload(f"{n}.pdf") for n in range(5)])) == 5


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\病历.pdf", "病历.pdf"),
        ("a\x00b\nc.pdf", "abc.pdf"),
        ("", "file"),
    ],
)
def test_the_original_name_is_kept_without_folders_or_control_characters(raw, shown):
    assert safe_original_name(raw) == shown


def test_private_files_live_outside_the_static_root_and_have_no_public_url(private_media):
    from portal import settings as project

    assert not project.MEDIA_ROOT.resolve().is_relative_to(project.STATIC_ROOT.resolve())
    assert all(
        not project.MEDIA_ROOT.resolve().is_relative_to(Path(d).resolve())
        for d in project.STATICFILES_DIRS
    )
    storage = PrivateMediaStorage()
    assert str(storage.location) == str(private_media)  # follows the (overridden) setting
    with pytest.raises(NotImplementedError):
        storage.url("hardship/x.pdf")
