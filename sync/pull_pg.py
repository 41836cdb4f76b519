"""The pull page built entirely by PostgreSQL: one UNION query returns each change's JSON text in version
order, so Python only joins strings. Same rows, order and JSON as the portable path in sync/pull.py
(tests/sync/test_sync_edges.py compares the two renderings)."""
from __future__ import annotations

from sqlalchemy import (ARRAY, String, Text, any_, bindparam, case, cast, func, literal_column, not_, or_, select, text,
                        union_all)
from sqlalchemy.orm import Session

from sync.collections import COLLECTIONS, Prebuilt
from sync.models import SyncTombstone

ROLES_JSON = ("(SELECT coalesce(json_agg(json_build_object('role', a.role, 'area_id', a.area_id, 'rank', a.rank) "
              "ORDER BY a.id), '[]'::json) FROM assignments a WHERE a.member_id = members_page.id)")


class PrebuiltPage(Prebuilt):
    """Several changes' JSON, already comma-joined."""

    __slots__ = ("count",)

    def __init__(self, text_: str, count: int):
        super().__init__("", "", 0, text_)
        self.count = count


def _quoted(name: str):
    return literal_column("'" + name.replace("'", "''") + "'")


def _fields_json(collection, columns):
    if collection.name == "members":
        return func.json_build_object(_quoted("name"), columns.name, _quoted("active"), columns.active,
                                      _quoted("roles"), literal_column(ROLES_JSON))
    pairs = []
    for name in collection.fields:
        pairs += [_quoted(name), columns[name]]
    return func.json_build_object(*pairs)


def _entry(name: str, record_id, version, deleted_condition, fields=None):
    head = [_quoted("collection"), _quoted(name), _quoted("id"), cast(record_id, String), _quoted("version"), version]
    if fields is None:
        return func.json_build_object(*head, _quoted("deleted"), literal_column("true"))
    return case((deleted_condition, func.json_build_object(*head, _quoted("deleted"), literal_column("true"))),
                else_=func.json_build_object(*head, _quoted("deleted"), literal_column("false"),
                                             _quoted("fields"), fields))


_STATEMENTS: dict = {}  # statement shape -> built statement; building one costs more than running it


def _statement(paths: tuple[str, ...], own: bool):
    key = (paths, own)
    cached = _STATEMENTS.get(key)
    if cached is not None:
        return cached
    after, horizon, take = bindparam("after"), bindparam("horizon"), bindparam("take")
    device = bindparam("device", type_=String)
    skip = bindparam("skip", type_=ARRAY(String))  # record ids pushed by this very request (first sync)
    branches = []
    for name, collection in COLLECTIONS.items():
        model = collection.model
        table = model.__table__
        query = collection.scoped(list(paths)).where(model.version > after, model.version < horizon)
        if own:
            query = query.where(model.sync_origin.is_distinct_from(device))
        query = query.where(not_(cast(model.id, String) == any_(skip)))
        # rows first (ordered, limited), JSON only for those: never for the whole scope
        rows = query.with_only_columns(*table.c).order_by(model.version).limit(take).subquery(f"{name}_page")
        entry = _entry(name, rows.c.id, rows.c.version, rows.c.deleted_at.isnot(None), _fields_json(collection, rows.c))
        branches.append(select(rows.c.version.label("v"), cast(entry, Text).label("e")))
    stones = select(SyncTombstone.version.label("v"), cast(func.json_build_object(
        _quoted("collection"), SyncTombstone.collection, _quoted("id"), SyncTombstone.record_id,
        _quoted("version"), SyncTombstone.version, _quoted("deleted"), literal_column("true")), Text).label("e")
    ).where(SyncTombstone.version > after, SyncTombstone.version < horizon, SyncTombstone.area_path.isnot(None),
            or_(SyncTombstone.area_path == "/", *[SyncTombstone.area_path.startswith(p) for p in paths]))
    if own:
        stones = stones.where(SyncTombstone.sync_origin.is_distinct_from(device))
    branches.append(select(stones.order_by(SyncTombstone.version).limit(take).subquery()))
    union = union_all(*branches).subquery()
    statement = select(union.c.v, union.c.e).order_by(union.c.v).limit(take)
    if len(_STATEMENTS) > 512:
        _STATEMENTS.clear()
    _STATEMENTS[key] = statement
    return statement


def page(session: Session, paths: list[str], after: int, horizon: int, limit: int, device_id: str | None,
         skip: set) -> tuple[list, int | None, bool]:
    """(changes, version of the last change or None, has_more)."""
    session.execute(text("SET LOCAL TIME ZONE 'UTC'"))
    statement = _statement(tuple(paths), device_id is not None)
    params = {"after": after, "horizon": horizon, "take": limit + 1, "skip": sorted({rid for _, rid in skip})}
    if device_id is not None:
        params["device"] = device_id
    rows = session.execute(statement, params).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return [], None, False
    return [PrebuiltPage(",".join(e for _, e in rows), len(rows))], rows[-1][0], has_more
