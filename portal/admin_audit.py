"""Staff actions in the admin leave audit events, as every service does.

`AuditedModelAdmin` records who added, changed or deleted which row through the admin, with the
field values before and after (personal identifiers masked, secrets hidden), in the transaction
of the change itself: Django's add, change and delete views and the list's inline editing run in
`transaction.atomic()`, and `audit_record` refuses to write outside a transaction, so an audit row
can never survive a change that rolled back. The bulk "delete selected" action is not atomic in
Django, so the mixin opens the transaction there itself.

Staff sign-in, sign-out and failed sign-in are audited through Django's auth signals
(`staff_signed_in` and friends, connected in `portal.apps`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models, transaction
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest

from portal.audit import audit_event, audit_record, audit_record_many
from portal.masking import mask_mobile, mask_national_id
from portal.models import User

HIDDEN = "********"
_MOBILE = re.compile(r"1[0-9]{10}")


def mask_if_mobile(value: str) -> str:
    """Borrowers' usernames are their mobile numbers; staff usernames stay readable."""
    return mask_mobile(value) if _MOBILE.fullmatch(value) else value


def _masker_for(field_name: str, extra: dict[str, Callable[[str], str]]) -> Callable[[str], str] | None:
    if field_name in extra:
        return extra[field_name]
    if field_name.endswith("national_id"):
        return mask_national_id
    if field_name.endswith("mobile"):
        return mask_mobile
    return None


def _plain(value: Any) -> Any:
    """A value the audit trail's JSON encoder writes as is (files become their names)."""
    if value is None or isinstance(
        value, (str, int, float, bool, Decimal, dt.date, dt.time, uuid.UUID, list, dict)
    ):
        return value
    return str(value)


