"""Background Sync: with the app closed, the service worker sends the waiting records on its own when the
`sync` event comes (Chromium fires it when connectivity returns; here it is also dispatched through the
DevTools protocol so the test does not depend on the browser's timing)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import Incident
from tests.patrol_app.helpers import PENDING, open_paired, report_problem, wait_until

pytestmark = pytest.mark.browser


def _incidents(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Incident))
        db.session.remove()
        return count


def test_the_service_worker_syncs_with_the_app_closed(page, live_server, app, world):
    open_paired(page, app, world.ids["patroller"])
    assert page.evaluate("navigator.serviceWorker.ready.then(r => 'sync' in r)")  # Chromium has Background Sync
    page.context.set_offline(True)
    report_problem(page)  # the edit registers a one-off background sync
    assert page.evaluate(PENDING) == 1
    page.goto("about:blank")  # the app is closed
    page.context.set_offline(False)
    page.goto(f"{live_server.url}/healthz")  # same origin, outside the app's scope: no app code runs here
    cdp = page.context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 20
    dispatched = False
    while _incidents(app) == 0 and time.monotonic() < deadline:
        live = [r for r in registrations if r["scopeURL"].endswith("/app/") and not r.get("isDeleted")]
        if live and not dispatched:
            cdp.send("ServiceWorker.dispatchSyncEvent", {"origin": live_server.url, "tag": "gp-sync",
                                                         "registrationId": live[0]["registrationId"],
                                                         "lastChance": False})
            dispatched = True
        page.wait_for_timeout(200)
    assert _incidents(app) == 1
    # /healthz is not a page: Chromium's automatic /favicon.ico request there is the one 404 of this test
    page.browser_problems[:] = [p for p in page.browser_problems if "404" not in p]
    page.goto("/app/#/problems")
    wait_until(page, f"{PENDING}.then(n => n === 0)")
