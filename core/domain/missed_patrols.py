"""The missed-patrol scan (overdue incidents are in core.domain.overdue).

It reads only what is due — windows whose check time has come (a partial index on state + next_check_at
holds only windows still to judge) — settles the patrolled ones in one set-based UPDATE, and handles the
missed ones in batches of WORKERS_SCAN_BATCH committed one by one (a killed worker loses at most one
uncommitted batch, which the next run redoes; the alert keys make the redo send nothing twice). Rows are
claimed FOR UPDATE SKIP LOCKED on PostgreSQL, so two workers scanning at once split the work.
A patrol counts whatever its source (device sync, SMS, staff) and whenever it arrives: a phone that was
offline and syncs after the scan turns a missed window into a patrolled one at the follow-up check.
"""
from __future__ import annotations

import logging
import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.orm import Session

from core.models import Patrol
from core import settings
from core.domain import alert_texts as texts
from core.domain.alerts import alert_key, raise_alerts
from core.models.alerts import PatrolWindow
from core.domain.recipients import AreaIndex, first_leaders, patrollers
from core.domain.sqlhelp import id_in
from core.domain.patrol_calendar import in_quiet_hours
from core.domain.patrol_windows import PATROL_MAX_HOURS

log = logging.getLogger(__name__)


def _covering_patrol_sql(dialect: str, w=PatrolWindow):
    """Correlated subquery: the first patrol of the window's grid overlapping it (sync or SMS alike)."""
    c = getattr(w, "c", w)  # the ORM entity in SELECTs, the Table in UPDATEs
    conditions = [Patrol.area_id == c.area_id, Patrol.deleted_at.is_(None), Patrol.started_at < c.ends_at,
                  func.coalesce(Patrol.ended_at, Patrol.started_at) >= c.starts_at]
    if dialect == "postgresql":  # bounds the (area_id, started_at) index range; SQLite lacks interval math
        conditions.append(Patrol.started_at >= c.starts_at - literal_column(f"interval '{PATROL_MAX_HOURS} hours'"))
    return (select(Patrol.id).where(*conditions)
            .order_by(Patrol.started_at).limit(1).correlate(w).scalar_subquery())


def _late_patrol_sql(now: datetime):
    w = PatrolWindow
    return (select(Patrol.id).where(Patrol.area_id == w.area_id, Patrol.deleted_at.is_(None),
                                    Patrol.started_at >= w.ends_at, Patrol.started_at <= now)
            .order_by(Patrol.started_at).limit(1).correlate(w).scalar_subquery())


def _previous_state_sql():
    prev = PatrolWindow.__table__.alias("prev")
    w = PatrolWindow
    return (select(prev.c.state).where(prev.c.area_id == w.area_id, prev.c.site == w.site,
                                       prev.c.starts_at < w.starts_at)
            .order_by(prev.c.starts_at.desc()).limit(1).correlate(w).scalar_subquery())


def _claim(query):
    return query.with_for_update(skip_locked=True, of=PatrolWindow)


