"""Real-browser fixtures: Playwright for Python driving Debian's Chromium against a live gridpatrol server.

Why Debian's Chromium: the README's test command installs it with apt-get; Playwright's own browser download
cannot run on the offices' restricted networks or on CI here. Under CI=true a missing browser fails the test
instead of skipping it, like PostgreSQL and Redis.

Fixtures:
  live_server  the test's `app` served over HTTP on 127.0.0.1 in a background thread; `.url` is its base
  browser      one Chromium per test session
  page         a fresh context + page (zh-CN, phone-sized unless the test asks otherwise) that records
               console errors and every request to a host other than the live server; the test fails
               at teardown if there were any
  screenshot   screenshot(page, name) saves test-artifacts/screenshots/<name>.png for people to look at
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = os.environ.get("GRIDPATROL_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("GRIDPATROL_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message} (CI=true: the browser must be installed, not skipped)", pytrace=False)
    pytest.skip(message)


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app):
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # the test extra declares it; a missing install is a failure in CI
        _unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def browser_context_options() -> dict:
    """Override in a test module for another viewport, locale or permissions."""
    return {"locale": "zh-CN", "viewport": {"width": 412, "height": 860}, "device_scale_factor": 1,
            "timezone_id": "Asia/Shanghai"}


@pytest.fixture
def page(browser, live_server, browser_context_options):
    context = browser.new_context(base_url=live_server.url, **browser_context_options)
    page = context.new_page()
    problems: list[str] = []
    allowed_host = urlparse(live_server.url).netloc

    def on_console(message):
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_request(request):
        parsed = urlparse(request.url)
        if parsed.scheme in ("http", "https", "ws", "wss") and parsed.netloc != allowed_host:
            problems.append(f"request to another host: {request.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    context.on("request", on_request)
    page.browser_problems = problems  # tests that expect an error may clear or inspect this list
    yield page
    try:  # leave the app first: its timers (the overview's polling, the app's sync) stop before the close
        page.goto("about:blank", timeout=10_000)
    except Exception:  # noqa: BLE001 - a page that cannot navigate is closed all the same
        pass
    context.close()
    assert not problems, "browser problems:\n" + "\n".join(problems)


@pytest.fixture
def screenshot():
    def take(page, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / "screenshots" / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path
    return take
