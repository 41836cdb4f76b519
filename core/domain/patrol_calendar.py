"""The patrol calendar: which windows a grid must be patrolled in, on which day. The one home of the rule.

Pure functions over plain values (no session, no Flask), so the API (`GET /schedules/effective`), the SMS
check-in replies, the planner and the missed-patrol scans all ask the same questions the same way. A
schedule is anything with the fields of `PatrolSchedule` — the ORM row or a dict shaped like it (`id`,
`windows`, `active_from`, `active_to`, `heightened`, `key_sites`).

The rules, each written once:

- **Windows** are local "HH:MM" pairs; an end at or before the start runs past midnight (night checks).
- **Seasons**: a schedule with `active_from`/`active_to` applies on those dates, both inclusive. A range
  whose start comes after its end (11-25 → 02-28) is a season that wraps the new year and recurs every
  year, compared by month-day.
- **Lunar keys** (heightened periods computed from the lunar calendar, so nobody types the dates in):
  `chuxi` 除夕 — one day, the last day of the 12th lunar month (the eve of 正月初一);
  `spring_festival` 春节 — 正月初一 … 初七, seven days (or `days` long, 1–15);
  `yuanxiao` 元宵 — one day, 正月十五.
  A heightened period applies on its lunar dates and on any explicit `dates`; its windows are added to
  the day's.
- **A schedule counts from the day it was made** (`counted_from`), or from its `active_from` if that is
  later: days before it existed owe no windows (the weekly report's coverage of days nobody planned).
- **Which schedule governs a day** (`effective_schedule`): the nearest area on the path (the grid, then
  its community, … up to the root) that has a schedule active that day; among that area's active
  schedules, one limited to a date range (a campaign) wins over an open-ended one, then the newest (highest
  id). A winter campaign therefore *replaces* the everyday schedule while it runs (list every window the
  campaign wants), and a grid's own campaign that has ended falls back to its community's standing one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from lunardate import LunarDate


LUNAR_KEYS = ("chuxi", "spring_festival", "yuanxiao")  # 除夕, 春节, 元宵
LUNAR_NAMES = {"chuxi": "除夕", "spring_festival": "春节", "yuanxiao": "元宵"}
SPRING_FESTIVAL_DAYS = 7  # 正月初一 … 初七
MAX_SPRING_FESTIVAL_DAYS = 15
DAY_MINUTES = 24 * 60


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


def field(schedule: Any, name: str, default=None):
    """A schedule's field, whether it is an ORM row or a dict."""
    if isinstance(schedule, dict):
        value = schedule.get(name, default)
    else:
        value = getattr(schedule, name, default)
    return default if value is None else value


# --- clock and dates ---------------------------------------------------------------------------------------

