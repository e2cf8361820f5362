"""Shared by the restructuring tests: a settable clock, alice overdue on 25 March, the cast.

The business date is 2026-03-25 and the clock reads 10:00 that day (Beijing time): offers
expire against the clock, the services take the business date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from debt_collections import services
from debt_collections.models import Case, RestructuringProposal
from loans.models import Loan
from portal.models import User
from tests.conftest import age_through

from .factories import make_case

TODAY = dt.date(2026, 3, 25)
SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at.astimezone(dt.UTC)

    def advance(self, **delta: float) -> None:
        self.at += dt.timedelta(**delta)


@pytest.fixture(autouse=True)
def english() -> Any:
    """Services word their refusals in the active language; read them in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def clock() -> Any:
    """django.utils.timezone.now reads this clock (and so does business_today)."""
    fixed = Clock(dt.datetime(2026, 3, 25, 10, 0, tzinfo=SHANGHAI))
    with mock.patch("django.utils.timezone.now", fixed):
        yield fixed


@pytest.fixture
def overdue_loan(alices_loan: Loan) -> Loan:
    """Alice on 25 March: her February and March bills are overdue (38 days), with penalty."""
    age_through(alices_loan, dt.date(2026, 2, 16), TODAY)
    return Loan.objects.get(pk=alices_loan.pk)


@pytest.fixture
def open_case(overdue_loan: Loan) -> Case:
    return make_case(overdue_loan, days_past_due=38)


@pytest.fixture
def second_supervisor(make_staff: Any) -> User:
    from portal.roles import SUPERVISOR

    return make_staff("sam", SUPERVISOR)


def propose(case: Case, agent: User, kind: str = "term_extension", **parameters: Any) -> RestructuringProposal:
    return services.restructuring_propose(
        actor=agent, case_id=case.pk, kind=kind,
        parameters=parameters or {"extra_months": 6},
        reason="失业三个月，新工作下月开始。Lost her job; a new one starts next month.",
        business_date=TODAY,
    )


def offered(case: Case, agent: User, supervisor: User, **parameters: Any) -> RestructuringProposal:
    proposal = propose(case, agent, **parameters)
    return services.restructuring_approve(
        proposal_id=proposal.pk, actor=supervisor, business_date=TODAY, comment="ok"
    )
