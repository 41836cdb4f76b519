"""Scope changes, resets, limits, gzip and every error the sync endpoint can answer."""
import gzip
import json
from datetime import timedelta
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import bearer
from tests.support.sync_helpers import change, new_id, ok, patrol_fields, pull_all, sync

# Both databases: the push and pull paths differ per database (COPY, row locks, the visibility horizon).
pytestmark = pytest.mark.both_databases


def _move_patroller(app, world, to_area):
    from core.db import db
    from core.models import Assignment
    with app.app_context():
        assignment = db.session.query(Assignment).filter_by(member_id=world.ids["patroller"]).one()
        assignment.area_id = world.ids[to_area]
        db.session.commit()


def test_member_moved_to_another_grid_gets_removed_and_new_records(app, client, world):
    old_patrol, new_patrol = new_id(), new_id()
    ok(sync(client, world.device2_token, world.ids["device2"], [change("patrols", new_patrol,
                                                                       patrol_fields(world.ids["g21"]))]))
    body = ok(sync(client, world.device_token, world.ids["device"], [change("patrols", old_patrol,
                                                                           patrol_fields(world.ids["g11"]))]))
    _, cursor = pull_all(client, world.device_token, world.ids["device"], body["cursor"])
    _move_patroller(app, world, "g21")
    moved = ok(sync(client, world.device_token, world.ids["device"], cursor=cursor))
    removed = {(r["collection"], r["id"]) for r in moved["removed"]}
    assert ("patrols", old_patrol) in removed and ("areas", str(world.ids["g11"])) in removed
    got = {(c["collection"], c["id"]) for c in moved["changes"]}
    assert ("patrols", new_patrol) in got and ("areas", str(world.ids["g21"])) in got
    # a retry of the same request (response lost) still gets the removed list
    retry = ok(sync(client, world.device_token, world.ids["device"], cursor=cursor))
    assert {(r["collection"], r["id"]) for r in retry["removed"]} == removed
    # and with the new cursor nothing more is removed
    after = ok(sync(client, world.device_token, world.ids["device"], cursor=moved["cursor"]))
    assert after["removed"] == []


def test_cursor_from_another_epoch_or_before_purge_requires_reset(app, client, world):
    from core.db import db
    from core.models import utcnow
    from sync.admin import new_epoch, purge_tombstones
    pid = new_id()
    body = ok(sync(client, world.device_token, world.ids["device"], [change("patrols", pid,
                                                                           patrol_fields(world.ids["g11"]))]))
    old_cursor = body["cursor"]
    ok(sync(client, world.device_token, world.ids["device"], [change("patrols", pid, op="delete")],
            cursor=old_cursor))
    with app.app_context():
        counts = purge_tombstones(db.session, utcnow() + timedelta(seconds=1))
        db.session.commit()
    assert counts["patrols"] == 1 and counts["purge_horizon"] > 0
    stale = ok(sync(client, world.device_token, world.ids["device"], cursor=old_cursor))
    assert stale["reset_required"] is True and stale["reset_reason"] == "cursor_older_than_purge"
    fresh, cursor = pull_all(client, world.device_token, world.ids["device"])
    assert ("patrols", pid) not in fresh
    with app.app_context():
        new_epoch(db.session)
        db.session.commit()
    other = ok(sync(client, world.device_token, world.ids["device"], cursor=cursor))
    assert other["reset_required"] is True and other["reset_reason"] == "epoch_changed"


def _error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error", "message", "details"}
    if code:
        assert body["error"] == code
    return body