def parse_hhmm(text: str) -> int:
    """Minutes after midnight of a strict "HH:MM", or ValueError."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        raise ValueError(text)
    hours, minutes = int(text[:2]), int(text[3:])
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValueError(text)
    return hours * 60 + minutes


def window_minutes(window: dict) -> int:
    """How long a window lasts; crossing midnight counts on."""
    start, end = parse_hhmm(window["start"]), parse_hhmm(window["end"])
    return (end - start) % DAY_MINUTES


def _as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def local_date(instant: datetime, tz_name: str) -> date:
    return instant.astimezone(ZoneInfo(tz_name)).date()


# --- seasons -----------------------------------------------------------------------------------------------

def season_active(active_from, active_to, day: date) -> bool:
    """Whether a range (dates or ISO strings; both None = always) covers `day`; see the module docstring."""
    start, end = _as_date(active_from), _as_date(active_to)
    if start is None and end is None:
        return True
    if start is None or end is None:  # half-open ranges are refused on input; read them literally
        return (start is None or day >= start) and (end is None or day <= end)
    if start <= end:
        return start <= day <= end
    key = (day.month, day.day)
    return key >= (start.month, start.day) or key <= (end.month, end.day)


def is_active_on(schedule, day: date) -> bool:
    return season_active(field(schedule, "active_from"), field(schedule, "active_to"), day)


def counted_from(schedule: dict, made_at: datetime | None, tz_name: str) -> dict:
    """The schedule (a dict) as it counts for days gone by: from the local day it was made (`made_at`, in
    `tz_name`), or its `active_from` if that is later; a schedule with no creation time counts as written."""
    if made_at is None:
        return schedule
    made_on = local_date(made_at, tz_name)
    active_from = _as_date(field(schedule, "active_from"))
    if active_from is None or active_from < made_on:
        return {**schedule, "active_from": made_on}
    return schedule


# --- lunar keys and heightened periods ---------------------------------------------------------------------

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
        span = max(1, min(int(days or SPRING_FESTIVAL_DAYS), MAX_SPRING_FESTIVAL_DAYS))
        return [new_year + timedelta(days=i) for i in range(span)]
    if key == "yuanxiao":
        return [new_year + timedelta(days=14)]
    raise ValueError(f"unknown lunar key {key!r}; use one of {', '.join(LUNAR_KEYS)}")


def lunar_date(key: str, year: int) -> date:
    """The first date of a lunar key in the lunar year beginning in `year`."""
    return lunar_dates(key, year)[0]


def heightened_applies(period: dict, day: date) -> bool:
    """Whether a heightened period covers this local date (a lunar key or an explicit date)."""
    if day in {_as_date(d) for d in period.get("dates") or []}:
        return True
    key = period.get("lunar")
    if key:
        # The lunar new year falls in Jan/Feb: the lunar year starting in day.year, or (for a date in
        # January before a February new year) the one before, are the only candidates.
        return any(day in lunar_dates(key, year, period.get("days")) for year in (day.year, day.year - 1))
    return False


def heightened_dates(period: dict, year: int) -> list[date]:
    """Every date a heightened period covers in `year` (its explicit dates plus its lunar key's span in the
    lunar year beginning that year): what a page shows an office."""
    dates = {_as_date(d) for d in period.get("dates") or []}
    if period.get("lunar"):
        dates.update(lunar_dates(period["lunar"], year, period.get("days")))
    return sorted(d for d in dates if d is not None)


def heightened_on(schedule, day: date) -> list[dict]:
    """The heightened periods of a schedule that fall on `day`."""
    return [p for p in field(schedule, "heightened", []) if heightened_applies(p, day)]


# --- which schedule governs a day --------------------------------------------------------------------------

def _precedence(schedule) -> tuple:
    return (field(schedule, "active_from") is not None, field(schedule, "id", 0))


def pick_schedule(schedules: Iterable, day: date | None) -> Any | None:
    """Among one area's schedules, the one that governs `day` (None = any day): see the module docstring."""
    candidates = [s for s in schedules if day is None or is_active_on(s, day)]
    return max(candidates, key=_precedence) if candidates else None


def effective_schedule(chain_schedules: Sequence[Iterable], day: date | None) -> tuple[Any | None, int | None]:
    """(schedule, index in the chain) of the schedule that governs `day`; chain root first, the grid last.

    `day=None` asks which schedule an area follows in general: the nearest area with any schedule, and
    there the same precedence."""
    for index in range(len(chain_schedules) - 1, -1, -1):
        chosen = pick_schedule(chain_schedules[index], day)
        if chosen is not None:
            return chosen, index
    return None, None


# --- windows -----------------------------------------------------------------------------------------------

def windows_on(schedule, day: date) -> list[dict]:
    """The window specs of `day`: the daily ones plus those of heightened periods on that day (empty when
    the schedule is not active); the same start/end twice counts once."""
    if schedule is None or not is_active_on(schedule, day):
        return []
    seen, out = set(), []
    specs = list(field(schedule, "windows", []))
    for period in heightened_on(schedule, day):
        specs.extend(period.get("windows") or [])
    for spec in specs:
        key = (spec["start"], spec["end"])
        if key not in seen:
            seen.add(key)
            out.append({"start": spec["start"], "end": spec["end"]})
    return out


