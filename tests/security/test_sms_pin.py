"""Threat: someone texting from (or spoofing) a staff member's number. When the office sets an SMS PIN for a
member, EVERY command that reads or changes something as her needs it — ticket queries (查询) and opting out
(TD) included, not only the work codes; wrong PINs lock the number's staff commands out (counted in the
database, audited); and the PIN is never kept in clear: not in the message log, the webhook events' payload,
the durable spool or the logs. A text spooled during an outage and delivered again later is one text with
one reply."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import func, select

from core.db import db
from core.models import AuditLog, Incident, Patrol, RateLimit
from sms.models import InboundMessage, OutboundMessage, SmsOptOut, SmsWebhookEvent
from tests.conftest import make_app
from tests.support.api_helpers import as_
from tests.support.sms_fixtures import _close, build_sms_app, sms_world
from sms.providers.android.standin import AndroidPhoneStandIn, android_config, received_payload, signed_webhook

PATROLLER = "+8617000000007"  # the test world's patroller (HD03-1-1)
PIN = "4821"


def _set_pin(client, world, member="patroller", pin=PIN):
    assert as_(client, world, "admin").patch(f"/members/{world.ids[member]}", {"sms_pin": pin}).status_code == 200


def _text(app, body: str, sid: str, sender: str = PATROLLER):
    from sms.inbound import receive
    with app.app_context():
        row = receive(db.session, message_sid=sid, sender=sender, body=body, config=dict(app.config))
        reply, stored, outcome = row.reply, row.body, row.outcome
        db.session.commit()
        return reply, stored, outcome


def _ticket(app, world) -> str:
    from core.domain.incidents import create_incident
    from core.models import Area, Category
    with app.app_context():
        dust = db.session.scalar(select(Category).where(Category.code == "dust"))
        incident = create_incident(db.session, category=dust, area=db.session.get(Area, world.ids["g11"]),
                                   channel="api", source="patrol", description="工地扬尘")
        db.session.commit()
        return incident.ticket


def test_the_pin_covers_queries_and_opting_out(app, client, world):
    ticket = _ticket(app, world)
    _set_pin(client, world)
    reply, _, outcome = _text(app, f"查询 {ticket}", "SMq1")
    assert outcome == "not_permitted" and "PIN" in reply and ticket not in reply  # nothing about the ticket
    reply, _, outcome = _text(app, "TD", "SMq2")
    assert outcome == "not_permitted" and "PIN" in reply
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 0  # her alerts still reach her
    reply, _, outcome = _text(app, f"查询 {ticket} *{PIN}", "SMq3")
    assert outcome == "ok" and ticket in reply
    _text(app, f"TD *{PIN}", "SMq4")
    with app.app_context():
        assert db.session.scalar(select(SmsOptOut.phone)) == PATROLLER
    reply, _, outcome = _text(app, "帮助", "SMq5")  # help reads nothing and changes nothing: no PIN needed
    assert outcome != "not_permitted"


def test_wrong_pins_lock_the_number_out_in_the_database_and_are_audited(app, client, world, db_url, tmp_path):
    _set_pin(client, world)
    for n in range(5):
        reply, _, outcome = _text(app, f"巡查 HD03-1-1 正常 *{1000 + n}", f"SMw{n}")
        assert outcome == "not_permitted" and "PIN" in reply
    reply, _, outcome = _text(app, f"巡查 HD03-1-1 正常 *{PIN}", "SMw5")  # the right PIN, too late
    assert outcome == "not_permitted" and "锁定" in reply
    # The count lives in rate_limits, so another process (here: another app on the same database) agrees.
    other = make_app(db_url, tmp_path / "other")
    try:
        reply, _, outcome = _text(other, f"巡查 HD03-1-1 正常 *{PIN}", "SMw6")
        assert outcome == "not_permitted" and "锁定" in reply
    finally:
        with other.app_context():
            db.engine.dispose()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patrol)) == 0
        counter = db.session.scalar(select(RateLimit).where(RateLimit.key == f"smspin:{world.ids['patroller']}"))
        assert counter is not None and counter.count >= 5
        audit = db.session.scalars(select(AuditLog).where(AuditLog.action.in_(("sms.pin_wrong", "sms.pin_locked")))
                                   .order_by(AuditLog.id)).all()
    assert [a.action for a in audit] == ["sms.pin_wrong"] * 5 + ["sms.pin_locked"] * 2
    assert all(a.entity == "member" and a.entity_id == str(world.ids["patroller"]) for a in audit)
    assert all(PIN not in json.dumps(a.summary) and "1000" not in json.dumps(a.summary) for a in audit)


def test_the_pin_is_not_kept_in_the_webhook_payload_the_log_or_the_spool(android_app, caplog):
    """The office phone's webhook stores the text before a job files it: the stored payload holds the text
    with the PIN masked as sms_inbound does (the PIN itself only sealed, and dropped once filed)."""
    from sms import spool
    world = sms_world(android_app)
    client = android_app.test_client()
    _set_pin(client, world)
    caplog.set_level(logging.DEBUG)
    raw, headers = signed_webhook("sms:received", received_payload(PATROLLER, f"巡查 HD03-1-1 正常 *{PIN}"),
                                  event_id="evt-pin-1")
    assert client.post("/sms/android/webhook", data=raw, headers=headers).get_json()["status"] == "accepted"
    android_app.extensions["gridpatrol.runner"].wait(timeout=30)
    with android_app.app_context():
        event = db.session.scalar(select(SmsWebhookEvent).where(SmsWebhookEvent.event_id == "evt-pin-1"))
        inbound = db.session.get(InboundMessage, event.inbound_id)
        assert inbound.outcome == "ok" and db.session.scalar(select(func.count()).select_from(Patrol)) == 1
        assert PIN not in json.dumps(event.payload, ensure_ascii=False) and "*****" in event.payload["body"]
        assert PIN not in inbound.body and PIN not in json.dumps(inbound.result, ensure_ascii=False)
    # The spool (database down): the line on disk has the PIN masked, and the replay still checks it.
    path = spool.append(android_app.config["INSTANCE_PATH"], provider="android", message_sid="and:spooled-pin",
                        sender=PATROLLER, to="", body=f"巡查 HD03-1-1 正常 *{PIN}", event_id="evt-pin-2",
                        secret=android_app.config["SECRET_KEY"])
    assert PIN not in Path(path).read_text(encoding="utf-8")
    assert spool.replay(android_app)["replayed"] == 1
    with android_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patrol)) == 2
        assert PIN not in db.session.scalar(select(InboundMessage.body).where(
            InboundMessage.message_sid == "and:spooled-pin"))
    assert PIN not in caplog.text


def _spooled_and_replayed(app, pg_proxy, payload: dict, event_id: str) -> dict:
    """The phone delivers `payload` while the database is cut (spooled), then the spool is replayed;
    returns the delivery's headers."""
    from sms import spool
    sms_world(app)
    pg_proxy.cut()
    raw, headers = signed_webhook("sms:received", payload, event_id=event_id)
    assert app.test_client().post("/sms/android/webhook", data=raw, headers=headers).get_json()["status"] == \
        "spooled"
    pg_proxy.restore()
    assert spool.replay(app)["replayed"] == 1
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    return headers


