"""A small portfolio and a snapshot of everything the close of business writes, for its tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stdnum.cn import ric

from debt_collections.models import Alert, CallTask, Case, CloseOfBusinessRun, PromiseToPay
from loans import services
from loans.models import (
    Borrower,
    Installment,
    JournalEntry,
    Loan,
    LoanEvent,
    Product,
    StageChange,
)
from portal.models import AuditEvent, SmsMessage


def national_id(n: int) -> str:
    first17 = f"11010119900101{n:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def make_borrower(n: int, language: str = "zh-hans") -> Borrower:
    return services.borrower_register(
        mobile=f"1370000{n:04d}", real_name=f"借款人{n}", national_id=national_id(n), password=None,
        preferred_language=language,
    )


# Disbursement dates giving a spread of days past due on 2026-06-20 (first bill a month later).
SPREAD = [
    dt.date(2026, 5, 10),   # first bill 06-10: 10 days past due
    dt.date(2026, 5, 15),   # 06-15: 5 days, just past grace
    dt.date(2026, 5, 18),   # 06-18: in grace
    dt.date(2026, 5, 20),   # 06-20: due on the business date
    dt.date(2026, 5, 21),   # not yet due: nothing happens
    dt.date(2026, 4, 21),   # 05-21: 30 days, reaches collections
    dt.date(2026, 4, 10),   # 05-10: 41 days
    dt.date(2026, 3, 20),   # 04-20: 61 days
    dt.date(2026, 2, 20),   # 03-20: 92 days, non-performing
    dt.date(2025, 12, 20),  # 2026-01-20: 151 days
    dt.date(2025, 11, 20),  # 2025-12-20: 182 days, write-off candidate
    dt.date(2026, 5, 13),   # 06-13: 7 days, a reminder day
]
BUSINESS_DATE = dt.date(2026, 6, 20)


def make_portfolio(product: Product, first: int = 100) -> list[Loan]:
    loans = []
    for i, disbursed in enumerate(SPREAD):
        borrower = make_borrower(first + i, "en" if i % 3 == 0 else "zh-hans")
        loans.append(services.loan_disburse(
            borrower_id=borrower.pk, product_id=product.pk, principal="6000.00", disbursed_on=disbursed,
        ))
    return loans


def snapshot() -> dict[str, Any]:
    """Everything the close of business writes, keyed by stable values (not ids or clocks)."""
    ref = dict(Loan.objects.values_list("pk", "reference"))
    return {
        "loans": sorted(Loan.objects.values_list("reference", "status", "stage", "days_past_due", "aged_through")),
        "bills": sorted(
            (ref[b["loan_id"]], b["number"], b["status"], b["penalty_due"], b["overdue_since"], b["settled_on"])
            for b in Installment.objects.values(
                "loan_id", "number", "status", "penalty_due", "overdue_since", "settled_on"
            )
        ),
        "journal": sorted(
            (ref[e["loan_id"]], e["kind"], e["business_date"], e["principal"], e["interest"], e["penalty"])
            for e in JournalEntry.objects.values("loan_id", "kind", "business_date", "principal", "interest", "penalty")
        ),
        "stage_changes": sorted(
            (ref[s["loan_id"]], s["from_stage"], s["to_stage"], s["business_date"])
            for s in StageChange.objects.values("loan_id", "from_stage", "to_stage", "business_date")
        ),
        "events": sorted((ref[e["loan_id"]], e["kind"]) for e in LoanEvent.objects.values("loan_id", "kind")),
        "cases": sorted(
            (ref[c["loan_id"]], c["status"], c["stage"], c["days_past_due"], c["overdue_amount"], c["priority"])
            for c in Case.objects.values("loan_id", "status", "stage", "days_past_due", "overdue_amount", "priority")
        ),
        "promises": sorted(PromiseToPay.objects.values_list("amount", "status")),
        "sms": sorted(SmsMessage.objects.values_list("dedupe_key", "body")),
        "calls": sorted((ref[c["loan_id"]], c["rule"]) for c in CallTask.objects.values("loan_id", "rule")),
        "alerts": sorted(
            (a["kind"], a["role"], ref.get(a["loan_id"] or 0))
            for a in Alert.objects.exclude(kind="cob_failed").values("kind", "role", "loan_id")
        ),
        "audit": sorted(AuditEvent.objects.filter(actor_label="close-of-business").values_list("action", "summary")),
        "counts": list(CloseOfBusinessRun.objects.values_list("business_date", "counts", "steps_done", "status")),
    }
