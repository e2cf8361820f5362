"""The least WeasyPrint can spend on a letter: only a lawyer's letter's borrower details, laid out.

    .venv/bin/python -m bench.notices_floor [--letters 100]

No database. Lays out --letters two-page documents that hold nothing but what differs from one
lawyer's letter to the next (22 values: name, ID number, references, dates, amounts, two bills'
rows, deadline) in the notices' font and page size, three ways, and prints the CPU time a
letter takes and what 1,000 letters would take on this machine's cores:

- one line per value, in normal flow (the cheapest boxes a template could give them);
- one preformatted block per page, a value per line (fewer boxes still);
- each value in its own absolutely positioned box (how details would be stamped onto a letter
  whose fixed text was laid out once).

It answers whether any layout of the letter can print 1,000 letters in 10 s with WeasyPrint
here (bench/notices_render.py measures the letter itself): if the details alone cost more,
no template can. It checks that each document has two pages a letter and exits non-zero
otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

STYLE = """
@page { size: A4; margin: 22mm 20mm 24mm 22mm; }
html { font-family: "Noto Serif CJK SC", "Noto Sans CJK SC", serif; font-size: 10.5pt; }
body { margin: 0; }
.page { break-before: page; position: relative; height: 250mm; }
.line { height: 8mm; white-space: nowrap; }
.block { white-space: pre; line-height: 8mm; }
.stamp { position: absolute; white-space: nowrap; }
"""


def details(n: int) -> list[str]:
    """What one letter prints of its own: 20 values on the first page, 2 on the second."""
    amount = 8000 + 137 * n
    values = [
        f"王{'丽华明'[n % 3]}{n}", f"110101********{n % 1000:03d}X", f"LL-2026-{n:06d}", f"L2601{n:08X}",
        "2026年1月15日", f"{amount:,.2f}", "12", "2026年2月19日", "2026年4月1日", f"{45 + n % 30}",
        f"{amount * 0.28:,.2f}", f"{amount * 0.16:,.2f}", f"{amount * 0.1:,.2f}", f"{n % 7 * 2.5:,.2f}",
        "0.00",
    ]
    for bill in (1, 2):
        values.append(f"第{bill}期 2026年{bill + 1}月15日 {amount * 0.08:,.2f} {amount * 0.014:,.2f}")
    values += ["2026年4月15日", f"L2601{n:08X}", "2026年4月1日"]
    values += [f"LL-2026-{n:06d}", "2026年4月1日"]
    return values


def in_lines(values: list[str]) -> str:
    first, second = values[:20], values[20:]
    return "".join(
        '<div class="page">' + "".join(f'<div class="line">{v}</div>' for v in page) + "</div>"
        for page in (first, second)
    )


def in_block(values: list[str]) -> str:
    first, second = values[:20], values[20:]
    return "".join('<div class="page block">' + "\n".join(page) + "</div>" for page in (first, second))


def stamped(values: list[str]) -> str:
    first, second = values[:20], values[20:]
    return "".join(
        '<div class="page">' + "".join(
            f'<div class="stamp" style="left: {(i % 3) * 55}mm; top: {i * 12}mm">{v}</div>'
            for i, v in enumerate(page)
        ) + "</div>"
        for page in (first, second)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", type=int, default=100)
    args = parser.parse_args()

    from weasyprint import CSS, HTML

    stylesheet = CSS(string=STYLE)
    HTML(string="<p>字体</p>").render(stylesheets=[stylesheet]).write_pdf()  # fonts loaded once
    cores = os.cpu_count() or 1
    wrong = []
    print(f"{args.letters} letters' details, laid out and written as one PDF ({cores} cores here):")
    for label, layout in (("a line per value", in_lines), ("a block per page", in_block),
                          ("a positioned box per value", stamped)):
        html = "<!DOCTYPE html><html lang=zh-Hans><body>" + "".join(
            layout(details(n)) for n in range(args.letters)) + "</body></html>"
        cpu = time.process_time()
        document = HTML(string=html).render(stylesheets=[stylesheet])
        document.write_pdf()
        per_letter = (time.process_time() - cpu) / args.letters
        if len(document.pages) != 2 * args.letters:
            wrong.append(f"{label}: {len(document.pages)} pages for {args.letters} letters")
        print(f"  {label:<28} {per_letter * 1000:5.1f} ms of CPU a letter: 1,000 letters need "
              f"{per_letter * 1000:5.1f} s of CPU, {per_letter * 1000 / cores:4.1f} s on {cores} cores")
    for line in wrong:
        print("WRONG:", line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