def scan_missed_patrols(session: Session, now: datetime, *, commit: bool = True) -> dict:
    """Windows closed (+grace) with no patrol → the grid's first leader and its patrollers; two missed
    in a row, or no 收到 within WORKERS_MISSED_ESCALATE_MINUTES → the community leader."""
    batch = settings.get("WORKERS_SCAN_BATCH")
    dialect = session.get_bind().dialect.name
    totals = {"checked": 0, "patrolled": 0, "missed": 0, "late": 0, "escalated": 0, "alerts": 0, "held": 0}
    # Stage 1a: due windows that were patrolled, settled in ONE set-based UPDATE (at 12:15 every grid's
    # morning window is due at once; most were patrolled and need no Python work). A concurrent scan's
    # UPDATE waits on the row locks, then re-checks `state = 'open'` and skips them.
    table = PatrolWindow.__table__
    due = [table.c.state == "open", table.c.next_check_at <= now]
    inner = table.alias("due")
    judging = (select(inner.c.id, _covering_patrol_sql(dialect, inner).label("pid"))
               .where(inner.c.state == "open", inner.c.next_check_at <= now))
    judged = judging.cte("judged").prefix_with("MATERIALIZED") if dialect == "postgresql" \
        else judging.subquery("judged")  # PostgreSQL: look each patrol up once, not again in the filter
    result = session.execute(update(table).where(table.c.id == judged.c.id, judged.c.pid.isnot(None), *due)
                             .values(state="patrolled", next_check_at=None, patrol_id=judged.c.pid))
    totals["checked"] += result.rowcount or 0
    totals["patrolled"] += result.rowcount or 0
    if commit:
        session.commit()
    while True:  # stage 1b: the rest of the due windows were missed
        rows = session.execute(_claim(
            select(PatrolWindow.id, PatrolWindow.area_id, PatrolWindow.starts_at, PatrolWindow.label,
                   PatrolWindow.heightened, PatrolWindow.site,
                   _covering_patrol_sql(dialect).label("patrol_id"), _previous_state_sql().label("prev"))
            .where(PatrolWindow.state == "open", PatrolWindow.next_check_at <= now)
            .order_by(PatrolWindow.next_check_at, PatrolWindow.id).limit(batch))).all()
        if not rows:
            break
        _settle_windows(session, rows, now, totals, dialect)
        if commit:
            session.commit()
        if len(rows) < batch:
            break
    while True:  # stage 2: missed windows whose acknowledgement time has run out
        rows = session.execute(_claim(
            select(PatrolWindow, _covering_patrol_sql(dialect).label("on_time_id"),
                   _late_patrol_sql(now).label("late_id"))
            .where(PatrolWindow.state == "missed", PatrolWindow.next_check_at <= now)
            .order_by(PatrolWindow.next_check_at, PatrolWindow.id).limit(batch))).all()
        if not rows:
            break
        _follow_up_windows(session, rows, now, totals)
        if commit:
            session.commit()
        if len(rows) < batch:
            break
    return totals


def _settle_windows(session: Session, rows, now: datetime, totals: dict, dialect: str) -> None:
    """Set-based UPDATEs per batch; only missed windows cost Python work.

    Two in a row: the grid's previous window was missed — already settled (`prev`), or settled just
    before in this very batch (after an outage both of a day's windows are due at once).
    The acknowledgement clock starts when the reminder actually goes out: a text held for quiet hours
    is escalated an hour after 07:00, not at 07:00 together with the leader's own.
    """
    escalate_after = timedelta(minutes=settings.get("WORKERS_MISSED_ESCALATE_MINUTES"))
    heightened_urgent = settings.get("WORKERS_HEIGHTENED_URGENT")
    quiet = (settings.get("WORKERS_QUIET_START"), settings.get("WORKERS_QUIET_END"))
    patrolled = [r.id for r in rows if r.patrol_id is not None]
    missed, missed_here = [], set()
    for r in rows:
        if r.patrol_id is None:
            streak = r.prev in ("missed", "acknowledged", "escalated") or (
                r.prev == "open" and (r.area_id, r.site) in missed_here)
            missed.append((r, streak))
            missed_here.add((r.area_id, r.site))
    totals["checked"] += len(rows)
    totals["patrolled"] += len(patrolled)
    totals["missed"] += len(missed)
    table = PatrolWindow.__table__
    if patrolled:  # patrolled between stage 1a and now (rare): same settlement
        session.execute(update(table).where(id_in(table.c.id, patrolled, dialect)).values(
            state="patrolled", next_check_at=None, patrol_id=_covering_patrol_sql(dialect, table)))
    if not missed:
        return
    index = AreaIndex(session, [w.area_id for w, _ in missed], settings.default_timezone())
    streak_ids = [r.id for r, streak in missed if streak]
    if streak_ids:
        session.execute(update(table).where(id_in(table.c.id, streak_ids, dialect)).values(
            state="escalated", missed_at=now, escalated_at=now, next_check_at=None))
    by_check: dict[datetime, list[int]] = {}  # usually one or two distinct check times: one UPDATE each
    for r, streak in missed:
        if streak:
            continue
        urgent = bool(heightened_urgent and r.heightened)
        released = None if urgent else in_quiet_hours(now, index.timezone(r.area_id), *quiet)
        by_check.setdefault((released or now) + escalate_after, []).append(r.id)
    for check, ids in by_check.items():
        session.execute(update(table).where(id_in(table.c.id, ids, dialect)).values(
            state="missed", missed_at=now, next_check_at=check))
    grid_ids = [w.area_id for w, _ in missed]
    leaders, crews = first_leaders(session, grid_ids), patrollers(session, grid_ids)
    streaks = [w for w, streak in missed if streak]
    communities = {w.id: index.community_of(w.area_id) for w in streaks}
    community_leaders = first_leaders(session, [c for c in communities.values() if c])
    specs = []
    for window, streak in missed:
        tz, code = index.timezone(window.area_id), index.code(window.area_id)
        urgent = bool(heightened_urgent and window.heightened)
        recipients = ([leaders[window.area_id]] if window.area_id in leaders else []) + crews.get(window.area_id, [])
        for member in dict.fromkeys(recipients):
            specs.append({"rule": "missed", "subject_type": "window", "subject_id": window.id, "member": member,
                          "area_id": window.area_id, "tz": tz, "urgent": urgent,
                          "key": alert_key("missed", f"a{window.area_id}{_site(window)}", window.starts_at, member.id),
                          "body": texts.missed_window(member.locale, code, _dated(window, tz), window.heightened,
                                                      window.site),
                          "params": texts.window_params(code, _dated(window, tz), window.site)})
        if streak:
            leader = community_leaders.get(communities.get(window.id))
            if leader is not None:
                specs.append(_missed_up_spec(window, leader, code, tz, "streak", urgent))
            totals["escalated"] += 1
    result = raise_alerts(session, specs, now)
    totals["alerts"] += result["sent"]
    totals["held"] += result["held"]


