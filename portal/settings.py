"""Settings for the overdue-loan portal: one module, driven by environment variables.

Defaults give a development site on SQLite with django-q2's ORM broker. `DATABASE_URL`
switches to PostgreSQL and `REDIS_URL` moves django-q2 to Redis. The development secret key
and DEBUG=True are deliberately rejected by `manage.py check --deploy`.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.envconf import env_bool, env_decimal, env_int, env_list, env_str, env_time

BASE_DIR = Path(__file__).resolve().parent.parent

TESTING = env_bool("PORTAL_TESTING", False)
DEBUG = env_bool("DJANGO_DEBUG", True)
# The "django-insecure-" prefix makes `check --deploy` fail (security.W009) until a real key is set.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "django-insecure-development-key-change-me-in-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "portal.apps.PortalConfig",
    "loans.apps.LoansConfig",
    "debt_collections.apps.CollectionsConfig",
    "reporting.apps.ReportingConfig",
    "notices.apps.NoticesConfig",
    "education.apps.EducationConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_q",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"
AUTH_USER_MODEL = "portal.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

SQLITE_PATH = Path(env_str("PORTAL_SQLITE_PATH", str(BASE_DIR / "var" / "portal.sqlite3")))
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL (SQLite is the default)")
    # Statements sent through portal.statements.bound_cursor (payments, the close of business)
    # are prepared when a connection runs one again after this many runs; 0 never prepares (for
    # a connection pooler that cannot keep prepared statements). Django's own cursors never do.
    _prepare_threshold = env_int("PORTAL_DB_PREPARE_THRESHOLD", 2, minimum=0)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = _prepare_threshold or None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(SQLITE_PATH),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on the busy
                # timeout instead of failing mid-transaction; WAL lets readers run beside them.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Threads in tests need a file, not the shared in-memory database; one per test
            # process, so two test runs on one machine never share it.
            "TEST": {"NAME": str(BASE_DIR / "var" / f"test_portal_{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "portal:sign-in"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out sign-ins before checking passwords
    "django.contrib.auth.backends.ModelBackend",
]
# Lock-out after repeated failed sign-ins for one mobile number (django-axes).
AXES_FAILURE_LIMIT = env_int("PORTAL_SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("PORTAL_SIGN_IN_LOCKOUT_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username"]
# Per-address lock-out would lock out whole mobile carriers: many borrowers share one address
# behind carrier-grade NAT. Addresses are rate-limited by the API throttles instead.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False

# --- Internationalisation -------------------------------------------------------------------

# The language is the signed-in user's choice (portal.middleware), else the language cookie,
# else Chinese. URLs carry no language prefix.
LANGUAGE_CODE = "zh-hans"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = BASE_DIR / "var" / "private-media"  # never served as static: views check ownership
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Tests render templates without running collectstatic first, so no manifest there.
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (production values come from the environment) ---------------------------------

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
)

# --- REST framework: the API under /api/ (issue 7; portal/api/) ------------------------------
# >>> API settings block: one block, kept together. <<<

INSTALLED_APPS += ["django_filters", "drf_spectacular", "drf_spectacular_sidecar"]

REST_FRAMEWORK = {
    # Apps send "Authorization: Bearer <token>"; the browser uses its session (with CSRF).
    # Bearer first, so that a request without credentials gets 401 with WWW-Authenticate.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    # Throttles are set per view (sign-in, money); their rates are these settings.
    "DEFAULT_THROTTLE_RATES": {
        "sign_in": env_str("PORTAL_API_RATE_SIGN_IN", "10/min"),
        "money": env_str("PORTAL_API_RATE_MONEY", "30/min"),
    },
    # Client addresses for the throttles: REMOTE_ADDR, unless this many proxies in front of the
    # site set X-Forwarded-For (never trusted by default: a client could write any address).
    "NUM_PROXIES": env_int("PORTAL_API_NUM_PROXIES", 0, minimum=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# Throttle counts: per process in memory on one machine; shared in Redis when REDIS_URL is set.
PORTAL_API_THROTTLE_CACHE = "api-throttle"
CACHES = {
    # The monitoring dashboard's figures (reporting.dashboard, its only user): shared by every web
    # process and the task cluster, which computes them in the background; in Redis when there is
    # one, else in files on this machine; in memory for the tests.
    "default": (
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if TESTING
        else {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("REDIS_URL", "")}
        if env_str("REDIS_URL", "")
        else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
              "LOCATION": str(BASE_DIR / "var" / "cache" / "default")}
    ),
    PORTAL_API_THROTTLE_CACHE: (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("REDIS_URL", "")}
        if env_str("REDIS_URL", "")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api-throttle"}
    ),
}
# Idempotency-Key records are kept this long (the draft and Stripe: at least 24 hours); a claim
# older than the lease belongs to a request that died and may be taken over.
PORTAL_API_IDEMPOTENCY_HOURS = env_int("PORTAL_API_IDEMPOTENCY_HOURS", 24, minimum=24)
PORTAL_API_IDEMPOTENCY_LEASE_SECONDS = env_int("PORTAL_API_IDEMPOTENCY_LEASE_SECONDS", 120, minimum=10)

SPECTACULAR_SETTINGS = {
    "TITLE": "Overdue-loan portal API",
    "DESCRIPTION": (
        "Borrowers' loans, repayments, extension, hardship help and learning; staff case work "
        "and alerts. Errors: {\"error\": {\"code\", \"message\", \"fields\"}}, the message in the "
        "user's language. Sign in with POST /api/v1/auth/tokens/ and send `Authorization: Bearer <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc from this site's static files (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set (the same word means different sets in different tables).
    "ENUM_NAME_OVERRIDES": {
        "LanguageEnum": "loans.models.Language",
        "InstallmentStatusEnum": "loans.models.InstallmentStatus",
        "PaymentStatusEnum": "loans.models.PaymentStatus",
        "PaymentChannelEnum": "loans.models.Channel",
        "IntentStatusEnum": "loans.models.IntentStatus",
        "HardshipStatusEnum": "debt_collections.models.HardshipStatus",
        "HelpKindEnum": "debt_collections.models.HelpKind",
        "OfferStatusEnum": "debt_collections.models.OfferStatus",
        "CaseStatusEnum": "debt_collections.models.CaseStatus",
        "PromiseStatusEnum": "debt_collections.models.PromiseStatus",
        "ContactChannelEnum": "debt_collections.models.ContactChannel",
        "AlertKindEnum": "debt_collections.models.AlertKind",
        "RegistrationStatusEnum": "education.models.RegistrationStatus",
    },
}
# >>> end of the API settings block <<<

# --- django-q2 ------------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "")
Q_TASK_TIMEOUT = env_int("PORTAL_Q_TIMEOUT", 600, minimum=1)
Q_CLUSTER: dict[str, Any] = {
    "name": "portal",
    "workers": env_int("PORTAL_Q_WORKERS", 2, minimum=1),
    "timeout": Q_TASK_TIMEOUT,
    # retry must exceed timeout, or a slow task is handed out again while it still runs.
    "retry": Q_TASK_TIMEOUT + 120,
    "max_attempts": env_int("PORTAL_Q_MAX_ATTEMPTS", 5, minimum=1),
    "catch_up": False,
    "save_limit": 1000,
    "label": "Tasks",
    "sync": TESTING,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Business rules (defaults from the collections process; see docs and DESIGN.md) ---------

PORTAL_CURRENCY = "CNY"
# Penalty rate when a product names none: the contract rate times this factor.
PORTAL_DEFAULT_PENALTY_FACTOR = Decimal(env_str("PORTAL_DEFAULT_PENALTY_FACTOR", "1.5"))
# Days past due at which a loan enters each stage (the stage table in DESIGN.md).
PORTAL_STAGE_THRESHOLDS = {
    "reminder": env_int("PORTAL_STAGE_REMINDER_DPD", 1, minimum=1),
    "collections": env_int("PORTAL_STAGE_COLLECTIONS_DPD", 30, minimum=1),
    "non_performing": env_int("PORTAL_STAGE_NON_PERFORMING_DPD", 90, minimum=1),
    "write_off_candidate": env_int("PORTAL_STAGE_WRITE_OFF_DPD", 180, minimum=1),
}

# Text messages: console in development, the in-memory backend in tests; a provider is one class.
PORTAL_SMS_BACKEND = env_str(
    "PORTAL_SMS_BACKEND",
    "portal.sms_backends.MemorySmsBackend" if TESTING else "portal.sms_backends.ConsoleSmsBackend",
)
PORTAL_SMS_FILE = env_str("PORTAL_SMS_FILE", str(BASE_DIR / "var" / "sms.jsonl"))
PORTAL_SMS_MAX_ATTEMPTS = env_int("PORTAL_SMS_MAX_ATTEMPTS", 5, minimum=1)

# Days past due from which legal review may start (the credit-bureau date follows the monthly
# reporting and its advance notice: loans.selectors.credit_report_date).
PORTAL_LEGAL_REVIEW_DPD = env_int("PORTAL_LEGAL_REVIEW_DPD", 60, minimum=1)
# A case at legal-review age becomes a candidate after this many failed contact attempts.
PORTAL_LEGAL_REVIEW_FAILED_CONTACTS = env_int("PORTAL_LEGAL_REVIEW_FAILED_CONTACTS", 3, minimum=1)

# Close of business: loans per transaction, and how long a "running" run may stay silent before
# a new start takes it over as killed.
PORTAL_COB_CHUNK_SIZE = env_int("PORTAL_COB_CHUNK_SIZE", 1000, minimum=1)
# Processes closing chunks at once on PostgreSQL: this one and helper processes (SQLite: one).
PORTAL_COB_WORKERS = env_int("PORTAL_COB_WORKERS", 2, minimum=1)
PORTAL_COB_STALE_SECONDS = env_int("PORTAL_COB_STALE_SECONDS", 900, minimum=0)
# Missed business dates the scheduled run catches up on, oldest first.
PORTAL_COB_MAX_CATCH_UP_DAYS = env_int("PORTAL_COB_MAX_CATCH_UP_DAYS", 7, minimum=1)
# Later reminders and call tasks of the reminder stage: (days past due, rule). The rules' texts
# are in debt_collections.stage_actions; from 30 days the case's agent takes over.
PORTAL_STAGE_ACTIONS: list[tuple[int, str]] = [
    (7, "sms_week"),
    (10, "call"),
    (15, "sms_half_month"),
    (20, "call"),
    (25, "sms_before_collections"),
    (30, "sms_collections"),
    (60, "sms_legal_warning"),
]
# Text messages queued at night wait for this local hour of the morning.
PORTAL_SMS_EARLIEST_HOUR = env_int("PORTAL_SMS_EARLIEST_HOUR", 9, minimum=0)
PORTAL_SMS_LATEST_HOUR = env_int("PORTAL_SMS_LATEST_HOUR", 21, minimum=1)

# Online payments: the sandbox provider stands in for a real one (one class with checkout_url).
PORTAL_PAYMENT_PROVIDER = env_str("PORTAL_PAYMENT_PROVIDER", "loans.providers.SandboxProvider")
# Where borrowers send bank transfers; they quote the payment's reference code.
PORTAL_BANK_ACCOUNT = {
    "name": env_str("PORTAL_BANK_ACCOUNT_NAME", "示例消费金融有限公司"),
    "bank": env_str("PORTAL_BANK_NAME", "中国工商银行北京分行"),
    "number": env_str("PORTAL_BANK_ACCOUNT_NUMBER", "0200 0000 0000 0000 000"),
}

# Shown to borrowers on every page and the contact page.
PORTAL_HOTLINE = env_str("PORTAL_HOTLINE", "400-800-8888")
PORTAL_HOTLINE_HOURS = env_str("PORTAL_HOTLINE_HOURS", "09:00–21:00")

# --- Case work: conduct rules, promises, priority (debt_collections.conduct / .priority) -------

# Borrowers' local time decides the quiet hours and the "day" of the daily call limit.
PORTAL_BORROWER_TIME_ZONE = env_str("PORTAL_BORROWER_TIME_ZONE", "Asia/Shanghai")
try:
    ZoneInfo(PORTAL_BORROWER_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"PORTAL_BORROWER_TIME_ZONE must be a time zone name, got {PORTAL_BORROWER_TIME_ZONE!r}"
    ) from None
# No contact between start and end (borrower local time; start after end wraps midnight).
PORTAL_QUIET_HOURS = (
    env_time("PORTAL_QUIET_HOURS_START", "22:00"),
    env_time("PORTAL_QUIET_HOURS_END", "08:00"),
)
# Call attempts to one number on one borrower-local day, whoever calls and for which case.
PORTAL_MAX_CALLS_PER_NUMBER_PER_DAY = env_int("PORTAL_MAX_CALLS_PER_NUMBER_PER_DAY", 6, minimum=1)
# A third party may be contacted only when the borrower cannot be reached: at least this many
# failed attempts to reach the borrower in the last WINDOW days, none of them followed by a
# contact that reached the borrower.
PORTAL_THIRD_PARTY_MIN_FAILED_ATTEMPTS = env_int("PORTAL_THIRD_PARTY_MIN_FAILED_ATTEMPTS", 3, minimum=1)
PORTAL_THIRD_PARTY_WINDOW_DAYS = env_int("PORTAL_THIRD_PARTY_WINDOW_DAYS", 7, minimum=1)
# A promise to pay may name a date from today to this many days ahead.
PORTAL_PROMISE_MAX_DAYS = env_int("PORTAL_PROMISE_MAX_DAYS", 30, minimum=1)
# Queue priority = amount × per ¥1,000 overdue + days × per day past due + promises × per broken one.
PORTAL_PRIORITY_WEIGHTS = {
    "amount": env_decimal("PORTAL_PRIORITY_WEIGHT_AMOUNT", "1", minimum=Decimal(0)),
    "days_past_due": env_decimal("PORTAL_PRIORITY_WEIGHT_DPD", "1", minimum=Decimal(0)),
    "broken_promises": env_decimal("PORTAL_PRIORITY_WEIGHT_BROKEN_PROMISE", "20", minimum=Decimal(0)),
}

# --- Alerts and the loan-event outbox (loans.outbox, debt_collections.services.alerts) ----------

# Outbox readers leave events younger than this alone: on PostgreSQL a smaller id can still
# commit after a larger one (loans/outbox.py explains). Longer than the slowest transaction
# that writes events, e.g. one close-of-business chunk.
PORTAL_OUTBOX_SETTLE_SECONDS = env_int("PORTAL_OUTBOX_SETTLE_SECONDS", 5, minimum=0)
# A loan with at least this much principal outstanding alerts supervisors at every overdue stage.
PORTAL_LARGE_EXPOSURE_AMOUNT = env_decimal("PORTAL_LARGE_EXPOSURE_AMOUNT", "50000", minimum=Decimal("0.01"))
# Entering the reminder stage (1+ days) alerts agents only when this is true: it is every late bill.
PORTAL_ALERT_REMINDER_STAGE = env_bool("PORTAL_ALERT_REMINDER_STAGE", False)
# How often the admin's alert inbox asks for new alerts, in seconds.
PORTAL_ALERT_POLL_SECONDS = env_int("PORTAL_ALERT_POLL_SECONDS", 15, minimum=1)

# --- Printed notices (notices) -----------------------------------------------------------------

# Who the notices come from: printed in every letterhead and signature (English beside Chinese).
PORTAL_COMPANY_NAME = env_str("PORTAL_COMPANY_NAME", "示例消费金融有限公司")
PORTAL_COMPANY_NAME_EN = env_str("PORTAL_COMPANY_NAME_EN", "Example Consumer Finance Co., Ltd.")
PORTAL_COMPANY_ADDRESS = env_str("PORTAL_COMPANY_ADDRESS", "北京市朝阳区建国路 88 号示例大厦 18 层（邮编 100022）")
PORTAL_COMPANY_ADDRESS_EN = env_str(
    "PORTAL_COMPANY_ADDRESS_EN", "18/F, Example Tower, 88 Jianguo Road, Chaoyang District, Beijing 100022"
)
# The firm that signs lawyer's letters on the company's instruction.
PORTAL_LAW_FIRM_NAME = env_str("PORTAL_LAW_FIRM_NAME", "北京示例律师事务所")
PORTAL_LAW_FIRM_NAME_EN = env_str("PORTAL_LAW_FIRM_NAME_EN", "Beijing Example Law Firm")
PORTAL_LAW_FIRM_ADDRESS = env_str("PORTAL_LAW_FIRM_ADDRESS", "北京市东城区东长安街 1 号示例中心 9 层")
PORTAL_LAW_FIRM_ADDRESS_EN = env_str(
    "PORTAL_LAW_FIRM_ADDRESS_EN", "9/F, Example Centre, 1 East Chang'an Avenue, Dongcheng District, Beijing"
)
PORTAL_LAW_FIRM_LAWYER = env_str("PORTAL_LAW_FIRM_LAWYER", "张明")
PORTAL_LAW_FIRM_PHONE = env_str("PORTAL_LAW_FIRM_PHONE", "010-6500 0000")
# Days the borrower is given to pay or get in touch (moved to the next working day if needed).
PORTAL_NOTICE_DEADLINE_DAYS = env_int("PORTAL_NOTICE_DEADLINE_DAYS", 7, minimum=1)
# Batches: cases per chunk (rendered as one document; progress moves per chunk), cases per batch,
# seconds one task works before queuing the next for the rest (well under the task timeout), and
# how long a running batch may stay silent before a new start of its task takes it over (longer
# than a slice and a chunk).
# Letters laid out as one document (their font subsets shared), and processes rendering a chunk.
PORTAL_NOTICE_BATCH_CHUNK = env_int("PORTAL_NOTICE_BATCH_CHUNK", 100, minimum=1)
PORTAL_NOTICE_RENDER_PROCESSES = env_int("PORTAL_NOTICE_RENDER_PROCESSES", min(4, os.cpu_count() or 1), minimum=1)
PORTAL_NOTICE_BATCH_MAX = env_int("PORTAL_NOTICE_BATCH_MAX", 2000, minimum=1)
PORTAL_NOTICE_BATCH_SLICE_SECONDS = env_int("PORTAL_NOTICE_BATCH_SLICE_SECONDS", 120, minimum=0)
PORTAL_NOTICE_BATCH_STALE_SECONDS = env_int("PORTAL_NOTICE_BATCH_STALE_SECONDS", 300, minimum=1)

# --- Credit-bureau reporting and monitoring (reporting) -----------------------------------------

# The institution code the central bank's credit reference center gave the lender (file headers).
PORTAL_CREDIT_INSTITUTION_CODE = env_str("PORTAL_CREDIT_INSTITUTION_CODE", "DEMO0000000001")
# A borrower's first negative status is reported only this many days after they were told.
PORTAL_CREDIT_NOTICE_DAYS = env_int("PORTAL_CREDIT_NOTICE_DAYS", 7, minimum=0)
# Monthly run: loans per transaction, and silence after which a running run counts as killed.
PORTAL_CREDIT_REPORT_CHUNK_SIZE = env_int("PORTAL_CREDIT_REPORT_CHUNK_SIZE", 1000, minimum=1)
PORTAL_CREDIT_REPORT_STALE_SECONDS = env_int("PORTAL_CREDIT_REPORT_STALE_SECONDS", 900, minimum=0)
# The monitoring dashboard keeps its live figures (stages, workload) this long; figures that
# cannot change within the day are kept for the business date. The schedule "dashboard-refresh"
# computes them again every 5 minutes (reporting.dashboard.REFRESH_MINUTES).
PORTAL_DASHBOARD_LIVE_CACHE_SECONDS = env_int("PORTAL_DASHBOARD_LIVE_CACHE_SECONDS", 300, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("PORTAL_LOG_LEVEL", "INFO")},
    # axes logs every sign-in at INFO; failures and lock-outs are WARNING. WeasyPrint logs each
    # rendering step at INFO (its warnings about unsupported CSS still show).
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint.progress": {"level": "WARNING"}},
}

# --- Restructuring (loans.restructuring, debt_collections.services.restructuring) ---------------

# At most one restructuring applied per loan in this many months.
PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN = env_int("PORTAL_RESTRUCTURING_MIN_MONTHS_BETWEEN", 12, minimum=0)
# A plan whose waived and forgone amounts exceed this share of what the borrower owes needs a
# second approver (0.10 = 10 %).
PORTAL_RESTRUCTURING_MAX_WAIVER_SHARE_SINGLE_APPROVAL = env_decimal(
    "PORTAL_RESTRUCTURING_MAX_WAIVER_SHARE_SINGLE_APPROVAL", "0.10", places=4, minimum=Decimal(0)
)
# After a restructuring is applied, the borrower is watched on the new plan for this many days.
PORTAL_RESTRUCTURING_WATCH_DAYS = env_int("PORTAL_RESTRUCTURING_WATCH_DAYS", 90, minimum=1)
# An agent's approved plan waits this many days for the borrower's answer (never past the day
# before the plan's first new bill).
PORTAL_RESTRUCTURING_OFFER_DAYS = env_int("PORTAL_RESTRUCTURING_OFFER_DAYS", 7, minimum=1)

# --- Legal escalation and write-off (debt_collections.legal, debt_collections.services.legal) ---

# A legal assessment recommends going to court only when the expected net recovery exceeds this
# (yuan): win probability × expected recovery × (1 − enforcement discount) − expected cost.
PORTAL_LEGAL_MIN_NET_RECOVERY = env_decimal("PORTAL_LEGAL_MIN_NET_RECOVERY", "2000", minimum=Decimal(0))
# Share of the expected recovery lost to the difficulty of enforcing a judgment, per level (0–1).
PORTAL_LEGAL_ENFORCEMENT_DISCOUNTS = {
    "low": env_decimal("PORTAL_LEGAL_DISCOUNT_LOW", "0.10", places=4, minimum=Decimal(0)),
    "medium": env_decimal("PORTAL_LEGAL_DISCOUNT_MEDIUM", "0.30", places=4, minimum=Decimal(0)),
    "high": env_decimal("PORTAL_LEGAL_DISCOUNT_HIGH", "0.60", places=4, minimum=Decimal(0)),
}
for _level, _discount in PORTAL_LEGAL_ENFORCEMENT_DISCOUNTS.items():
    if _discount > 1:
        raise ImproperlyConfigured(f"PORTAL_LEGAL_DISCOUNT_{_level.upper()} must be at most 1, got {_discount}")
