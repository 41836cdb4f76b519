"""A leader answers a missed-patrol alert with a bare 收到 (or the Latin code A) by SMS: the window's
reminders stop and the community leader is not escalated to. Real signatures, console backend."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import time_machine
from sqlalchemy import select

from core.db import db
from tests.support.sms_fixtures import sms_world
from sms.providers.twilio.standin import inbound_params, signed_post
from tests.support.workers_helpers import add_schedule, load_world, local
from core.models.alerts import PatrolWindow, WorkerAlert
from core.domain.patrol_windows import plan_windows
from core.domain.missed_patrols import scan_missed_patrols

GRID_LEADER = "+8617000000005"  # 李网格, 组长 of HD03-1-1


def _say(client, sender, body):
    response = signed_post(client, "/sms/twilio/inbound", inbound_params(sender, body))
    assert response.status_code == 200
    return "".join(m.text or "" for m in ET.fromstring(response.get_data(as_text=True)).iter("Message"))


def _missed_window(app, world):
    with app.app_context():
        w = load_world(db.session, world)
        add_schedule(db.session, w.g11)
        plan_windows(db.session, local(2026, 11, 23, 7, 0))
        db.session.commit()
        scan_missed_patrols(db.session, local(2026, 11, 23, 12, 15))
        db.session.commit()


def test_bare_shoudao_acknowledges_the_alert_and_stops_escalation(console_app):
    world = sms_world(console_app)
    _missed_window(console_app, world)
    with time_machine.travel(local(2026, 11, 23, 12, 40), tick=False):
        reply = _say(console_app.test_client(), GRID_LEADER, "收到")
    assert "已确认收到1条提醒" in reply
    with console_app.app_context():
        windows = db.session.scalars(select(PatrolWindow).where(PatrolWindow.area_id == world.ids["g11"])).all()
        [window] = [w for w in windows if w.state == "acknowledged"]  # the missed morning window only
        assert window.acknowledged_by_id == world.ids["g11_leader"]
        scan_missed_patrols(db.session, local(2026, 11, 23, 13, 30))
        db.session.commit()
        assert db.session.scalars(select(WorkerAlert).where(WorkerAlert.rule == "missed_up")).all() == []


def test_latin_a_with_nothing_to_acknowledge_explains_the_form(console_app):
    sms_world(console_app)
    reply = _say(console_app.test_client(), GRID_LEADER, "A")
    assert "100001" in reply  # no alert waiting: the reply shows the ticket form with an example
