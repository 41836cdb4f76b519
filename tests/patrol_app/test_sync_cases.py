"""The hard cases of a phone's sync, in real Chromium against the live server: two phones editing one
problem offline, a server reset (new epoch) with records still waiting, the SMS fallback filed by the
gateway and then synced by the phone (one record), and a service-worker update with a full outbox."""
from __future__ import annotations

from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import Device, Incident, Patrol
from sync.admin import new_epoch
from tests.conftest import bearer
from tests.patrol_app.helpers import (PENDING, go, open_paired, report_problem, start_and_end_patrol, sync_now,
                                      wait_until)
from sms.providers.twilio.standin import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, inbound_params, signed_post

pytestmark = pytest.mark.browser


@pytest.fixture
def second_page(browser, live_server, browser_context_options):
    context = browser.new_context(base_url=live_server.url, **browser_context_options)
    yield context.new_page()
    context.close()


def _description_on(page, incident_id):
    go(page, f"#/problem/{incident_id}")
    return page.inner_text("#problem-description")


def test_two_phones_edit_one_problem_offline(page, second_page, live_server, app, world, screenshot):
    phone_a, phone_b = page, second_page
    open_paired(phone_a, app, world.ids["patroller"])
    incident_id = report_problem(phone_a, description="烧散煤", place="映月路12号")
    sync_now(phone_a)
    open_paired(phone_b, app, world.ids["g11_leader"])
    wait_until(phone_b, f"window.gridpatrol.store.getRecord('incidents', '{incident_id}')")

    for phone in (phone_a, phone_b):
        phone.context.set_offline(True)
    # A edits first (older clock): the place and the description; B later: only the description
    go(phone_a, f"#/problem/{incident_id}")
    phone_a.fill("#edit-description", "A：炉子已熄灭")
    phone_a.click("#save-description")
    phone_a.evaluate(f"window.gridpatrol.store.enqueue('incidents', '{incident_id}', 'put', "
                     "{location_text: '映月路12号后院'})")
    phone_a.wait_for_timeout(50)
    go(phone_b, f"#/problem/{incident_id}")
    phone_b.fill("#edit-description", "B：已劝导改用电取暖")
    phone_b.click("#save-description")

    for phone in (phone_b, phone_a):  # B reaches signal first; A's older description then loses
        phone.context.set_offline(False)
        sync_now(phone)
    sync_now(phone_b)
    for phone in (phone_a, phone_b):
        go(phone, "#/problems")
        go(phone, f"#/problem/{incident_id}")
        assert phone.inner_text("#problem-description") == "B：已劝导改用电取暖"
        assert "映月路12号后院" in phone.inner_text("dl")
    explanation = phone_a.inner_text("[data-explain]")
    assert "您的修改被较新的修改覆盖：描述" in explanation
    screenshot(phone_a, "app-problem-merged")
    go(phone_a, "#/sync")
    assert "您的修改被较新的修改覆盖：描述" in phone_a.inner_text("#results")
    screenshot(phone_a, "app-sync-merged")


def test_new_epoch_reset_keeps_the_outbox(page, live_server, app, world, client):
    open_paired(page, app, world.ids["patroller"])
    assert page.evaluate("window.gridpatrol.store.view('areas').then(a => a.length)") > 0
    page.context.set_offline(True)
    start_and_end_patrol(page)
    incident_id = report_problem(page)
    assert page.evaluate(PENDING) == 3
    with app.app_context():
        new_epoch(db.session)
        db.session.commit()
    page.context.set_offline(False)
    sync_now(page)
    # the waiting records went in the reset request and were applied; the replica was rebuilt from scratch
    with app.app_context():
        assert db.session.get(Incident, incident_id) is not None
        assert db.session.scalar(select(func.count()).select_from(Patrol)) == 1
    assert page.evaluate("window.gridpatrol.store.view('areas').then(a => a.length)") > 0
    assert page.evaluate(f"window.gridpatrol.store.getRecord('incidents', '{incident_id}')"
                         ".then(r => r && r.fields.ticket)")


def test_sms_fallback_then_sync_is_one_record(page, live_server, app, world, client, screenshot):
    app.config.update(SMS_GATEWAY_NUMBER="+15005550006", PATROL_APP_SMS_FALLBACK_MINUTES=0,
                      TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    open_paired(page, app, world.ids["patroller"])
    page.context.set_offline(True)
    incident_id = report_problem(page, description="烧散煤", place="映月路12号", handling="immediate")
    go(page, "#/problems")
    go(page, f"#/problem/{incident_id}")
    link = page.get_attribute("a.sms", "href")
    assert page.inner_text("a.sms") == "短信发送"
    screenshot(page, "app-sms-fallback")
    number, _, query = link.removeprefix("sms:").partition("?body=")
    text = unquote(query)
    assert number == "+15005550006"
    assert text == f"发现 HD03-1-1 5 即办 映月路12号 烧散煤 #{incident_id}"

    # the gateway receives that text from the patroller's phone (a signed Twilio webhook) and files it
    got = signed_post(client, "/sms/twilio/inbound", inbound_params("+8617000000007", text))
    assert got.status_code == 200 and "100001" in got.get_data(as_text=True), got.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Incident, incident_id).ticket == "100001"

    page.context.set_offline(False)  # later the phone finds signal and syncs the same record
    sync_now(page)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
        incident = db.session.get(Incident, incident_id)
        assert incident.description == "烧散煤" and incident.location_text == "映月路12号"
    go(page, "#/problems")
    assert page.locator("li.card").count() == 1
    assert "100001" in page.inner_text("#problem-list")


def test_service_worker_update_keeps_the_outbox(page, live_server, app, world, client):
    open_paired(page, app, world.ids["patroller"])
    old_version = page.get_attribute("meta[name=shell-version]", "content")
    page.context.set_offline(True)
    start_and_end_patrol(page)
    incident_id = report_problem(page)
    assert page.evaluate(PENDING) == 3
    with app.app_context():  # keep the records waiting while the new version installs: the token stops working
        db.session.get(Device, world.ids["device"]).revoked_at = None
        device = db.session.scalars(select(Device).where(Device.member_id == world.ids["patroller"],
                                                         Device.id != world.ids["device"])).one()
        device.revoked_at = func.now()
        db.session.commit()
    app.config["PATROL_APP_BUILD"] = "deploy-2"  # a new release: the worker's bytes change
    page.context.set_offline(False)
    page.reload()
    wait_until(page, "caches.keys().then(k => k.length === 1 && k[0] !== 'gp-shell-" + old_version + "')", timeout=30)
    page.reload()
    new_version = page.get_attribute("meta[name=shell-version]", "content")
    assert new_version != old_version
    assert page.evaluate(PENDING) == 3
    with app.app_context():
        device = db.session.scalars(select(Device).where(Device.member_id == world.ids["patroller"],
                                                         Device.id != world.ids["device"])).one()
        device.revoked_at = None
        db.session.commit()
    sync_now(page)
    assert client.get(f"/api/v1/incidents/{incident_id}", headers=bearer(world.tokens["admin"])).status_code == 200
    expected = [p for p in page.browser_problems if "401" in p]  # the revoked token's refused syncs, on purpose
    assert expected and len(expected) == len(page.browser_problems)
    page.browser_problems.clear()
