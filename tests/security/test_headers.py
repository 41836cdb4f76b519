"""Threat: the pages framed by another site (clickjacking), a response sniffed into a script, a pairing code
leaking in a Referer, and injected markup running. Every answer carries nosniff, X-Frame-Options DENY and a
Referrer-Policy; the dashboard and the patrol app carry a Content-Security-Policy with no inline script or
style and frame-ancestors 'none', and the pages hold to it in Chromium (a violation would be a console
error and a `securitypolicyviolation` event)."""
from __future__ import annotations

import pytest

from tests.dashboard.conftest import demo  # noqa: F401  (the demo sub-district fixture)
from tests.dashboard.conftest import sign_in
from tests.patrol_app.helpers import open_paired
from tests.security.helpers import signed_in_client

BASIC = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}


def _assert_basic(response, where):
    for name, value in BASIC.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))


def _directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def test_every_answer_carries_the_headers(app, client, world):
    signed = signed_in_client(app, "+8617000000001")
    pages = {"/dashboard/login": client, "/dashboard/": signed, "/dashboard/problems": signed,
             "/dashboard/static/dashboard.css": client, "/app/": client, "/app/pair?code=ABCDEFGH": client,
             "/app/static/app.js": client, "/app/sw.js": client, "/favicon.ico": client}
    for path, who in pages.items():
        response = who.get(path)
        assert response.status_code == 200, path
        _assert_basic(response, path)
        csp = _directives(response.headers["Content-Security-Policy"])
        assert csp["frame-ancestors"] == "'none'" and csp["default-src"] == "'self'", path
        assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'", path  # nothing inline, no eval
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'", path
    for path in ("/api/v1/auth/me", "/api/v1/areas/999999", "/api/openapi.json", "/healthz"):
        response = client.get(path, headers={"Authorization": f"Bearer {world.tokens['admin']}"})
        _assert_basic(response, path)
        if path.startswith("/api/"):
            assert _directives(response.headers["Content-Security-Policy"])["default-src"] == "'none'", path
    refused = client.post("/dashboard/login", data={"phone": "x"})  # a refusal (no CSRF token) too
    assert refused.status_code == 403 and "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]


WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""

DASHBOARD_PAGES = ["/dashboard/", "/dashboard/problems", "/dashboard/triage", "/dashboard/patrols",
                   "/dashboard/reports", "/dashboard/ledger", "/dashboard/people", "/dashboard/schedules",
                   "/dashboard/messages", "/dashboard/password", "/dashboard/people/roster"]


@pytest.mark.browser
def test_the_dashboard_pages_satisfy_their_policy_in_chromium(page, live_server, demo, screenshot):  # noqa: F811
    page.add_init_script(WATCH_VIOLATIONS)
    sign_in(page, demo["admin"]["phone"], demo["admin"]["password"])
    for path in DASHBOARD_PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], path
    page.goto("/dashboard/")
    page.wait_for_load_state("networkidle")
    assert page.locator("svg.bar").count() > 0  # the overview's patrol bars are SVG now, no inline style
    screenshot(page, "security-overview-svg-bars")
    page.evaluate("window.gridpatrolRefresh()")    # the live part swapped in by script holds to it too
    page.wait_for_timeout(500)
    assert page.evaluate("window.__csp") == []
    page.goto("/dashboard/problems")
    first = page.locator("a[href^='/dashboard/problems/']").first.get_attribute("href")
    page.goto(first)
    assert page.evaluate("window.__csp") == []
    page.goto("/dashboard/people")
    page.locator("form[action$='/pair'] button").first.click()  # the pairing page with its QR (inline SVG)
    page.wait_for_selector(".pair figure svg")
    assert page.evaluate("window.__csp") == []


@pytest.mark.browser
def test_the_patrol_app_satisfies_its_policy_in_chromium(page, live_server, app, world):
    page.add_init_script(WATCH_VIOLATIONS)
    open_paired(page, app, world.ids["patroller"])
    for screen in ("#/today", "#/report", "#/problems", "#/ledger", "#/sync", "#/patrol"):
        page.evaluate(f"location.hash = {screen!r}")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__csp") == [], screen
