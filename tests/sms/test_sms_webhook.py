"""The inbound webhook with Twilio's own signatures: 403 on a bad one, TwiML always, retries answered once,
rate limit, opt-out, and hypothesis fuzzing (never a 500)."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from core.db import db
from core.models import Incident, utcnow
from sms.models import InboundMessage, OutboundMessage
from tests.support.sms_fixtures import sms_world
from sms.providers.twilio.standin import AUTH_TOKEN, PUBLIC_BASE_URL, inbound_params, signed_post

RESIDENT = "+8613912345678"
INBOUND = "/sms/twilio/inbound"


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _message_text(response) -> str:
    import xml.etree.ElementTree as ET
    root = ET.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    return "".join(m.text or "" for m in root.iter("Message"))


def test_bad_or_missing_signature_is_403_and_stores_nothing(console_app):
    sms_world(console_app)
    client = console_app.test_client()
    params = inbound_params(RESIDENT, "举报 烧煤 映月路12号")
    missing = client.post(INBOUND, data=params)
    forged = signed_post(client, INBOUND, params, token="not-the-token")
    wrong_url = signed_post(client, INBOUND, params, base="https://evil.example.org")
    tampered = client.post(INBOUND, data={**params, "Body": "举报 烧煤 别处"},
                           headers={"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                               PUBLIC_BASE_URL + INBOUND, params)})
    for response in (missing, forged, wrong_url, tampered):
        assert response.status_code == 403
        assert response.get_json()["error"] in ("bad_signature",)
    assert _count(console_app, InboundMessage) == 0 and _count(console_app, Incident) == 0


def test_signature_checked_against_public_url_behind_tls_proxy(console_app):
    """The app sees http://localhost/...; Twilio signed https://gridpatrol.example.org/... ."""
    sms_world(console_app)
    client = console_app.test_client()
    response = signed_post(client, INBOUND, inbound_params(RESIDENT, "帮助"))
    assert response.status_code == 200
    # without a configured base URL, X-Forwarded-Proto/Host from the proxy give the public URL
    console_app.config["PUBLIC_BASE_URL"] = None
    params = inbound_params(RESIDENT, "帮助")
    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://sms.example.net" + INBOUND, params)
    proxied = client.post(INBOUND, data=params, headers={"X-Twilio-Signature": signature,
                                                         "X-Forwarded-Proto": "https",
                                                         "X-Forwarded-Host": "sms.example.net"})
    assert proxied.status_code == 200 and "举报" in _message_text(proxied)


def test_resident_report_answers_ticket_in_twiml(console_app):
    sms_world(console_app)
    response = signed_post(console_app.test_client(), INBOUND, inbound_params(RESIDENT, "舉報 燒煤 映月路１２號"))
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    text = _message_text(response)
    assert text.startswith("已受理，工单号100001（散煤/燃煤炉）")
    with console_app.app_context():
        row = db.session.scalar(select(InboundMessage))
        assert row.body == "舉報 燒煤 映月路１２號"  # raw, as received
        assert row.normalized == "举报 烧煤 映月路12号"
        assert row.outcome == "ok" and row.command == "report" and row.result["ticket"] == "100001"
        incident = db.session.scalar(select(Incident))
        assert incident.source == "resident_sms" and incident.reporter_phone == RESIDENT
        assert incident.category.code == "coal" and incident.area.code == "HD03-1"  # "映月" names the community


def test_retried_message_sid_is_processed_once_and_answered_the_same(console_app):
    sms_world(console_app)
    client = console_app.test_client()
    params = inbound_params(RESIDENT, "举报 扬尘 建设路工地", sid="SM" + "a" * 32)
    first = signed_post(client, INBOUND, params)
    second = signed_post(client, INBOUND, params)
    assert first.get_data() == second.get_data()
    assert _count(console_app, Incident) == 1 and _count(console_app, InboundMessage) == 1


