"""/api/v1/schedules — patrol schedules per area, and the effective (inherited) schedule of any area."""
from __future__ import annotations

from datetime import date

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates, validates_schema
from sqlalchemy import func

from server.api.common import (QUERY, READ_ROLES, AreaRef, StrictSchema, area_from_ref, audit, documents_errors, live,
                               page_args_schema, page_schema, paginate)
from core.domain.scoping import require_in_scope
from server.http.auth import staff_principal
from core.settings import DomainSettings
from core.domain.areas import effective_timezone
from core.domain.patrol_calendar import LUNAR_KEYS, MAX_SPRING_FESTIVAL_DAYS, parse_hhmm, windows_on
from core.domain.schedules import create_schedule, delete_schedule, effective_schedule, get_schedule, update_schedule
from core.db import db
from core.models import DEFAULT_WINDOWS, Area, PatrolSchedule

blp = Blueprint("schedules", __name__, url_prefix="/api/v1/schedules",
                description="Patrol schedules (daily windows, seasons, heightened periods, key sites)")

from core.domain.access import require  # noqa: E402  (the permission table decides: schedules/create|update|delete)


class WindowSchema(StrictSchema):
    start = fields.String(required=True, metadata={"example": "08:00"})
    end = fields.String(required=True, metadata={"example": "12:00", "description": "before start = past midnight"})

    @validates("start")
    def _start(self, value, **_):
        _hhmm(value)

    @validates("end")
    def _end(self, value, **_):
        _hhmm(value)

    @validates_schema
    def _not_empty(self, data, **_):
        if data.get("start") and data.get("start") == data.get("end"):
            raise ValidationError("A window must not start and end at the same time.", "end")


def _hhmm(value):
    try:
        parse_hhmm(value)
    except (ValueError, TypeError):
        raise ValidationError("Use 24-hour HH:MM, e.g. 08:00 or 22:30.") from None


class HeightenedSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"example": "除夕"})
    lunar = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LUNAR_KEYS),
                          metadata={"description": "chuxi 除夕 (1 day), spring_festival 春节 (正月初一…, `days` long, "
                                                   "default 7), yuanxiao 元宵 (1 day)"})
    days = fields.Integer(validate=validate.Range(min=1, max=MAX_SPRING_FESTIVAL_DAYS),
                          metadata={"description": "span of spring_festival in days (default 7)"})
    dates = fields.List(fields.Date(), load_default=list)
    windows = fields.List(fields.Nested(WindowSchema), load_default=list)

    @validates_schema
    def _when(self, data, **_):
        if not data.get("lunar") and not data.get("dates"):
            raise ValidationError("Give a lunar key or at least one date.", "dates")

    @post_load
    def _json_dates(self, data, **_):
        data["dates"] = [d.isoformat() for d in data["dates"]]
        return data


class KeySiteSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    location = fields.String(load_default="", validate=validate.Length(max=300))
    fixed_post = fields.Boolean(load_default=True, metadata={"description": "needs a fixed post (固定蹲守)"})


class ScheduleUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    windows = fields.List(fields.Nested(WindowSchema), validate=validate.Length(max=24))
    active_from = fields.Date(allow_none=True)
    active_to = fields.Date(allow_none=True, metadata={"description": "before active_from (by month-day) = a "
                                                                      "season wrapping the new year, every year"})
    heightened = fields.List(fields.Nested(HeightenedSchema), validate=validate.Length(max=100))
    key_sites = fields.List(fields.Nested(KeySiteSchema), validate=validate.Length(max=500))


class ScheduleCreateSchema(ScheduleUpdateSchema):
    area = AreaRef(required=True, metadata={"description": "area id or code"})
    name = fields.String(load_default="日常巡查", validate=validate.Length(min=1, max=200))
    windows = fields.List(fields.Nested(WindowSchema), load_default=lambda: list(DEFAULT_WINDOWS),
                          validate=validate.Length(max=24))
    active_from = fields.Date(load_default=None, allow_none=True)
    active_to = fields.Date(load_default=None, allow_none=True)
    heightened = fields.List(fields.Nested(HeightenedSchema), load_default=list, validate=validate.Length(max=100))
    key_sites = fields.List(fields.Nested(KeySiteSchema), load_default=list, validate=validate.Length(max=500))


class WindowOut(Schema):
    start = fields.String()
    end = fields.String()


