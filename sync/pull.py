"""What a device receives: changes above its cursor inside its scope, below the visibility horizon,
ordered by version and paginated; `removed` when its scope shrank; reset when its cursor is unusable."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session, selectinload

from server.errors import BadRequest
from server.models import Member
from sync.collections import COLLECTIONS, change_entry, to_wire
from sync.models import SyncMeta, SyncTombstone
from sync.versioning import visible_horizon


def scope_hash(paths: list[str]) -> str:
    return hashlib.sha1(json.dumps(sorted(paths)).encode()).hexdigest()[:12]


def meta(session: Session) -> dict:
    """The database epoch (created on first use) and the tombstone purge horizon."""
    rows = {row.key: row for row in session.scalars(select(SyncMeta).where(SyncMeta.key.in_(["epoch", "purge"])))}
    if "epoch" not in rows:
        stmt = insert(SyncMeta).values(key="epoch", number=0, text=secrets.token_hex(4))
        if session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            stmt = pg_insert(SyncMeta).values(key="epoch", number=0, text=secrets.token_hex(4)).on_conflict_do_nothing()
        else:
            stmt = stmt.prefix_with("OR IGNORE")
        session.execute(stmt)
        rows["epoch"] = session.get(SyncMeta, "epoch", populate_existing=True)
    return {"epoch": rows["epoch"].text, "purge_horizon": rows["purge"].number if "purge" in rows else 0}


def encode_cursor(epoch: str, version: int, scope: str) -> str:
    return base64.urlsafe_b64encode(f"{epoch}.{version:x}.{scope}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        epoch, version, scope = raw.split(".")
        return epoch, int(version, 16), scope
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the cursor is not one this server issued; send null to start over",
                         code="invalid_cursor", details={"cursor": ["Not a cursor issued by this server."]}) from None


def _ids(session: Session, name: str, paths: list[str]) -> set[str]:
    collection = COLLECTIONS[name]
    model = collection.model
    query = collection.scoped(paths).with_only_columns(model.id).where(model.deleted_at.is_(None))
    return {str(value) for value in session.scalars(query)}


def removed_between(session: Session, old_paths: list[str], new_paths: list[str]) -> list[dict]:
    """Records a device could hold under its old scope but may not under the new one."""
    removed = []
    for name in COLLECTIONS:
        if name == "categories":
            continue
        gone = _ids(session, name, old_paths) - _ids(session, name, new_paths)
        removed.extend({"collection": name, "id": record_id} for record_id in sorted(gone))
    return removed


def changes_since(session: Session, paths: list[str], after: int, limit: int, device_id: str | None
                  ) -> tuple[list[dict], int, bool]:
    """(changes, next cursor version, has_more). `device_id` excludes that device's own writes."""
    horizon = visible_horizon(session)
    found: list[tuple[int, dict]] = []
    for name, collection in COLLECTIONS.items():
        model = collection.model
        query = collection.scoped(paths).where(model.version > after, model.version < horizon)
        if device_id is not None:
            query = query.where(model.sync_origin.is_distinct_from(device_id))
        query = query.order_by(model.version).limit(limit + 1)
        if name == "members":
            for member in session.scalars(query.options(selectinload(Member.assignments))):
                found.append((member.version, change_entry(collection, member)))
            continue
        table = model.__table__
        columns = [table.c.id, table.c.version, table.c.deleted_at] + [table.c[f] for f in collection.fields]
        for row in session.execute(query.with_only_columns(*columns)):
            entry = {"collection": name, "id": str(row.id), "version": row.version,
                     "deleted": row.deleted_at is not None}
            if row.deleted_at is None:
                entry["fields"] = to_wire(collection, row)
            found.append((row.version, entry))
    tombstones = select(SyncTombstone).where(
        SyncTombstone.version > after, SyncTombstone.version < horizon, SyncTombstone.area_path.isnot(None),
        or_(SyncTombstone.area_path == "/", *[SyncTombstone.area_path.startswith(p) for p in paths]))
    if device_id is not None:
        tombstones = tombstones.where(SyncTombstone.sync_origin.is_distinct_from(device_id))
    for stone in session.scalars(tombstones.order_by(SyncTombstone.version).limit(limit + 1)):
        found.append((stone.version, {"collection": stone.collection, "id": stone.record_id,
                                      "version": stone.version, "deleted": True}))
    found.sort(key=lambda item: item[0])
    if len(found) > limit:
        page = found[:limit]
        return [entry for _, entry in page], page[-1][0], True
    return [entry for _, entry in found], max(after, horizon - 1), False
