"""GET /api/v1/messages: both directions, filters, pagination, and who may see what."""
from __future__ import annotations

from datetime import timedelta

from core.db import db
from core.models import utcnow
from sms.models import InboundMessage, OutboundMessage
from tests.conftest import bearer
from tests.support.sms_fixtures import sms_world


def _seed(app, world):
    now = utcnow()
    with app.app_context():
        rows = [
            OutboundMessage(key="alert:g11:1", to_number="+8617000000005", body="网格提醒", state="sent",
                            member_id=world.ids["g11_leader"], area_id=world.ids["g11"],
                            created_at=now - timedelta(minutes=30)),
            OutboundMessage(key="alert:g21:1", to_number="+8617000000008", body="白马提醒", state="failed",
                            member_id=world.ids["patroller2"], area_id=world.ids["g21"],
                            created_at=now - timedelta(minutes=20)),
            OutboundMessage(key="weekly:hd03", to_number="+8617000000002", body="周报", state="queued",
                            member_id=world.ids["sub_leader"], created_at=now - timedelta(minutes=10)),
            InboundMessage(message_sid="SM1", sender="+8617000000007", body="巡查 HD03-1-1 正常", outcome="ok",
                           member_id=world.ids["patroller"], area_id=world.ids["g11"],
                           received_at=now - timedelta(minutes=25)),
            InboundMessage(message_sid="SM2", sender="+8613912345678", body="乱码", outcome="error",
                           received_at=now - timedelta(minutes=5)),
        ]
        db.session.add_all(rows)
        db.session.commit()
    return now


def _get(client, token, query=""):
    response = client.get(f"/api/v1/messages{query}", headers=bearer(token))
    return response.status_code, response.get_json()


def test_admin_sees_everything_newest_first_and_filters_work(console_app):
    world = sms_world(console_app)
    now = _seed(console_app, world)
    client = console_app.test_client()
    token = world.tokens["admin"]
    status, page = _get(client, token)
    assert status == 200 and page["total"] == 5
    assert [i["body"] for i in page["items"]] == ["乱码", "周报", "白马提醒", "巡查 HD03-1-1 正常", "网格提醒"]
    assert _get(client, token, "?direction=inbound")[1]["total"] == 2
    assert [i["key"] for i in _get(client, token, "?direction=outbound&state=failed")[1]["items"]] == ["alert:g21:1"]
    assert _get(client, token, "?key=alert:*")[1]["total"] == 2
    assert _get(client, token, "?key=weekly:hd03")[1]["items"][0]["state"] == "queued"
    assert [i["number"] for i in _get(client, token, "?number=13912345678")[1]["items"]] == ["+8613912345678"]
    since = (now - timedelta(minutes=22)).isoformat()
    assert _get(client, token, f"?since={since.replace('+', '%2B')}")[1]["total"] == 3
    second = _get(client, token, "?per_page=2&page=2")[1]
    assert second["total"] == 5 and [i["body"] for i in second["items"]] == ["白马提醒", "巡查 HD03-1-1 正常"]
    assert _get(client, token, "?state=nonsense")[0] == 422


def test_leaders_see_their_subtrees_only(console_app):
    world = sms_world(console_app)
    _seed(console_app, world)
    client = console_app.test_client()
    status, page = _get(client, world.tokens["c1_leader"])
    assert status == 200 and {i["body"] for i in page["items"]} == {"网格提醒", "巡查 HD03-1-1 正常"}
    status, page = _get(client, world.tokens["c2_leader"])
    assert {i["body"] for i in page["items"]} == {"白马提醒"}
    status, page = _get(client, world.tokens["sub_leader"])
    assert {i["body"] for i in page["items"]} == {"网格提醒", "白马提醒", "周报", "巡查 HD03-1-1 正常"}
    assert _get(client, world.tokens["patroller"])[0] == 403
    assert client.get("/api/v1/messages").status_code == 401


def test_a_time_that_does_not_exist_in_utc_is_a_422_not_a_500(console_app):
    """Found by schemathesis: 0001-01-01T01:01:48+20:59 is a valid ISO time whose UTC is before year 1."""
    world = sms_world(console_app)
    client = console_app.test_client()
    token = world.tokens["admin"]
    status, body = _get(client, token, "?direction=inbound&until=0001-01-01T01%3A01%3A48%2B20%3A59")
    assert status == 422 and body["error"] == "validation_failed" and "until" in body["details"]
    assert _get(client, token, "?since=9999-12-31T23%3A59%3A59-10%3A00")[0] == 422
