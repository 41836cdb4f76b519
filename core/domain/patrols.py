"""Patrols recorded by staff through the API (devices and SMS record theirs through sync and sms)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.domain.errors import Invalid, NotFound
from core.models import Area, Member, PATROL_OUTCOMES, PATROL_SOURCES, Patrol


def get_patrol(session: Session, patrol_id: str) -> Patrol:
    patrol = session.get(Patrol, patrol_id)
    if patrol is None or patrol.deleted_at is not None:
        raise NotFound(f"no patrol with id {patrol_id}", details={"id": [f"Unknown patrol id {patrol_id}."]})
    return patrol


def create_patrol(session: Session, *, member: Member, area: Area, started_at: datetime,
                  ended_at: datetime | None = None, checkpoints: list | None = None, outcome: str = "all_clear",
                  problem_count: int = 0, source: str = "staff", notes: str = "",
                  patrol_id: str | None = None) -> Patrol:
    errors = {}
    if ended_at is not None and ended_at < started_at:
        errors["ended_at"] = ["Must not be before started_at."]
    if outcome not in PATROL_OUTCOMES:
        errors["outcome"] = [f"Must be one of {', '.join(PATROL_OUTCOMES)}."]
    if source not in PATROL_SOURCES:
        errors["source"] = [f"Must be one of {', '.join(PATROL_SOURCES)}."]
    if outcome == "all_clear" and problem_count:
        errors["problem_count"] = ["An all-clear patrol found no problems."]
    if errors:
        raise Invalid("some fields are not valid", details=errors)
    patrol = Patrol(member=member, area=area, started_at=started_at, ended_at=ended_at,
                    checkpoints=checkpoints or [], outcome=outcome, problem_count=problem_count, source=source,
                    notes=notes or "")
    if patrol_id:
        patrol.id = patrol_id
    session.add(patrol)
    session.flush()
    return patrol
