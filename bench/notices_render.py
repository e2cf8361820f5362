"""Printed notices: one lawyer's letter alone, and 1,000 lawyer's letters as one combined PDF.

    .venv/bin/python -m bench.notices_render                     # PostgreSQL (throwaway)
    .venv/bin/python -m bench.notices_render --sqlite --letters 200
    .venv/bin/python -m bench.notices_render --sqlite --processes 1   # no helper processes

Builds N overdue loans with their open cases (names, ID numbers, amounts and languages vary:
one borrower in four reads English), then prints:

1. one lawyer's letter through `notice_generate` (facts, render, archive): the first call, which
   loads the fonts, then the median of the next ones;
2. a batch of N lawyer's letters through the batch task (`notice_batch_run`: each chunk laid out
   as one document per render process, each notice cut out of it and archived with its hash,
   the chunks joined into one combined PDF): wall time, CPU, pages, size, time a letter, and
   where the time went.

Then checks the results: the batch is done with one notice per case; the combined PDF has as
many pages as the notices together, and each notice's own file as many as the notice says; a
few letters read back from the combined PDF at their place (first, second, middle, an English
one, last) carry their own borrower's name, ID number (masked), reference and overdue amount
(worked out here from the bills), and not their neighbours'; the same letters' own PDFs read
back alike; every archived file's SHA-256 matches its stored bytes. Exits non-zero only when a
result is wrong, never because the machine was slow.

Uses a scratch MEDIA_ROOT (var/bench-notices-media). The batch runs in one task slice
(PORTAL_NOTICE_BATCH_SLICE_SECONDS is raised for the run) with the configured chunk size
(PORTAL_NOTICE_BATCH_CHUNK, or --chunk).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import resource
import shutil
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from bench import harness

MODULE = "bench.notices_render"
AS_OF = dt.date(2026, 4, 1)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"
    "于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩"
    "凯健俊帆帅旭宁龙林欣晨瑶怡婷雪慧颖琳雯倩蕾薇梦璐佳悦鑫博文轩子涵若曦思远"
)


def main() -> int:
    parser = harness.arguments(__doc__)
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--chunk", type=int, help="cases a chunk (default: the setting)")
    parser.add_argument("--processes", type=int, help="render processes (default: the setting)")
    parser.add_argument("--singles", type=int, default=7, help="single letters printed")
    args = parser.parse_args()
    harness.setup(MODULE, sqlite=args.sqlite)

    from django.conf import settings
    from django.db import connection

    from notices import services as notice_services

    media = harness.ROOT / "var" / "bench-notices-media"
    shutil.rmtree(media, ignore_errors=True)
    settings.MEDIA_ROOT = media
    settings.PORTAL_NOTICE_BATCH_SLICE_SECONDS = 10**6
    if args.chunk:
        settings.PORTAL_NOTICE_BATCH_CHUNK = args.chunk
    if args.processes:
        settings.PORTAL_NOTICE_RENDER_PROCESSES = args.processes
    notice_services.business_today = lambda: AS_OF  # type: ignore[assignment]

    began = time.perf_counter()
    legal, cases = build(args.letters)
    print(
        f"database: {connection.vendor}; {len(cases):,} overdue loans with open cases built in "
        f"{time.perf_counter() - began:.1f} s"
    )
    wrong: list[str] = []
    try:
        single(legal, cases[0], args.singles, wrong)
        batch(legal, cases, wrong)
    finally:
        shutil.rmtree(media, ignore_errors=True)
    for problem in wrong:
        print("WRONG:", problem)
    print("results: " + ("WRONG" if wrong else "all checks passed"))
    return 1 if wrong else 0


# --- the data ------------------------------------------------------------------------------


def build(letters: int) -> tuple[Any, list[Any]]:
    """`letters` borrowers with one 12-month loan each, its first two bills overdue (set
    directly: ageing is not measured), and an open collections case for each."""
    from django.contrib.auth.models import Group

    from debt_collections.models import Case
    from loans import services
    from loans.models import Installment, InstallmentStatus, Loan, Product
    from portal.models import User
    from portal.roles import LEGAL_OFFICER

    product, _ = Product.objects.get_or_create(
        code="bench-12",
        defaults={
            "name": "Bench 12",
            "annual_rate": Decimal("0.18"),
            "repayment_method": "equal_installment",
            "term_months": 12,
        },
    )
    if User.objects.filter(username="bench-legal").exists():
        raise SystemExit(
            "the database holds this benchmark's data from an earlier run (notices are never "
            "deleted): use an empty database"
        )
    legal = User.objects.create_user("bench-legal", password="x", is_staff=True)
    legal.groups.add(Group.objects.get(name=LEGAL_OFFICER))
    loans = []
    for i in range(letters):
        borrower = services.borrower_register(
            mobile=f"137{i:08d}",
            real_name=_name(i),
            national_id=_national_id(i),
            password=None,
            preferred_language="en" if i % 4 == 3 else "zh-hans",
        )
        loans.append(
            services.loan_disburse(
                borrower_id=borrower.pk,
                product_id=product.pk,
                principal=Decimal(8000 + 100 * (i % 97)),
                disbursed_on=dt.date(2026, 1, 15),
            )
        )
    for number, penalty in ((1, "20.00"), (2, "7.50")):
        Installment.objects.filter(loan__in=loans, number=number).update(
            status=InstallmentStatus.OVERDUE,
            penalty_due=Decimal(penalty),
            overdue_since=dt.date(2026, 2, 19),
        )
    Loan.objects.filter(pk__in=[loan.pk for loan in loans]).update(
        days_past_due=45, stage="collections"
    )
    cases = Case.objects.bulk_create(
        Case(
            loan=loan,
            borrower_id=loan.borrower_id,
            stage="collections",
            days_past_due=45,
            overdue_amount=Decimal("2240.00"),
            outstanding_amount=Decimal("11000.00"),
            opened_on=AS_OF,
        )
        for loan in loans
    )
    return legal, cases


def _name(i: int) -> str:
    """Two- and three-character Chinese names, many different characters (as the post room's
    batches have: the fonts' subsets grow with them)."""
    given = GIVEN[(i * 7) % len(GIVEN)]
    if i % 3:
        given += GIVEN[(i * 13 + 5) % len(GIVEN)]
    return SURNAMES[i % len(SURNAMES)] + given


def _national_id(i: int) -> str:
    """Valid 18-character resident ID numbers (check digit computed)."""
    body = f"110101198001{(i % 28) + 1:02d}{i % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


def _overdue_total(loan: Any) -> Decimal:
    """Independently of the notices' code: the bills past due date + grace on AS_OF."""
    from loans.models import InstallmentStatus

    return sum(
        (
            bill.total_outstanding
            for bill in loan.installments.exclude(status=InstallmentStatus.SUPERSEDED)
            if AS_OF > bill.due_date + dt.timedelta(days=loan.grace_days)
        ),
        Decimal("0.00"),
    )


# --- one letter ----------------------------------------------------------------------------


def single(legal: Any, case: Any, count: int, wrong: list[str]) -> None:
    from notices import services as notice_services
    from notices.models import NoticeKind

    times, cpu = [], []
    notices = []
    for _attempt in range(max(2, count)):
        start, start_cpu = time.perf_counter(), time.process_time()
        notices.append(
            notice_services.notice_generate(
                kind=NoticeKind.LAWYER_LETTER, actor=legal, case_id=case.pk, as_of=AS_OF
            )
        )
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    pages, size = notices[-1].pages, notices[-1].size
    print(
        f"one lawyer's letter alone (notice_generate): first {times[0]:.2f} s (loads the fonts), "
        f"then median {statistics.median(times[1:]) * 1000:.0f} ms "
        f"(min {min(times[1:]) * 1000:.0f} ms; {statistics.median(cpu[1:]) * 1000:.0f} ms of CPU) "
        f"over {len(times) - 1}; {pages} pages, {size / 1024:.0f} KB"
    )
    for notice in notices:
        check_archived(notice, wrong)
    check_letter(
        _pdf_text(_read(notices[-1])),
        case.loan,
        notices[-1].reference,
        [],
        wrong,
        "the single letter",
    )
    if any(notice.pages != pages for notice in notices):
        wrong.append("the same letter printed twice has different page counts")


# --- the batch -----------------------------------------------------------------------------


class Phases:
    """Wall time spent inside a few functions of the batch task (wrapped for the run)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        setattr(owner, name, timed)


def batch(legal: Any, cases: list[Any], wrong: list[str]) -> None:
    from django.conf import settings
    from pypdf import PdfReader

    from notices import render_pool, services
    from notices.models import BatchStatus, Notice, NoticeBatch, NoticeKind

    phases = Phases()
    phases.wrap(services, "notice_facts", "facts")
    phases.wrap(services, "notice_html", "HTML")
    phases.wrap(services, "render_slices", "render (layout, PDF, split; all processes)")
    phases.wrap(services, "_join_parts", "join the parts")
    processes = render_pool.render_processes()
    chunk = settings.PORTAL_NOTICE_BATCH_CHUNK

    batch = NoticeBatch.objects.create(
        kind=NoticeKind.LAWYER_LETTER,
        requested_by=legal,
        case_ids=[c.pk for c in cases],
        total=len(cases),
    )
    with _cpu() as cpu:
        start = time.perf_counter()
        outcome = services.notice_batch_run(batch_id=batch.pk)
        elapsed = time.perf_counter() - start
    batch.refresh_from_db()
    notices = list(Notice.objects.filter(batch=batch).select_related("loan").order_by("id"))
    letters = len(cases)
    combined = _read(batch) if batch.file else b""
    reader = PdfReader(io.BytesIO(combined)) if combined else None
    pages = len(reader.pages) if reader else 0
    print(
        f"{letters:,} lawyer's letters as one combined PDF (notice_batch_run, chunks of {chunk}, "
        f"{processes} render process{'es' if processes > 1 else ''}): {elapsed:.1f} s wall, "
        f"{elapsed / letters * 1000:.1f} ms a letter; {cpu['self']:.1f} s CPU here + "
        f"{cpu['children']:.1f} s in helpers; {pages:,} pages, {len(combined) / 1e6:.1f} MB; "
        f"notices' own files {sum(n.size for n in notices) / 1e6:.0f} MB in all; "
        f"peak memory here {harness.peak_memory_mb():.0f} MB"
    )
    accounted = sum(phases.seconds.values())
    print(
        "  where the wall time went: "
        + "; ".join(f"{label} {seconds:.1f} s" for label, seconds in phases.seconds.items())
        + f"; the rest (reading cases, archiving files, rows, audit, hashes) "
        f"{elapsed - accounted:.1f} s"
    )

    if outcome != "done" or batch.status != BatchStatus.DONE:
        wrong.append(f"batch ended {outcome!r} with status {batch.status!r}: {batch.error}")
    if len(notices) != letters or batch.generated != letters:
        wrong.append(f"{len(notices)} notices for {letters} cases ({batch.generated} generated)")
    if [n.case_id for n in notices] != [c.pk for c in cases]:
        wrong.append("the notices are not in the order of the cases")
    if hashlib.sha256(combined).hexdigest() != batch.sha256:
        wrong.append("the combined PDF's SHA-256 does not match its stored bytes")
    if pages != sum(n.pages for n in notices):
        wrong.append(f"the combined PDF has {pages} pages, the notices together more or fewer")
    for notice in notices:
        check_archived(notice, wrong)
    if reader is None or not notices:
        return
    # A few letters read back at their place in the combined PDF, and from their own files.
    first_page = [0]
    for notice in notices:
        first_page.append(first_page[-1] + notice.pages)
    english = next((i for i, n in enumerate(notices) if n.language == "en"), 0)
    for index in sorted({0, 1, len(notices) // 2, english, len(notices) - 1}):
        notice = notices[index]
        text = "\n".join(
            reader.pages[page].extract_text()
            for page in range(first_page[index], first_page[index + 1])
        )
        neighbours = [n.reference for n in notices[max(0, index - 1) : index + 2] if n != notice]
        check_letter(
            text,
            notice.loan,
            notice.reference,
            neighbours,
            wrong,
            f"letter {index + 1} in the combined PDF",
        )
        own = _read(notice)
        check_letter(
            _pdf_text(own),
            notice.loan,
            notice.reference,
            neighbours,
            wrong,
            f"letter {index + 1}'s own PDF",
        )
        if len(PdfReader(io.BytesIO(own)).pages) != notice.pages:
            wrong.append(f"letter {index + 1}'s own PDF has not {notice.pages} pages")


def _read(notice: Any) -> bytes:
    with notice.file.storage.open(notice.file.name, "rb") as handle:
        return handle.read()  # type: ignore[no-any-return]


def check_archived(notice: Any, wrong: list[str]) -> None:
    data = _read(notice)
    if hashlib.sha256(data).hexdigest() != notice.sha256 or len(data) != notice.size:
        wrong.append(f"{notice.reference}: the archived hash or size does not match the file")


def check_letter(
    text: str, loan: Any, reference: str, others: list[str], wrong: list[str], where: str
) -> None:
    flat = "".join(text.split())
    national_id = loan.borrower.national_id
    expected = [
        loan.borrower.real_name,
        f"{national_id[:3]}***********{national_id[-4:]}",
        reference,
        loan.reference,
        f"{_overdue_total(loan):,.2f}",
    ]
    missing = [phrase for phrase in expected if phrase not in flat]
    if missing:
        wrong.append(f"{where}: not printed: {missing}")
    if national_id in flat:
        wrong.append(f"{where}: the full ID number is printed")
    strangers = [other for other in others if other in flat]
    if strangers:
        wrong.append(f"{where}: carries other letters' references {strangers}")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@contextmanager
def _cpu() -> Iterator[dict[str, float]]:
    """CPU seconds of this process and of its finished children (the render helpers)."""

    def used(who: int) -> float:
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    seconds: dict[str, float] = {}
    mine, theirs = used(resource.RUSAGE_SELF), used(resource.RUSAGE_CHILDREN)
    yield seconds
    seconds["self"] = used(resource.RUSAGE_SELF) - mine
    seconds["children"] = used(resource.RUSAGE_CHILDREN) - theirs


if __name__ == "__main__":
    sys.exit(main())
