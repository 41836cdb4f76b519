"""The collections devices sync: which table, which fields go on the wire, and how a device's scope
(its areas' subtrees, as materialised Area.path prefixes) selects rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Callable

from sqlalchemy import any_, ARRAY, bindparam, false, literal, or_, select

from core.models import (Area, Assignment, Category, Incident, IncidentEvent, Member, Patrol, PatrolSchedule,
                           Site)


def _under(path_column, paths: list[str]):
    """Rows whose area path lies in one of the subtrees."""
    if not paths:
        return false()
    return or_(*[path_column.startswith(p) for p in paths])


def _above_or_under(path_column, paths: list[str]):
    """Subtree rows plus ancestors' (a grid inherits its community's schedule)."""
    if not paths:
        return false()
    return or_(_under(path_column, paths), *[literal(p).startswith(path_column) for p in paths])


@dataclass(frozen=True)
class Collection:
    name: str
    model: type
    fields: tuple[str, ...]          # sent to devices
    writable: bool
    # select(model columns) restricted to a scope; `paths` are Area.path prefixes
    scoped: Callable[[list[str]], object]
    area_path_of: Callable | None = None  # for tombstones of hard deletes


def _area_join(model, paths, column=None):
    column = column if column is not None else model.area_id
    return select(model).join(Area, Area.id == column).where(_under(Area.path, paths))


def _events_scoped(paths):
    return (select(IncidentEvent).join(Incident, Incident.id == IncidentEvent.incident_id)
            .join(Area, Area.id == Incident.area_id).where(_under(Area.path, paths)))


def _members_scoped(paths):
    in_scope = select(Assignment.member_id).join(Area, Area.id == Assignment.area_id).where(_under(Area.path, paths))
    return select(Member).where(Member.id.in_(in_scope))


COLLECTIONS: dict[str, Collection] = {c.name: c for c in [
    Collection("patrols", Patrol, ("member_id", "area_id", "started_at", "ended_at", "checkpoints", "outcome",
                                   "problem_count", "source", "notes"), True,
               lambda paths: _area_join(Patrol, paths)),
    Collection("sites", Site, ("area_id", "name", "address", "kind", "stove_count", "status", "latitude", "longitude",
                               "notes", "last_inspected_at"), True,
               lambda paths: _area_join(Site, paths)),
    Collection("incidents", Incident, (
        "ticket", "category_id", "area_id", "responsible_area_id", "responsible_level", "location_text", "latitude",
        "longitude", "description", "source", "handling_class", "promised_date", "status", "deadline",
        "escalation_count", "flagged", "acknowledged_at", "resolved_at", "closed_at", "reported_at",
        "reporter_member_id", "patrol_id", "duplicate_of_id"), True,
        lambda paths: _area_join(Incident, paths)),
    Collection("incident_events", IncidentEvent, (
        "incident_id", "kind", "at", "channel", "actor_member_id", "actor_label", "from_status", "to_status",
        "from_area_id", "to_area_id", "note", "data"), True, _events_scoped),
    Collection("areas", Area, ("code", "name", "kind", "parent_id", "path", "depth", "timezone"), False,
               lambda paths: select(Area).where(_under(Area.path, paths))),
    Collection("members", Member, ("name", "active", "roles"), False, _members_scoped),
    Collection("categories", Category, ("code", "number", "name_zh", "name_en", "keywords", "urgent", "active"),
               False, lambda paths: select(Category) if paths else select(Category).where(false())),
    Collection("schedules", PatrolSchedule, ("area_id", "name", "windows", "active_from", "active_to", "heightened",
                                             "key_sites"), False,
               lambda paths: select(PatrolSchedule).join(Area, Area.id == PatrolSchedule.area_id)
               .where(_above_or_under(Area.path, paths))),
]}
WRITABLE = tuple(name for name, c in COLLECTIONS.items() if c.writable)
BY_MODEL = {c.model: c for c in COLLECTIONS.values()}


def wire_datetime(value: datetime) -> str:
    """ISO 8601 in UTC as PostgreSQL's JSON renders it ("…T01:00:00.5+00:00": fraction without trailing
    zeros), so records built in Python and records built by the database read the same on a device."""
    text = value.astimezone(timezone.utc).isoformat()
    if "." in text:
        head, rest = text.split(".", 1)
        fraction = rest[:6].rstrip("0")
        text = head + ("." + fraction if fraction else "") + rest[6:]
    return text


def wire_value(value):
    if isinstance(value, datetime):
        return wire_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class Prebuilt:
    """A pulled change whose JSON text the database already built; reads like the dict it encodes."""

    __slots__ = ("collection", "id", "version", "deleted", "text")

    def __init__(self, collection: str, record_id: str, version: int, text: str):
        self.collection, self.id, self.version, self.deleted, self.text = collection, record_id, version, False, text

    def __getitem__(self, key):
        return getattr(self, key)


def member_roles(member) -> list[dict]:
    return [{"role": a.role, "area_id": a.area_id, "rank": a.rank} for a in member.assignments]


def to_wire(collection: Collection, obj) -> dict:
    """The fields of a record as devices see them (never tokens, phones or passwords)."""
    if collection.name == "members":
        return {"name": obj.name, "active": obj.active, "roles": member_roles(obj)}
    return {name: wire_value(getattr(obj, name)) for name in collection.fields}


def change_entry(collection: Collection, obj) -> dict:
    deleted = obj.deleted_at is not None
    entry = {"collection": collection.name, "id": str(obj.id), "version": obj.version, "deleted": deleted}
    if not deleted:
        entry["fields"] = to_wire(collection, obj)
    return entry


def in_list(session, column, values):
    """`column IN values` that stays one bind parameter on PostgreSQL (`= ANY(array)`): compiling and
    sending 500 or 5000 separate parameters costs more than the query."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)
