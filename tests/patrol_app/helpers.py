"""Helpers for the patrol app's browser tests: pair a real Chromium page with the live server, wait for
the app's own state (IndexedDB through the app's module), and read records back through the API."""
from __future__ import annotations

import time

from core.domain.pairing import issue_pairing_code
from core.db import db
from core.models import Member


def pairing_code(app, member_id: int) -> str:
    with app.app_context():
        issued = issue_pairing_code(db.session, db.session.get(Member, member_id), actor_label="test", channel="cli")
        db.session.commit()
        return issued.code


def wait_until(page, script: str, timeout: float = 20.0, interval: float = 0.1):
    """Poll an async JS expression in the page until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {script} (last value {value!r})")
        time.sleep(interval)


PENDING = "window.gridpatrol.store.pendingCount()"
LAST_SYNC = "window.gridpatrol.store.getMeta('last_sync_ok')"


def open_paired(page, app, member_id: int, *, wait_sw: bool = True) -> None:
    """Open /app/pair?code=…, tap 绑定, wait for the first sync and an active service worker."""
    code = pairing_code(app, member_id)
    page.goto(f"/app/pair?code={code}")
    page.click("#pair-button")
    wait_until(page, LAST_SYNC)
    if wait_sw:
        wait_until(page, "navigator.serviceWorker.ready.then(r => !!r.active && !!navigator.serviceWorker.controller)")
    page.wait_for_selector("nav.tabs")


def go(page, hash_: str) -> None:
    page.evaluate(f"location.hash = {hash_!r}")
    page.wait_for_timeout(150)


def report_problem(page, *, category_number: int = 5, description: str = "映月路12号烧散煤", place: str = "映月路12号",
                   handling: str = "reported") -> str:
    go(page, "#/report")
    page.click(f"button.cat >> nth={category_number - 1}")
    page.click(f"button[data-handling={handling}]")
    page.fill("#description", description)
    page.fill("#place", place)
    page.click("#submit-problem")
    wait_until(page, "location.hash.startsWith('#/problem/')")
    return page.evaluate("location.hash.split('/')[2]")


def start_and_end_patrol(page, problems: int = 0) -> None:
    go(page, "#/patrol")
    page.click("#start-patrol")
    page.wait_for_selector("#end-patrol")
    page.fill("#problem-count", str(problems))
    page.click("#end-patrol")
    page.wait_for_selector("#start-patrol")


def sync_now(page) -> None:
    page.evaluate("window.gridpatrol.syncNow('test')")
    wait_until(page, f"{PENDING}.then(n => n === 0)")
