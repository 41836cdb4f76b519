"""Sync benchmark: the server under gunicorn on 127.0.0.1 with PostgreSQL, driven over HTTP.

    .venv/bin/python bench/sync_bench.py --database-url postgresql://postgres@127.0.0.1:5432/gp_sync_bench \
        --port 8350 --records 40000 --workers 4

Prints push records/s (new records, batches of 500, 8 concurrent devices), push records/s for updates where
20% of the records carry a field that loses to a newer server value, pull records/s (limit 5000), gzip bytes
on the wire per record up and down, and requests per 1000 records. Request bodies are built and gzipped
before the clock starts, so the figures are the server's (plus HTTP), not the Python client's.
Bounded: fixed record count, every request has a timeout, and gunicorn is stopped at the end.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests

# The server under test runs no periodic jobs: a benchmark measures requests, not background scans.
os.environ.setdefault("GRIDPATROL_WORKERS_EMBEDDED_TIMER", "false")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import fresh_postgres_schema  # noqa: E402

SCRATCH = tempfile.TemporaryDirectory(prefix="gp-sync-bench-")  # instance dirs; removed at exit

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def prepare_database(url: str, devices: int) -> dict:
    """Fresh schema, one community with a grid per device, a patroller and device per grid, and a
    sub-district leader device that pulls everything."""
    fresh_postgres_schema(url)
    from server import create_app
    from core.domain.areas import create_area
    from core.domain.catalogue import seed_categories
    from core.domain.tokens import register_device
    from core.db import db
    from core.models import Assignment, Member
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(Path(SCRATCH.name) / "setup")})
    out = {"devices": []}
    with app.app_context():
        db.create_all()
        session = db.session
        seed_categories(session)
        district = create_area(session, code="BD", name="基准区", kind="district")
        sub = create_area(session, code="BD01", name="基准街道", kind="subdistrict", parent_id=district.id)
        community = create_area(session, code="BD01-1", name="基准社区", kind="community", parent_id=sub.id)
        for n in range(devices):
            grid = create_area(session, code=f"BD01-1-{n + 1}", name=f"网格{n + 1}", kind="grid",
                               parent_id=community.id)
            member = Member(name=f"巡查员{n + 1}", phone=f"+861700001{n:04d}")
            member.assignments.append(Assignment(role="patroller", area_id=grid.id))
            session.add(member)
            session.flush()
            device, token = register_device(session, member)
            out["devices"].append({"id": device.id, "token": token, "area_id": grid.id})
        leader = Member(name="街道组长", phone="+8617000019999")
        leader.assignments.append(Assignment(role="subdistrict_leader", area_id=sub.id))
        session.add(leader)
        session.flush()
        device, token = register_device(session, leader)
        out["leader"] = {"id": device.id, "token": token}
        device, token = register_device(session, leader)
        out["puller"] = {"id": device.id, "token": token}
        session.commit()
        db.engine.dispose()
    return out


class Wire:
    def __init__(self, base_url: str, token: str):
        self.url = base_url + "/api/v1/sync"
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                  "Content-Encoding": "gzip", "Accept-Encoding": "gzip"})
        self.up = self.down = self.requests = 0

    def post(self, data: bytes) -> dict:
        response = self.http.post(self.url, data=data, timeout=120, stream=True)
        raw = response.raw.read(decode_content=False)
        self.up += len(data)
        self.down += len(raw)
        self.requests += 1
        if response.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {raw[:300]!r}")
        return json.loads(raw)


def body(device_id: str, changes: list, cursor=None, limit=500) -> bytes:
    doc = {"device_id": device_id, "schema_version": 1, "cursor": cursor, "limit": limit, "changes": changes}
    return gzip.compress(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(), 6)


def new_record(n: int, area_id: int, clock: str, rng: random.Random) -> dict:
    kind = rng.random()
    rid = str(uuid.uuid4())
    if kind < 0.70:
        fields = {"area_id": area_id, "started_at": "2026-11-20T01:00:00Z", "notes": f"巡查{n}",
                  "checkpoints": [{"lat": 39.9 + rng.random() / 100, "lng": 116.3 + rng.random() / 100}]}
        return {"op_id": f"{n:x}", "collection": "patrols", "id": rid, "op": "put", "fields": fields, "hlc": clock}
    if kind < 0.85:
        fields = {"area_id": area_id, "address": f"映月路{n}号", "kind": "coal_user", "stove_count": rng.randint(0, 3)}
        return {"op_id": f"{n:x}", "collection": "sites", "id": rid, "op": "put", "fields": fields, "hlc": clock}
    fields = {"area_id": area_id, "category_id": 5, "description": f"散煤{n}", "handling_class": "immediate",
              "status": "resolved"}
    return {"op_id": f"{n:x}", "collection": "incidents", "id": rid, "op": "put", "fields": fields, "hlc": clock}


UPDATABLE = {"patrols": ("notes", "problem_count"), "sites": ("notes", "stove_count"),
             "incidents": ("description", "location_text")}


def run_phase(wires, bodies_per_device, records: int) -> float:
    errors = []

    def work(wire, bodies):
        try:
            for data in bodies:
                wire.post(data)
        except Exception as exc:  # noqa: BLE001 - reported after the phase
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w, b)) for w, b in zip(wires, bodies_per_device)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return records / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/gp_sync_bench")
    parser.add_argument("--port", type=int, default=8350)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread when > 1)")
    parser.add_argument("--devices", type=int, default=8)
    parser.add_argument("--records", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    per_device = args.records // args.devices // args.batch * args.batch
    total = per_device * args.devices
    rng = random.Random(42)

    setup = prepare_database(args.database_url, args.devices)
    env = {**os.environ, "DATABASE_URL": args.database_url, "GRIDPATROL_INSTANCE": str(Path(SCRATCH.name) / "server"),
           "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers),
                               "--threads", str(args.threads), "-b",
                               f"127.0.0.1:{args.port}", "--timeout", "300", "server:create_app()"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(100):
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        devices = setup["devices"]
        wires = [Wire(base, d["token"]) for d in devices]
        cursors = [w.post(body(d["id"], [], None, 1))["cursor"] for w, d in zip(wires, devices)]
        for w in wires:
            w.up = w.down = w.requests = 0

        # phase 1: new records
        created, bodies = [], []
        now_ms = int(time.time() * 1000)
        for index, device in enumerate(devices):
            records = [new_record(n, device["area_id"], f"{now_ms - 60_000:x}-{n:x}-d{index}", rng)
                       for n in range(per_device)]
            created.append(records)
            bodies.append([body(device["id"], records[i:i + args.batch], cursors[index], 1)
                           for i in range(0, per_device, args.batch)])
        push_new = run_phase(wires, bodies, total)
        up_new = sum(w.up for w in wires) / total
        down_new = sum(w.down for w in wires) / total
        requests_new = sum(w.requests for w in wires) / total * 1000

        # 20% of the records get a newer edit of one field from a leader's device (untimed) ...
        leader = Wire(base, setup["leader"]["token"])
        newer = f"{now_ms + 1_000:x}-0-lead"
        conflicting = []
        for records in created:
            for record in records:
                if rng.random() < 0.2:
                    field = UPDATABLE[record["collection"]][0]
                    conflicting.append({"op_id": f"c{len(conflicting):x}", "collection": record["collection"],
                                        "id": record["id"], "op": "put", "fields": {field: "组长改过"}, "hlc": newer})
        for i in range(0, len(conflicting), 1000):
            leader.post(body(setup["leader"]["id"], conflicting[i:i + 1000], None, 1))
        # ... then every device pushes older edits of two fields of each of its records (timed)
        older = f"{now_ms:x}"
        bodies = []
        for index, (device, records) in enumerate(zip(devices, created)):
            updates = []
            for n, record in enumerate(records):
                a, b = UPDATABLE[record["collection"]]
                value = 7 if b in ("problem_count", "stove_count") else "已复查"
                updates.append({"op_id": f"u{n:x}", "collection": record["collection"], "id": record["id"],
                                "op": "put", "fields": {a: "设备改过", b: value}, "hlc": f"{older}-{n:x}-d{index}"})
            bodies.append([body(device["id"], updates[i:i + args.batch], cursors[index], 1)
                           for i in range(0, per_device, args.batch)])
        for w in wires:
            w.up = w.down = w.requests = 0
        push_updates = run_phase(wires, bodies, total)
        up_upd = sum(w.up for w in wires) / total

        # phase 3: a new device pulls everything in its scope: first right after the writes (planner
        # statistics stale), then again after ANALYZE (what autovacuum does within a minute or so)
        def pull_everything():
            wire = Wire(base, setup["puller"]["token"])
            cursor, count = None, 0
            start = time.perf_counter()
            while True:
                page = wire.post(body(setup["puller"]["id"], [], cursor, 5000))
                count += len(page["changes"])
                cursor = page["cursor"]
                if not page["has_more"]:
                    return wire, count, count / (time.perf_counter() - start)

        _, _, stale_rate = pull_everything()
        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        puller, pulled, pull_rate = pull_everything()

        print(f"records pushed per phase: {total} ({args.devices} devices x {per_device}, batches of {args.batch}; "
              f"mix 70% patrols / 15% sites / 15% incidents)")
        print(f"push new records:        {push_new:10.0f} records/s")
        print(f"push updates (20% lose): {push_updates:10.0f} records/s   ({len(conflicting)} records with a "
              f"losing field)")
        print(f"pull (limit 5000):       {pull_rate:10.0f} records/s   ({pulled} changes incl. server events; "
              f"{stale_rate:.0f}/s before ANALYZE)")
        print(f"bytes/record up (gzip):  new {up_new:.0f}, update {up_upd:.0f}")
        print(f"bytes/record down (gzip): push responses {down_new:.0f}, pull {puller.down / max(pulled, 1):.0f}")
        print(f"requests per 1000 records: push {requests_new:.1f}, pull {puller.requests / max(pulled, 1) * 1000:.2f}")
        print(f"gunicorn workers: {args.workers} x {args.threads} thread(s); "
              f"load average now: {os.getloadavg()[0]:.1f} (shared 2-core box)")
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
