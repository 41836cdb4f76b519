"""总览: today's patrol windows as a grid of the hierarchy, the problem counts, and today's SMS traffic.

Rows are the focus area's children, cells their children (grids under a community, communities under a
sub-district); a cell shows the windows of its whole subtree for today. The live fragment is polled by
static/overview.js so the page refreshes itself without a reload.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import request
from sqlalchemy import and_, case, func, select

from server.api.common import READ_ROLES
from server.models import Area, Incident, OPEN_STATUSES
from server.extensions import db
from sms.models import InboundMessage
from web.dashboard.common import (breadcrumb, children_of, focus_area, leader, local_midnight_utc, local_today,
                                  make_blueprint, page)
from workers.models import PatrolWindow, WorkerAlert

bp = make_blueprint("dashboard_overview", __name__)

STATES = ("done", "late", "missed", "pending")


def window_class(now: datetime):
    """done / late / missed as the workers judged them; an open window is still pending (not yet due or
    awaiting its check)."""
    return case((PatrolWindow.state == "patrolled", "done"), (PatrolWindow.state == "late", "late"),
                (PatrolWindow.state.in_(("missed", "acknowledged", "escalated")), "missed"), else_="pending")


def _segments(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


def hierarchy_grid(focus: Area, day, now: datetime) -> list[dict]:
    depth = len(_segments(focus.path))
    counts: dict[tuple[int, int], dict] = {}
    rows = db.session.execute(
        select(Area.path, window_class(now).label("cls"), func.count())
        .join(Area, Area.id == PatrolWindow.area_id)
        .where(PatrolWindow.local_date == day, Area.path.startswith(focus.path))
        .group_by(Area.path, "cls"))
    for path, cls, n in rows:
        seg = _segments(path)
        row_id = seg[depth] if len(seg) > depth else focus.id
        cell_id = seg[depth + 1] if len(seg) > depth + 1 else row_id
        bucket = counts.setdefault((row_id, cell_id), dict.fromkeys(STATES, 0))
        bucket[cls] += n
    row_areas = children_of(focus) or [focus]
    ids = {c for _, c in counts} | {r.id for r in row_areas}
    names = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(ids)))} if ids else {}
    cells_by_row: dict[int, list] = {}
    for (row_id, cell_id), bucket in counts.items():
        cells_by_row.setdefault(row_id, []).append((names.get(cell_id), bucket))
    out = []
    for row in row_areas:
        cells = sorted((c for c in cells_by_row.get(row.id, []) if c[0] is not None), key=lambda c: (len(c[0].code), c[0].code))
        total = dict.fromkeys(STATES, 0)
        for _, bucket in cells:
            for k in STATES:
                total[k] += bucket[k]
        out.append({"area": row, "cells": cells, "total": total})
    return out


def counts(principal, focus: Area, now: datetime, since: datetime) -> dict:
    in_focus = Area.path.startswith(focus.path)
    scoped = principal.area_filter(Area.path, set(READ_ROLES))
    open_ = Incident.status.in_(OPEN_STATUSES)
    row = db.session.execute(
        select(func.count(),
               func.count(case((and_(Incident.deadline.isnot(None), Incident.deadline < now), 1))),
               func.count(case((Incident.flagged.is_(True), 1))))
        .select_from(Incident).join(Area, Area.id == Incident.responsible_area_id)
        .where(open_, Incident.deleted_at.is_(None), in_focus, scoped)).one()
    sms_today = db.session.scalar(select(func.count()).select_from(InboundMessage)
                                  .join(Area, Area.id == InboundMessage.area_id)
                                  .where(InboundMessage.received_at >= since, in_focus))
    alerts_today = db.session.scalar(select(func.count()).select_from(WorkerAlert)
                                     .join(Area, Area.id == WorkerAlert.area_id)
                                     .where(WorkerAlert.created_at >= since, in_focus))
    reported_today = db.session.scalar(select(func.count()).select_from(Incident)
                                       .join(Area, Area.id == Incident.area_id)
                                       .where(Incident.reported_at >= since, in_focus, Incident.deleted_at.is_(None)))
    return {"open": row[0], "overdue": row[1], "flagged": row[2], "sms_today": sms_today,
            "alerts_today": alerts_today, "reported_today": reported_today}


def _context():
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    now = datetime.now(timezone.utc)
    today = local_today()
    return {"focus": focus, "crumbs": breadcrumb(principal, focus), "children": children_of(focus),
            "grid": hierarchy_grid(focus, today, now), "counts": counts(principal, focus, now, local_midnight_utc(today)),
            "today": today, "now": now, "endpoint": "dashboard_overview.index"}


@bp.route("/")
def index():
    return page("overview.html", **_context())


@bp.route("/overview/live")
def live():
    """The self-refreshing part of the page (polled every 30 s)."""
    return page("_overview_live.html", **_context())
