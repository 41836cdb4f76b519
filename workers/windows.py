"""Patrol windows: from an area's effective schedule to the windows due on one local date, as UTC instants.

Plain functions over plain values so they are testable without a database: `windows_for_date` takes the
schedules of the nearest ancestor that has one active that day (see `effective_schedules`) and returns
`DueWindow`s. A window "22:00"–"02:00" starts on the date and ends the next morning; local times are
converted with the area's time zone, so a daylight-saving jump moves the UTC instants, not the duty.

Heightened periods (敏感节点) add windows on their dates: explicit "dates" set by the office, and the lunar
keys "chuxi" (除夕, the last day of the 12th lunar month), "spring_festival" (正月初一 … 初七, or "days"
long) and "yuanxiao" (正月十五), computed with the lunardate library so the dates never need typing in.
Key sites with `fixed_post` get their own windows on heightened days (固定蹲守).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from lunardate import LunarDate

LUNAR_KEYS = ("chuxi", "spring_festival", "yuanxiao")
SPRING_FESTIVAL_DAYS = 7


@dataclass(frozen=True)
class DueWindow:
    """One window a grid must be patrolled in. `label` is what people read ("14:00-18:00")."""

    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    local_date: date
    label: str
    kind: str = "daily"  # daily | heightened | fixed_post
    heightened: str = ""  # the heightened period's name, e.g. 除夕
    site: str = ""  # key site name for fixed posts


def parse_hhmm(value: str) -> time:
    hours, _, minutes = str(value).strip().partition(":")
    hour, minute = int(hours), int(minutes or 0)
    if hour == 24 and minute == 0:
        return time(23, 59, 59)
    return time(hour, minute)


def _parse_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


@lru_cache(maxsize=256)
def lunar_new_year(year: int) -> date:
    """正月初一 of the lunar year that starts in this Gregorian year."""
    return LunarDate(year, 1, 1).to_solar_date()


def lunar_dates(key: str, year: int, days: int | None = None) -> list[date]:
    """The Gregorian dates a lunar key stands for in the lunar year beginning in `year`."""
    new_year = lunar_new_year(year)
    if key == "chuxi":
        return [new_year - timedelta(days=1)]
    if key == "spring_festival":
        return [new_year + timedelta(days=i) for i in range(days or SPRING_FESTIVAL_DAYS)]
    if key == "yuanxiao":
        return [new_year + timedelta(days=14)]
    raise ValueError(f"unknown lunar key {key!r}; use one of {', '.join(LUNAR_KEYS)}")


def heightened_applies(period: dict, day: date) -> bool:
    """Whether a heightened period covers this local date (lunar key or an explicit date)."""
    explicit = {_parse_date(d) for d in period.get("dates") or []}
    if day in explicit:
        return True
    key = period.get("lunar")
    if key:
        # Chinese New Year falls in Jan/Feb, so the lunar year starting in day.year (or, for 除夕 in late
        # January before a February new year, the same one) is the only candidate.
        for year in (day.year, day.year - 1):
            if day in lunar_dates(key, year, period.get("days")):
                return True
    return False


def schedule_active(schedule: dict, day: date) -> bool:
    start, end = _parse_date(schedule.get("active_from")), _parse_date(schedule.get("active_to"))
    return (start is None or day >= start) and (end is None or day <= end)


def _window(day: date, spec: dict, tz: ZoneInfo, **extra) -> DueWindow:
    start, end = parse_hhmm(spec["start"]), parse_hhmm(spec["end"])
    local_start = datetime.combine(day, start, tzinfo=tz)
    end_day = day + timedelta(days=1) if end <= start else day
    local_end = datetime.combine(end_day, end, tzinfo=tz)
    label = f"{spec['start']}-{spec['end']}"
    return DueWindow(starts_at=local_start.astimezone(timezone.utc), ends_at=local_end.astimezone(timezone.utc),
                     local_date=day, label=label, **extra)


def windows_for_date(schedules: list[dict], day: date, tz_name: str, *, grid_code: str | None = None,
                     grid_owns_schedule: bool = False) -> list[DueWindow]:
    """The windows of one local date from the effective schedules (dicts shaped like PatrolSchedule).

    A key site applies to the grid named in its "grid" field, or, without one, to the schedule's own area
    when that area is the grid itself; a community-wide schedule does not multiply a site over every grid.
    """
    tz = ZoneInfo(tz_name)
    found: dict[tuple, DueWindow] = {}
    for schedule in schedules:
        if not schedule_active(schedule, day):
            continue
        for spec in schedule.get("windows") or []:
            w = _window(day, spec, tz)
            found.setdefault((w.starts_at, w.ends_at, ""), w)
        todays = [p for p in schedule.get("heightened") or [] if heightened_applies(p, day)]
        heightened_specs = []
        for period in todays:
            name = period.get("name") or period.get("lunar") or "heightened"
            for spec in period.get("windows") or []:
                heightened_specs.append(spec)
                w = _window(day, spec, tz, kind="heightened", heightened=name)
                found.setdefault((w.starts_at, w.ends_at, ""), w)
        for site in schedule.get("key_sites") or []:
            if not site.get("fixed_post"):
                continue
            owner = site.get("grid")
            if owner is not None and owner != grid_code:
                continue
            if owner is None and not grid_owns_schedule:
                continue
            specs = site.get("windows") or (heightened_specs if todays else [])
            for spec in specs:
                w = _window(day, spec, tz, kind="fixed_post", site=str(site.get("name", "")),
                            heightened=todays[0].get("name", "") if todays else "")
                found.setdefault((w.starts_at, w.ends_at, w.site), w)
    return sorted(found.values(), key=lambda w: (w.starts_at, w.ends_at, w.site))


def effective_schedules(chain_schedules: list[list[dict]], day: date) -> list[dict]:
    """From the schedules of each area on the path (root first, the grid last), those of the nearest area
    that has at least one schedule active on `day`. A grid's own campaign schedule that has ended falls
    back to its community's standing one."""
    for schedules in reversed(chain_schedules):
        active = [s for s in schedules if schedule_active(s, day)]
        if active:
            return active
    return []


def local_date(instant: datetime, tz_name: str) -> date:
    return instant.astimezone(ZoneInfo(tz_name)).date()


def in_quiet_hours(instant: datetime, tz_name: str, start: str = "22:00", end: str = "07:00") -> datetime | None:
    """If the instant falls in quiet hours (local), the UTC instant they end; else None."""
    tz = ZoneInfo(tz_name)
    local = instant.astimezone(tz)
    q_start, q_end = parse_hhmm(start), parse_hhmm(end)
    t = local.time()
    if q_start == q_end:
        return None
    if q_start < q_end:
        inside = q_start <= t < q_end
        release_day = local.date()
    else:
        inside = t >= q_start or t < q_end
        release_day = local.date() + timedelta(days=1) if t >= q_start else local.date()
    if not inside:
        return None
    return datetime.combine(release_day, q_end, tzinfo=tz).astimezone(timezone.utc)
