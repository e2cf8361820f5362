"""Generating, archiving and delivering notices: every change is one of these functions.

- `notice_generate`: one notice. The facts are read and the PDF rendered before any transaction
  opens (rendering takes a fraction of a second: no database lock waits on it); the file, the row
  and the audit event are then written in one transaction, and the file is deleted again if that
  transaction rolls back. Nothing is locked: a notice changes no loan or case.
- `notice_batch_create` / `notice_batch_run`: many cases' notices for the post room. The task
  claims the batch by a conditional update, renders each chunk of cases as one HTML document (or,
  on several cores, as a few consecutive documents laid out at the same time by helper processes,
  `notices.render_pool`), splits it into the notices' own PDFs, and commits each chunk's files,
  rows, audit events and progress together; at the end the chunks' PDFs are joined into one
  file. One task works for about PORTAL_NOTICE_BATCH_SLICE_SECONDS and queues the next for the
  rest, so no batch nears django-q2's timeout. A run killed halfway is taken over by the next
  start of the task once the batch has been silent for PORTAL_NOTICE_BATCH_STALE_SECONDS, from
  the last committed chunk.
- `notice_delivery_record`: printed → posted → delivered / returned, along the declared
  transitions, with a history row and an audit event for each move.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task
from pypdf import PdfWriter

from debt_collections.evidence import PrivateMediaStorage
from debt_collections.models import Case, CaseStatus
from loans.models import Installment, Loan
from portal.audit import audit_event, audit_record, audit_record_many
from portal.calendar import business_today
from portal.errors import DomainError, NotAllowed
from portal.models import User

from .facts import deadline_after, notice_facts
from .models import (
    BATCH_KINDS,
    DELIVERY_TRANSITIONS,
    PRINT_PERMISSION,
    REFERENCE_PREFIX,
    BatchStatus,
    DeliveryStatus,
    Notice,
    NoticeBatch,
    NoticeDeliveryEvent,
    NoticeKind,
)
from .render_pool import RenderPool, render_slices
from .rendering import NoticePart, notice_html, pdf_render, template_version

log = logging.getLogger(__name__)

NOTE_MAX_LENGTH = 200


class BatchTakenOver(RuntimeError):
    """Another run of the batch's task committed the chunk first: this run stops."""


# --- helpers -----------------------------------------------------------------------------


def _require_printer(actor: User | None) -> None:
    if actor is None or not (
        actor.is_active and actor.is_staff and actor.has_perm(PRINT_PERMISSION)
    ):
        raise NotAllowed(_("You do not have permission to print notices."))


def _check_kind(kind: str) -> None:
    if kind not in NoticeKind.values:
        raise DomainError(_("Please choose the kind of notice from the list."))


def _new_reference(kind: str, as_of: dt.date) -> str:
    """CS-20260301-9F3A61C2: kind, date and 32 random bits (the unique constraint backs it)."""
    return f"{REFERENCE_PREFIX[kind]}-{as_of:%Y%m%d}-{secrets.token_hex(4).upper()}"


def _anchor(reference: str) -> str:
    return f"notice-{reference}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _installments_by_loan(loan_ids: Sequence[int]) -> dict[int, list[Installment]]:
    by_loan: dict[int, list[Installment]] = defaultdict(list)
    for bill in Installment.objects.filter(loan_id__in=loan_ids).order_by("due_date", "number"):
        by_loan[bill.loan_id].append(bill)
    return by_loan


def _new_notice(
    *,
    kind: str,
    reference: str,
    loan: Loan,
    case_id: int | None,
    language: str,
    facts: dict[str, Any],
    version: str,
    pdf: bytes,
    pages: int,
    actor: User | None,
    batch: NoticeBatch | None,
    stored: list[str],
) -> Notice:
    """An unsaved notice whose file is already written (its name appended to `stored`)."""
    notice = Notice(
        reference=reference,
        kind=kind,
        borrower_id=loan.borrower_id,
        loan=loan,
        case_id=case_id,
        language=language,
        sha256=_sha256(pdf),
        size=len(pdf),
        pages=pages,
        template_version=version,
        facts=facts,
        generated_by=actor,
        generated_at=timezone.now(),
        batch=batch,
    )
    notice.file.save(f"{reference}.pdf", ContentFile(pdf), save=False)
    stored.append(notice.file.name)
    return notice


