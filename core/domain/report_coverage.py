"""Coverage from the schedules themselves, for the weekly report's days the planner never walked (a fresh
installation, the days before the workers ran, a demo). Which days a schedule counts for is the patrol
calendar's rule (`counted_from`); this module only counts windows and the patrols that cover them."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Area, DEFAULT_WINDOWS, Patrol
from core import settings
from core.domain.patrol_calendar import counted_from, effective_schedule, windows_for_date
from core.models.schedules import PatrolSchedule
from core.domain.patrol_windows import schedule_dict


def instant(day: date, tz: str) -> datetime:
    """Local midnight of `day` in `tz`, as UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def unplanned_windows(session: Session, in_tree, start: date, end: date, now: datetime,
                       planned_days: set[tuple[int, date]]):
    """Coverage from the schedules' windows for the days the planner never walked (a fresh installation,
    the days before the workers ran, a demo): each window that has ended is counted, and patrolled when a
    patrol of the grid overlaps it. Yields (grid path, scheduled, patrolled) per grid."""
    default_tz = settings.default_timezone()
    tz_of = dict(session.execute(select(Area.id, Area.timezone).where(Area.deleted_at.is_(None))).all())
    grids = list(session.execute(select(Area.id, Area.path, Area.code).where(
        Area.kind == "grid", Area.deleted_at.is_(None), in_tree)))
    if not grids:
        return
    by_area: dict[int, list[dict]] = {}
    for schedule in session.scalars(select(PatrolSchedule).where(PatrolSchedule.deleted_at.is_(None))
                                    .order_by(PatrolSchedule.id)):
        by_area.setdefault(schedule.area_id, []).append(
            counted_from(schedule_dict(schedule), schedule.created_at, default_tz))
    if not by_area and not settings.get("WORKERS_UNSCHEDULED_USE_DEFAULT"):
        return
    first, last = instant(start - timedelta(days=1), default_tz), instant(end + timedelta(days=1), default_tz)
    patrols: dict[int, list[tuple[datetime, datetime]]] = {}
    for area_id, began, ended in session.execute(select(Patrol.area_id, Patrol.started_at, Patrol.ended_at).where(
            Patrol.area_id.in_([g.id for g in grids]), Patrol.started_at >= first, Patrol.started_at < last,
            Patrol.deleted_at.is_(None))):
        patrols.setdefault(area_id, []).append((began, ended or began))
    for grid in grids:
        chain = [int(p) for p in grid.path.strip("/").split("/") if p]
        tz = next((tz_of[i] for i in reversed(chain) if tz_of.get(i)), None) or default_tz
        chain_schedules = [by_area.get(i, []) for i in chain]
        scheduled = patrolled = 0
        day = start
        while day < end:
            if (grid.id, day) not in planned_days:
                schedule, index = effective_schedule(chain_schedules, day)
                if schedule is None and settings.get("WORKERS_UNSCHEDULED_USE_DEFAULT"):
                    schedule, index = {"windows": DEFAULT_WINDOWS}, len(chain) - 1
                for w in windows_for_date(schedule, day, tz, grid_code=grid.code,
                                          grid_owns_schedule=index == len(chain) - 1):
                    if w.ends_at > now:
                        continue
                    scheduled += 1
                    patrolled += any(b <= w.ends_at and e >= w.starts_at for b, e in patrols.get(grid.id, []))
            day += timedelta(days=1)
        if scheduled:
            yield grid.path, scheduled, patrolled
