"""Staff roles as Django groups, declared here as data and synced after every migrate.

The groups themselves are also created by a migration (portal/migrations/0005): that puts them
in the schema's history for every database. Their permissions cannot be set there, because
Django creates permissions only after all migrations ran, so `sync_roles` sets them after every
migrate, to exactly the lists below (and recreates a group a test flush removed).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

AGENT, SUPERVISOR, LEGAL_OFFICER, EDITOR, AUDITOR = (
    "agent", "supervisor", "legal officer", "editor", "auditor",
)

_READ_LOAN_BOOK = [
    "loans.view_borrower", "loans.view_product", "loans.view_loan", "loans.view_installment",
    "loans.view_payment", "loans.view_journalentry", "loans.view_allocation",
]

_PAYMENTS_DESK = [
    "loans.view_paymentintent", "loans.view_extension", "loans.view_bankstatementimport",
    "loans.add_bankstatementimport", "loans.view_bankstatementline",
]

_READ_HARDSHIP = [
    "collections.view_hardshiprequest", "collections.view_hardshipoffer", "collections.view_hardshipevidence",
]
_DECIDE_HARDSHIP = [*_READ_HARDSHIP, "collections.change_hardshiprequest"]

_CALENDAR = [
    "portal.view_calendaroverride", "portal.add_calendaroverride", "portal.change_calendaroverride",
    "portal.delete_calendaroverride",
]

# Editors write and publish articles and lectures in the admin (nothing is deleted: articles
# are archived). `publish_article` is what lets someone publish or archive.
_EDUCATION = [
    "education.view_article", "education.add_article", "education.change_article",
    "education.publish_article", "education.view_category", "education.add_category",
    "education.change_category", "education.view_lecture", "education.add_lecture",
    "education.change_lecture",
]

# Working collection cases: see them; log contacts, notes and promises (services.cases).
_CASE_WORK = [
    "collections.view_case", "collections.view_contactlog", "collections.view_promisetopay",
    "collections.view_casenote", "collections.view_calltask", "collections.view_emergencycontact",
    "collections.add_contactlog", "collections.add_casenote", "collections.add_promisetopay",
    "collections.work_case",
]

# Alerts (debt_collections.Alert): every role that works loans reads its own inbox. Not editors:
# they see nothing of the loan book, and alert messages name loans.
_ALERTS = ["collections.view_alert"]

# The audit trail's CSV export (portal.admin), on top of reading it.
_EXPORT_AUDIT = ["portal.view_auditevent", "portal.export_auditevent"]

# Auditors read everything staff can read, and change nothing.
_READ_EVERYTHING = [
    "loans.view_paymentintent", "loans.view_extension", "loans.view_bankstatementimport",
    "loans.view_bankstatementline", "loans.view_stagechange", "loans.view_loanevent",
    "collections.view_case", "collections.view_contactlog", "collections.view_promisetopay",
    "collections.view_casenote", "collections.view_calltask", "collections.view_emergencycontact",
    "collections.view_closeofbusinessrun", "portal.view_calendaroverride",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    AGENT: [*_READ_LOAN_BOOK, *_READ_HARDSHIP, "loans.view_paymentintent", "loans.view_extension", *_CASE_WORK],
    SUPERVISOR: [*_READ_LOAN_BOOK, *_PAYMENTS_DESK, *_DECIDE_HARDSHIP, *_CALENDAR, "loans.reveal_identity",
                 *_CASE_WORK, "collections.assign_case",
                 "portal.view_auditevent"],
    LEGAL_OFFICER: [*_READ_LOAN_BOOK, "loans.reveal_identity", "collections.view_case"],
    EDITOR: [*_EDUCATION],
    AUDITOR: [*_READ_LOAN_BOOK, *_READ_HARDSHIP, *_READ_EVERYTHING, *_EXPORT_AUDIT],
}
# Shared additions, kept out of the lines above so that each role's own list stays as written.
for _role in (AGENT, SUPERVISOR, LEGAL_OFFICER, AUDITOR):
    ROLE_PERMISSIONS[_role] += _ALERTS
ROLE_PERMISSIONS[SUPERVISOR] += ["portal.export_auditevent"]  # they read the trail already
# Supervisors watch the nightly close of business and the stage history it writes.
ROLE_PERMISSIONS[SUPERVISOR] += [
    "collections.view_closeofbusinessrun",
    "loans.view_stagechange",
    "loans.view_loanevent",
]
# Restructuring (debt_collections.services.restructuring): agents propose, supervisors approve
# (never their own proposals: the service checks), auditors read.
_READ_RESTRUCTURING = [
    "collections.view_restructuringproposal", "collections.view_restructuringapproval",
    "collections.view_restructuringtransition",
]
ROLE_PERMISSIONS[AGENT] += [*_READ_RESTRUCTURING, "collections.add_restructuringproposal"]
ROLE_PERMISSIONS[SUPERVISOR] += [
    *_READ_RESTRUCTURING, "collections.change_restructuringproposal", "collections.approve_restructuring",
]
ROLE_PERMISSIONS[AUDITOR] += _READ_RESTRUCTURING

# Printed notices (notices): legal officers and supervisors print them and record their
# delivery; agents and auditors read them and their history.
_READ_NOTICES = ["notices.view_notice", "notices.view_noticedeliveryevent", "notices.view_noticebatch"]
for _role in (AGENT, AUDITOR):
    ROLE_PERMISSIONS[_role] += _READ_NOTICES
for _role in (LEGAL_OFFICER, SUPERVISOR):
    ROLE_PERMISSIONS[_role] += [*_READ_NOTICES, "notices.print_notice"]

# Credit-bureau reporting and monitoring (reporting): supervisors see the dashboard, read the
# reports, record submissions and correct records; auditors read the reports; agents nothing.
_READ_CREDIT_REPORTS = [
    "reporting.view_reportingrun", "reporting.view_creditrecord", "reporting.view_heldbackrecord",
    "reporting.view_reportfile", "reporting.view_reportfiletransition", "reporting.view_creditnotice",
    "reporting.view_creditcorrection",
]
ROLE_PERMISSIONS[SUPERVISOR] += [
    *_READ_CREDIT_REPORTS, "reporting.view_dashboard", "reporting.correct_record", "reporting.submit_reportfile",
]
ROLE_PERMISSIONS[AUDITOR] += _READ_CREDIT_REPORTS

# Legal escalation and write-off (debt_collections.services.legal / .write_off). Legal officers
# assess and work legal actions; legal officers and supervisors decide go/no-go (never on their
# own assessment: the service checks). Agents and supervisors propose write-offs; supervisors
# approve them (never their own). Agents see whether a case is in legal hands; auditors read all.
_READ_LEGAL = [
    "collections.view_legalassessment", "collections.view_legalaction", "collections.view_legalhearing",
    "collections.view_enforcementmeasure", "collections.view_courtrecovery",
]
_READ_WRITE_OFF = ["collections.view_writeoffproposal", "collections.view_writeofftransition", "loans.view_writeoff"]
ROLE_PERMISSIONS[LEGAL_OFFICER] += [
    *_READ_LEGAL, "collections.add_legalassessment", "collections.change_legalassessment",
    "collections.add_legalaction", "collections.change_legalaction", "collections.add_legalhearing",
    "collections.change_legalhearing", "collections.add_enforcementmeasure", "collections.change_enforcementmeasure",
    "collections.add_courtrecovery", "collections.change_courtrecovery", "collections.decide_legal",
]
ROLE_PERMISSIONS[SUPERVISOR] += [
    *_READ_LEGAL, *_READ_WRITE_OFF, "collections.decide_legal", "collections.add_writeoffproposal",
    "collections.approve_write_off",
]
ROLE_PERMISSIONS[AGENT] += [
    "collections.view_legalassessment", "collections.view_legalaction", *_READ_WRITE_OFF,
    "collections.add_writeoffproposal",
]
ROLE_PERMISSIONS[AUDITOR] += [*_READ_LEGAL, *_READ_WRITE_OFF]


def sync_roles(**kwargs: Any) -> None:
    """Make each group hold exactly its declared permissions (idempotent)."""
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for name in names:
            app_label, codename = name.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:  # app not migrated yet in this run; the next signal adds it
                continue
            wanted.append(permission)
        group.permissions.set(wanted)
