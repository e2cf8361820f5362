"""Markdown to sanitised HTML, and reading time.

Editors write Markdown (raw HTML inside it is allowed by Markdown, so it must be cleaned).
The HTML that Python-Markdown makes goes through nh3 (the Ammonia sanitiser) with a short list
of tags and attributes: no scripts, styles, frames, images, forms or SVG, no event handlers,
no `style` or `class`, and links only to http, https, mailto, tel or relative addresses.
Anything else is dropped; the text inside an unknown tag is kept, the content of the
dangerous ones (script, style, svg …) is not.
"""

from __future__ import annotations

import math
import re

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h2", "h3", "h4",
    "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"scope"}}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Removed together with everything inside them.
CLEAN_CONTENT_TAGS = frozenset({
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
    "template", "noscript", "textarea", "select", "button", "title", "head", "xmp", "noembed",
})
LINK_REL = "noopener noreferrer nofollow"
MARKDOWN_EXTENSIONS = ["tables", "sane_lists"]

# Reading speeds: Chinese is counted in characters, other text in words.
CJK_PER_MINUTE = 400
WORDS_PER_MINUTE = 200
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
# The page's title is its only <h1>: a heading of the first level in the text becomes <h2>.
_H1 = re.compile(r"<(/?)h1\b", re.IGNORECASE)


def sanitise_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(CLEAN_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_markdown(text: str) -> SafeString:
    """Markdown as HTML that is safe to show as it is."""
    html = markdown.markdown(text or "", extensions=MARKDOWN_EXTENSIONS, output_format="html")
    html = _H1.sub(r"<\1h2", html)
    return mark_safe(sanitise_html(html))  # noqa: S308 - sanitised just above


def reading_minutes(text: str) -> int:
    """Minutes an ordinary reader needs, at least one."""
    cjk = len(_CJK.findall(text or ""))
    words = len(_WORD.findall(_CJK.sub(" ", text or "")))
    return max(1, math.ceil(cjk / CJK_PER_MINUTE + words / WORDS_PER_MINUTE))