def test_unparseable_text_is_stored_with_outcome_and_answered(console_app):
    sms_world(console_app)
    client = console_app.test_client()
    text = _message_text(signed_post(client, INBOUND, inbound_params("+8617000000007", "发现 HD03-1-1 外星人 即办")))
    assert "未知类别“外星人”" in text
    text = _message_text(signed_post(client, INBOUND, inbound_params("+8617000000007", "XC HD99-9 ok")))
    assert text == "未知网格编号HD99-9。格式：巡查 网格 正常，如：巡查 HD03-1-1 正常"  # the member's locale
    text = _message_text(signed_post(client, INBOUND, inbound_params("+8613900000001", "Q 99")))
    assert text == "Missing ticket number. Send: Q <ticket>, e.g. Q 100001"  # Latin-only from a stranger
    text = _message_text(signed_post(client, INBOUND, inbound_params("+8617000000007", "今天下雨了")))
    assert text.startswith("巡查:XC 网格 正常")  # staff get their usage, not a report filed by accident
    text = _message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, "办结 100001")))
    assert text.startswith("该指令仅限登记的网格员")
    with console_app.app_context():
        rows = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [(r.outcome, r.error_code) for r in rows] == [
            ("error", "unknown_category"), ("error", "unknown_grid"), ("error", "missing_ticket"),
            ("error", "unknown_command"), ("not_permitted", "not_permitted")]


def test_rate_limit_one_notice_then_silence_still_stored(console_app):
    sms_world(console_app)
    console_app.config["SMS_RATE_LIMIT_PER_HOUR"] = 3
    client = console_app.test_client()
    replies = [_message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, f"查询 10000{i}")))
               for i in range(6)]
    assert all(replies[:3])
    assert replies[3].startswith("您发送过于频繁")
    assert replies[4] == replies[5] == ""
    assert _message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, "退订"))).startswith("已退订")
    with console_app.app_context():
        outcomes = db.session.scalars(select(InboundMessage.outcome).order_by(InboundMessage.id)).all()
        assert outcomes == ["error"] * 3 + ["rate_limited"] * 3 + ["opted_out"]
        # an hour later the sender is heard again
        for row in db.session.scalars(select(InboundMessage)):
            row.received_at = utcnow() - timedelta(hours=2)
        db.session.commit()
    assert _message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, "订阅"))).startswith("已恢复订阅")
    assert _message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, "帮助"))).startswith("举报")


def test_opted_out_number_gets_only_the_confirmation(console_app):
    sms_world(console_app)
    client = console_app.test_client()
    assert _message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, "STOP"))).startswith("Unsubscribed")
    assert _message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, "举报 烧煤 映月路"))) == ""
    with console_app.app_context():
        from sms.outbox import queue_message
        message = queue_message(db.session, to=RESIDENT, body="提醒", key="after-stop")
        assert message.state == "opted_out"
        db.session.commit()
        row = db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()
        assert row.result["suppressed_reply"].startswith("已受理")  # the report itself was still taken
    assert _message_text(signed_post(client, INBOUND, inbound_params(RESIDENT, "START"))).startswith("Subscribed")


def test_webhook_refused_when_no_auth_token_is_configured(console_app):
    console_app.config["TWILIO_AUTH_TOKEN"] = None
    response = signed_post(console_app.test_client(), INBOUND, inbound_params(RESIDENT, "帮助"))
    assert response.status_code == 403 and response.get_json()["error"] == "not_configured"


def test_status_callback_is_signed_and_moves_state_forward_only(console_app):
    sms_world(console_app)
    with console_app.app_context():
        from sms.outbox import queue_message
        message = queue_message(db.session, to=RESIDENT, body="状态测试", key="status")
        db.session.commit()
        reference = message.reference
    console_app.extensions["gridpatrol.runner"].wait(timeout=30)
    client = console_app.test_client()
    path = f"/sms/twilio/status?ref={reference}"
    assert client.post(path, data={"MessageSid": "SMx", "MessageStatus": "delivered"}).status_code == 403
    for status in ("delivered", "sent"):  # out of order: sent after delivered must not move it back
        response = signed_post(client, path, {"MessageSid": _sid(console_app, reference), "MessageStatus": status})
        assert response.status_code == 204
    with console_app.app_context():
        row = db.session.scalar(select(OutboundMessage).where(OutboundMessage.reference == reference))
        assert row.state == "delivered" and row.delivered_at is not None


def _sid(app, reference):
    with app.app_context():
        return db.session.scalar(select(OutboundMessage.provider_sid).where(OutboundMessage.reference == reference))


