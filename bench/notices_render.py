"""Printed notices: how long one notice takes, and a batch of lawyer's letters.

    .venv/bin/python -m bench.notices_render [--letters 100]
    scripts/with-postgres.sh .venv/bin/python -m bench.notices_render

Prints the time of one notice through `notice_generate` (facts, render, archive), then, for
N lawyer's letters: the batch task end to end (`notice_batch_run`: chunks rendered as one
document each, split per notice, archived, joined), and at the rendering level alone one
document for all N split per notice, against N documents rendered one by one. Uses a scratch
database (var/bench.sqlite3, or DATABASE_URL's) and a scratch MEDIA_ROOT (var/bench-media).
Exits non-zero only when a result is wrong, never because the machine was slow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--letters", type=int, default=100)
    args = parser.parse_args()

    root = Path(__file__).resolve().parent.parent
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    if not os.environ.get("DATABASE_URL"):
        scratch = root / "var" / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
        os.environ["PORTAL_SQLITE_PATH"] = str(scratch)
    sys.path.insert(0, str(root))

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from pypdf import PdfReader

    from debt_collections.models import Case
    from loans import services
    from loans.models import Installment, InstallmentStatus, Loan, Product
    from notices import services as notice_services
    from notices.facts import notice_facts
    from notices.models import Notice, NoticeBatch, NoticeKind
    from notices.rendering import notice_html, pdf_render
    from portal.models import User
    from portal.roles import LEGAL_OFFICER

    media = root / "var" / "bench-media"
    shutil.rmtree(media, ignore_errors=True)
    settings.MEDIA_ROOT = media
    call_command("migrate", verbosity=0)
    as_of = dt.date(2026, 4, 1)
    notice_services.business_today = lambda: as_of  # type: ignore[assignment]
    product, _ = Product.objects.get_or_create(
        code="bench-12",
        defaults={
            "name": "Bench 12",
            "annual_rate": Decimal("0.18"),
            "repayment_method": "equal_installment",
            "term_months": 12,
        },
    )
    legal = User.objects.create_user("bench-legal", password="x", is_staff=True)
    legal.groups.add(Group.objects.get(name=LEGAL_OFFICER))

    # N borrowers with one loan each, two bills overdue (set directly: ageing is not measured).
    began = time.perf_counter()
    loans = []
    for i in range(args.letters):
        borrower = services.borrower_register(
            mobile=f"137{i:08d}",
            real_name=f"借款人{i:03d}",
            national_id=_national_id(i),
            password=None,
            preferred_language="en" if i % 4 == 3 else "zh-hans",
        )
        loans.append(
            services.loan_disburse(
                borrower_id=borrower.pk,
                product_id=product.pk,
                principal=Decimal("12000.00"),
                disbursed_on=dt.date(2026, 1, 15),
            )
        )
    Installment.objects.filter(loan__in=loans, number__in=[1, 2]).update(
        status=InstallmentStatus.OVERDUE,
        penalty_due=Decimal("20.00"),
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
            opened_on=as_of,
        )
        for loan in loans
    )
    print(
        f"database: {connection.vendor}; {len(cases)} overdue loans and cases built in "
        f"{time.perf_counter() - began:.1f} s"
    )

    wrong: list[str] = []

    # One notice, end to end (the first also loads the fonts).
    times, cpu = [], []
    for _attempt in range(6):
        start, start_cpu = time.perf_counter(), time.process_time()
        notice_services.notice_generate(
            kind=NoticeKind.LAWYER_LETTER, actor=legal, case_id=cases[0].pk, as_of=as_of
        )
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(
        f"one lawyer's letter through notice_generate: first {times[0]:.2f} s (fonts load), "
        f"then median {statistics.median(times[1:]):.3f} s "
        f"({statistics.median(cpu[1:]):.3f} s of CPU)"
    )

    # The batch task, end to end.
    batch = NoticeBatch.objects.create(
        kind=NoticeKind.LAWYER_LETTER,
        requested_by=legal,
        case_ids=[c.pk for c in cases],
        total=len(cases),
    )
    start, start_cpu = time.perf_counter(), time.process_time()
    outcome = notice_services.notice_batch_run(batch_id=batch.pk)
    elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    batch.refresh_from_db()
    notices = Notice.objects.filter(batch=batch)
    pages = len(PdfReader(batch.file.path).pages) if batch.file else 0
    print(
        f"batch of {len(cases)} lawyer's letters (chunks of {settings.PORTAL_NOTICE_BATCH_CHUNK}): "
        f"{elapsed:.1f} s ({elapsed_cpu:.1f} s of CPU, "
        f"{elapsed_cpu / len(cases) * 1000:.0f} ms a letter); "
        f"combined PDF {pages} pages, "
        f"{batch.file.size / 1e6 if batch.file else 0:.1f} MB; peak memory {rss_mb():.0f} MB"
    )
    if outcome != "done" or notices.count() != len(cases) or pages != sum(n.pages for n in notices):
        wrong.append(f"batch: {outcome}, {notices.count()} notices, {pages} pages")

    # Rendering alone: one document for all, split per notice, against one document each.
    parts = []
    for i, case in enumerate(
        Case.objects.filter(pk__in=[c.pk for c in cases]).select_related(
            "loan__borrower", "loan__product"
        )
    ):
        loan = case.loan
        facts = notice_facts(
            kind=NoticeKind.LAWYER_LETTER,
            language=loan.borrower.preferred_language,
            reference=f"LS-BENCH-{i:05d}",
            loan=loan,
            installments=list(loan.installments.all()),
            case_id=case.pk,
            as_of=as_of,
        )
        parts.append(
            notice_html(
                kind=NoticeKind.LAWYER_LETTER,
                language=facts["language"],
                anchor=f"notice-{i}",
                facts=facts,
            )
        )
    start = time.process_time()
    together = pdf_render(parts, title="bench", split=False)
    combined_only = time.process_time() - start
    start = time.process_time()
    split = pdf_render(parts, title="bench", split=True)
    combined_split = time.process_time() - start
    start = time.process_time()
    one_by_one = [pdf_render([part], title="bench") for part in parts]
    separately = time.process_time() - start
    print(
        f"rendering {len(parts)} letters ({together.pages} pages), CPU seconds: one document, "
        f"combined PDF only {combined_only:.1f}; "
        f"one document split into each letter's PDF {combined_split:.1f}; "
        f"one document per letter (no combined PDF) {separately:.1f}"
    )
    if [p.pages for p in split.parts] != [r.parts[0].pages for r in one_by_one]:
        wrong.append("split pages differ from separately rendered pages")
    for problem in wrong:
        print("WRONG:", problem)
    shutil.rmtree(media, ignore_errors=True)
    return 1 if wrong else 0


def _national_id(i: int) -> str:
    """Valid 18-character resident ID numbers (check digit computed)."""
    body = f"110101198001{(i % 28) + 1:02d}{i % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


if __name__ == "__main__":
    sys.exit(main())
