"""The area tree: paths, subtrees, ancestors, time zones and leaders."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.settings import DEFAULT_TIMEZONE
from core.domain.errors import Conflict, Invalid, NotFound
from core.domain.place_names import check_place_names, path_below
from core.models import AREA_KINDS, Area, LEADER_ROLES, Member
from core.domain.recipients import people_by_area

# Level order from the top; escalation climbs towards index 0.
KIND_ORDER = ("district", "subdistrict", "community", "grid")


def validate_timezone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown time zone {name!r}", details={"timezone": [f"Unknown time zone {name!r}."]}) from exc
    return name


def get_area(session: Session, area_id: int) -> Area:
    area = session.get(Area, area_id)
    if area is None:
        raise NotFound(f"no area with id {area_id}", details={"area_id": area_id})
    return area


def area_by_code(session: Session, code: str) -> Area | None:
    return session.scalar(select(Area).where(Area.code == code.strip().upper()))


def create_area(session: Session, *, code: str, name: str, kind: str = "grid", parent_id: int | None = None,
                timezone: str | None = None, within: list[str] | None = None, check_name: bool = True) -> Area:
    """A new area. Its name is a place residents' texts are routed by, checked by
    core.domain.place_names (`within`: the actor's admin subtrees, None = everywhere; check_name=False
    only for a roster plan that checked all its names at once)."""
    code = code.strip().upper()
    if kind not in AREA_KINDS:
        raise Invalid(f"unknown area kind {kind!r}", details={"kind": [f"Must be one of {', '.join(AREA_KINDS)}."]})
    if area_by_code(session, code) is not None:
        raise Conflict(f"area code {code} is taken", code="duplicate_code", details={"code": [f"{code} is taken."]})
    parent = get_area(session, parent_id) if parent_id is not None else None
    if check_name:
        check_place_names(session, [name], path=path_below(parent), within=within)
    area = Area(code=code, name=name, kind=kind, parent=parent, timezone=validate_timezone(timezone))
    session.add(area)
    session.flush()  # need the id for the path
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    area.depth = parent.depth + 1 if parent else 0
    return area


def move_area(session: Session, area: Area, new_parent_id: int | None) -> None:
    """Re-parent an area and rewrite the paths of its whole subtree."""
    new_parent = get_area(session, new_parent_id) if new_parent_id is not None else None
    if new_parent is not None and new_parent.path.startswith(area.path):
        raise Invalid("an area cannot move under itself", details={"parent_id": ["Would create a cycle."]})
    old_path, old_depth = area.path, area.depth
    new_path = f"{new_parent.path if new_parent else '/'}{area.id}/"
    shift = (new_parent.depth + 1 if new_parent else 0) - old_depth
    for node in session.scalars(select(Area).where(Area.path.startswith(old_path))):
        node.path = new_path + node.path[len(old_path):]
        node.depth += shift
    area.parent = new_parent


def subtree_ids(session: Session, roots: list[Area]) -> list[int]:
    ids: set[int] = set()
    for root in roots:
        ids.update(session.scalars(select(Area.id).where(Area.path.startswith(root.path))))
    return sorted(ids)


def ancestor_ids(area: Area) -> list[int]:
    """Ids from the root down to the area itself, read from the path (no queries)."""
    return [int(part) for part in area.path.strip("/").split("/") if part]


def effective_timezone(session: Session, area: Area, default: str = DEFAULT_TIMEZONE) -> str:
    """An area's own zone, else its nearest ancestor's, else the installation default."""
    chain = ancestor_ids(area)
    zones = dict(session.execute(select(Area.id, Area.timezone).where(Area.id.in_(chain))).all())
    for area_id in reversed(chain):
        if zones.get(area_id):
            return zones[area_id]
    return default


def leaders_of(session: Session, area: Area) -> list[Member]:
    """The area's leaders in alert order: 组长 (rank 1) first, then deputies."""
    return people_by_area(session, [area.id], LEADER_ROLES).get(area.id, [])


def patrollers_of(session: Session, area: Area) -> list[Member]:
    return people_by_area(session, [area.id], ("patroller",)).get(area.id, [])


def parent_area(session: Session, area: Area) -> Area | None:
    return session.get(Area, area.parent_id) if area.parent_id else None


def ancestor_of_kind(session: Session, area: Area, kind: str) -> Area | None:
    """The area itself or its nearest ancestor of the given kind (e.g. the community of a grid)."""
    chain = ancestor_ids(area)
    rows = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(chain)))}
    for area_id in reversed(chain):
        if rows[area_id].kind == kind:
            return rows[area_id]
    return None
