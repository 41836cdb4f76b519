"""The reference device client: what a phone app does, in plain Python and SQLite.

Mobile developers read this as the specification in code. The rules it follows:
- every edit goes to a local outbox first (with an HLC and a per-installation op_id) and is applied to
  what the app shows at once: reads are the replica (last known server state) with pending outbox edits
  laid on top, so a pulled change never hides an edit that has not been pushed yet;
- `sync()` sends up to `batch_size` queued ops with the cursor in one request; an op leaves the outbox
  only in the same SQLite transaction that stores its result and the new cursor, so a crash or a lost
  response just means the same ops are sent again — the server answers them from its idempotency log;
- transport failures, 409, 429 and 503 are retried with exponential backoff and jitter; 413 halves the
  batch; `reset_required` empties the replica (never the outbox) and pulls from the start;
- results are applied: `merged`/`conflict`/`duplicate` replace the replica record with the server's, and
  what was lost (`lost_fields`, `errors`) is kept in a local `conflicts` table for the user to see.
"""
from __future__ import annotations

import gzip
import json
import random
import secrets
import sqlite3
import time
import uuid

from sync.hlc import Clock, HLC, parse, parse_or_zero

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT UNIQUE NOT NULL,
    collection TEXT NOT NULL, record_id TEXT NOT NULL, op TEXT NOT NULL, fields TEXT NOT NULL, hlc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (collection TEXT NOT NULL, id TEXT NOT NULL, version INTEGER,
    fields TEXT NOT NULL, PRIMARY KEY (collection, id));
CREATE TABLE IF NOT EXISTS conflicts (id INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT, collection TEXT,
    record_id TEXT, status TEXT, detail TEXT, at REAL);
"""
RETRY_STATUSES = {409, 429, 500, 502, 503, 504}


class SyncError(RuntimeError):
    def __init__(self, message: str, status: int | None = None, body: dict | None = None):
        super().__init__(message)
        self.status, self.body = status, body or {}


class TransportError(RuntimeError):
    """The request may or may not have reached the server (timeout, connection reset)."""


class HttpTransport:
    """POSTs gzip JSON to a server; counts bytes on the wire for the benchmark."""

    def __init__(self, server: str, token: str, timeout: float = 30.0):
        # local: only a client that talks HTTP loads requests
        import requests
        self.url = server.rstrip("/") + "/api/v1/sync"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                     "Accept-Encoding": "gzip"})
        self.timeout = timeout
        self.bytes_up = self.bytes_down = self.requests = 0

    def post(self, body: dict) -> tuple[int, dict]:
        # local: only a client that talks HTTP loads requests
        import requests
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {}
        if len(data) > 512:
            data, headers = gzip.compress(data, 6), {"Content-Encoding": "gzip"}
        try:
            response = self.session.post(self.url, data=data, headers=headers, timeout=self.timeout, stream=True)
            raw = response.raw.read(decode_content=False)
        except requests.RequestException as exc:
            raise TransportError(str(exc)) from exc
        self.requests += 1
        self.bytes_up += len(data)
        self.bytes_down += len(raw)
        if response.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        try:
            return response.status_code, json.loads(raw)
        except ValueError:
            return response.status_code, {"error": "not_json", "message": raw[:200].decode(errors="replace")}


class FlaskTransport:
    """Runs against a Flask test client (tests, property checks)."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token
        self.requests = 0

    def post(self, body: dict) -> tuple[int, dict]:
        self.requests += 1
        response = self.client.post("/api/v1/sync", json=body, headers={"Authorization": f"Bearer {self.token}"})
        return response.status_code, response.get_json()


