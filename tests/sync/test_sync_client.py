"""The reference client: outbox, replica, retries, resume without duplicates, removed, reset, 413 shrink,
and the `gridpatrol device` / `gridpatrol sync` commands."""
import json
from datetime import timedelta

from click.testing import CliRunner
import pytest

from sync.device.client import DeviceClient, FlaskTransport, TransportError

pytestmark = pytest.mark.both_databases  # the device client against both servers' push and pull paths


class Recording(FlaskTransport):
    """Can lose responses (after the server did the work) and refuse big batches like a proxy would."""

    def __init__(self, client, token, lose=0, max_changes=None):
        super().__init__(client, token)
        self.lose, self.max_changes, self.bodies = lose, max_changes, []

    def post(self, body):
        if self.max_changes is not None and len(body["changes"]) > self.max_changes:
            return 413, {"error": "payload_too_large", "message": "", "details": {}}
        self.bodies.append(body)
        status, payload = super().post(body)
        if self.lose > 0:
            self.lose -= 1
            raise TransportError("connection reset")
        return status, payload


def _device(client, world, **kw):
    transport = Recording(client, world.device_token, **kw)
    return DeviceClient(":memory:", transport, device_id=world.ids["device"], sleep=lambda s: None), transport


def test_lost_responses_resume_without_duplicates(app, client, world):
    from core.db import db
    from core.models import Patrol
    device, transport = _device(client, world, lose=2)
    ids = [device.put("patrols", area_id=world.ids["g11"], started_at="2026-11-20T01:00:00Z", notes=str(n))
           for n in range(5)]
    assert device.get("patrols", ids[0])["notes"] == "0"  # shown at once, before any sync
    stats = device.sync()
    assert device.pending() == 0 and stats["requests"] >= 1
    assert len(transport.bodies) >= 3 and transport.bodies[0]["changes"] == transport.bodies[2]["changes"]
    with app.app_context():
        assert db.session.query(Patrol).count() == 5


def test_client_shrinks_batches_on_413_and_applies_conflicts(app, client, world):
    device, transport = _device(client, world, max_changes=2)
    site = device.put("sites", area_id=world.ids["g11"], address="映月路3号")
    for n in range(4):
        device.put("sites", site, notes=f"n{n}")
    device.sync()
    assert device.pending() == 0 and max(len(b["changes"]) for b in transport.bodies) <= 2
    assert device.get("sites", site)["notes"] == "n3"
    bad = device.put("patrols", area_id=world.ids["g21"], started_at="2026-11-20T01:00:00Z")  # not its grid
    device.sync()
    assert device.get("patrols", bad) is None
    assert device.conflicts()[-1]["status"] == "rejected" and device.conflicts()[-1]["reason"] == "out_of_scope"


def test_client_applies_removed_and_reset(app, client, world):
    from core.db import db
    from core.models import Assignment, utcnow
    from sync.admin import purge_tombstones
    device, _ = _device(client, world)
    device.sync()
    assert str(world.ids["g11"]) in device.all("areas")
    mine = device.put("patrols", area_id=world.ids["g11"], started_at="2026-11-20T01:00:00Z")
    device.sync()
    with app.app_context():
        db.session.query(Assignment).filter_by(member_id=world.ids["patroller"]).one().area_id = world.ids["g21"]
        db.session.commit()
    stats = device.sync()
    assert stats["removed"] >= 2 and device.get("patrols", mine) is None
    assert set(device.all("areas")) == {str(world.ids["g21"])}
    with app.app_context():
        purge_tombstones(db.session, utcnow() + timedelta(seconds=1))
        from sync.models import SyncMeta
        db.session.get(SyncMeta, "purge").number = 1 << 60  # every cursor is now too old
        db.session.commit()
    stats = device.sync()
    assert stats["resets"] == 1 and device.pending() == 0
    assert set(device.all("areas")) == {str(world.ids["g21"])}


def test_device_cli_queues_offline_and_sync_admin_commands(app, tmp_path, monkeypatch, world):
    from server.cli import main
    runner = CliRunner()
    db_file = str(tmp_path / "phone.sqlite")
    result = runner.invoke(main, ["device", "add-incident", "--db", db_file, "--area", str(world.ids["g11"]),
                                  "--category", "5", "--description", "烧煤", "--handling", "immediate",
                                  "--status", "resolved"])
    assert result.exit_code == 0, result.output
    incident_id = result.output.strip()
    shown = runner.invoke(main, ["device", "show", "--db", db_file, "incidents", incident_id])
    assert json.loads(shown.output)["status"] == "resolved"
    status = runner.invoke(main, ["device", "status", "--db", db_file])
    assert json.loads(status.output)["pending"] == 1
    refused = runner.invoke(main, ["device", "sync", "--db", db_file])
    assert refused.exit_code != 0 and "--server" in refused.output
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    purged = runner.invoke(main, ["sync", "purge-tombstones", "--older-than-days", "30"])
    assert purged.exit_code == 0, purged.output
    assert "purge_horizon" in json.loads(purged.output)


def test_deleted_incident_takes_its_history_out_of_the_replica(app, client, world):
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Member
    device, _ = _device(client, world)
    incident = device.put("incidents", area_id=world.ids["g11"], category_id=5, description="烧煤")
    device.put("incident_events", incident_id=incident, kind="note", note="已劝导")
    device.sync()
    device.sync()
    assert len(device.all("incident_events")) == 2  # its note and the server's "created" event
    with app.app_context():
        leader, token = register_device(db.session, db.session.get(Member, world.ids["g11_leader"]))
        leader_id = leader.id
        db.session.commit()
    boss = DeviceClient(":memory:", FlaskTransport(client, token), device_id=leader_id, sleep=lambda s: None)
    boss.sync()
    boss.delete("incidents", incident)
    boss.sync()
    device.sync()
    assert device.get("incidents", incident) is None and device.all("incident_events") == {}
