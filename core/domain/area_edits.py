"""Editing and removing areas through the admin API (creation and moves live in core.domain.areas).

An area is removed as a tombstone (devices are told), and only when nothing hangs off it: a grid that
still has members, sub-areas, incidents, sites or schedules would leave them pointing at nothing.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.domain.areas import area_by_code, validate_timezone
from core.domain.errors import Conflict, Invalid
from core.domain.place_names import check_place_names
from core.models import (AREA_KINDS, LEADER_ROLE_FOR_KIND, LEADER_ROLES, Area, Assignment, Incident, Member,
                           PatrolSchedule, Site, utcnow)


def update_area(session: Session, area: Area, changes: dict, within: list[str] | None = None) -> Area:
    """Apply `changes`; a new name is checked as a place name (core.domain.place_names; `within`: the
    actor's admin subtrees, None = everywhere)."""
    if "code" in changes:
        code = changes["code"].strip().upper()
        holder = area_by_code(session, code)
        if holder is not None and holder is not area:
            raise Conflict(f"area code {code} is taken", code="duplicate_code", details={"code": [f"{code} is taken."]})
        area.code = code
    if "kind" in changes and changes["kind"] != area.kind:
        if changes["kind"] not in AREA_KINDS:
            raise Invalid("unknown area kind", details={"kind": [f"Must be one of {', '.join(AREA_KINDS)}."]})
        leader_roles = set(session.scalars(select(Assignment.role).where(Assignment.area_id == area.id,
                                                                       Assignment.role.in_(LEADER_ROLES))))
        if leader_roles - {LEADER_ROLE_FOR_KIND.get(changes["kind"])}:
            raise Conflict(f"{area.code} has leaders ({', '.join(sorted(leader_roles))}) that a "
                           f"{changes['kind']} cannot have; reassign them first", code="area_in_use",
                           details={"kind": [f"Leaders with role {', '.join(sorted(leader_roles))} "
                                             "are assigned here."]})
        area.kind = changes["kind"]
    if "timezone" in changes:
        area.timezone = validate_timezone(changes["timezone"])
    if "name" in changes and changes["name"] != area.name:
        check_place_names(session, [changes["name"]], path=area.path, area_id=area.id, within=within)
        area.name = changes["name"]
    session.flush()
    return area


def _count(session: Session, statement) -> int:
    return session.scalar(select(func.count()).select_from(statement.subquery()))


def blockers(session: Session, area: Area) -> dict[str, int]:
    """What still refers to the area, by kind, counting only live records."""
    counts = {
        "children": _count(session, select(Area.id).where(Area.parent_id == area.id, Area.deleted_at.is_(None))),
        "members": _count(session, select(Assignment.id).join(Member, Member.id == Assignment.member_id)
                          .where(Assignment.area_id == area.id, Member.deleted_at.is_(None))),
        "incidents": _count(session, select(Incident.id).where(
            (Incident.area_id == area.id) | (Incident.responsible_area_id == area.id))),
        "sites": _count(session, select(Site.id).where(Site.area_id == area.id, Site.deleted_at.is_(None))),
        "schedules": _count(session, select(PatrolSchedule.id).where(PatrolSchedule.area_id == area.id,
                                                                      PatrolSchedule.deleted_at.is_(None))),
    }
    return {k: v for k, v in counts.items() if v}


def delete_area(session: Session, area: Area) -> None:
    found = blockers(session, area)
    if found:
        listed = ", ".join(f"{n} {k}" for k, n in found.items())
        raise Conflict(f"area {area.code} still has {listed}; move or remove them first", code="area_in_use",
                       details={"blockers": found})
    area.deleted_at = utcnow()
