"""巡查: each grid's coverage per day for a chosen week, the missed windows, and who patrolled.

Coverage is read from the windows the workers materialise and judge (core.models.alerts.PatrolWindow), so this
page shows exactly what the missed-patrol alerts and the weekly report count.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from flask import request, url_for
from sqlalchemy import func, select

from core.domain.errors import Invalid
from core.db import db
from core.models import Area, Member, Patrol
from web.dashboard.common import (breadcrumb, children_of, focus_area, leader, local_midnight_utc, local_today,
                                  make_blueprint, page)
from web.dashboard.overview import window_class
from core.models.alerts import PatrolWindow

bp = make_blueprint("dashboard_patrols", __name__, "/patrols")
MAX_GRIDS = 200


def week_start(raw: str | None) -> date:
    if raw:
        try:
            day = date.fromisoformat(raw.strip()[:10])
        except ValueError:
            raise Invalid("week is not a date", details={"week": ["Use YYYY-MM-DD."]}) from None
    else:
        day = local_today()
    return day - timedelta(days=day.weekday())


@bp.route("")
def index():
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    start = week_start(request.args.get("week"))
    days = [start + timedelta(days=i) for i in range(7)]
    end = start + timedelta(days=7)
    grids = list(db.session.scalars(select(Area).where(Area.path.startswith(focus.path), Area.kind == "grid",
                                                       Area.deleted_at.is_(None))
                                  .order_by(func.length(Area.code), Area.code).limit(MAX_GRIDS + 1)))
    truncated = len(grids) > MAX_GRIDS
    grids = grids[:MAX_GRIDS]
    ids = [g.id for g in grids]
    cells: dict[tuple[int, date], dict] = {}
    missed = []
    who: dict[int, dict[str, int]] = {}
    if ids:
        now = datetime.now(timezone.utc)
        for area_id, day, cls, n in db.session.execute(
                select(PatrolWindow.area_id, PatrolWindow.local_date, window_class(now).label("cls"), func.count())
                .where(PatrolWindow.area_id.in_(ids), PatrolWindow.local_date >= start, PatrolWindow.local_date < end)
                .group_by(PatrolWindow.area_id, PatrolWindow.local_date, "cls")):
            bucket = cells.setdefault((area_id, day), {"done": 0, "late": 0, "missed": 0, "pending": 0})
            bucket[cls] += n
        missed = db.session.execute(
            select(PatrolWindow, Area).join(Area, Area.id == PatrolWindow.area_id)
            .where(PatrolWindow.area_id.in_(ids), PatrolWindow.local_date >= start, PatrolWindow.local_date < end,
                   PatrolWindow.state.in_(("missed", "acknowledged", "escalated")))
            .order_by(PatrolWindow.starts_at.desc()).limit(100)).all()
        for area_id, name, n in db.session.execute(
                select(Patrol.area_id, Member.name, func.count()).join(Member, Member.id == Patrol.member_id)
                .where(Patrol.area_id.in_(ids), Patrol.started_at >= local_midnight_utc(start),
                       Patrol.started_at < local_midnight_utc(end), Patrol.deleted_at.is_(None))
                .group_by(Patrol.area_id, Member.name)):
            who.setdefault(area_id, {})[name] = n
    return page("patrols.html", focus=focus, crumbs=breadcrumb(principal, focus), children=children_of(focus),
                endpoint="dashboard_patrols.index", extra={"week": start.isoformat()}, grids=grids, days=days,
                cells=cells, missed=missed, who=who, start=start, truncated=truncated,
                prev_week=(start - timedelta(days=7)).isoformat(), next_week=end.isoformat(),
                base=url_for("dashboard_patrols.index"))
