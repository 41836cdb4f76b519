"""The leaders' dashboard in Debian's Chromium: scope, CSRF, acting on a problem, the weekly report's charts,
the roster import, and a screenshot of every page (test-artifacts/screenshots/dashboard-*.png)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.dashboard.conftest import leader_of, sign_in

pytestmark = pytest.mark.browser


def test_login_page_and_wrong_password(page, live_server, demo, screenshot):
    page.goto("/dashboard/")
    assert "/dashboard/login" in page.url
    screenshot(page, "dashboard-login")
    page.fill("#phone", demo["admin"]["phone"])
    page.fill("#password", "wrong-password")
    page.click("form.form button[type=submit]")
    assert "手机号或密码错误" in page.inner_text("main")
    page.browser_problems.clear()  # the 401 answer of the failed sign-in is logged by Chromium, as expected


def _tickets_in(app, code: str) -> set[str]:
    from sqlalchemy.orm import aliased

    from core.db import db
    from core.models import Area, Incident
    found, responsible = aliased(Area), aliased(Area)
    with app.app_context():
        root = db.session.scalar(select(Area).where(Area.code == code))
        return set(db.session.scalars(
            select(Incident.ticket).join(found, found.id == Incident.area_id)
            .join(responsible, responsible.id == Incident.responsible_area_id)
            .where(found.path.startswith(root.path) | responsible.path.startswith(root.path))))


def test_community_leader_sees_only_her_community(page, live_server, demo, screenshot, app):
    mine = leader_of(demo, "CJ05-1")
    sign_in(page, mine["phone"])
    assert "映月社区" in page.inner_text("h1")
    rows = page.locator("#hierarchy .row > a").all_inner_texts()
    assert rows and all(r.startswith("映月社区") for r in rows)
    assert page.locator("#hierarchy .cell").count() >= 2
    screenshot(page, "dashboard-overview-community")
    page.goto("/dashboard/problems")
    tickets = page.locator("#problems tbody td:first-child a").all_inner_texts()
    assert set(tickets) == _tickets_in(app, "CJ05-1") and len(tickets) >= 3
    other = next(i for i in demo["incidents"]
                 if not i["area"].startswith("CJ05-1-") and i["responsible_area"] != "CJ05-1")
    for url in ("/dashboard/?area=CJ05-2", f"/dashboard/problems/{other['ticket']}", "/dashboard/ledger?area=CJ05"):
        assert page.request.get(url).status == 403, url
    # The self-refreshing part answers on its own.
    page.goto("/dashboard/")
    page.evaluate("window.gridpatrolRefresh()")
    page.wait_for_timeout(300)
    assert page.locator("#count-open").count() == 1


def test_write_without_csrf_token_is_refused(page, live_server, demo, app):
    sub = leader_of(demo, "CJ05")
    sign_in(page, sub["phone"])
    ticket = demo["incidents"][0]["ticket"]
    refused = page.request.post(f"/dashboard/problems/{ticket}/act", form={"action": "note", "note": "no token"})
    assert refused.status == 403
    forged = page.request.post(f"/dashboard/problems/{ticket}/act",
                               form={"action": "note", "note": "no token", "csrf_token": "forged"})
    assert forged.status == 403
    from core.db import db
    from core.models import IncidentEvent
    with app.app_context():
        assert db.session.scalar(select(IncidentEvent.id).where(IncidentEvent.note == "no token")) is None
    token = page.get_attribute("meta[name=csrf-token]", "content")
    accepted = page.request.post(f"/dashboard/problems/{ticket}/act",
                                 form={"action": "note", "note": "with token", "csrf_token": token})
    assert accepted.ok


def test_act_on_a_problem_and_see_it_in_the_history(page, live_server, demo, screenshot):
    sub = leader_of(demo, "CJ05")
    sign_in(page, sub["phone"])
    page.goto("/dashboard/problems?status=open")
    screenshot(page, "dashboard-problems")
    ticket = demo["incidents"][0]["ticket"]
    page.click(f"text={ticket}")
    page.fill("#note", "已安排网格员上门")
    page.click("button[value=acknowledge]")
    page.wait_for_selector(".flash.ok")
    event = page.locator("#timeline li[data-kind=acknowledged]")
    assert "受理" in event.inner_text() and "已安排网格员上门" in event.inner_text()
    assert "网页" in event.inner_text() and sub["name"] in event.inner_text()
    assert "处理中" in page.inner_text("#status")
    page.fill("#note", "逾期未整改")
    page.click("button[value=flag]")
    page.wait_for_selector(".flash.ok")
    assert "挂牌督办" in page.inner_text("#status")
    screenshot(page, "dashboard-problem-detail")


def test_weekly_report_charts_render(page, live_server, demo, screenshot):
    sub = leader_of(demo, "CJ05")
    sign_in(page, sub["phone"])
    page.goto("/dashboard/reports")
    page.wait_for_selector("#chart-trend svg")
    for chart in ("#chart-category", "#chart-trend", "#chart-coverage"):
        assert page.locator(f"{chart} svg").count() >= 1, chart
    assert page.locator("#chart-category svg rect").count() >= 1
    assert page.locator("#chart-coverage svg text").count() >= 26  # a name and a value (or —) per community
    assert page.locator("#chart-trend svg circle").count() >= 8
    box = page.locator("#chart-category svg").bounding_box()
    assert box["width"] > 200 and box["height"] > 30
    assert page.locator("#ranking tbody tr").count() == 13
    page.click("#generate")
    page.wait_for_selector(".flash.ok")
    assert "已生成于" in page.inner_text("main")
    page.wait_for_selector("#chart-trend svg")
    with page.expect_download() as download:
        page.click("#download-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
    screenshot(page, "dashboard-report")


BAD_ROSTER = ("社区,网格,姓名,电话,角色\n新桥社区,新桥社区第一网格,周一,13800138001,网格员\n"
              "新桥社区,新桥社区第一网格,吴二,12345,网格员\n")
GOOD_ROSTER = ("社区,网格,姓名,电话,角色\n新桥社区,新桥社区第一网格,周一,13800138001,网格员\n"
               "新桥社区,新桥社区第一网格,吴二,13800138002,组长\n")


def test_roster_import_shows_bad_line_then_commits(page, live_server, demo, screenshot):
    sign_in(page, demo["admin"]["phone"])
    page.goto("/dashboard/people/roster?parent=CJ05")
    page.set_input_files("#file", files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": BAD_ROSTER.encode()}])
    page.click("form.form button[type=submit]")
    bad = page.locator("#roster-rows tr[data-line='3']")
    assert "err-row" in bad.get_attribute("class")
    assert "phone" in bad.inner_text()
    assert page.locator("#roster-commit").count() == 0
    screenshot(page, "dashboard-roster-dry-run")
    page.set_input_files("#file", files=[{"name": "roster.csv", "mimeType": "text/csv",
                                          "buffer": GOOD_ROSTER.encode()}])
    page.click("form.form button[type=submit]")
    page.click("#roster-commit")
    page.wait_for_selector(".flash.ok")
    assert "花名册已导入" in page.inner_text(".flash.ok")
    assert page.locator("#members", has_text="吴二").count() == 1


def test_every_page_renders_for_the_subdistrict_leader(page, live_server, demo, screenshot):
    sub = leader_of(demo, "CJ05")
    sign_in(page, sub["phone"])
    screenshot(page, "dashboard-overview")
    for name, url, marker in [("patrols", "/dashboard/patrols", "#coverage"),
                              ("ledger", "/dashboard/ledger", "#ledger"),
                              ("people", "/dashboard/people?area=CJ05-1", "#members"),
                              ("schedules", "/dashboard/schedules?area=CJ05&grid=CJ05-1-1", "#effective-windows"),
                              ("messages", "/dashboard/messages?direction=outbound", "#messages"),
                              ("password", "/dashboard/password", "form.form")]:
        page.goto(url)
        assert page.locator(marker).count() == 1, name
        screenshot(page, f"dashboard-{name}")
    page.goto("/dashboard/ledger")
    page.locator("#ledger tbody a").first.click()
    page.select_option("#status_after", "cleared")
    page.click("text=保存")
    page.wait_for_selector(".flash.ok")
    assert "已清零" in page.inner_text("#site-status")
    screenshot(page, "dashboard-ledger-site")
    page.click("text=English")
    assert "Overview" in page.inner_text("header") and "Problems" in page.inner_text("header")
    page.goto("/dashboard/")
    assert "Today's patrols" in page.inner_text("main")
    screenshot(page, "dashboard-overview-en")
    page.click("header .me button")  # sign out
    assert "/dashboard/login" in page.url


def test_phone_sized_overview(browser, live_server, demo, screenshot):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844},
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, leader_of(demo, "CJ05")["phone"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    screenshot(page, "dashboard-overview-phone")
    page.goto("/dashboard/problems")
    screenshot(page, "dashboard-problems-phone")
    context.close()
    assert not errors