def _audit_generated(notice: Notice, actor: User | None) -> dict[str, Any]:
    return {
        "actor": actor,
        "action": "notice.generate",
        "target": notice,
        "summary": f"{notice.reference} {notice.kind} {notice.loan.reference}",
        "after": {
            "reference": notice.reference,
            "kind": notice.kind,
            "loan": notice.loan.reference,
            "case": notice.case_id,
            "language": notice.language,
            "sha256": notice.sha256,
            "template_version": notice.template_version,
            "batch": notice.batch_id,
        },
    }


def _delete_files(names: Sequence[str]) -> None:
    storage = PrivateMediaStorage()
    for name in names:
        storage.delete(name)


# --- one notice --------------------------------------------------------------------------


def notice_generate(
    *,
    kind: str,
    actor: User | None,
    loan_id: int | None = None,
    case_id: int | None = None,
    as_of: dt.date | None = None,
    extra_context: Mapping[str, Any] | None = None,
) -> Notice:
    """Generate, archive and audit one notice about a loan (or a case's loan), in the
    borrower's language, dated `as_of` (today's business date by default).

    `actor` is the member of staff printing it, who needs `notices.print_notice`; None means the
    system (e.g. the restructuring service when the borrower accepts a plan), audited as such.
    `extra_context`: for CREDIT_REPORT_NOTICE optionally {"report_date": date}; for
    RESTRUCTURING_AGREEMENT the agreement's terms (see `notices.facts.restructuring_facts`).
    Every call makes a new notice with its own reference and file: nothing is regenerated.
    """
    _check_kind(kind)
    if actor is not None:
        _require_printer(actor)
    as_of = as_of or business_today()
    if case_id is not None:
        case = Case.objects.filter(pk=case_id).values("loan_id").first()
        if case is None:
            raise NotAllowed(_("This case does not exist."))
        if loan_id is not None and loan_id != case["loan_id"]:
            raise DomainError(_("The case is about another loan."))
        loan_id = case["loan_id"]
    if loan_id is None:
        raise DomainError(_("Choose the loan or the case the notice is about."))
    loan = Loan.objects.select_related("borrower", "product").filter(pk=loan_id).first()
    if loan is None:
        raise NotAllowed(_("This loan does not exist."))
    installments = _installments_by_loan([loan.pk])[loan.pk]
    language = loan.borrower.preferred_language
    reference = _new_reference(kind, as_of)
    facts = notice_facts(
        kind=kind,
        language=language,
        reference=reference,
        loan=loan,
        installments=installments,
        case_id=case_id,
        as_of=as_of,
        extra_context=extra_context,
    )
    version = template_version(kind, language)
    part = notice_html(kind=kind, language=language, anchor=_anchor(reference), facts=facts)
    rendered = pdf_render([part], title=f"{facts['title']} {reference}", language=language)
    only = rendered.parts[0]

    stored: list[str] = []
    try:
        with transaction.atomic():
            notice = _new_notice(
                kind=kind,
                reference=reference,
                loan=loan,
                case_id=case_id,
                language=language,
                facts=facts,
                version=version,
                pdf=only.pdf,
                pages=only.pages,
                actor=actor,
                batch=None,
                stored=stored,
            )
            notice.save()
            audit_record(**_audit_generated(notice, actor))
    except BaseException:
        # The row rolled back; the file written for it must not stay behind.
        _delete_files(stored)
        raise
    return notice


# --- batches -----------------------------------------------------------------------------


def notice_batch_create(*, kind: str, case_ids: Sequence[int], actor: User) -> NoticeBatch:
    """Queue one kind of notice for many open cases; the task starts after commit."""
    _require_printer(actor)
    _check_kind(kind)
    if kind not in BATCH_KINDS:
        raise DomainError(
            _("A %(kind)s is printed one at a time, with its own terms.")
            % {"kind": NoticeKind(kind).label}
        )
    ids = list(dict.fromkeys(int(case_id) for case_id in case_ids))
    if not ids:
        raise DomainError(_("Choose at least one case."))
    limit = settings.PORTAL_NOTICE_BATCH_MAX
    if len(ids) > limit:
        raise DomainError(
            _("At most %(limit)s cases can be printed in one batch; %(count)s were chosen.")
            % {"limit": limit, "count": len(ids)}
        )
    statuses = dict(Case.objects.filter(pk__in=ids).values_list("pk", "status"))
    missing = [case_id for case_id in ids if case_id not in statuses]
    if missing:
        raise NotAllowed(
            _("These cases do not exist: %(ids)s.") % {"ids": ", ".join(map(str, missing[:10]))}
        )
    closed = [case_id for case_id in ids if statuses[case_id] != CaseStatus.OPEN]
    if closed:
        raise NotAllowed(
            _("Notices are printed for open cases only; these are closed: %(ids)s.")
            % {"ids": ", ".join(f"#{case_id}" for case_id in closed[:10])}
        )
    with transaction.atomic():
        batch = NoticeBatch.objects.create(
            kind=kind, requested_by=actor, case_ids=ids, total=len(ids)
        )
        audit_record(
            actor=actor,
            action="notice.batch.create",
            target=batch,
            summary=f"{kind} × {len(ids)}",
            after={"kind": kind, "total": len(ids)},
        )
        _queue_run(batch.pk)
    return batch


