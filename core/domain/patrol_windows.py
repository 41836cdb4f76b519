"""Materialise each grid's due windows (today and the next days) into worker_patrol_windows.

Planning walks every grid, so it runs hourly on its own; the scans then touch only due windows. It reads
all areas and schedules in two queries and computes each distinct (schedule owner, zone, date) once, so a
city of 20,000 grids sharing a handful of schedules plans in seconds. Safe to run twice: inserts skip
existing slots (unique area + start + site), and future open windows that the schedule no longer has
are removed (the office changed the schedule).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from core.models import Area, DEFAULT_WINDOWS, Patrol, PatrolSchedule
from core import settings
from core.models.alerts import PatrolWindow
from core.domain.patrol_calendar import effective_schedule, local_date, windows_for_date
from core.domain.areas import ancestor_ids, effective_timezone

PATROL_MAX_HOURS = 12  # a patrol that started this long before a window cannot cover it (index bound)
BACKFILL_HOURS = 12  # windows that ended longer ago than this are not planned (no alert storm on install)


def schedule_dict(s: PatrolSchedule) -> dict:
    return {"id": s.id, "windows": s.windows or [], "active_from": s.active_from, "active_to": s.active_to,
            "heightened": s.heightened or [], "key_sites": s.key_sites or []}


def roster_fingerprint(session: Session) -> str:
    """Changes whenever an area or a schedule is added, edited, moved or deleted (their updated_at moves):
    the hourly planner skips its walk over every grid while this and the local date stay the same."""
    areas = session.execute(select(func.count(Area.id), func.max(Area.updated_at))).one()
    schedules = session.execute(select(func.count(PatrolSchedule.id), func.max(PatrolSchedule.updated_at))).one()
    return f"a{areas[0]}:{areas[1].isoformat() if areas[1] else ''}|s{schedules[0]}:" \
           f"{schedules[1].isoformat() if schedules[1] else ''}"


def windows_for_area(session: Session, area: Area, day) -> list:
    """The due windows of one local date for one grid, straight from its effective schedule (no table)."""
    chain = ancestor_ids(area)
    by_area: dict[int, list[dict]] = {}
    for schedule in session.scalars(select(PatrolSchedule).where(PatrolSchedule.area_id.in_(chain),
                                                                 PatrolSchedule.deleted_at.is_(None))
                                    .order_by(PatrolSchedule.id)):
        by_area.setdefault(schedule.area_id, []).append(schedule_dict(schedule))
    schedule, index = effective_schedule([by_area.get(i, []) for i in chain], day)
    owner = chain[index] if schedule is not None else None
    if schedule is None and settings.get("WORKERS_UNSCHEDULED_USE_DEFAULT"):
        schedule = {"windows": DEFAULT_WINDOWS}
    return windows_for_date(schedule, day, effective_timezone(session, area, settings.default_timezone()),
                            grid_code=area.code, grid_owns_schedule=(owner == area.id))


def _has_fixed_posts(schedule: dict) -> bool:
    return any(site.get("fixed_post") for site in schedule.get("key_sites") or [])


def plan_windows(session: Session, now: datetime, *, days_ahead: int | None = None,
                 grid_ids: list[int] | None = None) -> dict:
    """Insert the missing windows of yesterday..today+days_ahead (each grid's local dates)."""
    days_ahead = settings.get("WORKERS_PLAN_DAYS_AHEAD") if days_ahead is None else days_ahead
    default_tz = settings.default_timezone()
    use_default = settings.get("WORKERS_UNSCHEDULED_USE_DEFAULT")
    areas = {a.id: a for a in session.execute(
        select(Area.id, Area.code, Area.kind, Area.path, Area.timezone).where(Area.deleted_at.is_(None)))}
    by_area: dict[int, list[dict]] = {}
    for schedule in session.scalars(select(PatrolSchedule).where(PatrolSchedule.deleted_at.is_(None))
                                    .order_by(PatrolSchedule.id)):
        by_area.setdefault(schedule.area_id, []).append(schedule_dict(schedule))
    default_schedule = {"windows": DEFAULT_WINDOWS} if use_default else None

    grace = timedelta(minutes=settings.get("WORKERS_MISSED_GRACE_MINUTES"))
    cache: dict[tuple, list] = {}
    wanted: dict[tuple, dict] = {}
    cutoff = now - timedelta(hours=BACKFILL_HOURS)
    grids = [a for a in areas.values() if a.kind == "grid" and (grid_ids is None or a.id in grid_ids)]
    for grid in grids:
        chain = [int(p) for p in grid.path.strip("/").split("/") if p]
        tz = next((areas[i].timezone for i in reversed(chain) if i in areas and areas[i].timezone), None) or default_tz
        chain_schedules = [by_area.get(i, []) for i in chain]
        today = local_date(now, tz)
        for offset in range(-1, days_ahead + 1):
            day = today + timedelta(days=offset)
            schedule, index = effective_schedule(chain_schedules, day)
            owner = chain[index] if schedule is not None else None
            schedule = schedule or default_schedule
            if not schedule:
                continue
            fixed = _has_fixed_posts(schedule)
            key = (owner, id(schedule), tz, day, grid.code if fixed else None, owner == grid.id if fixed else None)
            if key not in cache:
                cache[key] = windows_for_date(schedule, day, tz, grid_code=grid.code,
                                              grid_owns_schedule=(owner == grid.id))
            for w in cache[key]:
                if w.ends_at <= cutoff:
                    continue
                wanted[(grid.id, w.starts_at, w.site)] = {
                    "area_id": grid.id, "starts_at": w.starts_at, "ends_at": w.ends_at, "local_date": w.local_date,
                    "label": w.label, "kind": w.kind, "heightened": w.heightened, "site": w.site,
                    "state": "open", "next_check_at": w.ends_at + grace}

    horizon_start = now - timedelta(days=2)
    existing_query = select(PatrolWindow.id, PatrolWindow.area_id, PatrolWindow.starts_at, PatrolWindow.site,
                            PatrolWindow.state).where(PatrolWindow.starts_at >= horizon_start)
    if grid_ids is not None:
        existing_query = existing_query.where(PatrolWindow.area_id.in_(grid_ids))
    existing = {(r.area_id, r.starts_at, r.site): r for r in session.execute(existing_query)}
    rows = [v for k, v in wanted.items() if k not in existing]
    inserted = insert_windows(session, rows)
    stale = [r.id for k, r in existing.items()
             if k not in wanted and r.state == "open" and k[1] > now]
    for i in range(0, len(stale), 1000):
        session.execute(delete(PatrolWindow).where(PatrolWindow.id.in_(stale[i:i + 1000])))
    return {"grids": len(grids), "planned": len(wanted), "inserted": inserted, "removed": len(stale)}


WINDOW_COLUMNS = ("area_id", "starts_at", "ends_at", "local_date", "label", "kind", "heightened", "site", "state",
                  "next_check_at")


def insert_windows(session: Session, rows: list[dict]) -> int:
    """Bulk insert, skipping slots another planner inserted meanwhile."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":  # pipelined executemany: no giant VALUES text
        columns = ", ".join(WINDOW_COLUMNS)
        with session.connection().connection.dbapi_connection.cursor() as cursor:
            # COPY into a scratch table, then one INSERT … ON CONFLICT: 60,000 windows in well under a second
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS worker_windows_load "
                           "(LIKE worker_patrol_windows INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
            with cursor.copy(f"COPY worker_windows_load ({columns}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(tuple(r[c] for c in WINDOW_COLUMNS))
            cursor.execute(f"INSERT INTO worker_patrol_windows ({columns}) SELECT {columns} FROM worker_windows_load "
                           "ON CONFLICT (area_id, starts_at, site) DO NOTHING")
            cursor.execute("TRUNCATE worker_windows_load")
        return len(rows)
    # local: each dialect's insert is named insert; the bind picks one
    from sqlalchemy.dialects.sqlite import insert
    statement = insert(PatrolWindow.__table__).on_conflict_do_nothing(index_elements=["area_id", "starts_at", "site"])
    session.execute(statement, rows)
    return len(rows)


def window_has_patrol(session: Session, window: PatrolWindow, until: datetime) -> bool:
    """Any patrol of the grid from the window's start until `until` (on time or late)."""
    return session.scalar(select(exists().where(
        Patrol.area_id == window.area_id, Patrol.deleted_at.is_(None), Patrol.started_at <= until,
        Patrol.started_at >= window.starts_at - timedelta(hours=PATROL_MAX_HOURS),
        func.coalesce(Patrol.ended_at, Patrol.started_at) >= window.starts_at))) or False
