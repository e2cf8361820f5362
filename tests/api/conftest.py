"""Clients for the API: a borrower with a token, staff of each role, and a clean throttle state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import caches
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from portal import roles
from portal.api.tokens import api_token_create
from portal.models import User


@pytest.fixture(autouse=True)
def fresh_throttles(settings: Any) -> Any:
    """Throttle counts live in a process-wide cache: every test starts from zero."""
    caches[settings.PORTAL_API_THROTTLE_CACHE].clear()
    yield
    caches[settings.PORTAL_API_THROTTLE_CACHE].clear()


@pytest.fixture(autouse=True)
def private_media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "private-media"
    return settings.MEDIA_ROOT


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def token_client(user: User) -> APIClient:
    """A client that sends a fresh bearer token of `user`, as an app would."""
    _token, key = api_token_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def as_alice(alice: Any) -> APIClient:
    return token_client(alice.user)


@pytest.fixture
def as_bob(bob: Any) -> APIClient:
    return token_client(bob.user)


@pytest.fixture
def staff(make_staff: Any) -> Any:
    """staff(role) -> a signed-in APIClient of a new member of that role (None: a borrower-less
    staff account with no role)."""
    made: dict[str, User] = {}

    def make(role: str | None) -> APIClient:
        name = (role or "nobody").replace(" ", "-")
        if role is None:
            user = User.objects.create_user(name, password="x-pass-2026", is_staff=True)
        else:
            user = make_staff(name, role)
        made[name] = user
        return token_client(User.objects.get(pk=user.pk))

    make.users = made  # type: ignore[attr-defined]
    return make


@pytest.fixture
def agent_user(make_staff: Any) -> User:
    return make_staff("agnes", roles.AGENT)


@pytest.fixture
def as_agent(agent_user: User) -> APIClient:
    return token_client(agent_user)


@pytest.fixture
def case(alices_loan: Any) -> Any:
    from tests.debt_collections.factories import make_case

    return make_case(alices_loan)


def overdue(loan: Any, through: dt.date) -> None:
    """Age the loan day by day through `through` (bills fall overdue, penalty accrues)."""
    from tests.conftest import age_through

    age_through(loan, dt.date(2026, 2, 15), through)


class QueryCounter(CaptureQueriesContext):
    pass


# Articles and lectures (made through the education services) for the API's tests.
from tests.education.conftest import category, make_article, make_lecture  # noqa: E402,F401