def _batch_chunk(
    batch: NoticeBatch, case_ids: list[int], *, pool: RenderPool | None = None
) -> None:
    """Generate the notices of one chunk of cases and commit them with the batch's progress.

    The chunk is laid out as one document, or with a `pool` as a few consecutive documents
    rendered at the same time in helper processes; each document's combined PDF is kept as one
    of the batch's parts, each notice's own PDF is cut out of it."""
    as_of = business_today()
    actor = batch.requested_by
    cases = {
        case.pk: case
        for case in Case.objects.filter(pk__in=case_ids).select_related(
            "loan__borrower", "loan__product"
        )
    }
    installments = _installments_by_loan([case.loan_id for case in cases.values()])
    deadline = deadline_after(as_of)
    skipped: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    parts: list[NoticePart] = []
    for case_id in case_ids:
        case = cases.get(case_id)
        if case is None or case.status != CaseStatus.OPEN:
            skipped.append({"case": case_id, "reason": _("The case was closed meanwhile.")})
            continue
        loan = case.loan
        language = loan.borrower.preferred_language
        reference = _new_reference(batch.kind, as_of)
        try:
            facts = notice_facts(
                kind=batch.kind,
                language=language,
                reference=reference,
                loan=loan,
                installments=installments[loan.pk],
                case_id=case_id,
                as_of=as_of,
                deadline=deadline,
            )
        except DomainError as refused:  # e.g. paid meanwhile: nothing overdue any more
            skipped.append({"case": case_id, "reason": str(refused)})
            continue
        plans.append(
            {
                "case_id": case_id,
                "loan": loan,
                "language": language,
                "reference": reference,
                "facts": facts,
            }
        )
        parts.append(
            notice_html(kind=batch.kind, language=language, anchor=_anchor(reference), facts=facts)
        )
    versions = {
        language: template_version(batch.kind, language)
        for language in {p["language"] for p in plans}
    }
    rendered = (
        render_slices(
            pool,
            parts,
            title=f"{NoticeKind(batch.kind).label} · batch {batch.pk}",
            render_here=pdf_render,
        )
        if parts
        else []
    )
    own_pdfs = [own for result in rendered for own in result.parts]

    stored: list[str] = []
    try:
        with transaction.atomic():
            notices = []
            if rendered:
                for plan, own in zip(plans, own_pdfs, strict=True):
                    notices.append(
                        _new_notice(
                            kind=batch.kind,
                            reference=plan["reference"],
                            loan=plan["loan"],
                            case_id=plan["case_id"],
                            language=plan["language"],
                            facts=plan["facts"],
                            version=versions[plan["language"]],
                            pdf=own.pdf,
                            pages=own.pages,
                            actor=actor,
                            batch=batch,
                            stored=stored,
                        )
                    )
                Notice.objects.bulk_create(notices)
                audit_record_many(
                    [audit_event(**_audit_generated(notice, actor)) for notice in notices]
                )
            new_parts = list(batch.parts)
            for index, result in enumerate(rendered):
                name = PrivateMediaStorage().save(
                    f"notices/batches/{batch.public_id}/part-{batch.done:06d}-{index}.pdf",
                    ContentFile(result.combined),
                )
                stored.append(name)
                new_parts.append(name)
            done = batch.done + len(case_ids)
            changed = NoticeBatch.objects.filter(
                pk=batch.pk, status=BatchStatus.RUNNING, done=batch.done
            ).update(
                done=done,
                skipped=batch.skipped + len(skipped),
                skipped_cases=[*batch.skipped_cases, *skipped],
                parts=new_parts,
                heartbeat_at=timezone.now(),
            )
            if changed != 1:
                raise BatchTakenOver(f"notice batch {batch.pk} moved on without this run")
    except BaseException:
        _delete_files(stored)
        raise
    batch.done, batch.skipped = done, batch.skipped + len(skipped)
    batch.skipped_cases = [*batch.skipped_cases, *skipped]
    batch.parts = new_parts


