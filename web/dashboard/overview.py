"""总览: today's patrol windows as a grid of the hierarchy, the problem counts, and today's SMS traffic.

Rows are the focus area's children, cells their children (grids under a community, communities under a
sub-district); a cell shows the windows of its whole subtree for today. The live fragment is polled by
static/overview.js so the page refreshes itself without a reload.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import request, url_for
from sqlalchemy import and_, case, func, select

from core.domain.access import scope_filter
from core.models import Area, Incident, OPEN_STATUSES
from core.db import db
from sms.models import InboundMessage
from web.dashboard.common import (breadcrumb, children_of, focus_area, leader, local_midnight_utc, local_today,
                                  make_blueprint, page)
from core.models.alerts import PatrolWindow, WorkerAlert

bp = make_blueprint("dashboard_overview", __name__)

STATES = ("done", "late", "missed", "pending")


def window_class(now: datetime):
    """done / late / missed as the workers judged them; an open window is still pending (not yet due or
    awaiting its check)."""
    return case((PatrolWindow.state == "patrolled", "done"), (PatrolWindow.state == "late", "late"),
                (PatrolWindow.state.in_(("missed", "acknowledged", "escalated")), "missed"), else_="pending")


def _segments(path: str) -> list[int]:
    return [int(p) for p in path.strip("/").split("/") if p]


MAX_CELLS = 400  # above this many cells (a district or the whole city) each row is one summary bar


def _bucket() -> dict:
    return dict.fromkeys(STATES, 0)


def hierarchy_grid(focus: Area, day, now: datetime) -> tuple[list[dict], bool]:
    """Rows (the focus's children) with their cells (the children's children), each cell the counts of
    today's windows in its subtree by state; (rows, summary) where summary means the cells were too many
    to draw and each row carries only its total."""
    depth = len(_segments(focus.path))
    row_areas = children_of(focus) or [focus]
    cell_count = db.session.scalar(select(func.count()).select_from(Area).where(
        Area.path.startswith(focus.path), Area.depth == focus.depth + 2, Area.deleted_at.is_(None)))
    summary = cell_count > MAX_CELLS
    in_focus = PatrolWindow.area_id.in_(select(Area.id).where(Area.path.startswith(focus.path)))
    cls = window_class(now).label("cls")
    counts: dict[tuple[int, int], dict] = {}
    if summary:
        # Group by the grids' parents in SQL (a few thousand groups, not every grid), then place each parent
        # under its row by its path.
        grouped = db.session.execute(
            select(Area.parent_id, cls, func.count()).select_from(PatrolWindow)
            .join(Area, Area.id == PatrolWindow.area_id)
            .where(PatrolWindow.local_date == day, in_focus).group_by(Area.parent_id, "cls")).all()
        parent_ids = {p for p, _, _ in grouped if p is not None}
        paths = dict(db.session.execute(select(Area.id, Area.path).where(  # the usual shape: one range scan
            Area.path.startswith(focus.path), Area.depth.between(focus.depth + 1, focus.depth + 2))).all())
        missing = parent_ids - set(paths)
        if missing:  # deeper trees: look the rest up by id
            paths.update(db.session.execute(select(Area.id, Area.path).where(Area.id.in_(missing))).all())
        for parent_id, state, n in grouped:
            seg = _segments(paths.get(parent_id, ""))
            row_id = seg[depth] if len(seg) > depth else focus.id
            counts.setdefault((row_id, row_id), _bucket())[state] += n
    else:
        for path, state, n in db.session.execute(
                select(Area.path, cls, func.count()).select_from(PatrolWindow)
                .join(Area, Area.id == PatrolWindow.area_id)
                .where(PatrolWindow.local_date == day, in_focus).group_by(Area.path, "cls")):
            seg = _segments(path)
            row_id = seg[depth] if len(seg) > depth else focus.id
            cell_id = seg[depth + 1] if len(seg) > depth + 1 else row_id
            counts.setdefault((row_id, cell_id), _bucket())[state] += n
    cell_ids = {c for _, c in counts} if not summary else set()
    names = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(cell_ids)))} if cell_ids else {}
    cells_by_row: dict[int, list] = {}
    totals: dict[int, dict] = {}
    for (row_id, cell_id), bucket in counts.items():
        total = totals.setdefault(row_id, _bucket())
        for k in STATES:
            total[k] += bucket[k]
        if not summary and cell_id in names:
            cells_by_row.setdefault(row_id, []).append((names[cell_id], bucket))
    out = []
    for row in row_areas:
        cells = sorted(cells_by_row.get(row.id, []), key=lambda c: (len(c[0].code), c[0].code))
        out.append({"area": row, "cells": cells, "total": totals.get(row.id, _bucket())})
    return out, summary


def counts(principal, focus: Area, now: datetime, since: datetime) -> dict:
    in_focus = Area.path.startswith(focus.path)
    scoped = scope_filter(principal, "incidents", Area.path)
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
    grid, summary = hierarchy_grid(focus, today, now)
    return {"overview_base": url_for("dashboard_overview.index"), "patrols_base": url_for("dashboard_patrols.index"),
            "focus": focus, "crumbs": breadcrumb(principal, focus), "children": children_of(focus),
            "grid": grid, "summary": summary, "counts": counts(principal, focus, now, local_midnight_utc(today)),
            "today": today, "now": now, "endpoint": "dashboard_overview.index"}


@bp.route("/")
def index():
    return page("overview.html", **_context())


@bp.route("/overview/live")
def live():
    """The self-refreshing part of the page (polled every 30 s)."""
    return page("_overview_live.html", **_context())
