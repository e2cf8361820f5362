"""Alerts for staff: raised once per cause (a dedupe key), read in an inbox per role."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from loans.models import Loan

from ..models import Alert, Case


def alert_raise(
    *,
    kind: str,
    role: str,
    message: str,
    dedupe_key: str,
    loan: Loan | None = None,
    case: Case | None = None,
) -> Alert | None:
    """Raise an alert for everyone of `role`; None when this cause already raised one."""
    try:
        with transaction.atomic():
            return Alert.objects.create(
                kind=kind, role=role, message=message[:300], dedupe_key=dedupe_key[:120], loan=loan, case=case
            )
    except IntegrityError:
        if Alert.objects.filter(dedupe_key=dedupe_key[:120]).exists():
            return None
        raise