def _join_parts(names: Sequence[str], title: str) -> bytes:
    """The chunks' PDFs as one file, in order (pages copied as they are: text stays text)."""
    storage = PrivateMediaStorage()
    writer = PdfWriter()
    for name in names:
        with storage.open(name, "rb") as handle:
            writer.append(io.BytesIO(handle.read()))
    writer.add_metadata({"/Title": title, "/Author": settings.PORTAL_COMPANY_NAME})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _batch_finish(batch: NoticeBatch) -> None:
    stored: list[str] = []
    try:
        with transaction.atomic():
            if batch.parts:
                combined = _join_parts(
                    batch.parts, f"{NoticeKind(batch.kind).label} · batch {batch.pk}"
                )
                batch.file.save("combined.pdf", ContentFile(combined), save=False)
                stored.append(batch.file.name)
                batch.sha256 = _sha256(combined)
            batch.finished_at = timezone.now()
            changed = NoticeBatch.objects.filter(
                pk=batch.pk, status=BatchStatus.RUNNING, done=batch.total
            ).update(
                status=BatchStatus.DONE,
                file=batch.file.name or "",
                sha256=batch.sha256,
                finished_at=batch.finished_at,
                heartbeat_at=batch.finished_at,
            )
            if changed != 1:
                raise BatchTakenOver(f"notice batch {batch.pk} finished without this run")
            batch.status = BatchStatus.DONE
            audit_record(
                actor=None,
                actor_label="notice batch",
                action="notice.batch.done",
                target=batch,
                summary=f"{batch.generated} notices, {batch.skipped} skipped",
                after={
                    "generated": batch.generated,
                    "skipped": batch.skipped,
                    "sha256": batch.sha256,
                },
            )
            parts = list(batch.parts)
            transaction.on_commit(lambda: _delete_files(parts))  # joined: no longer needed
    except BaseException:
        _delete_files(stored)
        raise


def _queue_run(batch_id: int, suffix: str = "") -> None:
    """Start the batch's task once the surrounding transaction commits."""
    transaction.on_commit(
        lambda: async_task(
            "notices.tasks.run_notice_batch", batch_id, task_name=f"notice-batch-{batch_id}{suffix}"
        )
    )


def _hand_over(batch: NoticeBatch) -> bool:
    """Queue the rest of the batch as a new task (a slice never nears the task timeout)."""
    with transaction.atomic():
        changed = NoticeBatch.objects.filter(
            pk=batch.pk, status=BatchStatus.RUNNING, done=batch.done
        ).update(status=BatchStatus.QUEUED, heartbeat_at=timezone.now())
        if changed == 1:
            _queue_run(batch.pk, f"-{batch.done}")
    return changed == 1


