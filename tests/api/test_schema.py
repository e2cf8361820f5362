"""The OpenAPI schema and its interactive docs, served with local assets only."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(api):
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_openapi_3_with_every_endpoint(schema):
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for path in ("/api/v1/auth/tokens/", "/api/v1/loans/{reference}/repayments/", "/api/v1/staff/cases/",
                 "/api/v1/hardship-requests/", "/api/v1/lectures/{lecture_id}/registration/", "/api/v1/staff/alerts/"):
        assert path in paths
    assert {"bearerAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_every_operation_documents_the_error_shape(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for code in ("400", "401", "403", "404", "429", "500", "default"):
                content = responses[code]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            assert any(c.startswith("2") for c in responses), (method, path)
    error = schema["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message", "fields"}


def test_repayment_requires_the_idempotency_key_header(schema):
    operation = schema["paths"]["/api/v1/loans/{reference}/repayments/"]["post"]
    [header] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is True
    assert {"409", "422", "201"} <= set(operation["responses"])
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RepayRequest")


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_docs_load_their_assets_from_this_site(api, url):
    page = api.get(url).content.decode()
    assert "/api/schema/" in page
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page)
    assert external == []
    assets = re.findall(r"""(?:src|href)=["']/static/([^"']+)""", page)
    assert assets and all(finders.find(asset.split("?")[0]) for asset in assets)
