"""Settings come from the environment; each case runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
from django.conf import settings
django.setup()
q = settings.Q_CLUSTER
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "db_host": settings.DATABASES["default"].get("HOST", ""),
    "prepare_threshold": settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold", "unset"),
    "broker": "redis" if "redis" in q else "orm" if "orm" in q else "none",
    "debug": settings.DEBUG,
}))
"""


def run_with(env: dict[str, str], code: str = PROBE, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "PORTAL_"))
    }
    clean["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    argv = [sys.executable, "-c", code] if not args else [sys.executable, "manage.py", *args]
    return subprocess.run(argv, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def probe(env: dict[str, str]) -> dict[str, Any]:
    result = run_with(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_default_is_sqlite_with_the_orm_broker():
    found = probe({})
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["db_name"].endswith("var/portal.sqlite3")
    assert found["broker"] == "orm"


def test_database_url_switches_to_postgresql():
    found = probe({"DATABASE_URL": "postgres://portal:secret@db.internal:5433/portal"})
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["db_host"] == "db.internal"


def test_postgresql_prepares_bound_statements_on_their_second_run_unless_turned_off():
    url = {"DATABASE_URL": "postgres://portal:secret@db.internal:5433/portal"}
    assert probe(url)["prepare_threshold"] == 2
    assert probe({**url, "PORTAL_DB_PREPARE_THRESHOLD": "0"})["prepare_threshold"] is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no prepared statements")
@pytest.mark.django_db
def test_a_payments_statements_are_prepared_on_a_connections_third_payment(alices_loan):
    from loans import services

    def prepared() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            return {row[0].split(" ")[0] + " " + row[0].split('"')[1] for row in cursor.fetchall()}

    for n in range(2):
        services.payment_post(loan_id=alices_loan.pk, amount="10.00", channel="app", idempotency_key=f"k{n}",
                              actor=None, business_date=alices_loan.disbursed_on)
    assert not {"SELECT loans_loan", "SELECT loans_installment", "INSERT loans_payment"} & prepared()
    with CaptureQueriesContext(connection) as third:  # run prepared, and still logged as written
        services.payment_post(loan_id=alices_loan.pk, amount="10.00", channel="app", idempotency_key="k2",
                              actor=None, business_date=alices_loan.disbursed_on)
    assert {"SELECT loans_loan", "SELECT loans_installment", "INSERT loans_payment"} <= prepared()
    assert [q["sql"].split('"')[1] for q in third.captured_queries if q["sql"].startswith(("SELECT", "INSERT"))] == [
        "loans_loan", "loans_installment", "loans_payment",
    ]


def test_redis_url_moves_the_task_broker_to_redis():
    assert probe({"REDIS_URL": "redis://127.0.0.1:6379/0"})["broker"] == "redis"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be one of"),
        ({"PORTAL_Q_WORKERS": "two"}, "PORTAL_Q_WORKERS must be a whole number"),
        ({"PORTAL_Q_WORKERS": "0"}, "PORTAL_Q_WORKERS must be at least 1"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL must be a postgres:// URL"),
    ],
)
def test_a_malformed_value_stops_start_up_with_a_clear_message(env, message):
    result = run_with(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_rejects_the_development_defaults():
    result = run_with({}, PROBE, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W009" in result.stderr  # the development secret key
    assert "security.W018" in result.stderr  # DEBUG on


def test_check_deploy_accepts_a_production_environment():
    production = {
        "DJANGO_SECRET_KEY": "k" * 20 + "9f2c1e7b5a4d3c8e6f0a1b2c3d4e5f60718293a4b5c6d7e8",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECURE_COOKIES": "true",
        "DJANGO_SECURE_SSL_REDIRECT": "true",
        "DJANGO_HSTS_SECONDS": "31536000",
        "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "true",
        "DJANGO_HSTS_PRELOAD": "true",
    }
    result = run_with(production, PROBE, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr


def test_task_retry_outlasts_the_task_timeout():
    q = settings.Q_CLUSTER
    assert q["retry"] > q["timeout"]
    assert q["catch_up"] is False
    assert 1 <= q["max_attempts"] <= 10


def test_the_site_speaks_chinese_first_in_shanghai_time():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]
    assert settings.TIME_ZONE == "Asia/Shanghai"


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions():
    if connection.vendor != "sqlite":
        assert connection.vendor == "postgresql"
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
