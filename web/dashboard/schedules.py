"""排班: the schedules of an area and its ancestors (daily windows, campaign range, heightened dates such as
除夕/春节), editing them, and the effective schedule of any grid on any date.

Edits are validated by the API's ScheduleUpdateSchema and written by core.domain.schedules; the effective
schedule is core.domain.schedules.effective_schedule + windows_on, the rule the workers plan from.
"""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from server.api.schedules import ScheduleUpdateSchema
from core.domain.access import can, require
from core.domain.areas import ancestor_ids
from core.domain.audit import record as audit_record
from core.domain.patrol_calendar import LUNAR_KEYS, heightened_dates, windows_on
from core.domain.schedules import create_schedule, effective_schedule, get_schedule, update_schedule
from core.domain.errors import DomainError, Invalid
from core.db import db
from core.models import Area, PatrolSchedule
from web.dashboard.common import (CHANNEL, breadcrumb, children_of, flash_error, focus_area, leader, local_today,
                                  make_blueprint, page, t)

bp = make_blueprint("dashboard_schedules", __name__, "/schedules")
LUNAR_ZH = {"chuxi": "除夕", "spring_festival": "春节"}


def windows_text(windows: list[dict]) -> str:
    return ", ".join(f"{w['start']}-{w['end']}" for w in windows or [])


def heightened_text(periods: list[dict]) -> str:
    """One line per period: 名称; 日期或农历键 (空格分隔); 时段."""
    lines = []
    for p in periods or []:
        when = " ".join(([p["lunar"]] if p.get("lunar") else []) + list(p.get("dates") or []))
        lines.append(f"{p['name']}; {when}; {windows_text(p.get('windows') or [])}")
    return "\n".join(lines)


def _parse_windows(text: str) -> list[dict]:
    out = []
    for part in text.replace("，", ",").split(","):
        part = part.strip()
        if part:
            start, _, end = part.partition("-")
            out.append({"start": start.strip(), "end": end.strip()})
    return out


def parse_form(form) -> dict:
    """The form's text fields as the API's JSON body, then validated by the API's schema."""
    body = {"name": form.get("name", "").strip(), "windows": _parse_windows(form.get("windows", "")),
            "active_from": form.get("active_from") or None, "active_to": form.get("active_to") or None,
            "heightened": []}
    for line in (form.get("heightened") or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("；", ";").split(";")]
        name, when, windows = (parts + ["", "", ""])[:3]
        period = {"name": name, "dates": [w for w in when.split() if w not in LUNAR_KEYS],
                  "windows": _parse_windows(windows)}
        lunar = [w for w in when.split() if w in LUNAR_KEYS]
        if lunar:
            period["lunar"] = lunar[0]
        body["heightened"].append(period)
    try:
        return ScheduleUpdateSchema().load(body)
    except ValidationError as exc:
        raise Invalid("some schedule fields are not valid", details=exc.messages) from None


@bp.route("")
def index():
    principal = leader()
    focus = focus_area(principal, request.args.get("area"))
    chain = ancestor_ids(focus)
    areas = {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(chain)))}
    schedules = db.session.scalars(select(PatrolSchedule).where(PatrolSchedule.area_id.in_(chain),
                                                                PatrolSchedule.deleted_at.is_(None))
                                   .order_by(PatrolSchedule.area_id, PatrolSchedule.id)).all()
    day_raw = (request.args.get("on") or "").strip()
    try:
        day = date.fromisoformat(day_raw) if day_raw else local_today()
    except ValueError:
        raise Invalid("on is not a date", details={"on": ["Use YYYY-MM-DD."]}) from None
    grid_code = (request.args.get("grid") or "").strip()
    grid = focus_area(principal, grid_code) if grid_code else focus
    effective, owner = effective_schedule(db.session, grid, day)
    eff_windows = windows_on(effective, day) if effective else []
    year = day.year + 1 if day.month >= 3 else day.year  # the coming 除夕/春节, as a winter campaign sees it
    return page("schedules.html", focus=focus, crumbs=breadcrumb(principal, focus), children=children_of(focus),
                endpoint="dashboard_schedules.index", extra={}, schedules=schedules, areas=areas, day=day, grid=grid,
                effective=effective, owner=owner, eff_windows=eff_windows, windows_text=windows_text,
                heightened_text=heightened_text, heightened_dates=heightened_dates, year=year, LUNAR_ZH=LUNAR_ZH,
                may_edit=can(principal, "create", "schedules", focus),
                editable={s.id for s in schedules if can(principal, "update", "schedules", areas[s.area_id])})


@bp.route("/save", methods=["POST"])
def save():
    principal = leader()
    schedule_id = request.form.get("schedule_id", "")
    focus = focus_area(principal, request.form.get("area"))
    try:
        values = parse_form(request.form)
        if schedule_id.isdigit():
            schedule = get_schedule(db.session, int(schedule_id[:9]))
            area = db.session.get(Area, schedule.area_id)
            require(principal, "update", "schedules", area, what="edit schedules")
            update_schedule(db.session, schedule, values)
            action = "schedule.update"
        else:
            require(principal, "create", "schedules", focus, what="define schedules")
            schedule = create_schedule(db.session, focus, values)
            action = "schedule.create"
        audit_record(db.session, action, channel=CHANNEL, actor=principal.member, entity="schedule",
                     entity_id=schedule.id, summary={"area_id": schedule.area_id})
        db.session.commit()
        flash(t("排班已保存"), "ok")
    except DomainError as exc:
        db.session.rollback()
        flash_error(exc)
    return redirect(url_for("dashboard_schedules.index", area=focus.code))