def _due(day: date, spec: dict, tz: ZoneInfo, **extra) -> DueWindow:
    start, end = parse_hhmm(spec["start"]), parse_hhmm(spec["end"])
    local_start = datetime.combine(day, time(start // 60, start % 60), tzinfo=tz)
    end_day = day + timedelta(days=1) if end <= start else day
    local_end = datetime.combine(end_day, time(end // 60, end % 60), tzinfo=tz)
    return DueWindow(starts_at=local_start.astimezone(timezone.utc), ends_at=local_end.astimezone(timezone.utc),
                     local_date=day, label=f"{spec['start']}-{spec['end']}", **extra)


def windows_for_date(schedule, day: date, tz_name: str, *, grid_code: str | None = None,
                     grid_owns_schedule: bool = False) -> list[DueWindow]:
    """The due windows of one local date under one schedule, as UTC instants.

    Key sites with `fixed_post` get their own windows (固定蹲守): the site's own windows, or else those of the
    heightened periods on that day. A site applies to the grid named in its "grid" field, or, without one,
    to the schedule's own area when that area is the grid itself; a community-wide schedule does not
    multiply a site over every grid."""
    if schedule is None or not is_active_on(schedule, day):
        return []
    tz = ZoneInfo(tz_name)
    found: dict[tuple, DueWindow] = {}
    for spec in field(schedule, "windows", []):
        w = _due(day, spec, tz)
        found.setdefault((w.starts_at, w.ends_at, ""), w)
    todays = heightened_on(schedule, day)
    heightened_specs = []
    for period in todays:
        name = period.get("name") or LUNAR_NAMES.get(period.get("lunar"), period.get("lunar")) or "heightened"
        for spec in period.get("windows") or []:
            heightened_specs.append(spec)
            w = _due(day, spec, tz, kind="heightened", heightened=name)
            found.setdefault((w.starts_at, w.ends_at, ""), w)
    for site in field(schedule, "key_sites", []):
        if not site.get("fixed_post"):
            continue
        owner = site.get("grid")
        if (owner is not None and owner != grid_code) or (owner is None and not grid_owns_schedule):
            continue
        for spec in site.get("windows") or (heightened_specs if todays else []):
            w = _due(day, spec, tz, kind="fixed_post", site=str(site.get("name", "")),
                     heightened=todays[0].get("name", "") if todays else "")
            found.setdefault((w.starts_at, w.ends_at, w.site), w)
    return sorted(found.values(), key=lambda w: (w.starts_at, w.ends_at, w.site))


def window_containing(schedules_by_day, instant: datetime, tz_name: str) -> dict | None:
    """The window spec ({"start", "end"}) a local instant falls in, or None.

    `schedules_by_day(day)` gives the schedule governing a local date; a window that crosses midnight
    belongs to the day it starts on, so yesterday's schedule is asked too."""
    local = instant.astimezone(ZoneInfo(tz_name))
    minute = local.hour * 60 + local.minute
    for day, offset in ((local.date(), 0), (local.date() - timedelta(days=1), DAY_MINUTES)):
        for window in windows_on(schedules_by_day(day), day):
            start, end = parse_hhmm(window["start"]), parse_hhmm(window["end"])
            end += DAY_MINUTES if end <= start else 0
            if start <= minute + offset < end:
                return window
    return None


# --- quiet hours -------------------------------------------------------------------------------------------

def in_quiet_hours(instant: datetime, tz_name: str, start: str = "22:00", end: str = "07:00") -> datetime | None:
    """If the instant falls in quiet hours (local), the UTC instant they end; else None."""
    tz = ZoneInfo(tz_name)
    local = instant.astimezone(tz)
    q_start, q_end = parse_hhmm(start), parse_hhmm(end)
    t = local.hour * 60 + local.minute + local.second / 60
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
    return datetime.combine(release_day, time(q_end // 60, q_end % 60), tzinfo=tz).astimezone(timezone.utc)
