"""A patroller's day without signal, in a real Chromium: pair, go offline from the first minute, record a
patrol and a problem, reload offline (the shell comes from the service worker), come back online, sync,
and find both records on the server through the API."""
import pytest

from tests.conftest import bearer
from tests.patrol_app.helpers import (PENDING, go, open_paired, report_problem, start_and_end_patrol, sync_now,
                                      wait_until)

pytestmark = pytest.mark.browser


def test_offline_day_then_sync(page, live_server, app, world, client, screenshot):
    open_paired(page, app, world.ids["patroller"])
    screenshot(page, "app-today-online")
    page.context.set_offline(True)
    start_and_end_patrol(page, problems=1)
    screenshot(page, "app-patrol")
    incident_id = report_problem(page)
    screenshot(page, "app-problem-waiting")
    assert page.evaluate(PENDING) == 3  # patrol start, patrol end, the problem

    page.reload()  # offline: the service worker serves the shell, IndexedDB still holds the outbox
    page.wait_for_selector("nav.tabs")
    assert page.evaluate(PENDING) == 3
    go(page, "#/problems")
    assert page.locator(f"li[data-id='{incident_id}'] [data-state=waiting]").count() == 1
    screenshot(page, "app-problems-offline")

    page.context.set_offline(False)
    sync_now(page)
    go(page, "#/sync")
    screenshot(page, "app-sync")
    headers = bearer(world.tokens["admin"])
    got = client.get(f"/api/v1/incidents/{incident_id}", headers=headers)
    assert got.status_code == 200, got.get_json()
    assert got.get_json()["description"] == "映月路12号烧散煤"
    patrols = client.get("/api/v1/patrols", headers=headers).get_json()
    items = patrols.get("items", patrols if isinstance(patrols, list) else [])
    assert len(items) == 1 and items[0]["problem_count"] == 1 and items[0]["ended_at"]
    go(page, "#/problems")
    wait_until(page, f"document.querySelector(\"li[data-id='{incident_id}'] [data-state=synced]\") !== null")
