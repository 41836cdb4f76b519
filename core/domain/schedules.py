"""Patrol schedules over a session: load, check, create, edit, delete, and which one governs an area.

A grid without its own schedule inherits its nearest ancestor's, so a sub-district office defines one
schedule and every grid follows it until a community overrides it. The calendar itself (seasons that wrap
the new year, lunar keys, windows, the precedence among schedules) is `core.domain.patrol_calendar`.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.domain import patrol_calendar as calendar
from core.domain.areas import ancestor_ids
from core.domain.errors import Invalid, NotFound
from core.models import Area, PatrolSchedule, utcnow

def get_schedule(session: Session, schedule_id: int) -> PatrolSchedule:
    schedule = session.get(PatrolSchedule, schedule_id) if 0 < schedule_id < 2 ** 31 else None
    if schedule is None or schedule.deleted_at is not None:
        raise NotFound(f"no schedule with id {schedule_id}", details={"id": [f"Unknown schedule id {schedule_id}."]})
    return schedule


def check_active_range(active_from: date | None, active_to: date | None) -> None:
    if (active_from is None) != (active_to is None):
        missing = "active_to" if active_to is None else "active_from"
        raise Invalid("an active range needs both ends", details={missing: ["Give both active_from and active_to."]})


def create_schedule(session: Session, area: Area, values: dict) -> PatrolSchedule:
    check_active_range(values.get("active_from"), values.get("active_to"))
    schedule = PatrolSchedule(area=area, **values)
    session.add(schedule)
    session.flush()
    return schedule


def update_schedule(session: Session, schedule: PatrolSchedule, changes: dict) -> PatrolSchedule:
    check_active_range(changes.get("active_from", schedule.active_from), changes.get("active_to", schedule.active_to))
    for key, value in changes.items():
        setattr(schedule, key, value)
    session.flush()
    return schedule


def delete_schedule(session: Session, schedule: PatrolSchedule) -> None:
    schedule.deleted_at = utcnow()


def effective_schedule(session: Session, area: Area, day: date | None = None
                       ) -> tuple[PatrolSchedule | None, Area | None]:
    """The schedule that governs `area` on `day` and the area it belongs to (see patrol_calendar for the
    rule); without `day`, the schedule the area follows in general."""
    chain = ancestor_ids(area)
    by_area: dict[int, list[PatrolSchedule]] = {}
    for schedule in session.scalars(select(PatrolSchedule).where(PatrolSchedule.area_id.in_(chain),
                                                                 PatrolSchedule.deleted_at.is_(None))):
        by_area.setdefault(schedule.area_id, []).append(schedule)
    schedule, index = calendar.effective_schedule([by_area.get(i, []) for i in chain], day)
    return (schedule, session.get(Area, chain[index])) if schedule is not None else (None, None)
