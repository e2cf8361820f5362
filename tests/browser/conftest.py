"""Real-browser fixtures: Debian's chromium driven by Playwright's sync API, on pytest-django's
live server.

One browser per session, a fresh context (cookies, storage) per test, every flow at two sizes:
a phone (360×740, touch, 2× pixels) and a desktop (1280×800). `web` watches every page for
console errors, failed requests to the live server and, on the phone, horizontal scrolling, and
saves a full-page screenshot of each page visited to test-artifacts/screenshots/<viewport>/.
"""

from __future__ import annotations

import os

# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to run next
# to it. Set before anything imports Django.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import datetime as dt  # noqa: E402
import re  # noqa: E402
from collections.abc import Generator, Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from dateutil.relativedelta import relativedelta  # noqa: E402
from playwright.sync_api import (  # noqa: E402
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    sync_playwright,
)

from loans import selectors  # noqa: E402
from loans.models import Borrower, Loan  # noqa: E402
from portal.calendar import business_today  # noqa: E402
from tests.conftest import age_through  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

PHONE_WIDTH = 360
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": PHONE_WIDTH, "height": 740},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}

ALICE_MOBILE = "13800138000"
ALICE_PASSWORD = "alice-pass-2026"  # tests/conftest.py

TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@dataclass
class Web:
    """One browser tab on the live server, with the checks every page must pass."""

    page: Page
    viewport: str
    base_url: str
    flow: str = "flow"
    step: int = 0
    problems: list[str] = field(default_factory=list)
    # (status, path) pairs a flow expects, e.g. (404, "/my/loans/nope/").
    expected_failures: set[tuple[int, str]] = field(default_factory=set)

    @property
    def is_phone(self) -> bool:
        return self.viewport == "phone"

    def start(self, flow: str) -> None:
        """Name the flow (screenshot prefix) and drop its screenshots from earlier runs."""
        self.flow = flow
        self.step = 0
        folder = SCREENSHOTS / self.viewport
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{flow}-[0-9][0-9]-*.png"):
            old.unlink()

    def url(self, path: str) -> str:
        return self.base_url + path

    def path(self) -> str:
        """The current path (no host, no query)."""
        return re.sub(r"^https?://[^/]+", "", self.page.url).split("?")[0]

    def goto(self, path: str) -> None:
        response = self.page.goto(self.url(path))
        assert response is not None

    def shot(self, name: str) -> Path:
        """Check the page as it is and save a full-page screenshot of it."""
        self.page.wait_for_load_state("load")
        self.step += 1
        if self.is_phone:
            scroll_width = self.page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > PHONE_WIDTH + 1:
                wide = self.page.evaluate(
                    """(limit) => [...document.querySelectorAll('body *')]
                        .filter(e => e.getBoundingClientRect().right > limit)
                        .slice(0, 5)
                        .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                             + ' right=' + Math.round(e.getBoundingClientRect().right))""",
                    PHONE_WIDTH + 1,
                )
                self.problems.append(
                    f"{self.path()} ({name}): scrolls sideways on the phone, "
                    f"scrollWidth={scroll_width}: {wide}"
                )
        target = SCREENSHOTS / self.viewport / f"{self.flow}-{self.step:02d}-{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def html_lang(self) -> str:
        lang = self.page.locator("html").get_attribute("lang")
        return lang or ""

    def sign_in(
        self, mobile: str = ALICE_MOBILE, password: str = ALICE_PASSWORD, shot: str = "sign-in"
    ) -> None:
        """Signed out: open the portal, fill the sign-in form, land on the dashboard."""
        self.goto("/")
        self.page.wait_for_url(re.compile(r"/sign-in/"))
        self.shot(shot)
        form = self.page.locator("main form")
        form.locator("input[name=username]").fill(mobile)
        form.locator("input[name=password]").fill(password)
        form.locator("button[type=submit]").click()
        self.page.wait_for_url(re.compile(r"/my/$"))

    def sign_out(self) -> None:
        self.page.locator("header form[action$='/sign-out/'] button").click()
        self.page.wait_for_url(re.compile(r"/sign-in/"))

    def expect_clean(self) -> None:
        """No console errors, no failed requests, no sideways scrolling on any page seen."""
        assert not self.problems, "\n".join(self.problems)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so `web` can tell a failed test at teardown."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def web(
    request: pytest.FixtureRequest, browser: Browser, viewport: str, live_server: Any
) -> Iterator[Web]:
    context = browser.new_context(
        **VIEWPORTS[viewport],
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        base_url=live_server.url,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    web = Web(page=page, viewport=viewport, base_url=live_server.url)
    watch(web)
    yield web
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed and not page.is_closed():
        # The page as it was when the test failed, beside the flow's other screenshots.
        web.shot("failed")
    context.close()


def watch(web: Web) -> None:
    """Record console errors, uncaught exceptions and failed requests to the live server."""

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        source = message.location.get("url", "")
        web.problems.append(f"{web.path()}: console error: {message.text} ({source})")

    def on_page_error(error: Exception) -> None:
        web.problems.append(f"{web.path()}: uncaught exception: {error}")

    def on_response(response: Response) -> None:
        if not response.url.startswith(web.base_url) or response.status < 400:
            return
        path = response.url[len(web.base_url) :].split("?")[0]
        if (response.status, path) not in web.expected_failures:
            web.problems.append(f"{response.request.method} {path}: HTTP {response.status}")

    def on_request_failed(request: Request) -> None:
        failure = request.failure or ""
        # A navigation that replaces a still-loading one (a form post, the meta refresh) is aborted.
        if request.url.startswith(web.base_url) and "ERR_ABORTED" not in failure:
            web.problems.append(f"{request.method} {request.url}: request failed: {failure}")

    web.page.on("console", on_console)
    web.page.on("pageerror", on_page_error)
    web.page.on("response", on_response)
    web.page.on("requestfailed", on_request_failed)


@dataclass
class OverdueLoan:
    loan: Loan
    today: dt.date
    first_due: dt.date
    overdue_total: Decimal  # "Overdue now" on the dashboard
    due_now: Decimal  # "Everything due now" on the repay page
    penalty: Decimal  # penalty interest accrued so far


@pytest.fixture
def overdue_loan(live_server: Any, alice: Borrower, make_loan: Any) -> OverdueLoan:
    """Alice's ¥12,000 loan whose first bill is about ten days past due today (the real date),
    aged day by day so penalty interest and days past due are what the pages will show."""
    today = business_today()
    loan: Loan = make_loan(alice, on=today - relativedelta(months=1) - dt.timedelta(days=10))
    first_due = loan.installments.order_by("due_date", "number")[0].due_date
    age_through(loan, first_due, today)
    loan.refresh_from_db()
    summary = selectors.borrower_loans(borrower=alice, as_of=today)[0]
    assert summary.is_overdue and summary.days_past_due >= 7, summary
    return OverdueLoan(
        loan=loan,
        today=today,
        first_due=first_due,
        overdue_total=summary.overdue.total,
        due_now=summary.due_now.total,
        penalty=summary.overdue.penalty,
    )


def yuan(amount: Decimal) -> str:
    """As the pages print money (portal_tags.yuan)."""
    return f"¥{amount.quantize(Decimal('0.01')):,.2f}"
