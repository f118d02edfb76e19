"""Headless Chromium on the real service (`live_server`, a fresh database per test); any console output fails."""

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.http import HTTP_STATUS_CODES

from tests.conftest import unavailable

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # On a network without internet Chromium's own background traffic fills the log with refused connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# Generous: the machine may be busy training a model while the tests run.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        unavailable("Chromium is not installed; apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Console:
    """Everything a page logs, its uncaught exceptions and dialogs; a test names the errors it provokes on purpose."""

    def __init__(self):
        self.messages: list[str] = []
        # The page sends the pad 600 ms after a stroke ends (app.js, AUTO_PREDICT_DELAY). A machine that stalls that
        # long between two strokes of a test's number sends it half drawn, as it does for a person who pauses, and
        # the engine may answer that it holds no digit yet. Each test checks what the page shows in the end.
        self.allowed: list[re.Pattern] = [re.compile(r"status of 422 .*\(\S*/api/predict\)$")]

    def allow(self, pattern: str) -> None:
        """Accept errors matching `pattern`: Chromium itself logs each HTTP error response a test asks for."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [message for message in self.messages if not any(pattern.search(message) for pattern in self.allowed)]


def open_page(browser, base_url, console: Console, options: dict):
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on(
        "console",
        lambda message: console.messages.append(
            f"console {message.type}: {message.text} ({message.location.get('url') or 'the page'})"
        ),
    )
    page.on("pageerror", lambda error: console.messages.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: console.messages.append(f"dialog: {dialog.message}") or dialog.dismiss())
    page.goto("/")
    return page


@pytest.fixture
def console():
    console = Console()
    yield console
    assert console.unexpected() == [], "the page logged to the console, threw, or opened a dialog"


@pytest.fixture
def page(browser, live_server, console):
    page = open_page(browser, live_server, console, DESKTOP)
    yield page
    page.context.close()


@pytest.fixture
def phone_page(browser, live_server, console):
    page = open_page(browser, live_server, console, PHONE)
    yield page
    page.context.close()


@pytest.fixture
def stored(app):
    """The predictions stored in the service's database, oldest first: (number, label, source) each."""
    from src.database import db
    from src.tables import Prediction

    def rows() -> list[tuple[str, str | None, str]]:
        with app.app_context():
            found = db.session.execute(select(Prediction).order_by(Prediction.id)).scalars()
            return [(row.number, row.label, row.source) for row in found]

    return rows


class Traffic:
    """The page's requests still in flight, to wait until it has sent everything it was going to."""

    def __init__(self, page):
        self.page = page
        self.in_flight = set()
        page.on("request", lambda request: self.in_flight.add(request))
        page.on("requestfinished", lambda request: self.in_flight.discard(request))
        page.on("requestfailed", lambda request: self.in_flight.discard(request))

    def settle(self, quiet_ms: int = 1500) -> None:
        """Wait until nothing has been in flight for `quiet_ms`: longer than the page waits to read the pad."""
        quiet_since = None
        for _ in range(TIMEOUT_MS // 50):
            if self.in_flight:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = 0
            elif quiet_since >= quiet_ms:
                return
            else:
                quiet_since += 50
            self.page.wait_for_timeout(50)
        raise AssertionError(f"the page kept {len(self.in_flight)} requests in flight")


def answers_with(page, change) -> None:
    """Let the service answer /api/predict, then change its answer's digits with `change` before the page sees
    it: the prediction is real and stored, only how sure the model was is set by the test."""

    def fulfil(route):
        response = route.fetch()
        answer = response.json()
        change(answer["digits"][0])
        route.fulfill(response=response, body=json.dumps(answer))

    page.route("**/api/predict", fulfil)


def refused_with(page, url: str, status: int, detail: str) -> None:
    """Answer the page's requests to `url` with a problem document of `status`, as the service would: for the
    answers no browser can provoke on purpose (a 500, a race lost)."""
    problem = {"title": HTTP_STATUS_CODES[status], "status": status, "detail": detail}
    page.route(
        url,
        lambda route: route.fulfill(status=status, content_type="application/problem+json", body=json.dumps(problem)),
    )


def corrected_elsewhere(page, label: str) -> None:
    """Another tab of the same browser corrects the newest prediction in the page's history to `label`: the page
    itself still shows it as it was."""
    prediction_id = page.locator("#history .history-item").first.get_attribute("data-id")
    answer = page.request.patch(
        f"/api/predictions/{prediction_id}",
        data=json.dumps({"label": label}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
