"""The office Android phone: signed webhooks in, replies out through the outbox and the real
`android-sms-gateway` client to the stand-in phone, delivery events, heartbeats and bad input."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core.db import db
from core.models import utcnow
from sms.models import InboundMessage, OutboundMessage, SmsProviderState, SmsWebhookEvent
from sms.inbound import file_event_job
from sms.outbox import queue_message
from sms.sweep import sweep_sms
from tests.support.sms_fixtures import _close, build_sms_app, sms_world
from sms.providers.android.standin import (ANDROID_NUMBER, android_config, received_payload,
                                signed_webhook)
from core.jobs.runner import JobRunner

RESIDENT = "+8613912345678"
HOOK = "/sms/android/webhook"


@pytest.fixture
def android_app(db_url, tmp_path, phone):
    app = build_sms_app(db_url, tmp_path, **android_config(phone))
    yield app
    _close(app)


def _post(client, event, payload, **kw):
    raw, headers = signed_webhook(event, payload, **kw)
    return client.post(HOOK, data=raw, headers=headers)


def _counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(InboundMessage)),
                db.session.scalar(select(func.count()).select_from(OutboundMessage)),
                db.session.scalar(select(func.count()).select_from(SmsWebhookEvent)))


def test_a_residents_text_is_filed_and_answered_through_the_phone_exactly_once(android_app, phone):
    sms_world(android_app)
    client = android_app.test_client()
    payload = received_payload(RESIDENT, "映月社区3栋楼下有人烧垃圾，烟很大")
    raw, headers = signed_webhook("sms:received", payload, event_id="evt-1")
    first = client.post(HOOK, data=raw, headers=headers)
    assert first.status_code == 200 and first.json == {"status": "accepted", "event": "inbound"}
    # the phone retries the same delivery, and a second delivery of the same text under a new event id
    assert client.post(HOOK, data=raw, headers=headers).json["status"] == "duplicate"
    assert _post(client, "sms:received", payload, event_id="evt-2").json["status"] == "accepted"
    android_app.extensions["gridpatrol.runner"].wait(timeout=30)
    sent = phone.wait_for(1)
    assert [(m["to"], m["text"]) for m in sent] == [
        (RESIDENT, "已受理，工单号100001（垃圾焚烧），由映月社区处理。查询回复：查询 100001")]
    with android_app.app_context():
        inbound = db.session.scalars(select(InboundMessage)).all()
        reply = db.session.scalar(select(OutboundMessage))
        events = db.session.scalars(select(SmsWebhookEvent).order_by(SmsWebhookEvent.id)).all()
    assert len(inbound) == 1 and [e.inbound_id for e in events] == [inbound[0].id, inbound[0].id]
    assert (reply.purpose, reply.route, reply.provider, reply.state) == ("reply", "android", "android", "sent")
    assert reply.key == f"reply:{inbound[0].message_sid}" and reply.provider_sid == reply.reference
    assert len(phone.wait_for(2, timeout=0.5)) == 1


class LostJobs(JobRunner):
    """The web process dies right after its commit: the jobs it would have enqueued never run."""

    name = "lost"

    def enqueue(self, *args, **kwargs):
        return None

    def wait(self, timeout=None):
        return None


def test_the_text_is_filed_and_answered_once_even_if_every_job_is_lost(android_app, phone):
    """The web process dies right after answering the phone (its filing job is lost), then the worker dies
    right after filing (the send job is lost): the sweeper finishes both, once each."""
    sms_world(android_app)
    real = android_app.extensions["gridpatrol.runner"]
    android_app.extensions["gridpatrol.runner"] = LostJobs()
    client = android_app.test_client()
    assert _post(client, "sms:received", received_payload(RESIDENT, "帮助"), event_id="evt-h").status_code == 200
    assert _counts(android_app) == (0, 0, 1)  # accepted, not filed yet
    with android_app.app_context():
        assert sweep_sms(db.session, utcnow())["texts_refiled"] == 0  # within the grace: its job may be running
        counts = sweep_sms(db.session, utcnow() + timedelta(minutes=2))
        db.session.commit()
    assert counts["texts_refiled"] == 1
    with android_app.app_context():
        [event_row_id] = db.session.scalars(select(SmsWebhookEvent.id)).all()
        assert file_event_job(event_row_id) == "help"  # filed (and the reply queued) with the send job lost
        assert file_event_job(event_row_id) == "filed"  # a second run (the sweeper's copy) does nothing
    assert _counts(android_app) == (1, 1, 1) and phone.sent == []
    android_app.extensions["gridpatrol.runner"] = real
    with android_app.app_context():
        counts = sweep_sms(db.session, utcnow() + timedelta(minutes=4))
        db.session.commit()
    assert (counts["texts_refiled"], counts["enqueued"]) == (0, 1)
    real.wait(timeout=30)
    with android_app.app_context():
        sweep_sms(db.session, utcnow() + timedelta(minutes=6))  # a last sweep finds nothing to do
        db.session.commit()
    real.wait(timeout=30)
    assert len(phone.wait_for(1)) == 1 and len(phone.wait_for(2, timeout=0.5)) == 1


def test_delivery_events_move_states_forward_only(android_app, phone):
    client = android_app.test_client()
    with android_app.app_context():
        message = queue_message(db.session, to=RESIDENT, body="通知", key="k-status", purpose="manual")
        db.session.commit()
        reference = message.reference
    android_app.extensions["gridpatrol.runner"].wait(timeout=30)
    assert phone.wait_for(1)[0]["id"] == reference

    def state():
        with android_app.app_context():
            return db.session.scalar(select(OutboundMessage.state).where(OutboundMessage.key == "k-status"))

    assert state() == "sent"
    now = datetime.now(timezone.utc).isoformat()
    assert _post(client, "sms:delivered", {"messageId": reference, "phoneNumber": RESIDENT,
                                           "deliveredAt": now}).json["known"] is True
    assert state() == "delivered"
    _post(client, "sms:sent", {"messageId": reference, "phoneNumber": RESIDENT, "sentAt": now})
    _post(client, "sms:failed", {"messageId": reference, "phoneNumber": RESIDENT, "failedAt": now,
                                 "reason": "RESULT_ERROR_GENERIC_FAILURE"})
    assert state() == "delivered", "never backwards"
    # an unknown message id is acknowledged (the phone stops retrying) and changes nothing
    assert _post(client, "sms:sent",
                 {"messageId": "nope", "phoneNumber": RESIDENT, "sentAt": now}).json["known"] is False


def test_a_failed_send_reported_by_the_phone_is_final_or_retried_by_its_kind(android_app, phone):
    client = android_app.test_client()
    with android_app.app_context():
        message = queue_message(db.session, to=RESIDENT, body="失败测试", key="k-fail", purpose="manual")
        db.session.commit()
        reference = message.reference
    android_app.extensions["gridpatrol.runner"].wait(timeout=30)
    now = datetime.now(timezone.utc).isoformat()
    _post(client, "sms:failed", {"messageId": reference, "phoneNumber": RESIDENT, "failedAt": now,
                                 "reason": "RESULT_ERROR_NO_SERVICE"})
    with android_app.app_context():
        row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.key == "k-fail"))
        assert row.state == "queued" and row.next_attempt_at is not None  # no signal: tried again later


def test_system_ping_records_the_heartbeat_shown_by_health_and_the_cli(android_app, phone):
    client = android_app.test_client()
    assert _post(client, "system:ping", {"health": {"status": "pass", "checks": {}}}).json["event"] == "heartbeat"
    with android_app.app_context():
        state = db.session.get(SmsProviderState, "android")
        assert state.last_heartbeat_at is not None
    health = client.get("/healthz").json
    android = next(p for p in health["sms"] if p["name"] == "android")
    assert android["up"] and android["last_heartbeat_at"] and android["queue_depth"] == 0
    with android_app.app_context():  # the number is the admins' detail (GET /api/v1/workers/health)
        from sms.routing import provider_states
        detail = next(p for p in provider_states(db.session, android_app) if p["name"] == "android")
    assert detail["provider"]["number"] == ANDROID_NUMBER
    from server.cli.sms import sms_group
    result = android_app.test_cli_runner().invoke(sms_group, ["status", "--probe"])
    assert result.exit_code == 0 and "android" in result.output and "probe pass" in result.output


def test_the_gateway_number_published_to_devices_defaults_to_the_phone(android_app):
    assert android_app.config["SMS_GATEWAY_NUMBER"] == ANDROID_NUMBER


@pytest.mark.parametrize("case", ["no_signature", "bad_signature", "wrong_key", "replayed", "future"])
def test_forged_or_replayed_webhooks_are_403_and_store_nothing(android_app, case):
    client = android_app.test_client()
    payload = received_payload(RESIDENT, "举报 烧煤 映月路12号")
    if case == "no_signature":
        raw, headers = signed_webhook("sms:received", payload)
        headers = {"Content-Type": "application/json"}
    elif case == "bad_signature":
        raw, headers = signed_webhook("sms:received", payload)
        headers["X-Signature"] = "0" * 64
    elif case == "wrong_key":
        raw, headers = signed_webhook("sms:received", payload, key="someone-else")
    elif case == "replayed":
        raw, headers = signed_webhook("sms:received", payload, timestamp=int(utcnow().timestamp()) - 301)
    else:
        raw, headers = signed_webhook("sms:received", payload, timestamp=int(utcnow().timestamp()) + 301)
    response = client.post(HOOK, data=raw, headers=headers)
    assert response.status_code == 403
    assert set(response.json) == {"error", "message", "details"}
    assert _counts(android_app) == (0, 0, 0)


def _raw(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.mark.parametrize("body,status,code", [
    (b"{not json", 400, "bad_json"),
    (b"\xff\xfe", 400, "bad_json"),
    ([1, 2], 400, "bad_json"),
    ({"id": "e1", "event": "sms:exploded", "payload": {}}, 422, "unknown_event"),
    ({"id": "e1", "event": "sms:received"}, 422, "validation_failed"),
    ({"id": "e1", "event": "sms:received", "payload": {"message": "hi", "receivedAt": "2026-01-01T00:00:00Z"}},
     422, "validation_failed"),
    ({"id": "e1", "event": "sms:received", "payload": {"phoneNumber": RESIDENT, "message": 5,
                                                       "receivedAt": "2026-01-01T00:00:00Z"}},
     422, "validation_failed"),
    ({"id": "e1", "event": "sms:received", "payload": {"phoneNumber": RESIDENT, "message": "hi",
                                                       "receivedAt": "yesterday"}}, 422, "validation_failed"),
    ({"event": "sms:received", "payload": {"phoneNumber": RESIDENT, "message": "hi",
                                           "receivedAt": "2026-01-01T00:00:00Z"}}, 422, "validation_failed"),
    ({"id": "e1", "event": "sms:sent", "payload": {"phoneNumber": RESIDENT}}, 422, "validation_failed"),
    ({"id": "x" * 500, "event": "system:ping", "payload": {}}, 422, "validation_failed"),
])
def test_malformed_signed_webhooks_are_4xx_in_the_error_shape_and_store_nothing(android_app, body, status, code):
    raw, headers = signed_webhook("", {}, raw=_raw(body))
    response = android_app.test_client().post(HOOK, data=raw, headers=headers)
    assert (response.status_code, response.json["error"]) == (status, code)
    assert set(response.json) == {"error", "message", "details"}
    assert _counts(android_app) == (0, 0, 0)


def test_an_oversize_webhook_is_413_and_stores_nothing(android_app):
    payload = received_payload(RESIDENT, "烧" * 40000)
    response = _post(android_app.test_client(), "sms:received", payload)
    assert response.status_code == 413 and response.json["error"] == "payload_too_large"
    assert _counts(android_app) == (0, 0, 0)


def test_the_webhook_is_404_where_the_android_provider_is_not_configured(console_app):
    raw, headers = signed_webhook("system:ping", {})
    response = console_app.test_client().post(HOOK, data=raw, headers=headers)
    assert response.status_code == 404 and response.json["error"] == "not_configured"


def test_the_phone_answering_garbage_loses_nothing(android_app, phone):
    phone.script = ["garbage"]
    with android_app.app_context():
        message = queue_message(db.session, to=RESIDENT, body="垃圾回答", key="k-garbage", purpose="manual")
        db.session.commit()
        message_id = message.id
    android_app.extensions["gridpatrol.runner"].wait(timeout=30)
    from sms.outbox import send_message_job
    with android_app.app_context():
        row = db.session.get(OutboundMessage, message_id)
        assert row.state == "sending" and row.error_code == "garbage" and row.next_attempt_at
        due = row.next_attempt_at
    with android_app.app_context():
        # the retry asks the phone first (GET /messages/<reference>: 404), then sends once
        assert send_message_job(message_id, now=due) == "sent"
    assert len(phone.sent) == 1
    phone.script = ["drop"]  # the phone takes the next one but the answer is lost
    with android_app.app_context():
        message = queue_message(db.session, to=RESIDENT, body="断线", key="k-drop", purpose="manual")
        db.session.commit()
        message_id = message.id
    android_app.extensions["gridpatrol.runner"].wait(timeout=30)
    with android_app.app_context():
        due = db.session.get(OutboundMessage, message_id).next_attempt_at
        assert send_message_job(message_id, now=due) == "sent"  # found on the phone: not resent
    assert len(phone.sent) == 2
