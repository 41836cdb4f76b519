"""待分类 in Debian's Chromium: residents' texts filed as 其他 through the SMS path are listed with their text,
place and cues; one action recategorises a report (and teaches the lexicon a word), the row leaves the list,
and the problem's history shows the change."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.dashboard.conftest import leader_of, sign_in

pytestmark = pytest.mark.browser

FIREWORKS_TEXT = "楼下有人玩呲花，吓死人"
HINTED_TEXT = "对面平房院子里黑烟滚滚"


def text_in(app, sid: str, body: str, sender: str) -> str:
    """A resident's text through the real inbound path; returns the ticket it was filed under."""
    from core.db import db
    from core.models import Incident
    from sms.inbound import receive
    with app.app_context():
        receive(db.session, message_sid=sid, sender=sender, body=body, config=app.config)
        db.session.commit()
        return db.session.scalar(select(Incident.ticket).where(Incident.description == body.replace("，", ","))
                                 .order_by(Incident.reported_at.desc()))


def test_recategorise_a_resident_text_from_the_triage_page(page, live_server, demo, screenshot, app):
    ticket = text_in(app, "SMtriage00000001", FIREWORKS_TEXT, "+8617009990101")
    hinted = text_in(app, "SMtriage00000002", HINTED_TEXT, "+8617009990102")
    assert ticket and hinted
    sub = leader_of(demo, "CJ05")
    sign_in(page, sub["phone"])
    page.click("header nav >> text=待分类")
    page.wait_for_selector("#triage")
    assert page.locator(f"#triage tr[data-ticket='{ticket}'] select[name=category]").count() == 1
    assert page.locator("#triage input[name=learn]").count() == 0  # teaching is the global admin's
    page.click("header form[action$='/logout'] button")
    admin = demo["admin"]  # the lexicon is one for the whole installation: its admin teaches it
    sign_in(page, admin["phone"], admin["password"])
    page.click("header nav >> text=待分类")
    page.wait_for_selector("#triage")
    row = page.locator(f"#triage tr[data-ticket='{ticket}']")
    assert FIREWORKS_TEXT.replace("，", ",") in row.inner_text()
    assert "映月街道" in row.inner_text()                       # filed at the intake area: no place named
    assert "平房 → 散煤/燃煤炉" in page.locator(f"#triage tr[data-ticket='{hinted}'] .cues").inner_text()
    screenshot(page, "dashboard-triage")

    row.locator("select[name=category]").select_option("fireworks")
    row.locator("input[name=learn][value=呲花]").check()
    row.locator("button[type=submit]").click()
    page.wait_for_selector(".flash.ok")
    assert f"已将 {ticket} 改为「烟花爆竹」" in page.inner_text(".flash.ok") and "呲花" in page.inner_text(".flash.ok")
    assert page.locator(f"#triage tr[data-ticket='{ticket}']").count() == 0
    assert page.locator(f"#triage tr[data-ticket='{hinted}']").count() == 1
    assert page.locator("#lexicon-words tr[data-word='呲花']").count() == 1  # listed, with 删除 for the admin

    page.goto(f"/dashboard/problems/{ticket}")
    change = page.locator("#timeline li .change[data-field=category]")
    assert change.inner_text().strip() == "类别：其他 → 烟花爆竹"
    event = page.locator("#timeline li", has=page.locator(".change[data-field=category]")).inner_text()
    assert "网页" in event and admin["name"] in event
    assert "烟花爆竹" in page.inner_text("h1")
    screenshot(page, "dashboard-triage-history")

    from core.db import db
    from core.models import AuditLog, Incident
    from sms.understanding.models import Recategorisation
    with app.app_context():
        change_row = db.session.scalar(select(Recategorisation))
        assert change_row.channel == "web" and change_row.actor_label == admin["name"] and "呲花" in change_row.words
        assert db.session.scalar(select(AuditLog.channel).where(AuditLog.action == "incident.recategorise")) == "web"
    # the word it learned files the next text right
    again = text_in(app, "SMtriage00000003", "又有人玩呲花", "+8617009990103")
    with app.app_context():
        assert db.session.scalar(select(Incident).where(Incident.ticket == again)).category.code == "fireworks"


def test_triage_page_in_english_and_empty(page, live_server, demo, screenshot, app):
    sign_in(page, leader_of(demo, "CJ05-1")["phone"])
    text_in(app, "SMtriage00000004", FIREWORKS_TEXT, "+8617009990104")  # at the intake area CJ05: not hers
    page.click("text=English")
    page.goto("/dashboard/triage")
    assert "To classify" in page.inner_text("header") and "To classify" in page.inner_text("h1")
    assert page.locator("#triage-empty").inner_text() == "Nothing to classify"
    page.goto("/dashboard/")
    sign_in(page, leader_of(demo, "CJ05")["phone"])  # signing in takes the member's own language again
    page.click("text=English")
    page.goto("/dashboard/triage")
    assert page.locator("#triage tbody tr[data-ticket]").count() == 1 and "Recategorise" in page.inner_text("#triage")
    screenshot(page, "dashboard-triage-en")


def test_triage_page_on_a_phone(browser, live_server, demo, screenshot, app):
    text_in(app, "SMtriage00000005", HINTED_TEXT, "+8617009990105")
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844},
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, leader_of(demo, "CJ05")["phone"])
    page.goto("/dashboard/triage")
    assert page.locator("#triage tbody tr[data-ticket]").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # the table scrolls inside its frame
    screenshot(page, "dashboard-triage-phone")
    context.close()
    assert not errors
