"""Routing and failover: alerts leave through the alerts provider and fail over when the office phone
goes dark (stand-in stopped: repeated provider_down; or its heartbeat is older than 10 minutes); an admin
is told once; replies never fail over; every message records who sent it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import db
from core.models import utcnow
from sms import routing
from sms.models import OutboundMessage, SmsProviderState
from sms.outbox import queue_message, send_message_job
from tests.support.sms_fixtures import _close, build_sms_app
from sms.providers.aliyun.standin import aliyun_config
from sms.providers.android.standin import android_config

ADMIN = "+8613700000001"
LEADER = "+8613800000009"
RESIDENT = "+8613912345678"


@pytest.fixture
def app(db_url, tmp_path, phone, aliyun):
    config = {**android_config(phone), **aliyun_config(aliyun), "SMS_PROVIDERS": "aliyun",
              "SMS_ADMIN_PHONES": ADMIN}
    application = build_sms_app(db_url, tmp_path, **config)
    yield application
    _close(application)


def _alert(app, key, purpose="alert", route=None):
    with app.app_context():
        message = queue_message(db.session, to=LEADER if purpose != "reply" else RESIDENT, body=f"告警 {key}",
                                key=key, purpose=purpose, route=route,
                                params={"template": "missed_patrol", "vars": {"grid": key, "window": "上午巡查"}})
        db.session.commit()
        message_id = message.id
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    return message_id


def _row(app, key):
    with app.app_context():
        return db.session.scalar(select(OutboundMessage).where(OutboundMessage.key == key))


def test_alerts_leave_through_the_phone_while_it_is_up(app, phone, aliyun):
    _alert(app, "up-1")
    row = _row(app, "up-1")
    assert (row.state, row.provider) == ("sent", "android") and len(phone.sent) == 1 and aliyun.sent == []


def test_stopping_the_phone_fails_alerts_over_to_aliyun_and_tells_an_admin_once(app, phone, aliyun):
    phone.stop()
    ids = [_alert(app, f"G{i}") for i in range(3)]  # three provider_down errors in a row
    for i in range(3):
        row = _row(app, f"G{i}")
        assert (row.state, row.provider) == ("queued", "android") and row.error_code == "unreachable"
    with app.app_context():
        assert db.session.get(SmsProviderState, "android").down_since is not None
    _alert(app, "G3")  # the router now skips the phone
    row = _row(app, "G3")
    assert (row.state, row.provider) == ("sent", "aliyun")
    assert any(e["event"] == "failover" and e["from"] == "android" for e in row.history)
    with app.app_context():  # the earlier three go out through Aliyun on their retry
        for message_id in ids:
            due = db.session.get(OutboundMessage, message_id).next_attempt_at
            assert send_message_job(message_id, now=due) == "sent"
    assert {_row(app, f"G{i}").provider for i in range(4)} == {"aliyun"}
    _alert(app, "G4")
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    with app.app_context():
        notices = db.session.scalars(select(OutboundMessage).where(OutboundMessage.purpose == "system")).all()
    assert len(notices) == 1 and notices[0].to_number == ADMIN and notices[0].route == "aliyun"
    assert notices[0].state == "sent"
    texts = [s for s in aliyun.sent if s["phone"] == ADMIN[3:]]
    assert len(texts) == 1 and "android" in texts[0]["text"]
    health = app.test_client().get("/healthz").json
    android = next(p for p in health["sms"] if p["name"] == "android")  # public: up or down, and why
    assert android["up"] is False and android["down_reason"] == "errors"
    with app.app_context():  # the admins' detail (GET /api/v1/workers/health)
        from sms.routing import provider_states
        detail = next(p for p in provider_states(db.session, app) if p["name"] == "android")
    assert "unreachable" in detail["last_error"]


def test_a_silent_phone_is_down_after_ten_minutes_and_a_ping_brings_it_back(app, phone, aliyun):
    with app.app_context():
        routing.record_heartbeat(db.session, "android", utcnow() - timedelta(minutes=11))
        db.session.commit()
    _alert(app, "H1")
    assert _row(app, "H1").provider == "aliyun" and phone.sent == []
    with app.app_context():
        routing.record_heartbeat(db.session, "android", utcnow())
        db.session.commit()
    _alert(app, "H2")
    assert _row(app, "H2").provider == "android"


def test_a_reply_never_fails_over_it_waits_for_its_phone(app, phone, aliyun):
    phone.stop()
    with app.app_context():
        routing.record_heartbeat(db.session, "android", utcnow() - timedelta(minutes=30))
        db.session.commit()
    _alert(app, "reply:abc", purpose="reply", route="android")
    row = _row(app, "reply:abc")
    assert (row.state, row.provider, row.route) == ("queued", "android", "android") and aliyun.sent == []
