"""Patrol schedules: which windows apply to an area on a given day.

A grid without its own schedule inherits its nearest ancestor's, so a sub-district office defines one
schedule and every grid follows it until a community overrides it. Windows are local "HH:MM" pairs; an end
before the start runs past midnight (night checks). An active range whose start is after its end by
month-day (e.g. 11-25 → 02-28) is a season that wraps the new year and recurs every year.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain.areas import ancestor_ids
from server.errors import Invalid, NotFound
from server.models import Area, PatrolSchedule, utcnow

LUNAR_KEYS = ("chuxi", "spring_festival")  # 除夕 (lunar New Year's Eve), 春节 (lunar New Year's Day)


def parse_hhmm(text: str) -> int:
    """Minutes after midnight, or ValueError."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise ValueError(text)
    hours, minutes = int(text[:2]), int(text[3:])
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValueError(text)
    return hours * 60 + minutes


def window_minutes(window: dict) -> int:
    """How long a window lasts; crossing midnight counts on."""
    start, end = parse_hhmm(window["start"]), parse_hhmm(window["end"])
    return (end - start) % (24 * 60)


def get_schedule(session: Session, schedule_id: int) -> PatrolSchedule:
    schedule = session.get(PatrolSchedule, schedule_id) if 0 < schedule_id < 2 ** 31 else None
    if schedule is None or schedule.deleted_at is not None:
        raise NotFound(f"no schedule with id {schedule_id}", details={"id": [f"Unknown schedule id {schedule_id}."]})
    return schedule


def check_active_range(active_from: date | None, active_to: date | None) -> None:
    if (active_from is None) != (active_to is None):
        missing = "active_to" if active_to is None else "active_from"
        raise Invalid("an active range needs both ends", details={missing: ["Give both active_from and active_to."]})


def is_active_on(schedule: PatrolSchedule, day: date) -> bool:
    start, end = schedule.active_from, schedule.active_to
    if start is None or end is None:
        return True
    if start <= end:
        return start <= day <= end
    # Recurring season that wraps the new year, compared by (month, day).
    key = (day.month, day.day)
    return key >= (start.month, start.day) or key <= (end.month, end.day)


def lunar_date(key: str, year: int) -> date:
    """The solar date of 除夕 or 春节 for the lunar year starting in `year`."""
    from lunardate import LunarDate
    new_year = LunarDate(year, 1, 1).to_solar_date()
    return new_year - timedelta(days=1) if key == "chuxi" else new_year


def heightened_dates(period: dict, year: int) -> list[date]:
    dates = [date.fromisoformat(d) if isinstance(d, str) else d for d in period.get("dates") or []]
    if period.get("lunar"):
        dates.append(lunar_date(period["lunar"], year))
    return sorted(set(dates))


def windows_on(schedule: PatrolSchedule, day: date) -> list[dict]:
    """The daily windows plus those of any heightened period falling on `day` (empty when inactive)."""
    if not is_active_on(schedule, day):
        return []
    windows = list(schedule.windows or [])
    for period in schedule.heightened or []:
        if day in heightened_dates(period, day.year):
            windows.extend(period.get("windows") or [])
    return windows


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
    """The schedule that governs `area` (on `day` when given): its own, else its nearest ancestor's.

    Among several schedules on one area, one limited to a date range wins over an open-ended one, then the
    newest wins: a winter campaign overrides the everyday schedule while it runs.
    """
    chain = ancestor_ids(area)
    rows = session.scalars(select(PatrolSchedule).where(PatrolSchedule.area_id.in_(chain),
                                                        PatrolSchedule.deleted_at.is_(None)))
    by_area: dict[int, list[PatrolSchedule]] = {}
    for schedule in rows:
        if day is None or is_active_on(schedule, day):
            by_area.setdefault(schedule.area_id, []).append(schedule)
    for area_id in reversed(chain):
        candidates = by_area.get(area_id)
        if candidates:
            candidates.sort(key=lambda s: (s.active_from is not None, s.id), reverse=True)
            return candidates[0], session.get(Area, area_id)
    return None, None
