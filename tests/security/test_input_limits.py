"""Threat: input that breaks more than itself — NaN and huge numbers through sync (holes 7, 8), deadlines
moved to year 9999 (hole 9), JSON nested 100,000 deep (hole 11). Never a 500; one bad change never fails
the others; valid data is kept."""
from __future__ import annotations

import json
import pytest

from tests.support.api_helpers import as_, assert_error
from tests.conftest import bearer
from tests.support.sync_helpers import hlc, new_id, ok, patrol_fields

pytestmark = pytest.mark.both_databases  # out-of-range numbers, times and characters fail differently in each database


def _raw_sync(client, token, device_id, changes_json: str):
    """A device's push as raw JSON text (NaN, 1e400 are not what json.dumps writes by default)."""
    body = '{"device_id": "%s", "schema_version": 1, "cursor": null, "changes": [%s]}' % (device_id, changes_json)
    return client.post("/api/v1/sync", data=body.encode(),
                       headers={**bearer(token), "Content-Type": "application/json"})


def _change_json(collection, record_id, fields_json: str) -> str:
    return ('{"op_id": "%s", "collection": "%s", "id": "%s", "op": "put", "hlc": "%s", "fields": %s}'
            % (new_id(), collection, record_id, hlc(), fields_json))


def _good_patrol(world) -> str:
    return _change_json("patrols", new_id(), json.dumps(patrol_fields(world.ids["g11"])))


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_latitude_is_that_changes_rejection(app, client, world, bad):
    """Hole 7/8: "latitude": NaN was stored (every later GET /sites page was invalid JSON); 1e400 failed the batch."""
    site = _change_json("sites", new_id(), '{"area_id": %d, "address": "映月路1号", "latitude": %s}'
                        % (world.ids["g11"], bad))
    response = _raw_sync(client, world.device_token, world.ids["device"], ",".join([site, _good_patrol(world)]))
    body = ok(response)
    assert [r["status"] for r in body["results"]] == ["rejected", "applied"]
    assert "latitude" in body["results"][0]["errors"]
    listing = as_(client, world, "admin").get("/sites")
    assert listing.status_code == 200 and json.loads(listing.get_data(as_text=True))["total"] == 0


def test_nan_in_checkpoints_is_rejected_not_a_503_forever(app, client, world):
    """Hole 8: NaN inside checkpoints gave 503 on every retry, so the good changes never landed."""
    bad = _change_json("patrols", new_id(), '{"area_id": %d, "started_at": "2026-11-20T01:00:00Z", '
                       '"checkpoints": [{"lat": NaN, "at": "x"}]}' % world.ids["g11"])
    for _ in range(2):  # and its retry
        body = ok(_raw_sync(client, world.device_token, world.ids["device"], ",".join([bad, _good_patrol(world)])))
        assert [r["status"] for r in body["results"]][0] == "rejected"
    assert as_(client, world, "admin").get("/patrols").get_json()["total"] == 2


def test_end_of_time_reported_at_is_rejected_alone(app, client, world):
    """Hole 8: reported_at 9999-12-31T23:00 gave a 422 for the whole request."""
    incident = _change_json("incidents", new_id(), json.dumps({"category_id": 1, "area_id": world.ids["g11"],
                                                               "reported_at": "9999-12-31T23:00:00+00:00"}))
    body = ok(_raw_sync(client, world.device_token, world.ids["device"], ",".join([incident, _good_patrol(world)])))
    assert [r["status"] for r in body["results"]] == ["rejected", "applied"]


def test_patroller_may_not_move_her_own_deadline(app, client, world):
    """Hole 9: a patroller's PATCH put the deadline in year 9999."""
    created = as_(client, world, "patroller").post("/incidents", {"category": "coal", "area": "HD03-1-1"})
    ticket = created.get_json()["ticket"]
    response = as_(client, world, "patroller").patch(f"/incidents/{ticket}", {"handling_class": "committed",
                                                                              "promised_date": "9999-12-30"})
    assert_error(response, 403, "role_not_permitted")
    leader = as_(client, world, "c1_leader")
    assert_error(leader.patch(f"/incidents/{ticket}", {"handling_class": "committed", "promised_date": "9999-12-30"}),
                 422)
    assert as_(client, world, "admin").get(f"/incidents/{ticket}").get_json()["handling_class"] == "reported"