def _site(window: PatrolWindow) -> str:
    return f"-s{zlib.crc32(window.site.encode())}" if window.site else ""


def _missed_up_spec(window, leader, code, tz, reason, urgent) -> dict:
    return {"rule": "missed_up", "subject_type": "window", "subject_id": window.id, "member": leader,
            "area_id": window.area_id, "tz": tz, "urgent": urgent,
            "key": alert_key("missed_up", f"a{window.area_id}{_site(window)}", window.starts_at, leader.id),
            "body": texts.missed_up(leader.locale, code, _dated(window, tz), reason, window.heightened, window.site),
            "params": texts.window_params(code, _dated(window, tz), window.site, reason)}


def _dated(window, tz: str) -> str:
    """The window's label with its local date: a catch-up run covering several days sends one text per
    day, and the outbox's same-body duplicate window must not swallow yesterday's as a repeat of today's."""
    return f"{window.starts_at.astimezone(ZoneInfo(tz)):%m-%d} {window.label}"


def _follow_up_windows(session: Session, rows, now: datetime, totals: dict) -> None:
    heightened_urgent = settings.get("WORKERS_HEIGHTENED_URGENT")
    pending = []
    for window, on_time_id, late_id in rows:
        if on_time_id is not None:  # walked in the window, synced from an offline phone after the scan
            window.state, window.patrol_id, window.next_check_at = "patrolled", on_time_id, None
            totals["patrolled"] += 1
        elif late_id is not None:
            window.state, window.patrol_id, window.next_check_at = "late", late_id, None
            totals["late"] += 1
        else:
            pending.append(window)
    if not pending:
        return
    index = AreaIndex(session, [w.area_id for w in pending], settings.default_timezone())
    communities = {w.id: index.community_of(w.area_id) for w in pending}
    leaders = first_leaders(session, [c for c in communities.values() if c])
    specs = []
    for window in pending:
        leader = leaders.get(communities.get(window.id))
        if leader is not None:
            specs.append(_missed_up_spec(window, leader, index.code(window.area_id), index.timezone(window.area_id),
                                         "unacknowledged", bool(heightened_urgent and window.heightened)))
        window.state, window.escalated_at, window.next_check_at = "escalated", now, None
        totals["escalated"] += 1
    result = raise_alerts(session, specs, now)
    totals["alerts"] += result["sent"]
    totals["held"] += result["held"]
