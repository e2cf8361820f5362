"""Every change of collections state. Callers import from here: `from debt_collections import services`.

- hardship: borrowers' hardship requests and the offers staff make.
"""

from .hardship import (
    DECIDE_PERMISSION,
    MAX_OFFER_DAYS,
    OFFER_SMS,
    REJECTED_SMS,
    SUBMITTED_SMS,
    hardship_offer_accept,
    hardship_offer_decline,
    hardship_offer_make,
    hardship_offers_expire_due,
    hardship_request_reject,
    hardship_request_review,
    hardship_request_submit,
    hardship_request_withdraw,
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

from .restructuring import (  # noqa: E402
    APPROVE_PERMISSION,
    PROPOSE_PERMISSION,
    restructuring_agreement_context,
    restructuring_apply,
    restructuring_approve,
    restructuring_offer_accept,
    restructuring_offer_decline,
    restructuring_offer_withdraw,
    restructuring_offers_expire_due,
    restructuring_preview,
    restructuring_propose,
    restructuring_reject,
)

__all__ += [
    "APPROVE_PERMISSION",
    "PROPOSE_PERMISSION",
    "restructuring_agreement_context",
    "restructuring_apply",
    "restructuring_approve",
    "restructuring_offer_accept",
    "restructuring_offer_decline",
    "restructuring_offer_withdraw",
    "restructuring_offers_expire_due",
    "restructuring_preview",
    "restructuring_propose",
    "restructuring_reject",
]

from .legal import (  # noqa: E402
    ASSESS_PERMISSION,
    DECIDE_LEGAL_PERMISSION,
    court_recovery_post,
    court_recovery_record,
    enforcement_measure_add,
    legal_action_filing_record,
    legal_action_open,
    legal_assessment_decide,
    legal_assessment_record,
    legal_hearing_add,
    legal_judgment_record,
)
from .write_off import (  # noqa: E402
    WRITE_OFF_APPROVE_PERMISSION,
    WRITE_OFF_PROPOSE_PERMISSION,
    write_off_approve,
    write_off_propose,
    write_off_reject,
)

__all__ += [
    "ASSESS_PERMISSION",
    "DECIDE_LEGAL_PERMISSION",
    "court_recovery_post",
    "court_recovery_record",
    "enforcement_measure_add",
    "legal_action_filing_record",
    "legal_action_open",
    "legal_assessment_decide",
    "legal_assessment_record",
    "legal_hearing_add",
    "legal_judgment_record",
    "WRITE_OFF_APPROVE_PERMISSION",
    "WRITE_OFF_PROPOSE_PERMISSION",
    "write_off_approve",
    "write_off_propose",
    "write_off_reject",
]