def notice_batch_run(*, batch_id: int) -> str:
    """The task's work: claim the batch, go through its cases chunk by chunk, join the PDFs.

    One run works for about PORTAL_NOTICE_BATCH_SLICE_SECONDS (at least one chunk), then queues
    a new task for the rest: a batch of any size stays within django-q2's task timeout.
    Returns "done", "continued" (the rest is queued), "failed" (the error is kept on the
    batch) or "not-claimed" (finished, or running elsewhere and not yet silent long enough).
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.PORTAL_NOTICE_BATCH_STALE_SECONDS)
    claimed = NoticeBatch.objects.filter(
        Q(status=BatchStatus.QUEUED) | Q(status=BatchStatus.RUNNING, heartbeat_at__lt=stale),
        pk=batch_id,
    ).update(status=BatchStatus.RUNNING, heartbeat_at=now)
    if claimed != 1:
        return "not-claimed"
    NoticeBatch.objects.filter(pk=batch_id, started_at__isnull=True).update(started_at=now)
    batch = NoticeBatch.objects.select_related("requested_by").get(pk=batch_id)
    deadline = time.monotonic() + settings.PORTAL_NOTICE_BATCH_SLICE_SECONDS
    try:
        chunk = settings.PORTAL_NOTICE_BATCH_CHUNK
        with RenderPool() as pool:
            pool.expect(min(chunk, batch.total - batch.done))
            while batch.done < batch.total:
                _batch_chunk(
                    batch,
                    [int(case_id) for case_id in batch.case_ids[batch.done : batch.done + chunk]],
                    pool=pool,
                )
                if batch.done < batch.total and time.monotonic() > deadline:
                    return "continued" if _hand_over(batch) else "not-claimed"
        _batch_finish(batch)
    except BatchTakenOver:
        log.warning("notice batch %s: another run took over", batch_id)
        return "not-claimed"
    except Exception as error:
        log.exception("notice batch %s failed", batch_id)
        NoticeBatch.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).update(
            status=BatchStatus.FAILED,
            error=f"{type(error).__name__}: {error}"[:500],
            finished_at=timezone.now(),
        )
        return "failed"
    return "done"


# --- delivery ----------------------------------------------------------------------------


def notice_delivery_record(
    *, notice_id: int, to_status: str, actor: User, note: str = ""
) -> Notice:
    """Move a notice's delivery (printed, posted, delivered, returned) and keep the move."""
    _require_printer(actor)
    if to_status not in DeliveryStatus.values:
        raise DomainError(_("Please choose the delivery status from the list."))
    text = " ".join((note or "").split())
    if len(text) > NOTE_MAX_LENGTH:
        raise DomainError(
            _("The note can be at most %(max)s characters long.") % {"max": NOTE_MAX_LENGTH}
        )
    with transaction.atomic():
        notice = Notice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None:
            raise NotAllowed(_("This notice does not exist."))
        before = notice.delivery_status
        if to_status not in DELIVERY_TRANSITIONS.get(before, frozenset()):
            raise NotAllowed(
                _("Notice %(reference)s is “%(status)s”: it cannot be marked “%(to)s”.")
                % {
                    "reference": notice.reference,
                    "status": notice.get_delivery_status_display(),
                    "to": DeliveryStatus(to_status).label,
                }
            )
        now = timezone.now()
        notice.delivery_status = to_status
        notice.delivery_updated_at = now
        notice.save(update_fields=["delivery_status", "delivery_updated_at"])
        NoticeDeliveryEvent.objects.create(
            notice=notice, from_status=before, to_status=to_status, at=now, actor=actor, note=text
        )
        audit_record(
            actor=actor,
            action="notice.delivery",
            target=notice,
            summary=f"{notice.reference} {before} → {to_status}",
            before={"delivery_status": before},
            after={"delivery_status": to_status, "note": text},
        )
    return notice


def notice_batch_retry(*, batch_id: int, actor: User) -> NoticeBatch:
    """Queue a failed batch again: it goes on from its last committed chunk."""
    _require_printer(actor)
    with transaction.atomic():
        changed = NoticeBatch.objects.filter(pk=batch_id, status=BatchStatus.FAILED).update(
            status=BatchStatus.QUEUED, error="", finished_at=None
        )
        if changed != 1:
            raise NotAllowed(_("Only a failed batch can be started again."))
        batch = NoticeBatch.objects.get(pk=batch_id)
        audit_record(
            actor=actor,
            action="notice.batch.retry",
            target=batch,
            summary=f"{batch.done}/{batch.total}",
        )
        _queue_run(batch_id, "-retry")
    return batch


def restructuring_agreement_print(*, proposal_id: int, actor: User | None) -> Notice:
    """The restructuring agreement of an applied plan, printed from the proposal's own figures
    (`restructuring_agreement_context`) and archived like every notice."""
    from debt_collections.models import RestructuringProposal
    from debt_collections.services.restructuring import restructuring_agreement_context

    proposal = RestructuringProposal.objects.get(pk=proposal_id)
    context = restructuring_agreement_context(proposal)
    terms = {
        "reason": context["reason"],
        "old_rows": context["current_rows"],
        "new_rows": context["proposed_rows"],
        "waived": context["waived"],
        "agreement_date": context["applied_on"] or context["computed_on"],
        "effective_date": context["applied_on"] or context["computed_on"],
        "first_due_date": context["proposed_totals"]["first_due"],
        "proposal": f"#{proposal.pk}",
    }
    return notice_generate(
        kind=NoticeKind.RESTRUCTURING_AGREEMENT,
        actor=actor,
        loan_id=proposal.loan_id,
        extra_context=terms,
    )
