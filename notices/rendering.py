"""HTML templates to PDF with WeasyPrint's Python API, in the long-lived web or task process.

- `notice_html` renders one notice's template (templates/pdf/<language>/<kind>.html) to an HTML
  fragment: a <section> whose id is the notice's anchor. Django's autoescaping stays on: no
  template marks a fact safe, so a borrower's own text prints as the characters they typed.
- `pdf_render` lays out any number of fragments as ONE HTML document (each notice starts a new
  page and its own page numbering), writes the combined PDF, and splits it back into one PDF per
  notice with `Document.copy(pages)`, finding each notice's pages by its anchor.
- `StaticFilesFetcher` is the only way WeasyPrint reads anything: it serves files below the
  project's static directories (the stylesheet) and refuses every other URL, so a template can
  never make the renderer fetch from the network or read other files.
- `template_version` is the short SHA-256 of everything that decides how a notice looks.
"""

from __future__ import annotations

import copy
import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString, mark_safe
from weasyprint import HTML
from weasyprint.document import Document
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

STYLESHEET = "pdf/notice.css"
DOCUMENT_TEMPLATE = "pdf/document.html"
# Partials every notice of one language shares (letterhead, amounts table, rights, how to pay).
_PARTIALS = ("_notice.html", "_overdue_table.html", "_how_to_pay.html", "_rights.html")
HASH_LENGTH = 12


class FetchRefused(ValueError):
    """WeasyPrint asked for a URL outside the project's static files."""


def static_roots() -> list[Path]:
    """The project's static directories (STATICFILES_DIRS and STATIC_ROOT), resolved."""
    roots: list[Path] = []
    for entry in settings.STATICFILES_DIRS:
        location = entry[1] if isinstance(entry, tuple | list) else entry
        roots.append(Path(location).resolve())
    if settings.STATIC_ROOT:
        roots.append(Path(settings.STATIC_ROOT).resolve())
    return roots


class StaticFilesFetcher(URLFetcher):
    """Serves file: URLs below the project's static directories; refuses everything else.

    A refusal stops the rendering (fail_on_errors): a template that points anywhere else is a
    bug to see, not a missing image to shrug at. `requested` lists every URL asked for.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=["file"], allow_redirects=False, fail_on_errors=True)
        self.requested: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        self.requested.append(url)
        path = self.resolve(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            url, body=path.read_bytes(), headers={"Content-Type": content_type}
        )

    @staticmethod
    def resolve(url: str) -> Path:
        """The static file a URL names, or FetchRefused."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise FetchRefused(f"notices fetch only the project's static files, not {url!r}")
        path = Path(url2pathname(parts.path)).resolve()  # "..", symlinks and %2e resolved away
        if not any(path.is_relative_to(root) for root in static_roots()) or not path.is_file():
            raise FetchRefused(f"{url!r} is not a file among the project's static files")
        return path


def stylesheet_path() -> Path:
    found = finders.find(STYLESHEET)
    if not found:
        raise RuntimeError(f"static file {STYLESHEET} is missing")
    return Path(found if isinstance(found, str) else found[0]).resolve()


def notice_template_name(kind: str, language: str) -> str:
    return f"pdf/{language}/{kind}.html"


def _template_source(name: str) -> bytes:
    origin = get_template(name).origin  # type: ignore[attr-defined]
    return Path(origin.name).read_bytes()


def template_version(kind: str, language: str) -> str:
    """Short SHA-256 of the kind's template, its language's partials, the document layout and
    the stylesheet: any change to what a notice looks like gives a new version."""
    digest = hashlib.sha256()
    names = [
        notice_template_name(kind, language),
        *(f"pdf/{language}/{partial}" for partial in _PARTIALS),
        DOCUMENT_TEMPLATE,
    ]
    for name in names:
        source = _template_source(name)
        digest.update(f"{name}\0{len(source)}\0".encode())
        digest.update(source)
    css = stylesheet_path().read_bytes()
    digest.update(f"{STYLESHEET}\0{len(css)}\0".encode())
    digest.update(css)
    return digest.hexdigest()[:HASH_LENGTH]


@dataclass(frozen=True)
class NoticePart:
    """One notice to lay out: its anchor (the id of its <section>), title and HTML."""

    anchor: str
    title: str
    html: SafeString


@dataclass(frozen=True)
class RenderedPart:
    anchor: str
    pdf: bytes
    pages: int


@dataclass(frozen=True)
class RenderResult:
    combined: bytes
    pages: int
    parts: list[RenderedPart]


def notice_html(*, kind: str, language: str, anchor: str, facts: dict[str, Any]) -> NoticePart:
    """Render one notice's template with its facts (the `notice` variable of the template)."""
    html = render_to_string(
        notice_template_name(kind, language),
        {"notice": facts, "anchor": anchor, "language": language},
    )
    # Autoescaped output of our own template: safe to place in the document as it is.
    return NoticePart(anchor=anchor, title=str(facts.get("title", anchor)), html=mark_safe(html))


def _document_html(parts: Sequence[NoticePart], title: str, language: str) -> str:
    return render_to_string(
        DOCUMENT_TEMPLATE,
        {
            "parts": [part.html for part in parts],
            "title": title,
            "language": language,
            "stylesheet_url": stylesheet_path().as_uri(),
            "author": settings.PORTAL_COMPANY_NAME,
        },
    )


def _pages_by_anchor(document: Document, parts: Sequence[NoticePart]) -> dict[str, list[Any]]:
    """Each notice's pages: a page belongs to the notice whose anchor it carries (every page a
    section spans carries the section's anchor; a notice always starts a new page)."""
    wanted = {part.anchor for part in parts}
    pages: dict[str, list[Any]] = {part.anchor: [] for part in parts}
    for page in document.pages:
        mine = [anchor for anchor in page.anchors if anchor in wanted]
        if len(mine) != 1:
            raise RuntimeError(f"a page carries {len(mine)} notice anchors, expected one: {mine}")
        pages[mine[0]].append(page)
    missing = [anchor for anchor, found in pages.items() if not found]
    if missing:
        raise RuntimeError(f"notices without pages: {missing}")
    return pages


def pdf_render(
    parts: Sequence[NoticePart], *, title: str, language: str = "zh-hans", split: bool = True
) -> RenderResult:
    """Lay out the parts as one document; the combined PDF and, with `split`, each part's own."""
    if not parts:
        raise ValueError("nothing to render")
    fetcher = StaticFilesFetcher()
    try:
        html = HTML(
            string=_document_html(parts, title, language),
            base_url=stylesheet_path().parent.as_uri() + "/",
            url_fetcher=fetcher,
        )
        document = html.render()
    except FatalURLFetchingError as refused:  # a BaseException: made an ordinary error here
        raise FetchRefused(str(refused.__cause__ or refused)) from refused
    combined = document.write_pdf()
    rendered: list[RenderedPart] = []
    if split:
        by_anchor = _pages_by_anchor(document, parts)
        for part in parts:
            pages = by_anchor[part.anchor]
            if len(parts) == 1:
                pdf = combined
            else:
                own = document.copy(pages)
                own.metadata = copy.copy(document.metadata)
                own.metadata.title = part.title
                pdf = own.write_pdf()
            rendered.append(RenderedPart(anchor=part.anchor, pdf=pdf, pages=len(pages)))
    return RenderResult(combined=combined, pages=len(document.pages), parts=rendered)
