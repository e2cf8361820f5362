"""The small forms of the case page and the queue's "assign to agent…" action.

They check what was typed; the services (`debt_collections.services.cases`) check the rules
and do the work.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import Jinja2
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.masking import mask_mobile
from portal.models import User

from .conduct import borrower_time_zone
from .models import (
    CaseClassification,
    ContactChannel,
    ContactOutcome,
    ContactParty,
    EmergencyContact,
    OverdueReason,
)
from .services.cases import LEGAL_REASON_MAX_LENGTH, NOTE_MAX_LENGTH, THIRD_PARTY_REASON_MAX_LENGTH

# The case page shows six of these forms on every load. Django ships its widget templates for
# Jinja2 too (the same HTML); compiled to Python, they render the six in a quarter of the time.
# One renderer for all: it compiles each template once.
_RENDERER = Jinja2()


class CaseForm(forms.Form):
    default_renderer = _RENDERER


class ContactLogForm(CaseForm):
    at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Borrower local time. Leave empty for now."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    party = forms.ChoiceField(
        label=_("Who was contacted"), choices=ContactParty.choices, initial=ContactParty.BORROWER
    )
    emergency_contact = forms.TypedChoiceField(
        label=_("Emergency contact"), coerce=int, required=False, empty_value=None
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactOutcome.choices)
    overdue_reason = forms.ChoiceField(
        label=_("Overdue reason"), choices=OverdueReason.choices, initial=OverdueReason.UNKNOWN
    )
    third_party_reason = forms.CharField(
        label=_("Why a third party"),
        required=False,
        max_length=THIRD_PARTY_REASON_MAX_LENGTH,
        help_text=_("Required for a third party: why the borrower could not be reached directly."),
    )
    debt_not_disclosed = forms.BooleanField(
        label=_("I did not mention the debt to the third party"),
        required=False,
        help_text=_("Required for a third party: they may only be asked to pass on a message."),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, contacts: list[EmergencyContact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["emergency_contact"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "—")] + [
            (contact.pk, f"{contact.name} ({contact.relationship}) {mask_mobile(contact.mobile)}")
            for contact in contacts
        ]

    def clean_at(self) -> Any:
        """The time as typed is the borrower's wall-clock time, whatever the admin's time zone."""
        at = self.cleaned_data.get("at")
        if at is None:
            return None
        return timezone.make_aware(timezone.make_naive(at), borrower_time_zone())


class PromiseForm(CaseForm):
    amount = forms.CharField(label=_("Amount (¥)"), max_length=20)
    promised_date = forms.DateField(
        label=_("Promised by"), widget=forms.DateInput(attrs={"type": "date"})
    )


class CaseNoteForm(CaseForm):
    text = forms.CharField(
        label=_("Note"), max_length=NOTE_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class ClassifyForm(CaseForm):
    classification = forms.ChoiceField(
        label=_("Classification"), choices=CaseClassification.choices
    )
    note = forms.CharField(label=_("Why"), required=False, max_length=NOTE_MAX_LENGTH)


class LegalReviewForm(CaseForm):
    reason = forms.CharField(
        label=_("Why a legal review"),
        max_length=LEGAL_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def assignable_agents() -> QuerySet[User]:
    """Active staff who may work cases (through a role or their own permissions)."""
    may_work = Q(
        groups__permissions__codename="work_case",
        groups__permissions__content_type__app_label="collections",
    )
    may_work |= Q(
        user_permissions__codename="work_case",
        user_permissions__content_type__app_label="collections",
    )
    ids = User.objects.filter(may_work, is_active=True, is_staff=True).values("pk")
    return User.objects.filter(pk__in=ids).order_by("username")


class _PlainQueryChoices(ModelChoiceIterator):
    """The agents read with one plain query: the default iterator streams them through a
    server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE) for a list of a few dozen."""

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class AgentChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    iterator = _PlainQueryChoices


class AssignForm(CaseForm):
    agent = AgentChoiceField(label=_("Agent"), queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["agent"]
        assert isinstance(field, AgentChoiceField)
        field.queryset = assignable_agents()