def test_promise_limit_is_configurable(app, client, world):
    from datetime import date, timedelta
    app.config["MAX_PROMISE_DAYS"] = 3
    leader = as_(client, world, "c1_leader")
    ticket = leader.post("/incidents", {"category": "coal", "area": "HD03-1-1"}).get_json()["ticket"]
    far = (date.today() + timedelta(days=6)).isoformat()
    assert_error(leader.patch(f"/incidents/{ticket}", {"handling_class": "committed", "promised_date": far}), 422)


def test_device_cannot_rewrite_reported_at_or_handling(app, client, world):
    """Hole 9: by sync a device rewrote reported_at, handling_class and promised_date with no event or audit."""
    record_id = new_id()
    ok(_raw_sync(client, world.device_token, world.ids["device"],
                 _change_json("incidents", record_id, json.dumps({"category_id": 1, "area_id": world.ids["g11"]}))))
    admin = as_(client, world, "admin")
    before = admin.get(f"/incidents/{record_id}").get_json()
    body = ok(_raw_sync(client, world.device_token, world.ids["device"],
                        _change_json("incidents", record_id, json.dumps({"reported_at": "2020-01-01T00:00:00+00:00"}))))
    # reported_at is fixed: the device's value loses and the device is told (the rest of a change would merge)
    assert body["results"][0]["status"] == "merged" and "reported_at" in body["results"][0]["lost_fields"]
    body = ok(_raw_sync(client, world.device_token, world.ids["device"], _change_json(
        "incidents", record_id, json.dumps({"handling_class": "committed", "promised_date": "9999-12-30"}))))
    assert body["results"][0]["status"] == "rejected", body["results"]
    after = admin.get(f"/incidents/{record_id}").get_json()
    for key in ("reported_at", "handling_class", "promised_date", "deadline"):
        assert after[key] == before[key]


def test_leader_device_handling_change_writes_an_event_and_a_new_deadline(app, client, world):
    from datetime import date, timedelta
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Member
    with app.app_context():
        device, token = register_device(db.session, db.session.get(Member, world.ids["c1_leader"]), name="组长手机")
        db.session.commit()
        device_id = device.id
    record_id = new_id()
    ok(_raw_sync(client, token, device_id,
                 _change_json("incidents", record_id, json.dumps({"category_id": 1, "area_id": world.ids["g11"]}))))
    admin = as_(client, world, "admin")
    before = admin.get(f"/incidents/{record_id}").get_json()
    promised = (date.today() + timedelta(days=7)).isoformat()
    body = ok(_raw_sync(client, token, device_id, _change_json("incidents", record_id, json.dumps(
        {"handling_class": "committed", "promised_date": promised}))))
    assert body["results"][0]["status"] == "applied", body["results"]
    after = admin.get(f"/incidents/{record_id}").get_json()
    assert after["handling_class"] == "committed" and after["deadline"] != before["deadline"]
    assert len(after["events"]) == len(before["events"]) + 1
    assert after["events"][-1]["data"]["changes"]["promised_date"]["to"] == promised
    from tests.security.helpers import audit_entries
    assert audit_entries(app, "incident.update")[-1]["fields"] == ["handling_class", "promised_date"]


@pytest.mark.parametrize("path,token_kind", [("/api/v1/areas", None), ("/api/v1/areas", "admin"),
                                             ("/api/v1/sync", "device"), ("/api/v1/auth/login", None)])
def test_deeply_nested_json_is_a_400(app, client, world, path, token_kind):
    """Hole 11: `[` × 100,000 gave a 500 (RecursionError), even without a token."""
    headers = {"Content-Type": "application/json"}
    if token_kind == "admin":
        headers.update(bearer(world.tokens["admin"]))
    elif token_kind == "device":
        headers.update(bearer(world.device_token))
    response = client.post(path, data=b"[" * 100_000, headers=headers)
    assert response.status_code in (400, 401), response.get_data(as_text=True)[:200]
    assert_error(response, response.status_code)


def test_unpaired_surrogates_are_refused_not_a_failed_batch(app, client, world):
    r"""A lone "\ud800" is valid JSON but not UTF-8: PostgreSQL's driver would fail the whole batch on it."""
    site = _change_json("sites", new_id(), '{"area_id": %d, "address": "映月路\\ud800号"}' % world.ids["g11"])
    body = ok(_raw_sync(client, world.device_token, world.ids["device"], ",".join([site, _good_patrol(world)])))
    assert [r["status"] for r in body["results"]] == ["rejected", "applied"]
    response = client.post("/api/v1/incidents", data='{"category": "coal", "area": "HD03-1-1", '
                                                     '"description": "\\udfff"}'.encode(),
                           headers={**bearer(world.tokens["admin"]), "Content-Type": "application/json"})
    assert_error(response, 422)
