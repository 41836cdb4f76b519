"""The SMS fallback for a patrol (the app's coded text, unit-tested in JS), filed by the gateway and then
synced by the phone: one patrol, the phone's fuller record merged in."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from core.db import db
from core.models import Patrol
from tests.conftest import bearer
from sms.providers.twilio.standin import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL, inbound_params, signed_post


def test_patrol_by_sms_then_sync_is_one_patrol(app, world, client):
    app.config.update(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    patrol_id = str(uuid.uuid4())
    text = f"巡查 HD03-1-1 2 #{patrol_id}"  # what web/patrol_app/static/sms.js patrolText() writes
    got = signed_post(client, "/sms/twilio/inbound", inbound_params("+8617000000007", text))
    assert got.status_code == 200, got.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Patrol, patrol_id) is not None
    change = {"op_id": "p1", "collection": "patrols", "id": patrol_id, "op": "put", "hlc": "18c3b1a2f00-0-phone1",
              "fields": {"area_id": world.ids["g11"], "started_at": "2026-11-20T01:00:00Z",
                         "ended_at": "2026-11-20T02:00:00Z", "outcome": "problems_found", "problem_count": 2,
                         "notes": "映月路一带，两处煤炉"}}
    synced = client.post("/api/v1/sync", json={"device_id": world.ids["device"], "schema_version": 1,
                                               "changes": [change]}, headers=bearer(world.device_token))
    assert synced.status_code == 200, synced.get_json()
    result = synced.get_json()["results"][0]
    assert result["status"] in ("applied", "merged"), result
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patrol)) == 1
        assert db.session.get(Patrol, patrol_id).notes == "映月路一带，两处煤炉"