class DeviceClient:
    def __init__(self, path: str, transport=None, device_id: str | None = None, batch_size: int = 500,
                 pull_limit: int = 500, max_attempts: int = 6, backoff: float = 0.5, sleep=time.sleep):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.transport = transport
        self.batch_size, self.pull_limit = batch_size, pull_limit
        self.max_attempts, self.backoff, self.sleep = max_attempts, backoff, sleep
        if device_id:
            self._set("device_id", device_id)
        if self._get("install") is None:  # op ids and the HLC node are unique per installation
            self._set("install", secrets.token_hex(3))
        self.install = self._get("install")
        self.clock = Clock(self.install, last=parse_or_zero(self._get("hlc")) or None)
        if self.clock.last.node != self.install:
            self.clock.last = HLC(self.clock.last.ms, self.clock.last.counter, self.install)

    # ---- local state -----------------------------------------------------------------------------
    def _get(self, key):
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set(self, key, value):
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                        "value = excluded.value", (key, value))

    @property
    def device_id(self) -> str | None:
        return self._get("device_id")

    @property
    def cursor(self) -> str | None:
        return self._get("cursor")

    def _tick(self) -> str:
        clock = str(self.clock.tick())
        self._set("hlc", clock)
        return clock

    def _enqueue(self, collection: str, record_id: str, op: str, fields: dict) -> str:
        self.db.execute("BEGIN IMMEDIATE")
        seq = int(self._get("seq") or 0) + 1
        self._set("seq", str(seq))
        op_id = f"{self.install}{seq:x}"
        self.db.execute("INSERT INTO outbox (op_id, collection, record_id, op, fields, hlc) VALUES (?, ?, ?, ?, ?, ?)",
                        (op_id, collection, record_id, op, json.dumps(fields, ensure_ascii=False), self._tick()))
        self.db.execute("COMMIT")
        return record_id

    def put(self, collection: str, record_id: str | None = None, **fields) -> str:
        """Create (new id) or edit a record offline; send only the fields that changed."""
        return self._enqueue(collection, record_id or str(uuid.uuid4()), "put", fields)

    def delete(self, collection: str, record_id: str) -> str:
        return self._enqueue(collection, record_id, "delete", {})

    def pending(self) -> int:
        return self.db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def get(self, collection: str, record_id: str) -> dict | None:
        """What the app shows: server state with pending edits on top (None if deleted or unknown)."""
        row = self.db.execute("SELECT fields FROM records WHERE collection = ? AND id = ?",
                              (collection, record_id)).fetchone()
        fields = json.loads(row[0]) if row else None
        for op, pushed in self.db.execute("SELECT op, fields FROM outbox WHERE collection = ? AND record_id = ? "
                                          "ORDER BY seq", (collection, record_id)):
            fields = None if op == "delete" else {**(fields or {}), **json.loads(pushed)}
        return fields

    def all(self, collection: str) -> dict[str, dict]:
        ids = {r[0] for r in self.db.execute("SELECT id FROM records WHERE collection = ?", (collection,))}
        ids |= {r[0] for r in self.db.execute("SELECT record_id FROM outbox WHERE collection = ?", (collection,))}
        out = {record_id: self.get(collection, record_id) for record_id in ids}
        return {k: v for k, v in out.items() if v is not None}

    def conflicts(self) -> list[dict]:
        return [{"op_id": r[0], "collection": r[1], "id": r[2], "status": r[3], **json.loads(r[4])}
                for r in self.db.execute(
                    "SELECT op_id, collection, record_id, status, detail FROM conflicts ORDER BY id")]

    # ---- the round trip --------------------------------------------------------------------------
    def _request(self, body: dict) -> dict:
        for attempt in range(self.max_attempts):
            try:
                status, payload = self.transport.post(body)
            except TransportError:
                status, payload = None, {}
            if status == 200:
                return payload
            if status == 413 and len(body["changes"]) > 1:
                raise _Shrink()
            if status is not None and status not in RETRY_STATUSES:
                raise SyncError(f"sync refused ({status}): {payload.get('message', '')}", status, payload)
            delay = min(30.0, self.backoff * (2 ** attempt)) * (0.5 + random.random() / 2)
            self.sleep(delay)
        raise SyncError(f"server unreachable after {self.max_attempts} attempts", status)

    def sync(self, max_rounds: int = 1000) -> dict:
        """Push the outbox and pull until both are drained. Returns counts for the caller to show."""
        stats = {"pushed": 0, "pulled": 0, "removed": 0, "conflicts": 0, "requests": 0, "resets": 0}
        batch = self.batch_size
        for _ in range(max_rounds):
            ops = self.db.execute("SELECT seq, op_id, collection, record_id, op, fields, hlc FROM outbox "
                                  "ORDER BY seq LIMIT ?", (batch,)).fetchall()
            body = {"device_id": self.device_id, "schema_version": 1, "cursor": self.cursor,
                    "limit": self.pull_limit,
                    "changes": [{"op_id": op_id, "collection": c, "id": rid, "op": op, "fields": json.loads(f),
                                 "hlc": h} for _, op_id, c, rid, op, f, h in ops]}
            try:
                payload = self._request(body)
            except _Shrink:
                batch = max(1, batch // 2)
                continue
            stats["requests"] += 1
            self._apply(ops, payload, stats)
            if not payload["has_more"] and not payload.get("reset_required") and not self.pending():
                return stats
        return stats

    def _apply(self, ops, payload: dict, stats: dict) -> None:
        self.clock.receive(parse(payload["server_hlc"]))
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for (seq, op_id, collection, record_id, op, fields, _), result in zip(ops, payload["results"]):
                self._apply_result(collection, record_id, op, json.loads(fields), result)
                stats["conflicts"] += result["status"] in ("merged", "conflict", "rejected")
                db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            stats["pushed"] += len(payload["results"])
            if payload.get("reset_required"):
                db.execute("DELETE FROM records")
                db.execute("DELETE FROM meta WHERE key = 'cursor'")
                stats["resets"] += 1
            else:
                for gone in payload["removed"]:
                    db.execute("DELETE FROM records WHERE collection = ? AND id = ?", (gone["collection"], gone["id"]))
                for change in payload["changes"]:
                    self._store(change["collection"], change["id"], change["version"],
                                None if change["deleted"] else change["fields"])
                stats["pulled"] += len(payload["changes"])
                stats["removed"] += len(payload["removed"])
                self._set("cursor", payload["cursor"])
            self._set("hlc", str(self.clock.last))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _store(self, collection, record_id, version, fields) -> None:
        if fields is None:
            self.db.execute("DELETE FROM records WHERE collection = ? AND id = ?", (collection, record_id))
            if collection == "incidents":  # its history goes with it (the server may purge it later)
                self.db.execute("DELETE FROM records WHERE collection = 'incident_events' "
                                "AND json_extract(fields, '$.incident_id') = ?", (record_id,))
            return
        self.db.execute("INSERT INTO records (collection, id, version, fields) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (collection, id) DO UPDATE SET version = excluded.version, "
                        "fields = excluded.fields", (collection, record_id, version,
                                                      json.dumps(fields, ensure_ascii=False)))

    def _apply_result(self, collection, record_id, op, fields, result) -> None:
        status = result["status"]
        if status in ("merged", "conflict", "rejected"):
            detail = {k: result[k] for k in ("lost_fields", "errors", "reason") if k in result}
            self.db.execute("INSERT INTO conflicts (op_id, collection, record_id, status, detail, at) "
                            "VALUES (?, ?, ?, ?, ?, ?)", (result["op_id"], collection, record_id, status,
                                                          json.dumps(detail, ensure_ascii=False), time.time()))
        if result.get("deleted") or (status == "applied" and op == "delete"):
            self._store(collection, record_id, None, None)
        elif "record" in result:
            self._store(collection, record_id, result.get("version"), result["record"])
        elif status == "applied":
            row = self.db.execute("SELECT fields FROM records WHERE collection = ? AND id = ?",
                                  (collection, record_id)).fetchone()
            self._store(collection, record_id, result.get("version"), {**(json.loads(row[0]) if row else {}),
                                                                       **fields})
        # rejected: the replica keeps the server's state; a rejected create simply never appears there,
        # and the conflicts table keeps what was refused and why.


class _Shrink(Exception):
    """The server said 413: send fewer ops per request."""
