"""Schemathesis against our own schema, in process (WSGI), on the test database.

Every operation is called with generated data, as a borrower and as an agent (bearer tokens),
and every response must be no server error and match the schema (status code, body, headers).
Path parameters point at real rows half of the time, so that the happy paths run too. Bounded:
a few dozen examples per operation, no deadline; it runs in well under two minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from debt_collections import services as collections
from loans import services as loans
from portal import roles
from portal.wsgi import application
from tests.api.conftest import token_client
from tests.debt_collections.factories import make_case

EXAMPLES = 20
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def wsgi_keeps_the_test_connection() -> Any:
    """Calling the WSGI app directly sends request_started/finished, whose handler closes the
    database connection (and with it the test's transaction). Django's test client disconnects
    it; so do we, for the test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(
    wsgi_keeps_the_test_connection: Any, db: Any, alice: Any, alices_loan: Any, make_staff: Any, settings: Any
) -> dict[str, Any]:
    """Real rows for the generated requests to find: a loan with a payment and a repayment, a
    hardship request with an offer, a case, an article, a lecture; tokens for alice and an agent."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"sign_in": "100000/min", "money": "100000/min"},
    }
    from education import services as education

    payment = loans.payment_post(loan_id=alices_loan.pk, amount="100.00", channel="web", idempotency_key="seed",
                                 actor=None, business_date=timezone.localdate()).payment
    intent = loans.payment_intent_create(borrower_id=alice.pk, loan_id=alices_loan.pk, option="custom",
                                         method="bank_transfer", custom_amount="50.00",
                                         business_date=timezone.localdate(), actor=None)
    decider = make_staff("sue", roles.SUPERVISOR)
    hardship = collections.hardship_request_submit(borrower_id=alice.pk, loan_id=alices_loan.pk, reason="illness",
                                                   description="住院两个月。", help_wanted=["grace_period"],
                                                   actor=alice.user)
    offer = collections.hardship_offer_make(request_id=hardship.pk, actor=decider, kind="grace_period",
                                            terms_zh="宽限 30 天。", grace_days=30,
                                            expires_at=timezone.now() + dt.timedelta(days=5))
    case = make_case(alices_loan)
    category = education.category_create(actor=None, slug="basics", name_zh="基础", name_en="Basics", position=1)
    article = education.article_create(actor=None, title="逾期意味着什么", slug="overdue", language="zh-hans",
                                       summary="逾期。", body="## 逾期\n\n尽早联系我们。", category_ids=[category.pk],
                                       audiences=["everyone"], translation_of_id=None)
    education.article_submit(article_id=article.pk, actor=None)
    education.article_publish(article_id=article.pk, actor=None)
    lecture = education.lecture_create(actor=None, title="信用报告", speaker="周敏", language="zh-hans",
                                       description="讲座。", starts_at=timezone.now() + dt.timedelta(days=3),
                                       duration_minutes=60, capacity=50, join_url="https://live.example.com/l/1")
    agent = make_staff("agnes", roles.AGENT)
    return {
        "reference": alices_loan.reference, "payment_id": payment.pk, "intent": intent.public_id,
        "hardship": hardship.public_id, "offer_id": offer.pk, "case_id": case.pk, "lecture_id": lecture.pk,
        "language": "zh-hans", "slug": "overdue",
        "borrower": token_client(alice.user), "agent": token_client(agent),
    }


def _load_schema() -> Any:
    """The schema as /api/schema/ serves it (made by drf-spectacular, no database needed)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))


schema = _load_schema()


def _real(case: Any, world: dict[str, Any]) -> None:
    """Point path parameters at real rows for half of the generated values (by a hash)."""
    params = case.path_parameters or {}
    for name, value in list(params.items()):
        if int(hashlib.sha256(repr(value).encode()).hexdigest(), 16) % 2:
            continue
        if name == "public_id":
            params[name] = str(world["hardship"] if "hardship" in case.path else world["intent"])
        elif name in world:
            params[name] = str(world[name])


def _run(case: Any, world: dict[str, Any], who: str) -> None:
    _real(case, world)
    client = world[who]
    token = client._credentials["HTTP_AUTHORIZATION"]
    response = case.call(headers={"Authorization": token}, app=application)
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_as_a_borrower(case: Any, world: dict[str, Any]) -> None:
    _run(case, world, "borrower")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_as_an_agent(case: Any, world: dict[str, Any]) -> None:
    _run(case, world, "agent")
