"""Who gets an alert: an area's leaders and patrollers, looked up for a whole batch of areas at once (a scan
of 20,000 windows must not run three queries per window). The one rule of who they are and in which order:
active members, rank then assignment order, the first leader being the 组长; core.domain.areas.leaders_of
and patrollers_of ask it for one area."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Area, Assignment, LEADER_ROLES, Member
from core.domain.sqlhelp import id_in


def people_by_area(session: Session, area_ids, roles) -> dict[int, list[Member]]:
    result: dict[int, list[Member]] = {}
    ids = sorted(set(area_ids))
    dialect = session.get_bind().dialect.name
    for i in range(0, len(ids), 5000):
        rows = session.execute(
            select(Assignment.area_id, Member).join(Member, Member.id == Assignment.member_id)
            .where(id_in(Assignment.area_id, ids[i:i + 5000], dialect), Assignment.role.in_(roles),
                   Member.active.is_(True))
            .order_by(Assignment.area_id, Assignment.rank, Assignment.id)).all()
        for area_id, member in rows:
            people = result.setdefault(area_id, [])
            if member not in people:
                people.append(member)
    return result


def first_leaders(session: Session, area_ids) -> dict[int, Member]:
    return {area_id: people[0] for area_id, people in people_by_area(session, area_ids, LEADER_ROLES).items()}


def patrollers(session: Session, area_ids) -> dict[int, list[Member]]:
    return people_by_area(session, area_ids, ("patroller",))


class AreaIndex:
    """Areas of a batch and their ancestors, loaded once: codes, kinds, zones, the community above."""

    def __init__(self, session: Session, area_ids, default_tz: str):
        self.default_tz = default_tz
        self.areas: dict[int, object] = {}
        self._zones: dict[int, str] = {}
        needed = set(area_ids)
        self._load(session, needed)
        ancestors = {int(p) for a in list(self.areas.values()) for p in a.path.strip("/").split("/") if p}
        self._load(session, ancestors - set(self.areas))

    def _load(self, session: Session, ids: set[int]) -> None:
        ids_list = sorted(ids)
        dialect = session.get_bind().dialect.name
        for i in range(0, len(ids_list), 5000):
            for row in session.execute(select(Area.id, Area.code, Area.name, Area.kind, Area.path, Area.timezone,
                                              Area.parent_id).where(id_in(Area.id, ids_list[i:i + 5000], dialect))):
                self.areas[row.id] = row

    def chain(self, area_id: int) -> list[int]:
        return [int(p) for p in self.areas[area_id].path.strip("/").split("/") if p]

    def timezone(self, area_id: int) -> str:
        if area_id not in self._zones:
            self._zones[area_id] = next((self.areas[i].timezone for i in reversed(self.chain(area_id))
                                         if i in self.areas and self.areas[i].timezone), self.default_tz)
        return self._zones[area_id]

    def ancestor_of_kind(self, area_id: int, kind: str) -> int | None:
        for i in reversed(self.chain(area_id)):
            if i in self.areas and self.areas[i].kind == kind:
                return i
        return None

    def community_of(self, area_id: int) -> int | None:
        """Where a grid's missed patrols escalate: its community (ancestor_of_kind), or, for a grid hung
        directly under a sub-district, its parent area."""
        return self.ancestor_of_kind(area_id, "community") or self.areas[area_id].parent_id

    def code(self, area_id: int) -> str:
        return self.areas[area_id].code
