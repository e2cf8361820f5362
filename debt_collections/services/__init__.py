"""Every change of collections state. Callers import from here: `from debt_collections import services`.

- hardship: borrowers' hardship requests and the offers staff make.
"""

from .hardship import (
    DECIDE_PERMISSION,
    MAX_OFFER_DAYS,
    SUBMITTED_SMS,
    OFFER_SMS,
    REJECTED_SMS,
    hardship_request_submit,
    hardship_request_withdraw,
    hardship_offer_accept,
    hardship_offer_decline,
    hardship_offers_expire_due,
    hardship_request_review,
    hardship_request_reject,
    hardship_offer_make,
)

__all__ = [
    "DECIDE_PERMISSION",
    "MAX_OFFER_DAYS",
    "SUBMITTED_SMS",
    "OFFER_SMS",
    "REJECTED_SMS",
    "hardship_request_submit",
    "hardship_request_withdraw",
    "hardship_offer_accept",
    "hardship_offer_decline",
    "hardship_offers_expire_due",
    "hardship_request_review",
    "hardship_request_reject",
    "hardship_offer_make",
]

from .alerts import alert_raise  # noqa: E402

__all__ += ["alert_raise"]

from .cases import (  # noqa: E402
    ASSIGN_PERMISSION,
    REVEAL_PERMISSION,
    WORK_PERMISSION,
    RevealedIdentity,
    borrower_identity_reveal,
    call_task_complete,
    case_assign,
    case_classify,
    case_note_add,
    case_request_legal_review,
    cases_assign_automatically,
    contact_log,
    promise_record,
)

__all__ += [
    "ASSIGN_PERMISSION",
    "REVEAL_PERMISSION",
    "WORK_PERMISSION",
    "RevealedIdentity",
    "borrower_identity_reveal",
    "call_task_complete",
    "case_assign",
    "case_classify",
    "case_note_add",
    "case_request_legal_review",
    "cases_assign_automatically",
    "contact_log",
    "promise_record",
]
