"""/api/v1/workers: worker health, the alerts sent, and 收到 (acknowledge) as an API action."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from server.api.common import PageArgs, StrictSchema, documents_errors, page_schema, paginate
from server.http.auth import staff_principal
from core.domain.errors import Forbidden, NotFound
from core.db import db
from core.models import Area
from core.models.alerts import WorkerAlert
from server.api.common import area_from_ref
from core.domain.areas import effective_timezone
from core.models import Member
from core.domain.alerts import acknowledge_alert
from workers.health import worker_health
from core.models.alerts import PatrolWindow
from core.domain.patrol_windows import windows_for_area
from core.domain.access import can, holds_any

blp = Blueprint("workers", __name__, url_prefix="/api/v1/workers",
                description="Background workers: health, alerts, acknowledgements")


class AlertSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    rule = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    area_id = fields.Integer(allow_none=True)
    member_id = fields.Integer(allow_none=True)
    body = fields.String()
    urgent = fields.Boolean()
    status = fields.String()
    hold_until = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    queued_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)


AlertPageSchema = page_schema(AlertSchema, "AlertPage")


class AlertQuery(PageArgs):
    rule = fields.String(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(("held", "pending", "queued", "cancelled")))
    mine = fields.Boolean(load_default=False)


class AcknowledgeArgs(StrictSchema):
    key = fields.String(load_default=None)


class AcknowledgedSchema(Schema):
    acknowledged = fields.List(fields.Nested(AlertSchema))


class WorkerHealthSchema(Schema):
    runner = fields.String()
    redis = fields.Dict()
    queues = fields.Dict()
    periodic = fields.List(fields.Dict())
    cron_schedulers = fields.List(fields.Dict())
    alerts = fields.Dict()
    sms_providers = fields.List(fields.Dict())


@blp.route("/health")
@blp.response(200, WorkerHealthSchema)
@documents_errors(blp, 401, 403)
def health():
    """Queue depths, failed jobs, and each periodic job's last run (admin or supervisor)."""
    principal = staff_principal()
    if not holds_any(principal, "worker_health", "read"):
        raise Forbidden("only an admin or supervisor may see worker health", code="role_not_permitted",
                        details={"roles_allowed": ["admin", "supervisor"]})
    return worker_health(current_app, details=can(principal, "details", "worker_health"))


def _visible(principal):
    """Own alerts, plus those of areas in the principal's leader/admin/supervisor scope."""
    scope = principal.area_filter(Area.path, {"admin", "supervisor", "grid_leader", "community_leader",
                                              "subdistrict_leader", "district_leader"})
    in_scope = select(Area.id).where(scope)
    return or_(WorkerAlert.member_id == principal.member.id, WorkerAlert.area_id.in_(in_scope))


@blp.route("/alerts")
@blp.arguments(AlertQuery, location="query")
@blp.response(200, AlertPageSchema)
@documents_errors(blp, 401, 403)
def list_alerts(args):
    principal = staff_principal()
    query = select(WorkerAlert).where(_visible(principal)).order_by(WorkerAlert.id.desc())
    if args.get("mine"):
        query = query.where(WorkerAlert.member_id == principal.member.id)
    if args.get("rule"):
        query = query.where(WorkerAlert.rule == args["rule"])
    if args.get("status"):
        query = query.where(WorkerAlert.status == args["status"])
    return paginate(query, args, lambda a: a)


@blp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@blp.response(200, AcknowledgedSchema)
@documents_errors(blp, 401, 403, 404)
def acknowledge_one(alert_id):
    """收到 for one alert: only its recipient (or an admin on their behalf) may acknowledge it."""
    principal = staff_principal()
    alert = db.session.get(WorkerAlert, alert_id)
    if alert is None or not db.session.scalar(select(WorkerAlert.id).where(WorkerAlert.id == alert_id,
                                                                          _visible(principal))):
        raise NotFound(f"no alert with id {alert_id}", details={"alert_id": alert_id})
    if alert.member_id != principal.member.id and not principal.is_global_admin:
        raise Forbidden("only the alert's recipient may acknowledge it", code="not_recipient",
                        details={"alert_id": alert_id})
    member = db.session.get(Member, alert.member_id)
    done = acknowledge_alert(db.session, member, alert_id=alert_id, channel="api")
    db.session.commit()
    return {"acknowledged": done}


@blp.route("/alerts/acknowledge", methods=["POST"])
@blp.arguments(AcknowledgeArgs)
@blp.response(200, AcknowledgedSchema)
@documents_errors(blp, 401, 403)
def acknowledge_mine(args):
    """收到 for the caller's recent unacknowledged alerts (what a bare SMS reply means), or one by key."""
    principal = staff_principal()
    done = acknowledge_alert(db.session, principal.member, key=args.get("key"), channel="api")
    db.session.commit()
    return {"acknowledged": done}


class PatrolWindowQuery(StrictSchema):
    area = fields.String(required=True, metadata={"description": "grid code or id"})
    date = fields.Date(required=True, metadata={"description": "local date"})


class PatrolWindowSchema(Schema):
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    local_date = fields.Date()
    label = fields.String()
    kind = fields.String()
    heightened = fields.String()
    site = fields.String()
    state = fields.String(allow_none=True, metadata={"description": "open/patrolled/missed/late/... once planned"})


class PatrolWindowListSchema(Schema):
    area = fields.String()
    timezone = fields.String()
    windows = fields.List(fields.Nested(PatrolWindowSchema))


@blp.route("/windows")
@blp.arguments(PatrolWindowQuery, location="query")
@blp.response(200, PatrolWindowListSchema)
@documents_errors(blp, 401, 403)
def list_windows(args):
    """A grid's due windows on a local date (from its effective schedule) and, once planned, their state."""
    principal = staff_principal()
    area = area_from_ref(args["area"])
    principal.require(area, {"admin", "supervisor", "grid_leader", "community_leader", "subdistrict_leader",
                             "district_leader"}, "view patrol windows")
    states = {(w.starts_at, w.site): w.state for w in db.session.scalars(
        select(PatrolWindow).where(PatrolWindow.area_id == area.id, PatrolWindow.local_date == args["date"]))}
    windows = [{**w.__dict__, "state": states.get((w.starts_at, w.site))}
               for w in windows_for_area(db.session, area, args["date"])]
    return {"area": area.code, "timezone": effective_timezone(db.session, area), "windows": windows}
