"""The sync endpoint end to end: create, pull, merge, conflicts, idempotency, permissions, scope."""
import json
import time
import pytest

from tests.support.sync_helpers import change, hlc, new_id, ok, patrol_fields, pull_all, sync

# Both databases: pushes are written by COPY on PostgreSQL, multi-row INSERT on SQLite; pulls differ too.
pytestmark = pytest.mark.both_databases


def test_push_new_patrol_then_other_device_in_scope_pulls_it(client, world):
    pid = new_id()
    body = ok(sync(client, world.device_token, world.ids["device"],
                   [change("patrols", pid, patrol_fields(world.ids["g11"], notes="映月路"))]))
    assert body["results"][0]["status"] == "applied"
    assert isinstance(body["results"][0]["version"], int)
    # the writer is not sent its own write back
    assert all(c["id"] != pid for c in body["changes"])
    seen, _ = pull_all(client, world.device_token, world.ids["device"], body["cursor"])
    assert ("patrols", pid) not in seen
    # device2 is in another community: never sees it
    seen2, _ = pull_all(client, world.device2_token, world.ids["device2"])
    assert ("patrols", pid) not in seen2
    assert any(key[0] == "categories" for key in seen2)


def _incident(world, **extra):
    return {"category_id": 1, "area_id": world.ids["g11"], "description": "工地扬尘", "handling_class": "immediate",
            **extra}


def test_field_level_last_writer_wins_and_lost_fields_are_logged(app, client, world):
    from core.db import db
    from sync.models import SyncConflict
    pid = new_id()
    ok(sync(client, world.device_token, world.ids["device"],
            [change("patrols", pid, patrol_fields(world.ids["g11"], notes="a"), clock=hlc("d1", 1000))]))
    newer = ok(sync(client, world.device_token, world.ids["device"],
                    [change("patrols", pid, {"notes": "newer", "problem_count": 2}, clock=hlc("d1", 3000))]))
    assert newer["results"][0]["status"] == "applied"
    older = ok(sync(client, world.device_token, world.ids["device"],
                    [change("patrols", pid, {"notes": "older", "outcome": "problems_found"}, clock=hlc("d9", 2000))]))
    result = older["results"][0]
    assert result["status"] == "merged"
    assert result["lost_fields"] == {"notes": "newer"}
    assert result["record"]["notes"] == "newer" and result["record"]["outcome"] == "problems_found"
    with app.app_context():
        logged = db.session.query(SyncConflict).filter_by(record_id=pid).one()
        assert logged.pushed == {"notes": "older"} and logged.winning == {"notes": "newer"}


def test_replayed_op_returns_original_result_and_changes_nothing(app, client, world):
    from core.db import db
    from core.models import Patrol
    pid = new_id()
    first = change("patrols", pid, patrol_fields(world.ids["g11"], notes="x"))
    r1 = ok(sync(client, world.device_token, world.ids["device"], [first]))
    with app.app_context():
        version = db.session.get(Patrol, pid).version
    r2 = ok(sync(client, world.device_token, world.ids["device"], [first, first]))
    assert r2["results"] == [r1["results"][0], r1["results"][0]]
    with app.app_context():
        assert db.session.get(Patrol, pid).version == version
        assert db.session.query(Patrol).count() == 1


def test_one_bad_change_is_rejected_and_the_rest_applies(client, world):
    good, bad, forbidden = new_id(), new_id(), new_id()
    body = ok(sync(client, world.device_token, world.ids["device"], [
        change("patrols", good, patrol_fields(world.ids["g11"])),
        change("patrols", bad, {"area_id": world.ids["g11"], "started_at": "yesterday", "outcome": "meh"}),
        change("patrols", forbidden, patrol_fields(world.ids["g21"])),
        change("areas", str(new_id()), {"name": "x"}),
    ]))
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["applied", "rejected", "rejected", "rejected"]
    assert "started_at" in body["results"][1]["errors"] and "outcome" in body["results"][1]["errors"]
    assert body["results"][2]["reason"] == "out_of_scope"
    assert body["results"][3]["reason"] == "read_only_collection"