def test_a_spooled_text_delivered_again_is_one_text_with_one_reply(pg_proxy, postgres_url, tmp_path):
    """Database cut: the phone's event is spooled. After the replay, the phone delivers the same event again
    (a new signature timestamp): it is a duplicate — one inbound row, one incident, one reply, one text."""
    phone = AndroidPhoneStandIn().start()
    app = build_sms_app(pg_proxy.url_for(postgres_url), tmp_path, **android_config(phone))
    try:
        client = app.test_client()
        payload = received_payload("+8613912345678", "举报 烧煤 映月路9号")
        headers = _spooled_and_replayed(app, pg_proxy, payload, "evt-spool-dup-1")
        raw, headers = signed_webhook("sms:received", payload, event_id="evt-spool-dup-1",
                                      timestamp=int(headers["X-Timestamp"]) + 5)
        answer = client.post("/sms/android/webhook", data=raw, headers=headers).get_json()
        assert answer["status"] == "duplicate"
        app.extensions["gridpatrol.runner"].wait(timeout=30)
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1
            assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
            assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1
        assert len(phone.wait_for(1)) == 1 and len(phone.wait_for(2, timeout=1)) == 1
    finally:
        pg_proxy.restore()
        _close(app)
        phone.stop()


def test_the_same_text_under_a_new_event_id_after_a_replay_is_answered_once(pg_proxy, postgres_url, tmp_path):
    """The phone may also resend a text under a new event id: it is filed as the text already stored, and
    its reply is the same outbox row (one key per text, whichever way it came in)."""
    phone = AndroidPhoneStandIn().start()
    app = build_sms_app(pg_proxy.url_for(postgres_url), tmp_path, **android_config(phone))
    try:
        client = app.test_client()
        payload = received_payload("+8613912345679", "帮助")
        _spooled_and_replayed(app, pg_proxy, payload, "evt-spool-a")
        raw, headers = signed_webhook("sms:received", payload, event_id="evt-spool-b")
        assert client.post("/sms/android/webhook", data=raw, headers=headers).get_json()["status"] == "accepted"
        app.extensions["gridpatrol.runner"].wait(timeout=30)
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(OutboundMessage)) == 1
        assert len(phone.wait_for(2, timeout=2)) == 1
    finally:
        pg_proxy.restore()
        _close(app)
        phone.stop()
