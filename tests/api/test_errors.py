"""One error shape, a machine code and a message in the user's language; never a stack trace."""

from __future__ import annotations

import logging

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def shape(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_no_credentials_is_401(api):
    response = api.get("/api/v1/loans/")
    assert response.status_code == 401 and shape(response)["code"] == "not_authenticated"


def test_a_staff_member_on_a_borrower_endpoint_is_403(staff):
    response = staff("agent").get("/api/v1/loans/")
    assert response.status_code == 403 and shape(response)["code"] == "permission_denied"


def test_another_borrowers_loan_is_404(as_bob, alices_loan):
    response = as_bob.get(f"/api/v1/loans/{alices_loan.reference}/")
    assert response.status_code == 404 and shape(response)["code"] == "not_found"


def test_an_unknown_address_under_api_is_404_in_the_shape(api):
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and shape(response)["code"] == "not_found"


def test_a_wrong_method_is_405(as_alice):
    response = as_alice.delete("/api/v1/loans/")
    assert response.status_code == 405 and shape(response)["code"] == "method_not_allowed"


def test_invalid_fields_are_400_with_the_fields(as_alice, alices_loan):
    response = as_alice.post(f"/api/v1/loans/{alices_loan.reference}/repayments/", {"option": "all"},
                             format="json", HTTP_IDEMPOTENCY_KEY="k")
    error = shape(response)
    assert response.status_code == 400 and error["code"] == "invalid"
    assert set(error["fields"]) == {"option", "method"}


def test_malformed_json_is_400(as_alice, alices_loan):
    response = as_alice.generic("PATCH", "/api/v1/me/", "{not json", content_type="application/json")
    assert response.status_code == 400 and shape(response)["code"] == "parse_error"


def test_a_form_body_where_json_is_expected_is_415(as_alice):
    response = as_alice.patch("/api/v1/me/", "preferred_language=en", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and shape(response)["code"] == "unsupported_media_type"


def test_a_state_refusal_is_409_with_the_services_code_and_message(as_bob, bob, make_loan):
    loan = make_loan(bob, on=__import__("datetime").date.today())  # nothing overdue yet
    response = as_bob.post(f"/api/v1/loans/{loan.reference}/extension/")
    error = shape(response)
    assert response.status_code == 409 and error["code"] == "not_allowed"
    assert error["message"].startswith("Nothing on this loan is overdue")


def test_a_business_rule_refusal_is_422(as_alice, alices_loan):
    response = as_alice.get(f"/api/v1/loans/{alices_loan.reference}/repayment-preview/",
                            {"option": "custom", "amount": "12.345"})
    error = shape(response)
    assert response.status_code == 422 and error["code"] == "invalid_amount"


def test_messages_follow_the_borrowers_language_whatever_the_browser_says(as_alice, as_bob, alices_loan):
    # alice chose Chinese, bob English: Accept-Language does not override a saved choice.
    chinese = as_alice.get("/api/v1/loans/NOPE/", HTTP_ACCEPT_LANGUAGE="en")
    english = as_bob.get("/api/v1/loans/NOPE/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert shape(chinese)["message"] == "未找到。"
    assert shape(english)["message"] == "Not found."


def test_visitors_and_staff_get_the_language_of_accept_language(api):
    assert shape(api.get("/api/v1/loans/", HTTP_ACCEPT_LANGUAGE="en"))["message"].startswith("Authentication")
    assert shape(api.get("/api/v1/loans/", HTTP_ACCEPT_LANGUAGE="zh-hans"))["message"] == "身份认证信息未提供。"


def test_a_domain_message_is_in_the_borrowers_language(as_alice, alices_loan):
    # "This loan takes no payments." is translated in the catalogue.
    alices_loan.status = "settled"
    alices_loan.save()
    response = as_alice.get(f"/api/v1/loans/{alices_loan.reference}/repayment-preview/", {"option": "payoff"})
    assert response.status_code == 409 and "贷款" in shape(response)["message"]


@pytest.mark.urls("tests.api.urls")
def test_an_unexpected_error_is_500_with_a_generic_message_and_no_trace(caplog, settings):
    settings.DEBUG = True  # even then: no traceback, no SQL
    client = APIClient(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="portal.api"):
        response = client.get("/api/v1/boom/", HTTP_ACCEPT_LANGUAGE="en")
    error = shape(response)
    assert response.status_code == 500 and error["code"] == "server_error"
    text = response.content.decode()
    for leak in ("Traceback", "no_such_table_xyz", "secret_column", "SELECT", "File \""):
        assert leak not in text
    assert any("no_such_table_xyz" in (r.exc_text or "") for r in caplog.records)  # logged, not sent


def test_the_500_handler_outside_views_answers_json_under_api(rf):
    from portal.api.errors import server_error

    response = server_error(rf.get("/api/v1/loans/"))
    assert response.status_code == 500 and b"server_error" in response.content
    page = server_error(rf.get("/my/"))
    assert page.status_code == 500 and b"server_error" not in page.content
