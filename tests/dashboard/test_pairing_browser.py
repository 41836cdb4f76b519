"""配对新手机 on 人员与网格, in Debian's Chromium: a community leader pairs a phone for a patroller, the QR
(inline SVG), the short code and the link appear, and the code redeems once through POST /app/api/pair."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.dashboard.conftest import leader_of, sign_in

pytestmark = pytest.mark.browser


def _patroller_in(demo: dict, grid: str) -> dict:
    return next(m for m in demo["members"] if m["roles"][0]["role"] == "patroller" and m["roles"][0]["area"] == grid)


def test_leader_pairs_a_phone_for_a_patroller(page, live_server, demo, screenshot, app):
    mine = leader_of(demo, "CJ05-1")
    patroller = _patroller_in(demo, "CJ05-1-2")
    sign_in(page, mine["phone"])
    page.goto("/dashboard/people?area=CJ05-1-2")
    row = page.locator("#members tbody tr", has_text=patroller["name"])
    assert row.locator(".pair-form button").count() == 1
    row.locator(".pair-form button").click()
    page.wait_for_selector("#pair-qr svg")
    assert patroller["name"] in page.inner_text("h1")
    code = page.inner_text("#pair-code").strip()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code), code
    link = page.inner_text("#pair-link").strip()
    assert link == f"{live_server.url}/app/pair?code={code.replace('-', '')}"
    box = page.locator("#pair-qr svg").bounding_box()
    assert box["width"] >= 200 and box["height"] >= 200
    assert page.locator("#pair-qr svg path").count() >= 1
    screenshot(page, "dashboard-pair")

    answer = page.request.post("/app/api/pair", data={"code": code.lower(), "device_name": "新手机"})
    assert answer.status == 201, answer.text()
    body = answer.json()
    assert body["member"]["name"] == patroller["name"] and len(body["token"]) > 20
    again = page.request.post("/app/api/pair", data={"code": code})
    assert again.status == 404 and again.json()["error"] == "pairing_code_invalid"

    page.goto("/dashboard/people?area=CJ05-1-2")
    assert "新手机" in page.locator("#members tbody tr", has_text=patroller["name"]).inner_text()
    from core.db import db
    from core.models import AuditLog, Member
    with app.app_context():
        entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "device.pairing_code"))
        assert entry.channel == "web" and db.session.get(Member, entry.actor_member_id).phone == mine["phone"]


def test_pairing_page_in_english(page, live_server, demo, screenshot):
    sign_in(page, leader_of(demo, "CJ05")["phone"])
    page.click("text=English")
    page.goto("/dashboard/people?area=CJ05-2-1")
    assert page.locator("#members th", has_text="Pair a new phone").count() == 1
    page.locator("#members .pair-form button").first.click()
    page.wait_for_selector("#pair-qr svg")
    assert "Pair a new phone for" in page.inner_text("h1") and "Valid until" in page.inner_text("main")
    screenshot(page, "dashboard-pair-en")
