"""PostgreSQL: pulls are gap-free while writers commit out of version order.

Versions are handed out when a transaction writes, but transactions commit in any order; a puller that
moved its cursor past a version whose transaction was still open would skip it forever. These tests hold
a slow writer open while others commit and pullers read, and check that every applied change reaches
every puller in scope exactly once.
"""
import threading
import time

import pytest

from tests.conftest import make_app, reset_database
from tests.support.factories import build_world
from tests.support.sync_helpers import change, new_id, ok, patrol_fields, sync


@pytest.fixture
def pg(postgres_url, tmp_path):
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Member
    app = make_app(postgres_url, tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 10})
    with app.app_context():
        reset_database(db)
        world = build_world(db.session)
        devices = {}
        for key in ("patroller", "patroller", "patroller", "g11_leader", "c1_leader", "sub_leader"):
            device, token = register_device(db.session, db.session.get(Member, world.ids[key]))
            devices.setdefault(key, []).append((device.id, token))
        db.session.commit()
    yield app, world, devices
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _slow_site(app, area_id, opened: threading.Event, release: threading.Event, out: dict):
    """Writes a site, so its transaction holds a low version, then waits before committing."""
    from sqlalchemy.orm import Session
    from core.db import db
    from core.models import Site
    with app.app_context():
        with Session(db.engine) as session:
            site = Site(id=new_id(), area_id=area_id, address="慢写入")
            session.add(site)
            session.flush()
            out["id"], out["version"] = site.id, site.version
            opened.set()
            release.wait(30)
            session.commit()


def test_slow_writer_holds_back_the_horizon(pg):
    app, world, devices = pg
    client = app.test_client()
    (writer, writer_token), = devices["patroller"][:1]
    (puller, puller_token), = devices["g11_leader"]
    opened, release, slow = threading.Event(), threading.Event(), {}
    thread = threading.Thread(target=_slow_site, args=(app, world.ids["g11"], opened, release, slow))
    thread.start()
    assert opened.wait(10)
    fast = new_id()
    ok(sync(client, writer_token, writer, [change("patrols", fast, patrol_fields(world.ids["g11"]))]))
    body = ok(sync(client, puller_token, puller))
    ids = {c["id"] for c in body["changes"]}
    assert fast not in ids and slow["id"] not in ids  # the fast commit waits behind the open slow writer
    cursor = body["cursor"]
    release.set()
    thread.join(10)
    body = ok(sync(client, puller_token, puller, cursor=cursor))
    versions = {c["id"]: c["version"] for c in body["changes"]}
    assert fast in versions and slow["id"] in versions
    assert versions[slow["id"]] == slow["version"] < versions[fast]


def test_concurrent_writers_and_pullers_see_every_change_exactly_once(pg):
    app, world, devices = pg
    writers = devices["patroller"]
    pullers = devices["g11_leader"] + devices["c1_leader"] + devices["sub_leader"]
    applied: list[str] = []
    seen = {device: [] for device, _ in pullers}
    done = threading.Event()
    errors: list = []
    lock = threading.Lock()

    def write(device_id, token, rounds=8):
        client = app.test_client()
        try:
            for n in range(rounds):
                batch = [change("patrols", new_id(), patrol_fields(world.ids["g11"], notes=f"{device_id[:4]}-{n}"))
                         for _ in range(15)]
                body = ok(sync(client, token, device_id, batch))
                with lock:
                    applied.extend(c["id"] for c, r in zip(batch, body["results"]) if r["status"] == "applied")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def slow_writer():
        for _ in range(3):
            opened, release, out = threading.Event(), threading.Event(), {}
            thread = threading.Thread(target=_slow_site, args=(app, world.ids["g11"], opened, release, out))
            thread.start()
            opened.wait(10)
            time.sleep(0.3)
            release.set()
            thread.join(10)
            with lock:
                applied.append(out["id"])

    def pull(device_id, token):
        client = app.test_client()
        cursor = None
        try:
            while True:
                finished = done.is_set()
                body = ok(sync(client, token, device_id, cursor=cursor, limit=40))
                seen[device_id].extend(c["id"] for c in body["changes"] if c["collection"] in ("patrols", "sites"))
                cursor = body["cursor"]
                if finished and not body["has_more"]:
                    return
                time.sleep(0.01)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=w) for w in writers] + [threading.Thread(target=slow_writer)]
    readers = [threading.Thread(target=pull, args=p) for p in pullers]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join(60)
    done.set()
    for t in readers:
        t.join(60)
    assert not errors, errors
    assert len(applied) == len(writers) * 8 * 15 + 3
    for device_id, ids in seen.items():
        assert sorted(ids) == sorted(applied), f"{device_id}: missing {len(set(applied) - set(ids))}, " \
                                               f"duplicates {len(ids) - len(set(ids))}"


def test_same_new_record_pushed_concurrently_never_duplicates_or_500s(pg):
    app, world, devices = pg
    from core.db import db
    from core.models import Site
    record = new_id()
    statuses, barrier = [], threading.Barrier(3)

    def push(device_id, token):
        client = app.test_client()
        barrier.wait(10)
        for _ in range(5):  # a device retries 409 (concurrent create) like the reference client does
            response = sync(client, token, device_id, [change("sites", record, {"area_id": world.ids["g11"],
                                                                               "address": f"{device_id[:4]}号"})])
            statuses.append(response.status_code)
            if response.status_code == 200:
                return response.get_json()["results"][0]["status"]

    results = []
    threads = [threading.Thread(target=lambda d=d: results.append(push(*d)))
               for d in devices["patroller"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert set(statuses) <= {200, 409} and 500 not in statuses
    assert sorted(results).count("applied") >= 1 and None not in results
    with app.app_context():
        assert db.session.query(Site).filter_by(id=record).count() == 1
