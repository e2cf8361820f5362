"""Every change of the loan book. Callers import from here: `from loans import services`.

- book: borrowers, disbursement, ageing, payments, reversals, waivers (and the locking helpers
  the other modules share);
- repayments: the borrower's payment intents, the payment provider, bank statements;
- extensions: the one-time interest-free extension.
"""

from .book import (
    AgeingResult,
    PaymentResult,
    borrower_register,
    loan_age,
    loan_disburse,
    loan_waive,
    loans_needing_ageing,
    payment_post,
    payment_reverse,
    stage_for,
)
from .extensions import extension_grant
from .repayments import (
    bank_statement_import,
    payment_intent_cancel,
    payment_intent_confirm,
    payment_intent_create,
    payment_intent_fail,
    payment_intent_succeed,
)

__all__ = [
    "AgeingResult", "PaymentResult", "bank_statement_import", "borrower_register",
    "extension_grant", "loan_age", "loan_disburse", "loan_waive", "loans_needing_ageing",
    "payment_intent_cancel", "payment_intent_confirm", "payment_intent_create",
    "payment_intent_fail", "payment_intent_succeed", "payment_post", "payment_reverse", "stage_for",
]

from .restructuring import RestructuringResult, StalePlan, ensure_plan_current, loan_restructure  # noqa: E402

__all__ += ["RestructuringResult", "StalePlan", "ensure_plan_current", "loan_restructure"]

from .write_off import (  # noqa: E402
    WriteOffQuote,
    WrittenOffSummary,
    loan_write_off,
    write_off_days,
    write_off_quote,
    written_off_summary,
)

__all__ += [
    "WriteOffQuote", "WrittenOffSummary", "loan_write_off", "write_off_days", "write_off_quote",
    "written_off_summary",
]
