"""The facts a notice prints, gathered once into a JSON-ready dict.

The dict is both the template's context (`notice` in templates/pdf/) and the snapshot archived
with the notice (`Notice.facts`), so what was printed can always be read back without the PDF.
Amounts are text with two decimals ("1234.50"), dates ISO ("2026-03-01"); the templates' filters
(notices.templatetags.notice_format) print them in the notice's language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from loans.models import Installment, Loan
from loans.selectors import credit_report_date, summarise
from portal.calendar import day_info, next_working_day
from portal.errors import DomainError
from portal.money import CENT, ZERO

from .models import DEMAND_KINDS, NoticeKind

# Titles as printed (and as the PDF's title): part of the documents, not of the site's UI.
TITLES: dict[str, dict[str, str]] = {
    "zh-hans": {
        NoticeKind.PAYMENT_REMINDER: "催收函",
        NoticeKind.LAWYER_LETTER: "律师函",
        NoticeKind.PRE_LITIGATION: "诉前通知书",
        NoticeKind.RESTRUCTURING_AGREEMENT: "借款重组协议",
        NoticeKind.CREDIT_REPORT_NOTICE: "不良信用信息报送事先告知书",
    },
    "en": {
        NoticeKind.PAYMENT_REMINDER: "Payment Reminder",
        NoticeKind.LAWYER_LETTER: "Lawyer's Letter",
        NoticeKind.PRE_LITIGATION: "Notice Before Legal Proceedings",
        NoticeKind.RESTRUCTURING_AGREEMENT: "Loan Restructuring Agreement",
        NoticeKind.CREDIT_REPORT_NOTICE: "Advance Notice of Negative Credit Reporting",
    },
}
CREDIT_BUREAU = {
    "zh-hans": "中国人民银行征信中心",
    "en": "Credit Reference Center of the People's Bank of China",
}
REGULATOR_HOTLINE = "12378"  # the financial regulator's consumer complaint line


def money_text(value: Decimal) -> str:
    return str(value.quantize(CENT))


def rate_text(value: Decimal) -> str:
    """0.180000 -> "18", 0.270000 -> "27", 0.185 -> "18.5" (per cent a year)."""
    percent = (value * 100).quantize(Decimal("0.01")).normalize()
    return f"{percent:f}"


def deadline_after(as_of: dt.date) -> dt.date:
    """as_of + PORTAL_NOTICE_DEADLINE_DAYS, moved to the next working day if it is not one."""
    day = as_of + dt.timedelta(days=settings.PORTAL_NOTICE_DEADLINE_DAYS)
    return day if day_info(day).is_working_day else next_working_day(day).date


def company_facts() -> dict[str, str]:
    start, end = settings.PORTAL_QUIET_HOURS
    return {
        "name": settings.PORTAL_COMPANY_NAME,
        "name_en": settings.PORTAL_COMPANY_NAME_EN,
        "address": settings.PORTAL_COMPANY_ADDRESS,
        "address_en": settings.PORTAL_COMPANY_ADDRESS_EN,
        "hotline": settings.PORTAL_HOTLINE,
        "hotline_hours": settings.PORTAL_HOTLINE_HOURS,
        "bank_account_name": settings.PORTAL_BANK_ACCOUNT["name"],
        "bank_name": settings.PORTAL_BANK_ACCOUNT["bank"],
        "bank_account_number": settings.PORTAL_BANK_ACCOUNT["number"],
        "quiet_from": start.strftime("%H:%M"),
        "quiet_until": end.strftime("%H:%M"),
        "regulator_hotline": REGULATOR_HOTLINE,
    }


def law_firm_facts() -> dict[str, str]:
    return {
        "name": settings.PORTAL_LAW_FIRM_NAME,
        "name_en": settings.PORTAL_LAW_FIRM_NAME_EN,
        "address": settings.PORTAL_LAW_FIRM_ADDRESS,
        "address_en": settings.PORTAL_LAW_FIRM_ADDRESS_EN,
        "lawyer": settings.PORTAL_LAW_FIRM_LAWYER,
        "phone": settings.PORTAL_LAW_FIRM_PHONE,
    }


def _bill_row(bill: Installment) -> dict[str, Any]:
    parts = {c: bill.outstanding(c) for c in ("principal", "interest", "penalty", "fees")}
    return {
        "number": bill.number,
        "due_date": bill.due_date.isoformat(),
        **{name: money_text(value) for name, value in parts.items()},
        "total": money_text(sum(parts.values(), ZERO)),
    }


def loan_facts(loan: Loan, installments: Sequence[Installment], as_of: dt.date) -> dict[str, Any]:
    """The loan, its contract terms and what is overdue on `as_of` (from its own bills)."""
    summary = summarise(loan, list(installments), as_of)
    overdue = summary.overdue
    first_due = summary.overdue_bills[0].due_date if summary.overdue_bills else None
    return {
        "loan": {
            "reference": loan.reference,
            "product": loan.product.name,
            "principal": money_text(loan.principal),
            "disbursed_on": loan.disbursed_on.isoformat(),
            "term_months": loan.term_months,
            "annual_rate": rate_text(loan.annual_rate),
            "penalty_rate": rate_text(loan.penalty_rate),
        },
        "overdue": {
            "principal": money_text(overdue.principal),
            "interest": money_text(overdue.interest),
            "penalty": money_text(overdue.penalty),
            "fees": money_text(overdue.fees),
            "total": money_text(overdue.total),
            "days_past_due": summary.days_past_due,
            "since": first_due.isoformat() if first_due else None,
            "daily_penalty": money_text(summary.daily_penalty),
            "bills": [_bill_row(bill) for bill in summary.overdue_bills],
        },
        "credit_report_on": (
            credit_report_date(first_due + dt.timedelta(days=loan.grace_days + 1)).isoformat()
            if first_due
            else None
        ),
    }


# --- the restructuring agreement's terms (built by the restructuring proposals) -----------------

_ROW_PARTS = ("principal", "interest", "penalty", "fees")


def _amount(raw: Any, where: str) -> Decimal:
    if isinstance(raw, float):
        raise DomainError(
            _("%(where)s: amounts must be text or Decimal, not float.") % {"where": where}
        )
    try:
        value = Decimal(str(raw if raw is not None else "0"))
    except InvalidOperation:
        raise DomainError(
            _("%(where)s: “%(raw)s” is not an amount.") % {"where": where, "raw": raw}
        ) from None
    if not value.is_finite() or value < 0 or value != value.quantize(CENT):
        raise DomainError(
            _("%(where)s: “%(raw)s” is not an amount of at least zero with two decimals.")
            % {"where": where, "raw": raw}
        )
    return value.quantize(CENT)


def _date(raw: Any, where: str) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise DomainError(
            _("%(where)s: “%(raw)s” is not a date.") % {"where": where, "raw": raw}
        ) from None


def _schedule(rows: Any, where: str) -> tuple[list[dict[str, Any]], Decimal]:
    if not isinstance(rows, Sequence) or isinstance(rows, str) or not rows:
        raise DomainError(_("%(where)s: at least one row is needed.") % {"where": where})
    clean: list[dict[str, Any]] = []
    total = ZERO
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise DomainError(
                _("%(where)s: row %(row)s is not a mapping.") % {"where": where, "row": index}
            )
        label = f"{where} #{index}"
        parts = {name: _amount(row.get(name, "0"), label) for name in _ROW_PARTS}
        row_total = sum(parts.values(), ZERO)
        if "total" in row and _amount(row["total"], label) != row_total:
            raise DomainError(
                _("%(where)s: the total is not the sum of its parts.") % {"where": label}
            )
        clean.append(
            {
                "number": int(row.get("number", index)),
                "due_date": _date(row.get("due_date"), label).isoformat(),
                **{name: money_text(value) for name, value in parts.items()},
                "total": money_text(row_total),
            }
        )
        total += row_total
    return clean, total


def restructuring_facts(context: Mapping[str, Any], *, as_of: dt.date) -> dict[str, Any]:
    """Check and normalise the agreement's terms.

    Expected keys (amounts as Decimal or text, dates as date or ISO text):
      reason: str, why the plan changes (may be the borrower's own words: printed escaped)
      old_rows / new_rows: [{number, due_date, principal, interest, penalty, fees[, total]}]
      old_total / new_total (optional): checked against the rows' sums
      waived (optional): {principal, interest, penalty, fees} forgiven by the lender
      agreement_date (optional, default today), effective_date, first_due_date (optional)
      proposal (optional): the proposal's reference, printed for the file
    """
    reason = str(context.get("reason", "")).strip()
    if not reason:
        raise DomainError(_("The restructuring agreement needs the reason for the change."))
    old_rows, old_total = _schedule(context.get("old_rows"), _("old schedule"))
    new_rows, new_total = _schedule(context.get("new_rows"), _("new schedule"))
    for key, computed in (("old_total", old_total), ("new_total", new_total)):
        if key in context and _amount(context[key], key) != computed:
            raise DomainError(_("%(key)s does not match the sum of its rows.") % {"key": key})
    waived_raw = context.get("waived") or {}
    if not isinstance(waived_raw, Mapping):
        raise DomainError(_("waived: a mapping of amounts is needed."))
    waived = {name: _amount(waived_raw.get(name, "0"), "waived") for name in _ROW_PARTS}
    agreement_date = _date(context.get("agreement_date", as_of), "agreement_date")
    effective_date = _date(context.get("effective_date", agreement_date), "effective_date")
    if effective_date < agreement_date:
        raise DomainError(_("The agreement cannot take effect before it is made."))
    return {
        "reason": reason[:1000],
        "proposal": str(context.get("proposal", ""))[:40],
        "agreement_date": agreement_date.isoformat(),
        "effective_date": effective_date.isoformat(),
        "first_due_date": new_rows[0]["due_date"],
        "old_rows": old_rows,
        "new_rows": new_rows,
        "old_total": money_text(old_total),
        "new_total": money_text(new_total),
        "waived": {name: money_text(value) for name, value in waived.items()},
        "waived_total": money_text(sum(waived.values(), ZERO)),
    }


def notice_facts(
    *,
    kind: str,
    language: str,
    reference: str,
    loan: Loan,
    installments: Sequence[Installment],
    case_id: int | None,
    as_of: dt.date,
    extra_context: Mapping[str, Any] | None = None,
    deadline: dt.date | None = None,
) -> dict[str, Any]:
    """Everything one notice prints. Raises DomainError when the notice makes no sense
    (nothing overdue for a demand, a reporting date in the past, malformed agreement terms).

    `deadline`: `deadline_after(as_of)` when the caller worked it out already (a batch does,
    once for all its notices: it reads the working-day calendar)."""
    extra = dict(extra_context or {})
    borrower = loan.borrower
    facts: dict[str, Any] = {
        "kind": kind,
        "language": language,
        "reference": reference,
        "title": TITLES[language][kind],
        "date": as_of.isoformat(),
        "case": case_id,
        "company": company_facts(),
        "borrower": {
            "name": borrower.real_name,
            "national_id": borrower.masked_national_id,
            "mobile": borrower.masked_mobile,
        },
        **loan_facts(loan, installments, as_of),
    }
    if kind in DEMAND_KINDS:
        if Decimal(facts["overdue"]["total"]) <= 0:
            raise DomainError(
                _("Loan %(reference)s has nothing overdue: no %(kind)s is needed.")
                % {"reference": loan.reference, "kind": NoticeKind(kind).label}
            )
        facts["deadline"] = (deadline or deadline_after(as_of)).isoformat()
    if kind == NoticeKind.LAWYER_LETTER:
        facts["law_firm"] = law_firm_facts()
    if kind == NoticeKind.CREDIT_REPORT_NOTICE:
        default = max(
            dt.date.fromisoformat(facts["credit_report_on"]),
            dt.date.fromisoformat(facts["deadline"]),
        )
        report_on = _date(extra.get("report_date", default), "report_date")
        if report_on <= as_of:
            raise DomainError(
                _("The reporting date must come after the notice: the borrower is told in advance.")
            )
        facts["credit_report"] = {
            "report_date": report_on.isoformat(),
            "bureau": CREDIT_BUREAU[language],
        }
    if kind == NoticeKind.RESTRUCTURING_AGREEMENT:
        facts["restructuring"] = restructuring_facts(extra, as_of=as_of)
    return facts
