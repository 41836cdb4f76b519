"""End to end with real signatures in and the real twilio Client out (to the local stand-in):
a resident's report, a patroller's patrol, an incident found, escalated and acknowledged by SMS, and an
alert to the leader through the outbox."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from core.db import db
from core.models import Incident, IncidentEvent, Patrol
from sms.models import InboundMessage, OutboundMessage
from sms.outbox import queue_message
from core.domain import alert_texts as texts
from tests.conftest import bearer
from tests.support.sms_fixtures import sms_world
from sms.providers.twilio.standin import FROM_NUMBER, inbound_params, signed_post

RESIDENT = "+8613912345678"
PATROLLER = "+8617000000007"      # 吴巡查, patroller of HD03-1-1
COMMUNITY_LEADER = "+8617000000003"  # 钱社区, leader of HD03-1
RECORD = "3b241101-e2bb-4255-8caf-4136c566a962"


def _say(client, sender, body):
    import xml.etree.ElementTree as ET
    response = signed_post(client, "/sms/twilio/inbound", inbound_params(sender, body))
    assert response.status_code == 200
    return "".join(m.text or "" for m in ET.fromstring(response.get_data(as_text=True)).iter("Message"))


def test_sms_end_to_end(twilio_app, stand_in):
    world = sms_world(twilio_app)
    client = twilio_app.test_client()

    # a resident reports without any command word, then asks for the status
    reply = _say(client, RESIDENT, "映月社区3栋楼下有人烧垃圾，烟很大")
    assert reply == "已受理，工单号100001（垃圾焚烧），由映月社区处理。查询回复：查询 100001"
    assert _say(client, RESIDENT, "查询 100001") == "工单100001（垃圾焚烧）：待处理，由街道负责。"
    assert _say(client, "+8613900000000", "查询 100001").startswith("未找到您的工单100001")  # not theirs

    # the patroller checks in, then reports a problem carrying the device's record id
    assert _say(client, PATROLLER, "巡查 HD03-1-1 正常").startswith("已记录HD03-1-1巡查：正常（")
    reply = _say(client, PATROLLER, f"发现 HD03-1-1 烧煤 即办 映月路12号煤炉冒烟 #{RECORD}")
    assert reply.startswith("已登记工单100002：HD03-1-1散煤/燃煤炉，即办，期限")
    # the same record id again (the device retried over SMS) does not duplicate
    assert _say(client, PATROLLER, f"F HD03-1-1 5 J again #{RECORD}").startswith("已登记工单100002：HD03-1-1")

    # the patroller escalates it; the community leader acknowledges
    assert _say(client, PATROLLER, "上报 100002 需要社区协调").startswith("工单100002已上报至映月社区")
    assert _say(client, COMMUNITY_LEADER, "SD 100002") == "已确认收到工单100002，提醒已停止。"
    assert _say(client, PATROLLER, "办结 100002 已熄灭").startswith("工单100002已办结")

    with twilio_app.app_context():
        patrol = db.session.scalar(select(Patrol))
        assert (patrol.source, patrol.area_id, patrol.outcome) == ("sms", world.ids["g11"], "all_clear")
        incident = db.session.get(Incident, RECORD)  # created with the device's own id
        assert incident.ticket == "100002" and incident.source == "patroller_sms"
        assert incident.status == "resolved" and incident.responsible_area.code == "HD03-1"
        assert incident.escalation_count == 1 and incident.acknowledged_at is not None
        kinds = [e.kind for e in db.session.scalars(select(IncidentEvent).where(
            IncidentEvent.incident_id == RECORD).order_by(IncidentEvent.at))]
        assert kinds[0] == "created" and {"escalated", "acknowledged", "handled"} <= set(kinds)
        assert all(e.channel == "sms" for e in incident.events)
        resident_ticket = db.session.scalar(select(Incident).where(Incident.ticket == "100001"))
        assert resident_ticket.category.code == "garbage_burning" and resident_ticket.area.code == "HD03-1"

        # an alert to the leader goes through the outbox and the real twilio client
        body = texts.escalated("zh", "100002", "散煤/燃煤炉", "HD03-1-1", "HD03-1",
                               datetime(2026, 11, 23, 10, tzinfo=timezone.utc), "Asia/Shanghai")
        queue_message(db.session, to=COMMUNITY_LEADER, body=body, key="escalation:100002:1",
                      member_id=world.ids["c1_leader"], area_id=world.ids["c1"])
        db.session.commit()
    twilio_app.extensions["gridpatrol.runner"].wait(timeout=30)
    [post] = stand_in.posts
    assert post.form["To"] == COMMUNITY_LEADER and post.form["From"] == FROM_NUMBER and post.form["Body"] == body
    with twilio_app.app_context():
        alert = db.session.scalar(select(OutboundMessage))
        assert alert.state == "sent" and alert.provider_sid == stand_in.messages[0]["sid"]
        assert db.session.scalar(select(InboundMessage).where(InboundMessage.outcome != "ok")) is not None

    # the leader sees both directions in the message log; a patroller may not
    page = client.get("/api/v1/messages?per_page=100", headers=bearer(world.tokens["c1_leader"])).get_json()
    directions = {item["direction"] for item in page["items"]}
    assert directions == {"inbound", "outbound"}
    assert client.get("/api/v1/messages", headers=bearer(world.tokens["patroller"])).status_code == 403
