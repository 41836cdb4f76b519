"""What a device receives: changes above its cursor inside its scope, below the visibility horizon,
ordered by version and paginated; `removed` when its scope shrank; reset when its cursor is unusable."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets

from sqlalchemy import String, cast, insert, literal, or_, select, union_all
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.dialects.postgresql import insert as pg_insert

from core.domain.errors import BadRequest
from core.models import Member
from sync.collections import COLLECTIONS, change_entry, in_list, to_wire
from sync.models import SyncMeta, SyncTombstone
from sync.versioning import visible_horizon
from sync.pull_pg import page


def scope_hash(paths: list[str]) -> str:
    return hashlib.sha1(json.dumps(sorted(paths)).encode()).hexdigest()[:12]


def meta(session: Session) -> dict:
    """The database epoch (created on first use) and the tombstone purge horizon."""
    rows = {row.key: row for row in session.scalars(select(SyncMeta).where(SyncMeta.key.in_(["epoch", "purge"])))}
    if "epoch" not in rows:
        stmt = insert(SyncMeta).values(key="epoch", number=0, text=secrets.token_hex(4))
        if session.get_bind().dialect.name == "postgresql":
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


def changes_since(session: Session, paths: list[str], after: int, limit: int, device_id: str | None,
                  skip: set | frozenset = frozenset()) -> tuple[list, int, bool]:
    """(changes, next cursor version, has_more). `device_id` excludes that device's own writes; `skip`
    holds (collection, id) pairs not to send (written by this very request).

    PostgreSQL renders the whole page in SQL (sync/pull_pg.py); elsewhere:

    Two steps keep a round trip cheap: one UNION query finds the next (collection, id, version) keys across
    every collection and the tombstones, then each collection present on the page is fetched by id.
    """
    horizon = visible_horizon(session)
    if session.get_bind().dialect.name == "postgresql":
        changes, last, has_more = page(session, paths, after, horizon, limit, device_id, skip)
        return changes, (last if has_more else max(after, horizon - 1)), has_more
    branches = []
    for name, collection in COLLECTIONS.items():
        model = collection.model
        query = collection.scoped(paths).where(model.version > after, model.version < horizon)
        if device_id is not None:
            query = query.where(model.sync_origin.is_distinct_from(device_id))
        query = query.with_only_columns(literal(name, String).label("c"), cast(model.id, String).label("id"),
                                        model.version.label("v"))
        branches.append(select(query.order_by(model.version).limit(limit + 1).subquery()))
    stones = select(SyncTombstone.collection.label("c"), SyncTombstone.record_id.label("id"),
                    SyncTombstone.version.label("v")).where(
        SyncTombstone.version > after, SyncTombstone.version < horizon, SyncTombstone.area_path.isnot(None),
        or_(SyncTombstone.area_path == "/", *[SyncTombstone.area_path.startswith(p) for p in paths]))
    if device_id is not None:
        stones = stones.where(SyncTombstone.sync_origin.is_distinct_from(device_id))
    branches.append(select(stones.order_by(SyncTombstone.version).limit(limit + 1).subquery()))
    keys = union_all(*branches).subquery()
    rows = session.execute(select(keys.c.c, keys.c.id, keys.c.v).order_by(keys.c.v).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    live = {name: set() for name in COLLECTIONS}
    stone_keys = set()
    for name, record_id, version in rows:
        live.setdefault(name, set()).add(record_id)
        stone_keys.add((name, record_id, version))
    fetched = {}
    for name, ids in live.items():
        if ids and name in COLLECTIONS:
            fetched.update(_fetch(session, COLLECTIONS[name], ids))
    changes = []
    for name, record_id, version in rows:
        entry = fetched.get((name, record_id))
        if entry is None or entry["version"] < version:  # hard-deleted meanwhile, or a tombstone row
            entry = {"collection": name, "id": record_id, "version": version, "deleted": True}
        if (entry["collection"], entry["id"]) not in skip:
            changes.append(entry)
    if has_more:
        return changes, rows[-1][2], True
    return changes, max(after, horizon - 1), False


def _fetch(session: Session, collection, ids: set[str]) -> dict:
    model = collection.model
    key_type = model.__table__.c.id.type.python_type
    wanted = [key_type(i) for i in ids]
    out = {}
    if collection.name == "members":
        for member in session.scalars(select(Member).where(in_list(session, Member.id, wanted))
                                      .options(selectinload(Member.assignments))):
            out[("members", str(member.id))] = change_entry(collection, member)
        return out
    table = model.__table__
    columns = [table.c.id, table.c.version, table.c.deleted_at] + [table.c[f] for f in collection.fields]
    for row in session.execute(select(*columns).where(in_list(session, table.c.id, wanted))):
        entry = {"collection": collection.name, "id": str(row.id), "version": row.version,
                 "deleted": row.deleted_at is not None}
        if row.deleted_at is None:
            entry["fields"] = to_wire(collection, row)
        out[(collection.name, entry["id"])] = entry
    return out

