"""Aliyun SMS through the official SDK against the stand-in: templates and their limits, batches at the
city's peak, flow control, garbage answers, and delivery reconciled by the sweeper."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.settings import ConfigError
from core.db import db
from core.models import utcnow
from sms.models import OutboundMessage, SmsProviderState
from sms.outbox import queue_message, queue_messages, send_message_job
from sms.sweep import sweep_sms
from tests.conftest import make_app
from tests.support.sms_fixtures import _close, build_sms_app
from sms.providers.aliyun.standin import ALIYUN_TEMPLATES, aliyun_config

LEADER = "+8613800000001"


def missed(grid="HD03-1-1", window="上午巡查"):
    return {"template": "missed_patrol", "vars": {"grid": grid, "window": window}}


@pytest.fixture
def aliyun_app(db_url, tmp_path, aliyun):
    app = build_sms_app(db_url, tmp_path, SMS_ALERTS_BACKEND="aliyun", **aliyun_config(aliyun))
    yield app
    _close(app)


def _row(app, key):
    with app.app_context():
        return db.session.scalar(select(OutboundMessage).where(OutboundMessage.key == key))


def _queue(app, key, params=None, to=LEADER, body=None):
    body = body or f"网格未巡查提醒 {key}"
    with app.app_context():
        message = queue_message(db.session, to=to, body=body, key=key, purpose="alert", params=params)
        db.session.commit()
        message_id = message.id
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    return message_id


@pytest.mark.parametrize("overrides,names", [
    ({"ALIYUN_SMS_TEMPLATES": "{not json"}, "ALIYUN_SMS_TEMPLATES"),
    ({"ALIYUN_SMS_TEMPLATES": json.dumps({"missed_patrl": "SMS_100000001"})}, "missed_patrl"),
    ({"ALIYUN_SMS_TEMPLATES": json.dumps({"missed_patrol": "100000001"})}, "SMS_"),
    ({"ALIYUN_SMS_SIGN_NAME": ""}, "ALIYUN_SMS_SIGN_NAME"),
    ({"ALIYUN_SMS_ACCESS_KEY_SECRET": None}, "ALIYUN_SMS_ACCESS_KEY_SECRET"),
])
def test_bad_aliyun_settings_stop_startup_naming_the_variable(tmp_path, overrides, names):
    config = {"SMS_ALERTS_BACKEND": "aliyun", **aliyun_config(None), **overrides}
    with pytest.raises(ConfigError) as info:
        make_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, **config)
    assert names in str(info.value)


def test_an_unknown_provider_name_stops_startup(tmp_path):
    with pytest.raises(ConfigError) as info:
        make_app(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, SMS_BACKEND="carrier-pigeon")
    assert "carrier-pigeon" in str(info.value)


def test_an_alert_goes_out_with_its_template_and_named_variables(aliyun_app, aliyun):
    _queue(aliyun_app, "a1", missed())
    row = _row(aliyun_app, "a1")
    assert (row.state, row.provider) == ("sent", "aliyun")
    [sent] = aliyun.sent
    assert sent["template"] == ALIYUN_TEMPLATES["missed_patrol"] and sent["phone"] == "13800000001"
    assert sent["params"] == {"grid": "HD03-1-1", "window": "上午巡查"} and sent["out_id"] == row.reference
    assert sent["text"] == "HD03-1-1网格上午巡查未巡查，请尽快安排补巡，并向网格办号码回复收到确认。"
    request = next(r for r in aliyun.requests if r["action"] == "SendSms")
    assert request["params"]["SignName"] == "某街道网格办"


@pytest.mark.parametrize("params,body,reason", [
    (missed(window="上午巡查（" + "长" * 40 + "）"), "x", "window has 46 characters"),
    (missed(grid=""), "x", "grid is empty"),
    (missed(grid="【伪签名】"), "x", "【】"),
    (None, "这是一条没有模板变量而且超过三十五个字的通知：" + "很长" * 10, "content has"),
    ({"template": "no_such_purpose", "vars": {}}, "x", "no Aliyun template"),
])
def test_variables_beyond_aliyuns_limits_fail_at_queue_time_never_truncated(aliyun_app, aliyun, params, body, reason):
    _queue(aliyun_app, "bad", params, body=body)
    row = _row(aliyun_app, "bad")
    assert row.state == "failed" and reason in row.error_message
    assert aliyun.sent == [] and row.attempts == 0


def test_the_citys_morning_peak_goes_out_in_batches_of_100(aliyun_app, aliyun):
    """The 20,000-grid city's 12:15 peak raises 2,523 alerts (bench/alerts_bench.py); hand over 2,600 the way
    the deliver job does (batches of WORKERS_DELIVER_BATCH), all through Aliyun's SendBatchSms."""
    count = 2_600
    with aliyun_app.app_context():
        for start in range(0, count, 500):
            queue_messages(db.session, [
                {"to": f"+86138{i:08d}", "body": f"G{i} 未巡查", "key": f"peak:{i}", "purpose": "alert",
                 "params": missed(grid=f"G{i:05d}")} for i in range(start, min(start + 500, count))])
            db.session.commit()
    aliyun_app.extensions["gridpatrol.runner"].wait(timeout=600)
    assert sum(aliyun.batch_sizes) == count, "each alert handed over exactly once"
    assert max(aliyun.batch_sizes) == 100 and len(aliyun.batch_sizes) <= count // 100 + 25
    assert {r["action"] for r in aliyun.requests} == {"SendBatchSms"}
    assert len({s["phone"] for s in aliyun.sent}) == count
    with aliyun_app.app_context():
        states = dict(db.session.execute(select(OutboundMessage.state, func.count())
                                         .group_by(OutboundMessage.state)).all())
        providers = set(db.session.scalars(select(OutboundMessage.provider).distinct()))
    assert states == {"sent": count} and providers == {"aliyun"}