def test_errors_use_the_json_shape(client, world):
    url, token, device = "/api/v1/sync", world.device_token, world.ids["device"]
    _error(client.post(url, json={}), 401, "missing_token")
    _error(client.post(url, json={}, headers=bearer("gpd_nonsense")), 401, "bad_token")
    _error(client.post(url, json={}, headers=bearer(world.tokens["admin"])), 403, "wrong_token_kind")
    _error(sync(client, token, world.ids["device2"]), 403, "device_mismatch")
    _error(client.post(url, data=b"{not json", headers={**bearer(token), "Content-Type": "application/json"}),
           400, "invalid_json")
    body = _error(sync(client, token, device, schema_version=99), 400, "unsupported_schema_version")
    assert body["details"]["supported"] == {"min": 1, "max": 1}
    body = _error(sync(client, token, device, [{"op_id": "1", "collection": "spaceships", "id": new_id(),
                                                "op": "put", "fields": {}, "hlc": "1-0-d"}]), 422)
    assert "collection" in body["details"]["changes"]["0"]
    _error(sync(client, token, device, limit="many"), 422)
    _error(sync(client, token, device, cursor="garbage!!"), 400, "invalid_cursor")
    _error(client.post(url, data=b"xx", headers={**bearer(token), "Content-Encoding": "gzip"}), 400, "bad_encoding")
    _error(client.post(url, data=b"{}", headers={**bearer(token), "Content-Encoding": "br"}), 415)


def test_revoked_device_token_is_refused(app, client, world):
    from core.db import db
    from core.models import Device, utcnow
    with app.app_context():
        db.session.get(Device, world.ids["device"]).revoked_at = utcnow()
        db.session.commit()
    _error(sync(client, world.device_token, world.ids["device"]), 401, "bad_token")


def test_limits_413(client, world):
    token, device = world.device_token, world.ids["device"]
    many = [change("patrols", new_id(), patrol_fields(world.ids["g11"])) for _ in range(1001)]
    body = _error(sync(client, token, device, many), 413, "payload_too_large")
    assert body["details"]["max_changes"] == 1000
    bomb = gzip.compress(b'{"device_id": "' + b" " * (3 * 1024 * 1024) + b'"}')
    assert len(bomb) < 10_000
    _error(client.post("/api/v1/sync", data=bomb, headers={**bearer(token), "Content-Encoding": "gzip"}), 413)
    raw = b'{"device_id": "' + b"x" * (2 * 1024 * 1024 + 10) + b'"}'
    _error(client.post("/api/v1/sync", data=raw, headers={**bearer(token), "Content-Type": "application/json"}), 413)


def test_gzip_both_ways_and_pagination(client, world):
    token = world.device2_token
    ids = [new_id() for _ in range(30)]
    ok(sync(client, world.device_token, world.ids["device"],
            [change("sites", i, {"area_id": world.ids["g11"], "address": f"映月路{n}号"}) for n, i in enumerate(ids)],
            gzip_request=True))
    # a community leader's device sees the whole community, page by page
    from core.db import db
    from core.domain.tokens import register_device
    from core.models import Member
    with client.application.app_context():
        leader_device, leader_token = register_device(db.session, db.session.get(Member, world.ids["c1_leader"]))
        leader_id = leader_device.id
        db.session.commit()
    cursor, seen, pages = None, [], 0
    while True:
        body = {"device_id": leader_id, "schema_version": 1, "cursor": cursor, "limit": 7, "changes": []}
        response = client.post("/api/v1/sync", data=gzip.compress(json.dumps(body).encode()),
                               headers={**bearer(leader_token), "Content-Encoding": "gzip",
                                        "Accept-Encoding": "gzip"})
        assert response.status_code == 200
        if response.headers.get("Content-Encoding") == "gzip":
            page = json.loads(gzip.decompress(response.get_data()))
        else:
            page = response.get_json()
        assert len(page["changes"]) <= 7
        versions = [c["version"] for c in page["changes"]]
        assert versions == sorted(versions)
        seen += [c["id"] for c in page["changes"] if c["collection"] == "sites"]
        pages += 1
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert sorted(seen) == sorted(ids) and pages > 4
    assert token  # device2 (other community) is covered by scope tests


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=4), max_leaves=12)
change_like = st.fixed_dictionaries({}, optional={
    "op_id": st.text(max_size=70) | json_values, "collection": st.sampled_from(["patrols", "incidents", "sites",
                                                                              "incident_events", "areas", "x"]),
    "id": st.uuids().map(str) | json_values, "op": st.sampled_from(["put", "delete", "nope"]),
    "fields": st.dictionaries(st.sampled_from(["area_id", "status", "started_at", "notes", "incident_id",
                                               "category_id", "address", "kind", "note", "zzz"]), json_values,
                              max_size=5) | json_values,
    "hlc": st.sampled_from(["18c3b1a2f00-0-d1", "zz-0-d", "1-1-", "-1-0-x"]) | json_values})


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=json_values | st.fixed_dictionaries(
    {"device_id": st.just("DEVICE"), "schema_version": st.just(1) | json_values},
    optional={"cursor": st.none() | st.text(max_size=20) | json_values, "limit": st.integers() | json_values,
              "changes": st.lists(change_like, max_size=4) | json_values}))