def test_incident_created_offline_and_resolved_on_the_spot_writes_device_events(app, client, world):
    from core.db import db
    from core.models import Incident
    iid = new_id()
    body = ok(sync(client, world.device_token, world.ids["device"],
                   [change("incidents", iid, _incident(world, status="resolved"))]))
    assert body["results"][0]["status"] == "applied"
    with app.app_context():
        incident = db.session.get(Incident, iid)
        assert incident.status == "resolved" and incident.ticket.isdigit()
        assert [(e.kind, e.channel) for e in incident.events] == [("created", "device"), ("handled", "device")]
    # the device gets the server-written events (it has not got them) but not its own incident
    seen, _ = pull_all(client, world.device_token, world.ids["device"], body["cursor"])
    assert {k[0] for k in seen} == set() or all(k[1] != iid for k in seen)


def test_stale_device_cannot_reopen_a_closed_incident(app, client, world):
    from core.domain.incidents import transition
    from core.db import db
    from core.models import Incident, Member
    iid = new_id()
    ok(sync(client, world.device_token, world.ids["device"], [change("incidents", iid, _incident(world))]))
    with app.app_context():
        incident = db.session.get(Incident, iid)
        leader = db.session.get(Member, world.ids["c1_leader"])
        transition(db.session, incident, "resolved", channel="api", actor=leader)
        transition(db.session, incident, "closed", channel="api", actor=leader)
        db.session.commit()
    body = ok(sync(client, world.device_token, world.ids["device"],
                   [change("incidents", iid, {"status": "in_progress", "description": "still smoking"},
                           clock=hlc("d1", int(time.time() * 1000)))]))
    result = body["results"][0]
    assert result["status"] == "conflict"
    assert result["record"]["status"] == "closed" and result["lost_fields"]["status"] == "closed"
    assert "status" in result["errors"]
    with app.app_context():
        assert db.session.get(Incident, iid).status == "closed"
    # with a clock older than the close, the edit simply loses
    older = ok(sync(client, world.device_token, world.ids["device"],
                    [change("incidents", iid, {"status": "open"}, clock=hlc("d1", 1000))]))
    assert older["results"][0]["status"] == "merged" and older["results"][0]["lost_fields"] == {"status": "closed"}


def test_append_only_events_duplicate_and_conflict(client, world):
    iid, eid = new_id(), new_id()
    ok(sync(client, world.device_token, world.ids["device"], [change("incidents", iid, _incident(world))]))
    note = {"incident_id": iid, "kind": "note", "note": "煤炉已拆除"}
    first = ok(sync(client, world.device_token, world.ids["device"], [change("incident_events", eid, note)]))
    assert first["results"][0]["status"] == "applied"
    again = ok(sync(client, world.device_token, world.ids["device"], [change("incident_events", eid, note)]))
    assert again["results"][0]["status"] == "duplicate"
    other = ok(sync(client, world.device_token, world.ids["device"],
                    [change("incident_events", eid, {**note, "note": "changed"})]))
    assert other["results"][0]["status"] == "conflict" and other["results"][0]["record"]["note"] == "煤炉已拆除"
    gone = ok(sync(client, world.device_token, world.ids["device"], [change("incident_events", eid, op="delete")]))
    assert gone["results"][0]["status"] == "rejected" and gone["results"][0]["reason"] == "append_only"


def test_record_that_arrived_first_by_sms_merges_with_the_device_copy(app, client, world):
    from core.domain.incidents import create_incident
    from core.db import db
    from core.models import Area, Category, Incident, Member
    iid = new_id()
    with app.app_context():
        create_incident(db.session, category=db.session.get(Category, 5), area=db.session.get(Area, world.ids["g11"]),
                        channel="sms", source="patroller_sms", handling_class="immediate",
                        reporter=db.session.get(Member, world.ids["patroller"]), incident_id=iid,
                        description="SMS摘要")
        db.session.commit()
    body = ok(sync(client, world.device_token, world.ids["device"],
                   [change("incidents", iid, _incident(world, category_id=5, description="完整描述：映月路12号烧煤",
                                                       status="resolved"))]))
    assert body["results"][0]["status"] == "applied", body["results"][0]
    with app.app_context():
        assert db.session.query(Incident).count() == 1
        incident = db.session.get(Incident, iid)
        assert incident.description.startswith("完整描述") and incident.status == "resolved"