def test_undelivered_30003_is_retried_and_21610_opts_out(console_app):
    with console_app.app_context():
        from sms.outbox import queue_message
        first = queue_message(db.session, to=RESIDENT, body="不可达", key="unreachable")
        second = queue_message(db.session, to="+8613912345679", body="已退订", key="stopped")
        db.session.commit()
        refs = (first.reference, second.reference)
    console_app.extensions["gridpatrol.runner"].wait(timeout=30)
    client = console_app.test_client()
    signed_post(client, f"/sms/twilio/status?ref={refs[0]}",
                {"MessageSid": _sid(console_app, refs[0]), "MessageStatus": "undelivered", "ErrorCode": "30003"})
    signed_post(client, f"/sms/twilio/status?ref={refs[1]}",
                {"MessageSid": _sid(console_app, refs[1]), "MessageStatus": "failed", "ErrorCode": "21610"})
    with console_app.app_context():
        from sms.outbox import is_opted_out, send_message_job
        a = db.session.scalar(select(OutboundMessage).where(OutboundMessage.reference == refs[0]))
        b = db.session.scalar(select(OutboundMessage).where(OutboundMessage.reference == refs[1]))
        assert (a.state, a.error_code) == ("queued", "30003") and a.next_attempt_at is not None
        assert b.state == "opted_out" and is_opted_out(db.session, "+8613912345679")
        old_sid = a.provider_sid
        assert send_message_job(a.id, now=a.next_attempt_at) == "sent"
        db.session.expire_all()
        a = db.session.get(OutboundMessage, a.id)
        assert a.attempts == 2 and a.provider_sid != old_sid  # a real second send, not a "reconciled" old SID


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(max_size=300), sender=st.one_of(st.just(RESIDENT), st.just("+8617000000007"),
                                                    st.text(max_size=20)))
def test_fuzz_webhook_never_500_always_twiml(console_app, body, sender):
    if not getattr(console_app, "_world", None):
        sms_world(console_app)
        console_app._world = True
        console_app.config["SMS_RATE_LIMIT_PER_HOUR"] = 0  # fuzzing must reach the parser every time
    response = signed_post(console_app.test_client(), INBOUND, inbound_params(sender, body))
    assert response.status_code == 200, response.get_data(as_text=True)
    _message_text(response)  # well-formed TwiML


def test_patrol_reply_names_the_schedule_window(console_app):
    from datetime import datetime, timezone
    from core.models import Patrol, PatrolSchedule
    from sms.inbound import receive
    world = sms_world(console_app)
    with console_app.app_context():
        config = console_app.config
        no_schedule = receive(db.session, message_sid="SMw0", sender="+8617000000007", body="巡查 HD03-1-1 正常",
                              now=datetime(2026, 11, 23, 1, 35, tzinfo=timezone.utc), config=config)
        assert no_schedule.reply == "已记录HD03-1-1巡查：正常（09:35）。"
        db.session.add(PatrolSchedule(area_id=world.ids["c1"], windows=[
            {"start": "08:00", "end": "12:00"}, {"start": "22:00", "end": "02:00"}]))
        db.session.flush()
        inside = receive(db.session, message_sid="SMw1", sender="+8617000000007", body="XC HD03-1-1 2",
                         now=datetime(2026, 11, 23, 1, 35, tzinfo=timezone.utc), config=config)
        assert inside.reply == "已记录HD03-1-1巡查：发现问题2处，09:35（08:00-12:00时段）。"
        night = receive(db.session, message_sid="SMw2", sender="+8617000000007", body="巡查 HD03-1-1 正常",
                        now=datetime(2026, 11, 23, 17, 10, tzinfo=timezone.utc), config=config)  # 01:10 local
        assert night.reply == "已记录HD03-1-1巡查：正常，01:10（22:00-02:00时段）。"
        outside = receive(db.session, message_sid="SMw3", sender="+8617000000007", body="巡查 HD03-1-1 正常",
                          now=datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc), config=config)  # 15:00 local
        assert outside.reply == "已记录HD03-1-1巡查：正常，15:00。注意：不在巡查时段内。"
        assert outside.result["window"] == "" and inside.result["window"] == "08:00-12:00"
        db.session.commit()
        patrols = db.session.scalars(select(Patrol).order_by(Patrol.started_at)).all()
        assert [(p.source, p.problem_count) for p in patrols] == [("sms", 0), ("sms", 2), ("sms", 0), ("sms", 0)]
