"""The app's sync loop under a bad link, in Chromium: a 503 and a dropped connection are retried with the
very same body, a 413 halves the batch, and nothing is lost or doubled. Also: signing out with records
waiting asks first and keeps them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import Incident
from tests.patrol_app.helpers import PENDING, open_paired, sync_now, wait_until

pytestmark = pytest.mark.browser

MAKE = """async (n) => { const s = window.gridpatrol.store;
  for (let i = 0; i < n; i++) await s.enqueue('incidents', s.newId(), 'put', {category_id: 5, area_id: %d,
      handling_class: 'immediate', description: '第' + i + '处烧煤'});
  return s.pendingCount(); }"""


def test_retry_same_body_and_halve_on_413(page, live_server, app, world):
    open_paired(page, app, world.ids["patroller"])
    page.context.set_offline(True)
    assert page.evaluate(MAKE % world.ids["g11"], 8) == 8
    bodies, script = [], ["503", "drop", "413"]

    def handle(route):
        request = route.request
        bodies.append((request.post_data_buffer, request.headers.get("content-encoding")))
        step = script.pop(0) if script else "pass"
        if step == "503":
            route.fulfill(status=503, json={"error": "busy", "message": "busy", "details": {}},
                          headers={"Retry-After": "1"})
        elif step == "drop":
            route.abort("connectionreset")
        elif step == "413":
            route.fulfill(status=413, json={"error": "payload_too_large", "message": "too big", "details": {}})
        else:
            route.continue_()
    page.route("**/api/v1/sync", handle)
    page.context.set_offline(False)
    sync_now(page)
    assert bodies[0] == bodies[1] == bodies[2]  # the same gzip bytes each time
    assert bodies[0][1] == "gzip"
    import gzip
    import json
    sizes = [len(json.loads(gzip.decompress(b) if enc == "gzip" else b)["changes"]) for b, enc in bodies]
    assert sizes[:4] == [8, 8, 8, 4]  # after the 413: half the batch
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 8
    expected = ("503", "413", "ERR_CONNECTION_RESET")  # the scripted failures, on purpose
    page.browser_problems[:] = [p for p in page.browser_problems if not any(e in p for e in expected)]


def test_sign_out_with_waiting_records_asks_and_keeps_them(page, live_server, app, world):
    open_paired(page, app, world.ids["patroller"])
    page.context.set_offline(True)
    page.evaluate(MAKE % world.ids["g11"], 2)
    page.evaluate("location.hash = '#/sync'")
    messages = []

    def dismiss_then_accept(dialog):
        messages.append(dialog.message)
        (dialog.dismiss if len(messages) == 1 else dialog.accept)()
    page.on("dialog", dismiss_then_accept)
    page.click("#sign-out")
    for _ in range(50):
        if messages:
            break
        page.wait_for_timeout(100)
    assert "2" in messages[0] and page.locator("nav.tabs").count() == 1  # cancelled: still signed in
    page.click("#sign-out")
    wait_until(page, "document.querySelector('#pair-button') !== null")
    assert page.evaluate(PENDING) == 2  # signed out, nothing deleted


def test_a_full_phone_is_shown_not_swallowed(page, live_server, app, world):
    open_paired(page, app, world.ids["patroller"])
    page.context.set_offline(True)
    page.evaluate("location.hash = '#/patrol'")
    page.wait_for_selector("#start-patrol")
    page.evaluate("""() => { IDBObjectStore.prototype.add = function () {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); }; }""")
    page.click("#start-patrol")
    page.wait_for_selector("#toast.show.error")
    assert "手机存储已满" in page.inner_text("#toast")
    assert page.evaluate(PENDING) == 0 and page.locator("#start-patrol").count() == 1
    page.browser_problems[:] = [p for p in page.browser_problems if "QuotaExceededError" not in p and "quota" not in p]