class ScheduleSchema(Schema):
    id = fields.Integer()
    area_id = fields.Integer()
    area_code = fields.Function(lambda s: s.area.code)
    name = fields.String()
    windows = fields.List(fields.Nested(WindowOut))
    active_from = fields.Date(allow_none=True)
    active_to = fields.Date(allow_none=True)
    heightened = fields.List(fields.Dict())
    key_sites = fields.List(fields.Dict())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EffectiveScheduleSchema(Schema):
    area_id = fields.Integer()
    area_code = fields.String()
    timezone = fields.String()
    inherited = fields.Boolean(metadata={"description": "true when the schedule belongs to an ancestor"})
    source_area_id = fields.Integer(allow_none=True)
    source_area_code = fields.String(allow_none=True)
    on = fields.Date(allow_none=True)
    windows_on = fields.List(fields.Nested(WindowOut), allow_none=True,
                             metadata={"description": "the windows that apply on `on` (daily + heightened)"})
    schedule = fields.Nested(ScheduleSchema, allow_none=True)


EffectiveOnArgs = StrictSchema.from_dict({"on": fields.Date()}, name="EffectiveOnArgs")
EffectiveArgs = StrictSchema.from_dict({"area": fields.String(required=True), "on": fields.Date()},
                                       name="EffectiveArgs")
ScheduleFilter = page_args_schema({"area": fields.String(), "within": fields.String()})


def effective_for(area: Area, on: date | None) -> dict:
    schedule, source = effective_schedule(db.session, area, on)
    return {"area_id": area.id, "area_code": area.code, "on": on,
            "timezone": effective_timezone(db.session, area, DomainSettings.from_config(current_app.config).timezone),
            "inherited": bool(source and source.id != area.id), "source_area_id": source.id if source else None,
            "source_area_code": source.code if source else None, "schedule": schedule,
            "windows_on": windows_on(schedule, on) if (schedule and on) else None}


def _summary(body: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in body.items() if k != "area"}


@blp.route("", methods=["GET"])
@blp.arguments(ScheduleFilter, **QUERY)
@blp.response(200, page_schema(ScheduleSchema, "SchedulePage"))
@documents_errors(blp, 401, 403)
def list_schedules(args):
    principal = staff_principal()
    statement = (live(PatrolSchedule).join(Area, Area.id == PatrolSchedule.area_id)
                 .where(principal.area_filter(Area.path, READ_ROLES))
                 .order_by(func.length(Area.code), Area.code, PatrolSchedule.id))
    if "area" in args:
        statement = statement.where(PatrolSchedule.area_id == area_from_ref(args["area"]).id)
    if "within" in args:
        statement = statement.where(Area.path.startswith(area_from_ref(args["within"], "within").path))
    return paginate(statement, args, lambda r: r)


@blp.route("", methods=["POST"])
@blp.arguments(ScheduleCreateSchema)
@blp.response(201, ScheduleSchema)
@documents_errors(blp, 400, 401, 403, 413)
def create(body):
    principal = staff_principal()
    area = area_from_ref(body.pop("area"))
    require(principal, "create", "schedules", area, what="define schedules")
    schedule = create_schedule(db.session, area, body)
    audit("schedule.create", "schedule", schedule.id, {"area": area.code, **_summary(body)})
    db.session.commit()
    return schedule


@blp.route("/effective", methods=["GET"])
@blp.arguments(EffectiveArgs, **QUERY)
@blp.response(200, EffectiveScheduleSchema)
@documents_errors(blp, 401, 403)
def effective(args):
    """The schedule governing an area (`area` = id or code): its own, else its nearest ancestor's."""
    principal = staff_principal()
    area = area_from_ref(args["area"])
    require_in_scope(principal, area)
    return effective_for(area, args.get("on"))


@blp.route("/<int:schedule_id>", methods=["GET"])
@blp.response(200, ScheduleSchema)
@documents_errors(blp, 401, 403, 404)
def detail(schedule_id):
    principal = staff_principal()
    schedule = get_schedule(db.session, schedule_id)
    require_in_scope(principal, schedule.area)
    return schedule


@blp.route("/<int:schedule_id>", methods=["PATCH"])
@blp.arguments(ScheduleUpdateSchema)
@blp.response(200, ScheduleSchema)
@documents_errors(blp, 400, 401, 403, 404, 413)
def update(body, schedule_id):
    principal = staff_principal()
    schedule = get_schedule(db.session, schedule_id)
    require(principal, "update", "schedules", schedule.area, what="edit schedules")
    update_schedule(db.session, schedule, body)
    audit("schedule.update", "schedule", schedule.id, _summary(body))
    db.session.commit()
    return schedule


@blp.route("/<int:schedule_id>", methods=["DELETE"])
@blp.response(204)
@documents_errors(blp, 401, 403, 404)
def delete(schedule_id):
    principal = staff_principal()
    schedule = get_schedule(db.session, schedule_id)
    require(principal, "delete", "schedules", schedule.area, what="delete schedules")
    delete_schedule(db.session, schedule)
    audit("schedule.delete", "schedule", schedule.id, {"area": schedule.area.code})
    db.session.commit()
    return None