def test_one_bad_number_does_not_sink_its_batch(aliyun_app, aliyun):
    with aliyun_app.app_context():
        queue_messages(db.session, [{"to": f"+8613800000{i:03d}", "body": "x", "key": f"b{i}", "purpose": "alert",
                                     "params": missed()} for i in range(5)]
                       + [{"to": "+85212345", "body": "x", "key": "b-bad", "purpose": "alert", "params": missed()}])
        db.session.commit()
    aliyun_app.extensions["gridpatrol.runner"].wait(timeout=60)
    assert _row(aliyun_app, "b-bad").state == "invalid_number"
    assert all(_row(aliyun_app, f"b{i}").state == "sent" for i in range(5))


def test_flow_control_is_retried_with_backoff(aliyun_app, aliyun):
    aliyun.script = ["isv.BUSINESS_LIMIT_CONTROL"]
    message_id = _queue(aliyun_app, "fc", missed())
    row = _row(aliyun_app, "fc")
    assert row.state == "queued" and row.next_attempt_at >= utcnow() + timedelta(seconds=55)
    assert any(e.get("kind") == "rate_limited" for e in row.history)
    with aliyun_app.app_context():
        assert send_message_job(message_id, now=row.next_attempt_at) == "sent"
    assert len(aliyun.sent) == 1


@pytest.mark.parametrize("answer", ["garbage", "drop"])
def test_a_garbled_or_lost_answer_is_reconciled_before_any_resend(aliyun_app, aliyun, answer):
    aliyun.script = [answer]
    message_id = _queue(aliyun_app, "g", missed())
    row = _row(aliyun_app, "g")
    assert row.state == "sending" and row.next_attempt_at is not None
    with aliyun_app.app_context():
        assert send_message_job(message_id, now=row.next_attempt_at) == "sent"
    assert len(aliyun.sent) == 1, "QuerySendDetails decided: found (drop) or absent (garbage), never twice"
    assert any(r["action"] == "QuerySendDetails" for r in aliyun.requests)


def test_the_sweeper_reconciles_delivery_with_query_send_details(aliyun_app, aliyun):
    _queue(aliyun_app, "d1", missed())
    aliyun.next_status = 1  # the carrier has not answered yet
    with aliyun_app.app_context():
        counts = sweep_sms(db.session, utcnow() + timedelta(minutes=2))
        db.session.commit()
    assert counts["checked"] == 1 and counts["updated"] == 0 and _row(aliyun_app, "d1").state == "sent"
    aliyun.next_status = 3
    with aliyun_app.app_context():
        counts = sweep_sms(db.session, utcnow() + timedelta(minutes=4))
        db.session.commit()
    assert counts["updated"] == 1 and _row(aliyun_app, "d1").state == "delivered"


def test_repeated_provider_down_errors_mark_aliyun_down(aliyun_app, aliyun):
    aliyun.script = ["isv.AMOUNT_NOT_ENOUGH"] * 3
    for i in range(3):
        _queue(aliyun_app, f"down{i}", missed(grid=f"G{i}"))
    with aliyun_app.app_context():
        state = db.session.get(SmsProviderState, "aliyun")
        assert state.consecutive_down == 3 and state.down_since is not None
        assert state.last_error.startswith("provider_down: isv.AMOUNT_NOT_ENOUGH")
    health = aliyun_app.test_client().get("/healthz").json
    entry = next(p for p in health["sms"] if p["name"] == "aliyun")
    assert entry["up"] is False and entry["down_reason"] == "errors" and entry["queue_depth"] == 3
