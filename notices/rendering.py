"""HTML templates to PDF with WeasyPrint's Python API, in the long-lived web or task process.

- `notice_html` renders one notice's template (templates/pdf/<language>/<kind>.html) to an HTML
  fragment: a <section> whose id is the notice's anchor. Django's autoescaping stays on: no
  template marks a fact safe, so a borrower's own text prints as the characters they typed.
- `pdf_render` lays out any number of fragments as ONE HTML document (each notice starts a new
  page and its own page numbering), writes the combined PDF once, and splits it back into one
  PDF per notice by copying each notice's pages out of it with pypdf (found by its anchor). The
  work itself is a `RenderJob` (plain data: the document's HTML and the notices' anchors), so
  `notices.render_pool` can run it in a helper process too.
- `StaticFilesFetcher` is the only way WeasyPrint reads anything: it serves files below the
  project's static directories (the stylesheet) and refuses every other URL, so a template can
  never make the renderer fetch from the network or read other files.
- `template_version` is the short SHA-256 of everything that decides how a notice looks.
"""

from __future__ import annotations

import hashlib
import io
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
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, TextStringObject
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


def _page_counts(document: Document, anchors: Sequence[str]) -> list[int]:
    """How many pages each notice has, in order: a page belongs to the notice whose anchor it
    carries (every page a section spans carries the section's anchor; a notice always starts a
    new page), and each notice's pages follow one another."""
    wanted = set(anchors)
    counts: dict[str, int] = dict.fromkeys(anchors, 0)
    order: list[str] = []
    for page in document.pages:
        mine = [anchor for anchor in page.anchors if anchor in wanted]
        if len(mine) != 1:
            raise RuntimeError(f"a page carries {len(mine)} notice anchors, expected one: {mine}")
        if not order or order[-1] != mine[0]:
            order.append(mine[0])
        counts[mine[0]] += 1
    missing = [anchor for anchor, found in counts.items() if not found]
    if missing:
        raise RuntimeError(f"notices without pages: {missing}")
    if order != list(anchors):
        raise RuntimeError("the notices' pages are not in the order of the notices")
    return [counts[anchor] for anchor in anchors]


def _split(combined: bytes, titles: Sequence[str], counts: Sequence[int]) -> list[bytes]:
    """Each notice's own PDF: its pages copied out of the combined PDF as they are (content
    streams untouched, so the text and the look are those of the combined file), with the
    combined file's metadata and the notice's own title.

    The pages keep using the combined document's embedded font subsets: the fonts are subset
    once per document, not once per notice (subsetting the two CJK fonts costs about as much as
    laying a letter out). So a notice's file also holds the glyphs, and their characters as an
    unordered set, that the other letters of its document use; never their text, pages or
    metadata. A document is one batch chunk (PORTAL_NOTICE_BATCH_CHUNK cases at most).
    """
    reader = PdfReader(io.BytesIO(combined))
    info = {key: str(value) for key, value in (reader.metadata or {}).items()}
    language = reader.root_object.get("/Lang")
    pdfs: list[bytes] = []
    start = 0
    for title, count in zip(titles, counts, strict=True):
        writer = PdfWriter()
        for index in range(start, start + count):
            writer.add_page(reader.pages[index])
        writer.add_metadata({**info, "/Title": title})
        if language is not None:
            writer.root_object[NameObject("/Lang")] = TextStringObject(str(language))
        out = io.BytesIO()
        writer.write(out)
        pdfs.append(out.getvalue())
        start += count
    return pdfs


@dataclass(frozen=True)
class RenderJob:
    """One document to lay out, as plain data: rendered here or in a helper process."""

    html: str
    base_url: str
    anchors: tuple[str, ...]
    titles: tuple[str, ...]
    split: bool


def render_job(
    parts: Sequence[NoticePart], *, title: str, language: str = "zh-hans", split: bool = True
) -> RenderJob:
    if not parts:
        raise ValueError("nothing to render")
    return RenderJob(
        html=_document_html(parts, title, language),
        base_url=stylesheet_path().parent.as_uri() + "/",
        anchors=tuple(part.anchor for part in parts),
        titles=tuple(part.title for part in parts),
        split=split,
    )


def run_render_job(job: RenderJob) -> RenderResult:
    """Lay the document out once, write the combined PDF once (fonts subset once), and with
    `split` cut it into each notice's own PDF by page ranges."""
    fetcher = StaticFilesFetcher()
    try:
        document = HTML(string=job.html, base_url=job.base_url, url_fetcher=fetcher).render()
    except FatalURLFetchingError as refused:  # a BaseException: made an ordinary error here
        raise FetchRefused(str(refused.__cause__ or refused)) from refused
    combined = document.write_pdf()
    rendered: list[RenderedPart] = []
    if job.split:
        counts = _page_counts(document, job.anchors)
        if len(job.anchors) == 1:
            pdfs = [combined]
        else:
            pdfs = _split(combined, job.titles, counts)
        rendered = [
            RenderedPart(anchor=anchor, pdf=pdf, pages=count)
            for anchor, pdf, count in zip(job.anchors, pdfs, counts, strict=True)
        ]
    return RenderResult(combined=combined, pages=len(document.pages), parts=rendered)


def pdf_render(
    parts: Sequence[NoticePart], *, title: str, language: str = "zh-hans", split: bool = True
) -> RenderResult:
    """Lay out the parts as one document; the combined PDF and, with `split`, each part's own."""
    return run_render_job(render_job(parts, title=title, language=language, split=split))