def test_patroller_may_not_delete_incidents_but_leader_device_may(app, client, world):
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Incident, Member
    iid = new_id()
    ok(sync(client, world.device_token, world.ids["device"], [change("incidents", iid, _incident(world))]))
    denied = ok(sync(client, world.device_token, world.ids["device"], [change("incidents", iid, op="delete")]))
    assert denied["results"][0]["status"] == "rejected"
    assert denied["results"][0]["reason"] == "role_not_permitted"
    with app.app_context():
        device, token = register_device(db.session, db.session.get(Member, world.ids["g11_leader"]))
        device_id = device.id
        db.session.commit()
    seen, cursor = pull_all(client, token, device_id)
    assert seen[("incidents", iid)]["fields"]["description"] == "工地扬尘"
    deleted = ok(sync(client, token, device_id, [change("incidents", iid, op="delete")], cursor=cursor))
    assert deleted["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.get(Incident, iid).deleted_at is not None
    # the patroller hears of the tombstone; a later edit of it is a conflict, not a resurrection
    seen, _ = pull_all(client, world.device_token, world.ids["device"], None)
    assert seen[("incidents", iid)]["deleted"] is True
    late = ok(sync(client, world.device_token, world.ids["device"], [change("incidents", iid, {"description": "z"})]))
    assert late["results"][0]["status"] == "conflict" and late["results"][0]["deleted"] is True


def test_delete_before_the_server_saw_the_record_blocks_a_late_put(client, world):
    pid = new_id()
    first = ok(sync(client, world.device_token, world.ids["device"], [change("patrols", pid, op="delete")]))
    assert first["results"][0]["status"] == "applied"
    late = ok(sync(client, world.device_token, world.ids["device"],
                   [change("patrols", pid, patrol_fields(world.ids["g11"]))]))
    assert late["results"][0]["status"] == "conflict" and late["results"][0]["deleted"] is True


def test_server_side_writes_get_versions_and_reach_devices(app, client, world):
    from core.db import db
    from core.models import Site
    _, cursor = pull_all(client, world.device_token, world.ids["device"])
    with app.app_context():
        site = Site(id=new_id(), area_id=world.ids["g11"], address="映月路1号")
        db.session.add(site)
        db.session.commit()
        site_id = site.id
        assert site.version is not None
    seen, cursor = pull_all(client, world.device_token, world.ids["device"], cursor)
    assert seen[("sites", site_id)]["fields"]["address"] == "映月路1号"
    with app.app_context():
        site = db.session.get(Site, site_id)
        site.notes = "已改电"
        db.session.commit()
        assert "notes" in site.field_clocks
    seen, cursor = pull_all(client, world.device_token, world.ids["device"], cursor)
    assert seen[("sites", site_id)]["fields"]["notes"] == "已改电"
    with app.app_context():
        db.session.delete(db.session.get(Site, site_id))
        db.session.commit()
    seen, _ = pull_all(client, world.device_token, world.ids["device"], cursor)
    assert seen[("sites", site_id)]["deleted"] is True


def test_clock_far_ahead_is_clamped_and_server_hlc_lets_devices_catch_up(app, client, world):
    from core.db import db
    from core.models import Patrol
    from sync.hlc import parse
    pid = new_id()
    future_ms = int(time.time() * 1000) + 3600_000
    body = ok(sync(client, world.device_token, world.ids["device"],
                   [change("patrols", pid, patrol_fields(world.ids["g11"]), clock=hlc("d1", future_ms))]))
    assert body["results"][0]["status"] == "applied"
    with app.app_context():
        stored = parse(db.session.get(Patrol, pid).field_clocks["_"])
    assert stored.ms <= int(time.time() * 1000) + 1000 and stored.node == "d1"
    assert parse(body["server_hlc"]).ms >= stored.ms


def test_members_reach_devices_without_phones_or_secrets(client, world):
    seen, _ = pull_all(client, world.device_token, world.ids["device"])
    members = {k[1]: v for k, v in seen.items() if k[0] == "members"}
    me = members[str(world.ids["patroller"])]["fields"]
    assert set(me) == {"name", "active", "roles"}
    assert me["roles"] == [{"role": "patroller", "area_id": world.ids["g11"], "rank": 1}]
    assert str(world.ids["c2_leader"]) not in members  # another community's leader is out of scope
    assert "+86" not in json.dumps(list(seen.values()), ensure_ascii=False)


def test_patrol_reported_first_by_sms_merges_and_then_is_append_only(app, client, world):
    from datetime import datetime, timezone
    from core.db import db
    from core.models import Patrol
    pid = new_id()
    with app.app_context():
        db.session.add(Patrol(id=pid, member_id=world.ids["patroller"], area_id=world.ids["g11"], source="sms",
                              started_at=datetime(2026, 11, 20, 1, tzinfo=timezone.utc),
                              ended_at=datetime(2026, 11, 20, 2, tzinfo=timezone.utc), notes="SMS: 巡查完毕"))
        db.session.commit()
    full = patrol_fields(world.ids["g11"], ended_at="2026-11-20T02:05:00Z", notes="映月路12号有煤炉，已劝导",
                         problem_count=1, outcome="problems_found")
    body = ok(sync(client, world.device_token, world.ids["device"], [change("patrols", pid, full)]))
    assert body["results"][0]["status"] == "applied"
    with app.app_context():
        assert db.session.query(Patrol).count() == 1
        patrol = db.session.get(Patrol, pid)
        assert patrol.notes.startswith("映月路") and patrol.problem_count == 1
    again = ok(sync(client, world.device_token, world.ids["device"], [change("patrols", pid, full)]))
    assert again["results"][0]["status"] == "duplicate"
    edited = ok(sync(client, world.device_token, world.ids["device"], [change("patrols", pid, {"notes": "改"})]))
    assert edited["results"][0]["status"] == "conflict" and edited["results"][0]["reason"] == "append_only"


def test_incident_edit_pointing_at_unknown_rows_is_rejected_not_409(client, world):
    iid = new_id()
    ok(sync(client, world.device_token, world.ids["device"], [change("incidents", iid, _incident(world))]))
    body = ok(sync(client, world.device_token, world.ids["device"], [
        change("incidents", iid, {"patrol_id": new_id()}), change("incidents", iid, {"category_id": 999}),
        change("incidents", iid, {"description": "仍然有效"})]))
    assert [r["status"] for r in body["results"]] == ["rejected", "rejected", "applied"]


def test_plain_edits_and_deletes_persist_with_new_versions(app, client, world):
    """On PostgreSQL plain edits go out as one UPDATE per table; check they really land, with versions."""
    from core.db import db
    from core.models import Incident, Patrol, Site
    iid, pid, sid, gone = new_id(), new_id(), new_id(), new_id()
    ok(sync(client, world.device_token, world.ids["device"], [
        change("incidents", iid, _incident(world)), change("patrols", pid, patrol_fields(world.ids["g11"])),
        change("patrols", gone, patrol_fields(world.ids["g11"])),
        change("sites", sid, {"area_id": world.ids["g11"], "address": "白马路9号"})]))
    with app.app_context():
        before = {m: db.session.get(m, k).version for m, k in ((Incident, iid), (Patrol, pid), (Site, sid))}
    body = ok(sync(client, world.device_token, world.ids["device"], [
        change("incidents", iid, {"description": "已核实", "latitude": 39.91}),
        change("patrols", pid, {"notes": "一", "checkpoints": [{"lat": 1.5}]}),
        change("patrols", pid, {"problem_count": 2}),
        change("sites", sid, {"stove_count": 3}), change("patrols", gone, op="delete")]))
    assert [r["status"] for r in body["results"]] == ["applied"] * 5
    with app.app_context():
        incident, patrol, site = db.session.get(Incident, iid), db.session.get(Patrol, pid), db.session.get(Site, sid)
        assert (incident.description, incident.latitude) == ("已核实", 39.91)
        assert (patrol.notes, patrol.checkpoints, patrol.problem_count) == ("一", [{"lat": 1.5}], 2)
        assert site.stove_count == 3 and db.session.get(Patrol, gone).deleted_at is not None
        assert incident.version > before[Incident] and patrol.version > before[Patrol] and site.version > before[Site]
        assert patrol.sync_origin == world.ids["device"] and "notes" in patrol.field_clocks
        assert body["results"][0]["record"]["description"] == "已核实"
        assert body["results"][0]["version"] == incident.version
