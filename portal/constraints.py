"""Database constraints shared by every app."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def choices_constraint(name: str, field: str, choices: type[models.TextChoices]) -> models.CheckConstraint:
    """`choices=` alone does not constrain the database; this does."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)