def _related_labels(manager: Any) -> list[str]:
    if manager.model is Permission:
        return sorted(
            f"{app}.{codename}" for app, codename in manager.values_list("content_type__app_label", "codename")
        )
    return sorted(str(item) for item in manager.all())


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose add, change and delete write an audit event (put it first in the bases).

    Actions are "<model>.create", "<model>.change" and "<model>.delete" unless `audit_actions`
    names others. Fields named *national_id or *mobile are masked, `audit_maskers` adds more,
    `audit_secrets` are never written (only that they changed), `audit_exclude` not at all.
    """

    audit_actions: ClassVar[dict[str, str]] = {}
    audit_maskers: ClassVar[dict[str, Callable[[str], str]]] = {"username": mask_if_mobile}
    audit_secrets: ClassVar[frozenset[str]] = frozenset({"password"})
    audit_exclude: ClassVar[frozenset[str]] = frozenset()

    def audit_action(self, verb: str) -> str:
        return self.audit_actions.get(verb, f"{self.opts.model_name}.{verb}")

    def audit_snapshot(self, obj: models.Model) -> dict[str, Any]:
        """Every field's value (foreign keys as ids, many-to-many as sorted labels), masked."""
        values: dict[str, Any] = {}
        for field in obj._meta.concrete_fields:
            if field.name not in self.audit_exclude:
                values[field.name] = _plain(field.value_from_object(obj))
        if obj.pk is not None:
            for m2m in obj._meta.many_to_many:
                if m2m.name not in self.audit_exclude:
                    values[m2m.name] = _related_labels(getattr(obj, m2m.name))
        return values

    def _shown(self, values: dict[str, Any] | None) -> dict[str, Any] | None:
        """What the audit trail may hold of these values."""
        if values is None:
            return None
        shown: dict[str, Any] = {}
        for name, value in values.items():
            masker = _masker_for(name, self.audit_maskers)
            if name in self.audit_secrets:
                shown[name] = HIDDEN if value else ""
            elif masker is not None and isinstance(value, str):
                shown[name] = masker(value)
            else:
                shown[name] = value
        return shown

    def _stored(self, obj: models.Model) -> dict[str, Any] | None:
        # The form has already written the new values into `obj`: read the row as it is stored.
        stored = type(obj)._default_manager.filter(pk=obj.pk).first()
        return None if stored is None else self.audit_snapshot(stored)

    # --- add and change -------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj._audit_before = self._stored(obj) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: ModelForm[Any], formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # many-to-many values are saved here
        obj = form.instance
        before: dict[str, Any] | None = getattr(obj, "_audit_before", None)
        after = self.audit_snapshot(obj)
        inlines = _inline_changes(formsets)
        if change and before is not None:
            changed = [name for name in after if before.get(name) != after.get(name)]
            before = {name: before.get(name) for name in changed}
            after = {name: after[name] for name in changed}
            if not changed and not inlines:
                return  # saved without a change: nothing happened
        if inlines:
            after["inlines"] = inlines
        verb = "change" if change else "create"
        audit_record(
            actor=_staff(request), action=self.audit_action(verb), target=obj,
            summary=f"{verb} {self.opts.verbose_name} #{obj.pk} in the admin",
            before=self._shown(before), after=self._shown(after),
        )

    # --- delete ---------------------------------------------------------------------------------

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():  # inside the delete view's own transaction
            audit_record(
                actor=_staff(request), action=self.audit_action("delete"), target=obj,
                summary=f"delete {self.opts.verbose_name} #{obj.pk} in the admin",
                before=self._shown(self.audit_snapshot(obj)),
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # Django's "delete selected" action runs outside any transaction: open one here, so the
        # rows and their audit events go together.
        with transaction.atomic():
            actor = _staff(request)
            audit_record_many([
                audit_event(
                    actor=actor, action=self.audit_action("delete"), target=obj,
                    summary=f"delete {self.opts.verbose_name} #{obj.pk} in the admin",
                    before=self._shown(self.audit_snapshot(obj)),
                )
                for obj in queryset
            ])
            super().delete_queryset(request, queryset)


def _inline_changes(formsets: list[BaseFormSet[Any]]) -> list[dict[str, Any]]:
    """Rows added, changed or deleted through inlines, by model and id."""
    changes: list[dict[str, Any]] = []
    for formset in formsets:
        model = getattr(formset, "model", None)
        label = model._meta.label_lower if model is not None else "?"
        for obj in getattr(formset, "new_objects", []):
            changes.append({"model": label, "id": obj.pk, "change": "create"})
        for obj, fields in getattr(formset, "changed_objects", []):
            changes.append({"model": label, "id": obj.pk, "change": "change", "fields": sorted(fields)})
        for obj in getattr(formset, "deleted_objects", []):
            changes.append({"model": label, "id": obj.pk, "change": "delete"})
    return changes


def _staff(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) else None


def audited(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """`admin_class` with auditing first in its bases (for admins of other packages)."""
    if issubclass(admin_class, AuditedModelAdmin):
        return admin_class
    return type(f"Audited{admin_class.__name__}", (AuditedModelAdmin, admin_class), {"__module__": __name__})


def reregister_audited(site: admin.AdminSite, models_: list[type[models.Model]]) -> None:
    """Swap the registered admins of these models for audited subclasses of themselves."""
    for model in models_:
        if not site.is_registered(model):
            continue
        current = type(site.get_model_admin(model))
        site.unregister(model)
        site.register(model, audited(current))


# --- Staff sign-in and sign-out -------------------------------------------------------------------


def _where(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    return {"path": request.path, "address": request.META.get("REMOTE_ADDR", "")}


def staff_signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if isinstance(user, User) and user.is_staff:
        with transaction.atomic():
            audit_record(actor=user, action="staff.sign_in", target=user, summary="signed in", after=_where(request))


def staff_signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if isinstance(user, User) and user.is_staff:
        with transaction.atomic():
            audit_record(actor=user, action="staff.sign_out", target=user, summary="signed out", after=_where(request))


def staff_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """A wrong password for a staff username (unknown names and borrowers are not staff events)."""
    username = str(credentials.get("username") or "")
    staff = User.objects.filter(username=username, is_staff=True).first() if username else None
    if staff is None:
        return
    with transaction.atomic():
        audit_record(
            actor=None, actor_label="sign-in attempt", action="staff.sign_in_failed", target=staff,
            summary=f"failed sign-in as {staff.get_username()}", after=_where(request),
        )
