"""The borrower's download of their own notices (the staff's download is in notices.admin)."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404

from portal.access import borrower_required

from .models import Notice


def notice_file_response(notice: Notice, *, as_attachment: bool) -> FileResponse:
    """The archived PDF exactly as generated, under a safe ASCII file name."""
    try:
        handle = notice.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=as_attachment,
        filename=notice.download_name,
        content_type="application/pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# borrower_required is annotated for HttpResponse; a FileResponse (streaming) works the same.
@borrower_required
def notice_pdf(request: HttpRequest, notice_id: int) -> FileResponse:
    """Only the borrower the notice was sent to: anyone else's id is a 404."""
    notice = get_object_or_404(Notice, pk=notice_id, borrower=request.borrower)  # type: ignore[attr-defined]
    return notice_file_response(notice, as_attachment=True)
