"""Every kind of notice in both languages, read back from the real PDF: names, amounts as
printed, dates, the exact Chinese phrases (no missing glyphs), the Noto CJK font, A4 pages; and
the URL fetcher, which serves the project's static files and nothing else."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils.safestring import mark_safe

from loans.models import InstallmentStatus
from notices.models import NoticeKind
from notices.rendering import (
    FetchRefused,
    NoticePart,
    StaticFilesFetcher,
    pdf_render,
    stylesheet_path,
    template_version,
)
from notices.services import notice_generate
from notices.templatetags.notice_format import amount, en_date, zh_date

from .conftest import TODAY, assert_printed, page_sizes, pdf_fonts, pdf_reader, pdf_text

pytestmark = pytest.mark.django_db

A4 = (595.3, 841.9)  # points
DEADLINE = dt.date(2026, 4, 8)  # TODAY + 7 days, a working day

# A restructuring agreement's terms as the restructuring proposals will hand them over: alice's
# two overdue bills become four new ones from May, her interest and penalty interest waived.
RESTRUCTURING_TERMS: dict[str, Any] = {
    "reason": "失业后收入下降，申请延长还款期限",
    "old_rows": [
        {
            "number": 1,
            "due_date": "2026-02-15",
            "principal": "920.16",
            "interest": "180.00",
            "penalty": "28.98",
        },
        {
            "number": 2,
            "due_date": dt.date(2026, 3, 15),
            "principal": Decimal("933.96"),
            "interest": Decimal("166.20"),
            "penalty": Decimal("9.80"),
            "fees": "0.00",
            "total": "1109.96",
        },
    ],
    "new_rows": [
        {"number": n, "due_date": f"2026-{4 + n:02d}-15", "principal": "463.53"}
        for n in range(1, 5)
    ],
    "old_total": "2239.10",
    "new_total": "1854.12",
    "waived": {"interest": "346.20", "penalty": "38.78"},
    "agreement_date": TODAY,
    "effective_date": "2026-04-02",
    "proposal": "RP-42",
}

# What each kind prints beyond the facts every notice shares, in each language.
PHRASES: dict[str, dict[str, list[str]]] = {
    "zh-hans": {
        NoticeKind.PAYMENT_REMINDER: [
            "催收函",
            "请您于2026年4月8日前归还上述逾期款项人民币2,239.10元",
            "罚息按借款合同约定的年化利率27%按日计收",
            "第1期",
            "2026年2月15日",
            "2026年3月15日",
        ],
        NoticeKind.LAWYER_LETTER: [
            "律师函",
            "北京示例律师事务所",
            "指派张明律师",
            "《中华人民共和国民法典》合同编",
            "第五百零九条",
            "第五百七十七条",
            "第六百七十五条",
            "第六百七十六条",
            "请您于2026年4月8日前归还上述逾期款项",
            "诉讼费用的承担以人民法院的裁判为准",
        ],
        NoticeKind.PRE_LITIGATION: [
            "诉前通知书",
            "本公司拟就上述借款合同纠纷向有管辖权的人民法院提起诉讼",
            "诉前调解",
            "请您于2026年4月8日前归还上述逾期款项人民币2,239.10元",
        ],
        NoticeKind.CREDIT_REPORT_NOTICE: [
            "不良信用信息报送事先告知书",
            "《征信业管理条例》第十五条",
            "如您在2026年4月8日前仍未归还上述逾期款项",
            "中国人民银行征信中心",
            "第二十五条",
        ],
        NoticeKind.RESTRUCTURING_AGREEMENT: [
            "借款重组协议",
            "甲方（出借人）：示例消费金融有限公司",
            "乙方（借款人）：王丽",
            "失业后收入下降，申请延长还款期限",
            "《中华人民共和国民法典》第五百四十三条",
            "第4期",
            "2026年8月15日",
            "463.53",
            "1,854.12",
            "合计人民币384.98元",
            "本协议自2026年4月2日起生效",
            "重组方案编号：RP-42",
        ],
    },
    "en": {
        NoticeKind.PAYMENT_REMINDER: [
            "Payment Reminder",
            "by 8 April 2026",
            "annual rate of 27%",
            "15 February 2026",
        ],
        NoticeKind.LAWYER_LETTER: [
            "Lawyer's Letter",
            "Beijing Example Law Firm",
            "北京示例律师事务所",
            "Civil Code of the People's Republic of China",
            "Article 509",
            "Article 577",
            "Article 675",
            "Article 676",
            "by 8 April 2026",
        ],
        NoticeKind.PRE_LITIGATION: [
            "Notice Before Legal Proceedings",
            "competent people's court",
            "pre-litigation mediation",
            "by 8 April 2026",
        ],
        NoticeKind.CREDIT_REPORT_NOTICE: [
            "Advance Notice of Negative Credit Reporting",
            "Article 15 of the Regulation",
            "unpaid on 8 April 2026",
            "Credit Reference Center of the People's Bank of China",
        ],
        NoticeKind.RESTRUCTURING_AGREEMENT: [
            "Loan Restructuring Agreement",
            "Party B (borrower): 李强",
            "Article 543",
            "失业后收入下降，申请延长还款期限",
            "463.53",
            "1,854.12",
            "in total CNY 384.98",
            "takes effect on 2 April 2026",
            "15 August 2026",
        ],
    },
}
COMMON: dict[str, list[str]] = {
    "zh-hans": ["示例消费金融有限公司", "日期：2026年4月1日", "已逾期45天"],
    "en": [
        "Example Consumer Finance Co., Ltd.",
        "示例消费金融有限公司",
        "Date: 1 April 2026",
        "45 days past due",
    ],
}
BORROWER: dict[str, tuple[str, str]] = {
    "zh-hans": ("王丽", "110***********002X"),
    "en": ("李强", "110***********0035"),
}


def overdue_total(loan: Any) -> Decimal:
    """Independently of the notices' code: the bills past due date + grace on TODAY."""
    bills = loan.installments.exclude(status=InstallmentStatus.SUPERSEDED)
    return sum(
        (
            bill.total_outstanding
            for bill in bills
            if TODAY > bill.due_date + dt.timedelta(days=loan.grace_days)
        ),
        Decimal("0.00"),
    )


