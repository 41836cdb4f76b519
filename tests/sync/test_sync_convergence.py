"""Property: whatever order, duplication and batching the same changes arrive in, the server ends in one
state; replaying a request changes nothing; devices converge to the server.

Each example builds two identical copies of a few records and delivers the same edits to each copy in
two different schedules, so no database reset is needed between examples. Edits are field edits and
deletes from three devices with fixed clocks; a record's creation precedes its edits (a device cannot
edit what it has not created or pulled). Status transitions are left out on purpose: there the state
machine beats clocks (tests/sync/test_sync_basic.py covers that rule).
"""
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support.sync_helpers import new_id, ok, sync

pytestmark = pytest.mark.both_databases  # convergence under concurrency, whose guards differ per database

DEVICES = ("patroller", "g11_leader", "c1_leader")
EDITABLE = {
    "patrols": {"notes": st.sampled_from(["", "a", "映月", "zz"]), "problem_count": st.integers(0, 3),
                "outcome": st.sampled_from(["all_clear", "problems_found"])},
    "sites": {"notes": st.sampled_from(["", "b", "已改电"]), "stove_count": st.integers(0, 4),
              "status": st.sampled_from(["identified", "rectified_gas", "cleared"])},
    "incidents": {"description": st.sampled_from(["", "烧煤", "dust"]), "location_text": st.sampled_from(["", "12号"])},
}
SLOTS = [("patrols", 0), ("patrols", 1), ("sites", 0), ("incidents", 0)]


def _edit():
    return st.sampled_from(SLOTS).flatmap(lambda slot: st.tuples(
        st.just(slot), st.sampled_from(DEVICES), st.integers(1, 40), st.booleans().map(lambda d: False),
        st.fixed_dictionaries({}, optional=EDITABLE[slot[0]]).filter(bool)))


edits_strategy = st.lists(st.one_of(
    _edit(),
    st.tuples(st.sampled_from(SLOTS[1:]), st.just("c1_leader"), st.integers(1, 40), st.just(True), st.just({})),
    # an event is created once by one device (its id is a fresh UUID); retries resend that same body
    st.tuples(st.just(("incident_events", 0)), st.just("patroller"), st.just(7), st.just(False),
              st.just({"kind": "note", "note": "甲"})),
), min_size=1, max_size=14)


def _setup(client, world, tokens, copy):
    """Create the records of one copy from the patroller's device; return slot -> id."""
    ids = {slot: new_id() for slot in SLOTS}
    ids[("incident_events", 0)] = new_id()
    g11 = world.ids["g11"]
    creates = [
        {"collection": "patrols", "id": ids[("patrols", 0)],
         "fields": {"area_id": g11, "started_at": "2026-11-20T01:00:00Z"}},
        {"collection": "patrols", "id": ids[("patrols", 1)],
         "fields": {"area_id": g11, "started_at": "2026-11-20T02:00:00Z"}},
        {"collection": "sites", "id": ids[("sites", 0)], "fields": {"area_id": g11, "address": "映月路1号"}},
        {"collection": "incidents", "id": ids[("incidents", 0)], "fields": {"area_id": g11, "category_id": 5}},
    ]
    changes = [{**c, "op": "put", "op_id": f"c{copy}-{n}-{c['id'][:8]}", "hlc": "10-0-setup"}
               for n, c in enumerate(creates)]
    body = ok(sync(client, *tokens["patroller"], changes, limit=1))
    assert all(r["status"] == "applied" for r in body["results"])
    return ids


def _op(ids, edit, index, copy):
    (collection, slot), device, ms, is_delete, fields = edit
    record_id = ids[(collection, slot)]
    if collection == "incident_events":
        fields = {**fields, "incident_id": ids[("incidents", 0)]}
    # op ids are per device and remembered forever: make them unique across hypothesis examples too
    return device, {"op_id": f"e{copy}-{index}-{ids[SLOTS[0]][:13]}", "collection": collection, "id": record_id,
                    "op": "delete" if is_delete else "put", "fields": fields, "hlc": f"{ms * 1000:x}-0-{device}"}


def _state(app, ids):
    from core.db import db
    from sync.collections import COLLECTIONS, to_wire
    out = {}
    with app.app_context():
        for (collection, slot), record_id in ids.items():
            obj = db.session.get(COLLECTIONS[collection].model, record_id)
            if obj is None:
                out[(collection, slot)] = None
                continue
            if obj.deleted_at is not None:  # a tombstone's last field values are never sent to anyone
                out[(collection, slot)] = "deleted"
                continue
            fields = to_wire(COLLECTIONS[collection], obj)
            for volatile in ("ticket", "incident_id", "deadline", "reported_at", "at"):
                fields.pop(volatile, None)
            out[(collection, slot)] = fields
            out[(collection, slot, "clocks")] = obj.field_clocks
        db.session.remove()
    return out


