"""Threat: residents' phone numbers (whistleblowers) reaching patrollers. Only roles that may read the SMS
message log see them whole; everywhere else — API and every device's pull — they are masked (hole 5)."""
from __future__ import annotations

from tests.support.api_helpers import as_
from tests.support.sync_helpers import pull_all

RESIDENT = "+8613912345678"


def _resident_report(app, text: str = "举报 烧煤 映月一网格 映月路12号") -> str:
    from core.db import db
    from sms.inbound import receive
    with app.app_context():
        row = receive(db.session, message_sid="SMprivacy1", sender=RESIDENT, body=text, config=dict(app.config))
        db.session.commit()
        return row.result["ticket"]


def test_patroller_sees_a_masked_reporter_phone(app, client, world):
    ticket = _resident_report(app)
    seen = as_(client, world, "patroller").get(f"/incidents/{ticket}").get_json()
    assert seen["reporter_phone"] == "+86139****5678"
    assert RESIDENT not in str(seen)


def test_leaders_who_read_the_message_log_see_the_number(app, client, world):
    ticket = _resident_report(app)
    assert as_(client, world, "c1_leader").get(f"/incidents/{ticket}").get_json()["reporter_phone"] == RESIDENT
    assert as_(client, world, "admin").get(f"/incidents/{ticket}").get_json()["reporter_phone"] == RESIDENT


def test_devices_never_pull_a_residents_number(app, client, world):
    """Hole 5: the `created` event carried actor_label "+86…", which every device in the grid pulled."""
    _resident_report(app)
    pulled, _ = pull_all(client, world.device_token, world.ids["device"])
    events = [e for (c, _), e in pulled.items() if c == "incident_events"]
    assert events, "the patroller's device should see the grid's incident history"
    assert RESIDENT not in str(pulled)
    assert {e["fields"]["actor_label"] for e in events if e["fields"]["kind"] == "created"} == {"+86139****5678"}