@pytest.fixture
def loan_in(request: Any, overdue_loan: Any, bobs_overdue_loan: Any) -> Any:
    return {"zh-hans": overdue_loan, "en": bobs_overdue_loan}[request.param]


@pytest.mark.parametrize("kind", list(NoticeKind))
@pytest.mark.parametrize(
    ("loan_in", "language"), [("zh-hans", "zh-hans"), ("en", "en")], indirect=["loan_in"]
)
def test_every_kind_reads_back_in_the_borrowers_language(loan_in, language, kind, legal):
    extra = RESTRUCTURING_TERMS if kind == NoticeKind.RESTRUCTURING_AGREEMENT else None
    notice = notice_generate(
        kind=kind, actor=legal, loan_id=loan_in.pk, as_of=TODAY, extra_context=extra
    )
    data = notice.file.read()
    text = pdf_text(data)

    name, masked_id = BORROWER[language]
    assert notice.language == language
    assert_printed(
        text,
        name,
        masked_id,
        loan_in.reference,
        notice.reference,
        *COMMON[language][:2],
        *PHRASES[language][kind],
    )
    assert loan_in.borrower.national_id not in text  # only ever masked
    if kind != NoticeKind.RESTRUCTURING_AGREEMENT:
        total = overdue_total(loan_in)
        assert notice.facts["overdue"]["total"] == f"{total:.2f}"
        assert_printed(text, f"{total:,.2f}", COMMON[language][2])
    if language == "zh-hans" and kind != NoticeKind.RESTRUCTURING_AGREEMENT:
        assert_printed(text, "2,239.10")  # alice's overdue amount, worked out by hand once
    # Every glyph came from the Noto CJK fonts the set-up installs: no fallback, no blanks.
    fonts = pdf_fonts(data)
    assert fonts and all(re.match(r"Noto-?(Serif|Sans)-?CJK", font) for font in fonts), fonts
    assert page_sizes(data) == {A4}
    assert notice.pages == len(pdf_reader(data).pages)


def test_pages_are_numbered_per_notice_and_carry_the_reference(overdue_loan, legal):
    notice = notice_generate(
        kind=NoticeKind.LAWYER_LETTER, actor=legal, loan_id=overdue_loan.pk, as_of=TODAY
    )
    pages = [page.extract_text() for page in pdf_reader(notice.file.read()).pages]
    assert len(pages) == notice.pages >= 2
    for number, page in enumerate(pages, start=1):
        assert_printed(page, f"编号{notice.reference}", f"第{number}页")