def test_fuzz_never_500(fuzz_world, body):
    client, token, device = fuzz_world
    if isinstance(body, dict) and body.get("device_id") == "DEVICE":
        body["device_id"] = device
    response = client.post("/api/v1/sync", data=json.dumps(body), headers={**bearer(token),
                                                                           "Content-Type": "application/json"})
    assert response.status_code < 500, response.get_data(as_text=True)
    assert "error" in response.get_json() or "results" in response.get_json()


@pytest.fixture
def fuzz_world(client, world):
    return client, world.device_token, world.ids["device"]


def test_values_the_database_cannot_hold_are_rejected_not_500(client, world):
    token, device = world.device_token, world.ids["device"]
    body = ok(sync(client, token, device, [
        change("patrols", new_id(), patrol_fields(10**30)),
        change("patrols", new_id(), patrol_fields(world.ids["g11"], notes="a\x00b")),
        change("sites", new_id(), {"area_id": world.ids["g11"], "address": "x", "stove_count": 2**70}),
    ]))
    assert [r["status"] for r in body["results"]] == ["rejected"] * 3
    _error(sync(client, token, device, [change("patrols", new_id(), patrol_fields(world.ids["g11"]),
                                               op_id="a\x00")]), 422)
    _error(sync(client, token, device, [change("patrols", new_id(), patrol_fields(world.ids["g11"]),
                                               clock="1-0-d\x00")]), 422)


def test_pulled_records_read_exactly_like_results_records(app, client, world):
    """PostgreSQL builds pulled JSON in SQL; it must match what the Python side sends in results."""
    from datetime import date, datetime, timezone
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Incident, IncidentEvent, Member, Patrol, Site
    from sync.collections import COLLECTIONS, to_wire
    ids = {}
    with app.app_context():
        patrol = Patrol(id=new_id(), member_id=world.ids["patroller"], area_id=world.ids["g11"],
                        started_at=datetime(2026, 11, 20, 1, 2, 3, 450000, tzinfo=timezone.utc),
                        checkpoints=[{"lat": 39.9051234, "lng": 116.1, "note": "映月路"}], notes="夜查\n\"引号\"")
        site = Site(id=new_id(), area_id=world.ids["g11"], address="白马路", latitude=39.5, longitude=-0.000123,
                    last_inspected_at=datetime(2026, 1, 2, 3, 4, 5, 123, tzinfo=timezone.utc))
        db.session.add_all([patrol, site])
        db.session.flush()
        incident = Incident(id=new_id(), ticket="990001", category_id=1, area_id=world.ids["g11"],
                            responsible_area_id=world.ids["c1"], handling_class="committed",
                            promised_date=date(2026, 12, 1), description="工地", patrol_id=patrol.id, flagged=True)
        db.session.add(incident)
        db.session.flush()
        db.session.add(IncidentEvent(id=new_id(), incident_id=incident.id, kind="note", note="好",
                                     data={"a": [1, None]}))
        db.session.commit()
        for model, name in ((Patrol, "patrols"), (Site, "sites"), (Incident, "incidents"),
                            (IncidentEvent, "incident_events")):
            for obj in db.session.query(model):
                ids[(name, obj.id)] = json.loads(json.dumps(to_wire(COLLECTIONS[name], obj), ensure_ascii=False))
        device, token = register_device(db.session, db.session.get(Member, world.ids["c1_leader"]))
        device_id = device.id
        db.session.commit()
    seen, _ = pull_all(client, token, device_id)
    for key, expected in ids.items():
        assert seen[key]["fields"] == expected, key


def test_record_ids_must_be_canonical_lowercase_uuids(client, world):
    upper = new_id().upper()
    body = _error(sync(client, world.device_token, world.ids["device"],
                       [change("patrols", upper, patrol_fields(world.ids["g11"]))]), 422)
    assert "id" in body["details"]["changes"]["0"]
