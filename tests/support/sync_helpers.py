"""Helpers for the sync tests: build changes and post them like a device would."""
from __future__ import annotations

import gzip
import itertools
import json
import uuid

from tests.conftest import bearer

_ms = itertools.count(1_600_000_000_000, 7)  # increasing, in the past, so clocks never clamp


def new_id() -> str:
    return str(uuid.uuid4())


def hlc(node: str = "d1", ms: int | None = None, counter: int = 0) -> str:
    return f"{(ms if ms is not None else next(_ms)):x}-{counter:x}-{node}"


def change(collection: str, record_id: str, fields: dict | None = None, op: str = "put", clock: str | None = None,
           op_id: str | None = None) -> dict:
    return {"op_id": op_id or new_id(), "collection": collection, "id": record_id, "op": op,
            "fields": fields or {}, "hlc": clock or hlc()}


def patrol_fields(area_id: int, **extra) -> dict:
    return {"area_id": area_id, "started_at": "2026-11-20T01:00:00Z", **extra}


def sync(client, token: str, device_id: str, changes=(), cursor=None, limit=500, gzip_request=False, **extra):
    body = {"device_id": device_id, "schema_version": 1, "cursor": cursor, "limit": limit, "changes": list(changes),
            **extra}
    headers = bearer(token)
    data = json.dumps(body).encode()
    if gzip_request:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    response = client.post("/api/v1/sync", data=data, headers={**headers, "Content-Type": "application/json"})
    return response


def ok(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def pull_all(client, token, device_id, cursor=None) -> tuple[dict, str]:
    """Follow has_more to the end; returns ({(collection, id): entry}, cursor)."""
    seen = {}
    while True:
        body = ok(sync(client, token, device_id, cursor=cursor))
        for entry in body["changes"]:
            seen[(entry["collection"], entry["id"])] = entry
        cursor = body["cursor"]
        if not body["has_more"]:
            return seen, cursor