def _versions(app, ids):
    from core.db import db
    from sync.collections import COLLECTIONS
    with app.app_context():
        found = {key: getattr(db.session.get(COLLECTIONS[key[0]].model, rid), "version", None)
                 for key, rid in ids.items()}
        db.session.remove()
        return found


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=edits_strategy, data=st.data())
def test_any_order_duplication_and_batching_converges(conv, edits, data):
    app, client, world, tokens = conv
    schedules = []
    for copy in (1, 2):
        ids = _setup(client, world, tokens, copy)
        ops = [_op(ids, edit, n, copy) for n, edit in enumerate(edits)]
        order = data.draw(st.permutations(range(len(ops))), label=f"order{copy}")
        dupes = data.draw(st.lists(st.integers(0, len(ops) - 1), max_size=4), label=f"dupes{copy}")
        delivery = [ops[i] for i in order] + [ops[i] for i in dupes]
        sent = []
        while delivery:
            size = data.draw(st.integers(1, 4), label="batch")
            batch, delivery = delivery[:size], delivery[size:]
            by_device = {}
            for device, change in batch:
                by_device.setdefault(device, []).append(change)
            for device, changes in by_device.items():
                body = ok(sync(client, *tokens[device], changes, limit=1))
                sent.append((device, changes, body["results"]))
        schedules.append((ids, sent))
    (ids1, sent1), (ids2, _) = schedules
    state1, state2 = _state(app, ids1), _state(app, ids2)
    assert {k: v for k, v in state1.items()} == {k: v for k, v in state2.items()}
    # replaying any request changes nothing and answers the same
    before = _versions(app, ids1)
    device, changes, results = sent1[data.draw(st.integers(0, len(sent1) - 1), label="replay")]
    assert ok(sync(client, *tokens[device], changes, limit=1))["results"] == results
    assert _versions(app, ids1) == before and _state(app, ids1) == state1


def test_devices_converge_with_flaky_network(conv):
    """Three reference clients edit the same records offline; responses get lost; all end equal."""
    import random
    from sync.device.client import DeviceClient, FlaskTransport, TransportError
    app, client, world, tokens = conv

    class Flaky(FlaskTransport):
        def post(self, body):
            status, payload = super().post(body)
            if rng.random() < 0.3:
                raise TransportError("response lost")  # the server did the work; the device does not know
            return status, payload

    rng = random.Random(7)
    devices = {name: DeviceClient(":memory:", Flaky(client, tokens[name][0]), device_id=tokens[name][1],
                                  batch_size=3, sleep=lambda s: None, max_attempts=20) for name in DEVICES}
    for device in devices.values():
        device.sync()
    site = devices["patroller"].put("sites", area_id=world.ids["g11"], address="白马路2号")
    patrol = devices["patroller"].put("patrols", area_id=world.ids["g11"], started_at="2026-11-20T01:00:00Z")
    devices["patroller"].sync()
    for device in devices.values():
        device.sync()
    for round_ in range(6):
        for name, device in devices.items():
            device.put("sites", site, notes=f"{name}-{round_}", stove_count=rng.randint(0, 5))
            if name == "patroller":
                device.put("patrols", patrol, notes=f"round {round_}")
        order = list(devices.values())
        rng.shuffle(order)
        for device in order[: rng.randint(1, 3)]:
            device.sync()
    for _ in range(2):
        for device in devices.values():
            device.sync()
    from core.db import db
    from core.models import Patrol, Site
    from sync.collections import COLLECTIONS, to_wire
    with app.app_context():
        server_site = to_wire(COLLECTIONS["sites"], db.session.get(Site, site))
        server_patrol = to_wire(COLLECTIONS["patrols"], db.session.get(Patrol, patrol))
    for name, device in devices.items():
        assert device.pending() == 0
        assert device.get("sites", site) == json.loads(json.dumps(server_site)), name
        assert device.get("patrols", patrol)["notes"] == server_patrol["notes"] == "round 5", name


import pytest  # noqa: E402


@pytest.fixture
def conv(app, client, world):
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Member
    tokens = {}
    with app.app_context():
        for name in DEVICES:
            device, token = register_device(db.session, db.session.get(Member, world.ids[name]))
            tokens[name] = (token, device.id)
        db.session.commit()
    from types import SimpleNamespace
    return app, client, SimpleNamespace(ids=dict(world.ids)), tokens
