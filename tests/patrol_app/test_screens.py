"""Every screen of the app on a phone-sized viewport, in Chinese and in English, with realistic data
(a schedule, ledger points, an overdue flagged problem with history). Screenshots land in
test-artifacts/screenshots/app-*.png; docs/app.md shows them (copied to docs/img/)."""
from __future__ import annotations

import gzip
from datetime import timedelta

import pytest

from core.domain import incidents as rules
from core.domain.schedules import create_schedule
from core.domain.sites import create_site
from core.db import db
from core.models import Area, Category, Member, utcnow
from tests.patrol_app.helpers import go, pairing_code, wait_until
from web.patrol_app.views import SHELL_MODULES, STATIC

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_options() -> dict:
    """A phone that allows the app its position (映月路, Huizhou)."""
    return {"locale": "zh-CN", "viewport": {"width": 412, "height": 860}, "device_scale_factor": 1,
            "timezone_id": "Asia/Shanghai", "geolocation": {"latitude": 23.11, "longitude": 114.41},
            "permissions": ["geolocation"]}


def _seed(app, world):
    with app.app_context():
        s = db.session
        grid = s.get(Area, world.ids["g11"])
        create_schedule(s, s.get(Area, world.ids["subdistrict"]), {"name": "冬季", "windows": [
            {"start": "00:00", "end": "12:00"}, {"start": "12:00", "end": "23:59"}]})
        create_site(s, grid, {"name": "映月路12号 王记早餐", "address": "映月路12号", "kind": "coal_user",
                              "stove_count": 2, "status": "identified"})
        create_site(s, grid, {"name": "映月小区3栋", "address": "映月小区3栋101", "kind": "coal_user",
                              "stove_count": 1, "status": "rectified_electric"})
        coal = s.query(Category).filter_by(number=5).one()
        old = rules.create_incident(s, category=coal, area=grid, channel="api", source="patrol",
                                    description="散煤炉冒黑烟", location_text="映月路8号",
                                    reporter=s.get(Member, world.ids["patroller"]), now=utcnow() - timedelta(days=3))
        rules.escalate(s, old, channel="worker", actor_label="系统", reason="超期", flag=True,
                       now=utcnow() - timedelta(days=2))
        old.deadline = utcnow() - timedelta(hours=5)
        rules.add_note(s, old, "已通知物业", channel="api", actor=s.get(Member, world.ids["g11_leader"]))
        s.commit()
        return old.id


def test_every_screen(page, live_server, app, world, screenshot):
    incident_id = _seed(app, world)
    page.goto(f"/app/pair?code={pairing_code(app, world.ids['g11_leader'])}")
    page.wait_for_selector("#pair-button")
    screenshot(page, "app-pair", full_page=False)
    page.click("#pair-button")
    wait_until(page, "window.gridpatrol.store.getMeta('last_sync_ok')")
    page.wait_for_selector("nav.tabs")
    screenshot(page, "app-today", full_page=False)
    assert "挂牌督办" in page.inner_text("main") and "已超期" in page.inner_text("main")
    for label in ("开始巡查", "上报问题"):
        assert page.get_by_text(label, exact=True).count() >= 1
    go(page, "#/patrol")
    screenshot(page, "app-patrol-start", full_page=False)
    page.click("#start-patrol")
    page.wait_for_selector("#end-patrol")
    assert page.inner_text("#end-patrol") == "结束巡查"
    screenshot(page, "app-patrol-end", full_page=False)
    go(page, "#/report")
    page.click("button.cat >> nth=4")
    page.click("button[data-handling=committed]")
    page.fill("#description", "烧散煤取暖，已劝导")
    page.check("#gps")
    wait_until(page, "document.querySelector('label.check .hint').textContent === '已获取位置'")
    screenshot(page, "app-report", full_page=False)
    page.click("#submit-problem")
    wait_until(page, "location.hash.startsWith('#/problem/')")
    new_id = page.evaluate("location.hash.split('/')[2]")
    fields = page.evaluate(f"window.gridpatrol.store.getRecord('incidents', '{new_id}').then(r => r.fields)")
    assert (fields["latitude"], fields["longitude"]) == (23.11, 114.41) and fields["handling_class"] == "committed"
    assert fields["promised_date"] and fields["patrol_id"]  # reported during the running patrol
    go(page, "#/problems")
    screenshot(page, "app-problems", full_page=False)
    go(page, f"#/problem/{incident_id}")
    assert page.locator("#act-acknowledge").inner_text() == "收到"  # a grid leader may acknowledge
    assert "已通知物业" in page.inner_text("ol.history")
    screenshot(page, "app-problem-detail", full_page=False)
    page.click("#act-acknowledge")
    wait_until(page, "document.querySelector('#problem-status') && "
                     "document.querySelector('#problem-status').textContent.includes('处理中')")
    go(page, "#/ledger")
    screenshot(page, "app-ledger", full_page=False)
    page.click("ul.cards li.card a.block >> nth=0")
    page.fill("#stove-count", "0")
    page.select_option("#site-status", "rectified_electric")
    screenshot(page, "app-ledger-inspection", full_page=False)
    page.click("#save-inspection")
    wait_until(page, "location.hash === '#/ledger' && !document.querySelector('#save-inspection')")
    go(page, "#/sync")
    assert page.inner_text("#sync-now") == "立即同步"
    screenshot(page, "app-sync-screen", full_page=False)
    page.click("#lang")
    go(page, "#/today")
    assert "Start patrol" in page.inner_text("main") or "End patrol" in page.inner_text("main")
    screenshot(page, "app-today-en", full_page=False)
    go(page, "#/report")
    screenshot(page, "app-report-en", full_page=False)


def test_the_shell_is_small_and_installable(page, live_server, app):
    total = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in SHELL_MODULES + ["sw.js"])
    assert total <= 100 * 1024, total
    manifest = page.request.get("/app/manifest.webmanifest").json()
    assert (manifest["name"] == "网格巡查" and manifest["display"] == "standalone"
            and manifest["start_url"].startswith("/app/"))
    for icon in manifest["icons"]:
        assert page.request.get(icon["src"]).status == 200
    sw = page.request.get("/app/sw.js")
    assert sw.headers["service-worker-allowed"] == "/app/" and "const VERSION" in sw.text()
