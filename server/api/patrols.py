"""/api/v1/patrols — patrols walked in your areas: list/filter, record one (staff), detail."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from sqlalchemy.orm import contains_eager, joinedload

from server.api.common import (QUERY, READ_ROLES, AreaRef, StrictSchema, UTCDateTimeField, area_from_ref, audit,
                               id_field, documents_errors, live, page_args_schema, page_schema, paginate)
from core.domain.scoping import require_in_scope
from server.http.auth import staff_principal
from core.domain.members import get_member
from core.domain.patrols import create_patrol, get_patrol
from core.domain.errors import Forbidden
from core.db import db
from core.models import Area, PATROL_OUTCOMES, Patrol

blp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols", description="Patrols (巡查)")

from core.domain.access import roles_for  # noqa: E402  (the permission table decides)

RECORDERS_FOR_OTHERS = roles_for("patrols", "create_for_others")


class CheckpointSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    at = UTCDateTimeField(load_default=None, allow_none=True)
    site_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36))
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class PatrolCreateSchema(StrictSchema):
    area = AreaRef(required=True, metadata={"description": "the grid patrolled (id or code)"})
    member_id = id_field(load_default=None, allow_none=True,
                               metadata={"description": "who patrolled; default: you"})
    started_at = UTCDateTimeField(required=True)
    ended_at = UTCDateTimeField(load_default=None, allow_none=True)
    checkpoints = fields.List(fields.Nested(CheckpointSchema), load_default=list, validate=validate.Length(max=200))
    outcome = fields.String(load_default="all_clear", validate=validate.OneOf(PATROL_OUTCOMES))
    problem_count = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1000))
    notes = fields.String(load_default="", validate=validate.Length(max=5000))


class PatrolSchema(Schema):
    id = fields.String()
    member_id = fields.Integer()
    member_name = fields.Function(lambda p: p.member.name)
    area_id = fields.Integer()
    area_code = fields.Function(lambda p: p.area.code)
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    checkpoints = fields.List(fields.Dict())
    outcome = fields.String()
    problem_count = fields.Integer()
    source = fields.String()
    notes = fields.String()
    created_at = fields.DateTime()


PatrolFilter = page_args_schema({
    "within": fields.String(metadata={"description": "patrols in this subtree (area id or code)"}),
    "member_id": id_field(strict=False),
    "outcome": fields.String(validate=validate.OneOf(PATROL_OUTCOMES)),
    "source": fields.String(),
    "since": UTCDateTimeField(metadata={"description": "started at or after"}),
    "until": UTCDateTimeField(metadata={"description": "started before"}),
})


def _json_checkpoints(items: list[dict]) -> list[dict]:
    return [{**c, "at": c["at"].isoformat() if c.get("at") else None} for c in items]


@blp.route("", methods=["GET"])
@blp.arguments(PatrolFilter, **QUERY)
@blp.response(200, page_schema(PatrolSchema, "PatrolPage"))
@documents_errors(blp, 401, 403)
def list_patrols(args):
    """Patrols in your subtrees, newest first."""
    principal = staff_principal()
    statement = (live(Patrol).join(Area, Area.id == Patrol.area_id)
                 .where(principal.area_filter(Area.path, READ_ROLES))
                 .order_by(Patrol.started_at.desc(), Patrol.id)
                 .options(joinedload(Patrol.member), contains_eager(Patrol.area)))
    if "within" in args:
        statement = statement.where(Area.path.startswith(area_from_ref(args["within"], "within").path))
    for key in ("member_id", "outcome", "source"):
        if key in args:
            statement = statement.where(getattr(Patrol, key) == args[key])
    if "since" in args:
        statement = statement.where(Patrol.started_at >= args["since"])
    if "until" in args:
        statement = statement.where(Patrol.started_at < args["until"])
    return paginate(statement, args, lambda r: r)


@blp.route("", methods=["POST"])
@blp.arguments(PatrolCreateSchema)
@blp.response(201, PatrolSchema)
@documents_errors(blp, 400, 401, 403, 404, 413)
def create(body):
    """Record a patrol: your own in an area you work in, or (leaders, admins) anyone's in your areas."""
    principal = staff_principal()
    area = area_from_ref(body.pop("area"))
    member_id = body.pop("member_id") or principal.member.id
    if member_id == principal.member.id:
        require_in_scope(principal, area, "record patrols")
        member = principal.member
    else:
        require_in_scope(principal, area, "record patrols for others", RECORDERS_FOR_OTHERS)
        member = get_member(db.session, member_id)
        if not any(a.area is not None and a.area.path.startswith(area.path) or
                   (a.area is not None and area.path.startswith(a.area.path)) for a in member.assignments):
            raise Forbidden(f"{member.name} does not work in {area.code}", code="out_of_scope",
                            details={"member_id": [f"Member {member.id} has no assignment in {area.code}."]})
    body["checkpoints"] = _json_checkpoints(body["checkpoints"])
    patrol = create_patrol(db.session, member=member, area=area, source="staff", **body)
    audit("patrol.create", "patrol", patrol.id, {"area": area.code, "member_id": member.id, "outcome": patrol.outcome})
    db.session.commit()
    return patrol


@blp.route("/<string:patrol_id>", methods=["GET"])
@blp.response(200, PatrolSchema)
@documents_errors(blp, 401, 403, 404)
def detail(patrol_id):
    principal = staff_principal()
    patrol = get_patrol(db.session, patrol_id)
    require_in_scope(principal, patrol.area)
    return patrol
