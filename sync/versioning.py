"""Versions for every write of a synced record, whoever writes it (sync, API, SMS, workers).

A version is `transaction_base << 24 | n`: the base is PostgreSQL's transaction id (pg_current_xact_id)
or, on SQLite, a counter bumped under SQLite's single write lock; n counts writes inside the transaction.

Why this makes pulls gap-free: a pull serves only versions below `horizon = h << 24`, where h is the
oldest transaction of THIS database still running, or the snapshot's xmax when none is. The textbook
rule uses pg_snapshot_xmin, but transaction ids are cluster-wide, so one slow transaction in another
database on the same server would freeze every pull; we narrow the snapshot's in-progress list to
backends of our database (pg_stat_activity.backend_xid, read after the snapshot):
- an id below h either finished before the snapshot, or was in progress in another database (it cannot
  write our tables), or was ours and finished before pg_stat_activity was read — then it committed
  before the pull's queries start (READ COMMITTED takes a new snapshot per statement), so its rows are
  visible to them;
- an id assigned after the snapshot is >= xmax >= h.
So the set of versions below the horizon never grows again, and a cursor can move past it without
skipping a late commit (tests/sync/test_sync_concurrency.py holds a slow writer open to prove it). On SQLite
writers are serialised, so every committed base is below every future one and the horizon is simply
(last committed base + 1) << 24.
"""
from __future__ import annotations

from sqlalchemy import event, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from core.models import Area, Assignment, Member
from core.models.base import Versioned, utcnow
from sync.hlc import server_clock
from sync.models import SyncMeta, SyncTombstone
from sync.collections import BY_MODEL

SHIFT = 24
PER_TRANSACTION = 1 << SHIFT
BOOKKEEPING = {"version", "field_clocks", "deleted_at", "sync_origin", "created_at", "updated_at"}
STAMPED = "_sync_stamped"  # set on an object by the merge code: clocks and origin already set


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _sqlite_next_base(session: Session) -> int:
    conn = session.connection()
    value = conn.execute(update(SyncMeta).where(SyncMeta.key == "txn").values(number=SyncMeta.number + 1)
                         .returning(SyncMeta.number)).scalar()
    if value is None:
        conn.execute(insert(SyncMeta).values(key="txn", number=1).prefix_with("OR IGNORE"))
        value = conn.execute(update(SyncMeta).where(SyncMeta.key == "txn").values(number=SyncMeta.number + 1)
                             .returning(SyncMeta.number)).scalar()
    return value


def allocate_versions(session: Session, count: int) -> list[int]:
    """`count` fresh versions for this transaction, increasing."""
    transaction = session.get_transaction()
    state = session.info.get("sync_versions")
    if state is None or state[0] is not transaction:
        if _dialect(session) == "postgresql":
            base = session.connection().execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar()
        else:
            base = _sqlite_next_base(session)
        state = [transaction, base, 0]
        session.info["sync_versions"] = state
    start = state[2]
    if start + count >= PER_TRANSACTION:
        raise RuntimeError("too many synced writes in one transaction")
    state[2] = start + count
    return [(state[1] << SHIFT) | (start + i + 1) for i in range(count)]


def visible_horizon(session: Session) -> int:
    """Versions strictly below this are committed and no lower version can ever appear."""
    if _dialect(session) == "postgresql":
        snapshot = session.execute(text("SELECT pg_current_snapshot()::text")).scalar()
        _xmin, xmax, xip = snapshot.split(":")
        running = [int(x) for x in xip.split(",") if x]
        horizon = int(xmax)
        if running:
            session.execute(text("SELECT pg_stat_clear_snapshot()"))
            ours = set(session.scalars(text(
                "SELECT backend_xid::text::bigint FROM pg_stat_activity "
                "WHERE datname = current_database() AND backend_xid IS NOT NULL")))
            mine = [x for x in running if x % (1 << 32) in ours]
            if mine:
                horizon = min(horizon, min(mine))
        return horizon << SHIFT
    committed = session.execute(select(SyncMeta.number).where(SyncMeta.key == "txn")).scalar() or 0
    return (committed + 1) << SHIFT


def _changed_fields(obj) -> list[str]:
    state = inspect(obj)
    return [attr.key for attr in state.mapper.column_attrs
            if attr.key not in BOOKKEEPING and state.attrs[attr.key].history.has_changes()]


def _area_path(session: Session, obj) -> str | None:
    if isinstance(obj, Area):
        return obj.path
    area_id = getattr(obj, "area_id", None)
    if area_id is None and getattr(obj, "incident", None) is not None:
        area_id = obj.incident.area_id
    if area_id is None:
        return "/" if not hasattr(obj, "area_id") else None
    area = session.get(Area, area_id)
    return area.path if area else None


def _before_flush(session: Session, _context, _instances) -> None:
    targets: list = []
    seen: set[int] = set()

    def add(obj, is_new):
        if id(obj) not in seen:
            seen.add(id(obj))
            targets.append((obj, is_new))

    for obj in session.new:
        if isinstance(obj, Versioned):
            add(obj, True)
    for obj in session.dirty:
        if isinstance(obj, Versioned) and session.is_modified(obj, include_collections=False):
            add(obj, False)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Assignment):  # a member's roles are part of the member record devices see
            member = obj.member or (session.get(Member, obj.member_id) if obj.member_id else None)
            if member is not None and member not in session.deleted:
                add(member, member in session.new)
    deleted = [obj for obj in session.deleted if isinstance(obj, Versioned)]
    if not targets and not deleted:
        return
    versions = allocate_versions(session, len(targets) + len(deleted))
    clock = None
    for (obj, is_new), version in zip(targets, versions):
        obj.version = version
        if obj.__dict__.pop(STAMPED, False):
            continue
        obj.sync_origin = None
        if is_new:
            continue  # a server-created record's initial values carry the zero clock (see merge rules)
        changed = _changed_fields(obj)
        if changed:
            clock = clock or str(server_clock.tick())
            obj.field_clocks = {**(obj.field_clocks or {}), **{name: clock for name in changed}}
    for obj, version in zip(deleted, versions[len(targets):]):
        collection = BY_MODEL.get(type(obj))
        if collection is None:
            continue
        session.merge(SyncTombstone(collection=collection.name, record_id=str(obj.id), version=version,
                                    area_path=_area_path(session, obj), deleted_at=utcnow()))


def install() -> None:
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