def test_amounts_and_dates_are_formatted_the_same_in_any_active_language():
    assert amount("1234.5") == "1,234.50" and amount("0") == "0.00" and amount("x") == ""
    assert zh_date("2026-03-01") == "2026年3月1日" and en_date("2026-03-01") == "1 March 2026"
    assert zh_date(None) == "" and en_date("not a date") == ""


def test_template_version_is_a_short_hash_of_what_decides_the_look():
    versions = {
        (kind, language): template_version(kind, language)
        for kind in NoticeKind
        for language in ("zh-hans", "en")
    }
    assert all(re.fullmatch(r"[0-9a-f]{12}", version) for version in versions.values())
    assert len(set(versions.values())) == len(versions)  # every kind and language differs
    assert (
        template_version(NoticeKind.LAWYER_LETTER, "en")
        == versions[(NoticeKind.LAWYER_LETTER, "en")]
    )


def test_template_version_changes_when_the_stylesheet_changes(tmp_path, monkeypatch):
    before = template_version(NoticeKind.PAYMENT_REMINDER, "zh-hans")
    copy = tmp_path / "notice.css"
    copy.write_bytes(stylesheet_path().read_bytes() + b"\n/* changed */\n")
    monkeypatch.setattr("notices.rendering.stylesheet_path", lambda: copy)
    assert template_version(NoticeKind.PAYMENT_REMINDER, "zh-hans") != before


# --- rendering many notices as one document ----------------------------------------------


def part(anchor: str, body: str) -> NoticePart:
    return NoticePart(
        anchor=anchor,
        title=anchor,
        html=mark_safe(
            f'<section class="notice" id="{anchor}" lang="zh-Hans"><p>{body}</p></section>'
        ),
    )


def test_one_document_splits_into_each_notices_own_pages():
    long = "逾期款项合计人民币。" * 400  # about three pages
    parts = [
        part("notice-A", "甲" + long),
        part("notice-B", "乙短函"),
        part("notice-C", "丙" + long),
    ]
    result = pdf_render(parts, title="batch")
    assert [p.anchor for p in result.parts] == ["notice-A", "notice-B", "notice-C"]
    assert result.parts[1].pages == 1 and result.parts[0].pages >= 2
    assert result.pages == sum(p.pages for p in result.parts)
    assert "乙短函" in pdf_text(result.parts[1].pdf) and "甲" not in pdf_text(result.parts[1].pdf)
    metadata = pdf_reader(result.parts[1].pdf).metadata
    assert metadata is not None and metadata.title == "notice-B"  # its own title
    assert pdf_text(result.parts[0].pdf).lstrip().startswith("甲")
    assert "乙短函" in pdf_text(result.combined)


# --- the URL fetcher -----------------------------------------------------------------------


def static_file_url() -> str:
    return stylesheet_path().as_uri()


def test_the_fetcher_serves_the_projects_static_files():
    response = StaticFilesFetcher().fetch(static_file_url())
    assert b"@page" in response.read() and response.content_type == "text/css"


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/x.png",
        "https://evil.example/style.css",
        "ftp://evil.example/x",
        "data:text/css,body{}",
        "file:///etc/passwd",
        "file://evil.example/share/x.css",
        "__STATIC__/../../portal/settings.py",
        "__STATIC__/%2e%2e/%2e%2e/portal/settings.py",
        "__STATIC__/pdf/no-such-file.css",
        "__STATIC__/pdf/",
    ],
)
def test_the_fetcher_refuses_anything_else(url):
    base = Path(settings.STATICFILES_DIRS[0]).resolve().as_uri()
    with pytest.raises(FetchRefused):
        StaticFilesFetcher().fetch(url.replace("__STATIC__", base))


def test_a_template_pointing_outside_stops_the_rendering_and_nothing_is_fetched(monkeypatch):
    asked: list[str] = []
    original = StaticFilesFetcher.fetch

    def spy(self: StaticFilesFetcher, url: str, headers: Any = None) -> Any:
        asked.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(StaticFilesFetcher, "fetch", spy)
    bad = NoticePart(
        anchor="notice-X",
        title="x",
        html=mark_safe(
            '<section class="notice" id="notice-X"><img src="http://evil.example/x.png"></section>'
        ),
    )
    with pytest.raises(FetchRefused):
        pdf_render([bad], title="x")
    assert "http://evil.example/x.png" in asked  # asked, and refused: never opened
