"""/api/v1/areas — the area tree: list/filter, create, edit, move, delete; leaders and effective schedule."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, or_

from server.api.common import (QUERY, READ_ROLES, AreaRef, StrictSchema, area_from_ref, audit, documents_errors,
                               get_or_404, live, page_args_schema, page_schema, paginate)
from server.api.schedules import EffectiveOnArgs, EffectiveScheduleSchema, effective_for
from core.domain.scoping import require_admin_over_areas, require_in_scope
from server.http.auth import staff_principal
from core.domain.area_edits import delete_area, update_area
from core.settings import DomainSettings
from core.domain.access import readable_scope
from core.domain.areas import create_area, effective_timezone, leaders_of, move_area
from core.db import db
from core.models import AREA_KINDS, Area, LEADER_ROLES

blp = Blueprint("areas", __name__, url_prefix="/api/v1/areas",
                description="The area tree: district > sub-district > community > grid")

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$",
                       error="Letters, digits and '-', at most 32, typeable in an SMS (e.g. HD03-2).")


class AreaSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    parent_code = fields.Function(lambda a: a.parent.code if a.parent else None, allow_none=True)
    path = fields.String(metadata={"description": "materialised path of ids, e.g. /1/2/5/"})
    depth = fields.Integer()
    timezone = fields.String(allow_none=True, metadata={"description": "own zone; null = inherited"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class AreaDetailSchema(AreaSchema):
    effective_timezone = fields.Function(
        lambda a: effective_timezone(db.session, a, DomainSettings.from_config(current_app.config).timezone),
        metadata={"description": "own zone, else the nearest ancestor's, else the installation's"})


class AreaCreateSchema(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(load_default="grid", validate=validate.OneOf(AREA_KINDS))
    parent = AreaRef(load_default=None, allow_none=True, metadata={"description": "parent id or code; null = a root"})
    timezone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class AreaUpdateSchema(StrictSchema):
    code = fields.String(validate=CODE)
    name = fields.String(validate=validate.Length(min=1, max=200))
    kind = fields.String(validate=validate.OneOf(AREA_KINDS))
    parent = AreaRef(allow_none=True, metadata={"description": "moves the area (and its subtree)"})
    timezone = fields.String(allow_none=True, validate=validate.Length(max=64))


class LeaderSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    phone = fields.String()
    role = fields.String()
    rank = fields.Integer(metadata={"description": "1 = 组长 (alerted first), 2+ = 副组长"})


AreaFilter = page_args_schema({
    "parent": fields.String(metadata={"description": "children of this area (id or code)"}),
    "kind": fields.String(validate=validate.OneOf(AREA_KINDS)),
    "code": fields.String(),
    "within": fields.String(metadata={"description": "the subtree under this area (id or code), itself included"}),
    "q": fields.String(metadata={"description": "code or name contains"}),
})


@blp.route("", methods=["GET"])
@blp.arguments(AreaFilter, **QUERY)
@blp.response(200, page_schema(AreaSchema, "AreaPage"))
@documents_errors(blp, 401, 403)
def list_areas(args):
    """Areas in your subtrees, level by level (district first), each level in natural code order."""
    principal = staff_principal()
    statement = (live(Area).where(principal.area_filter(Area.path, READ_ROLES))
                 .order_by(Area.depth, func.length(Area.code), Area.code))
    if "parent" in args:
        statement = statement.where(Area.parent_id == area_from_ref(args["parent"], "parent").id)
    if "within" in args:
        root = area_from_ref(args["within"], "within")
        statement = statement.where(Area.path.startswith(root.path))
    if "kind" in args:
        statement = statement.where(Area.kind == args["kind"])
    if "code" in args:
        statement = statement.where(Area.code == args["code"].strip().upper())
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        statement = statement.where(or_(Area.code.ilike(like), Area.name.ilike(like)))
    return paginate(statement, args, lambda r: r)


@blp.route("", methods=["POST"])
@blp.arguments(AreaCreateSchema)
@blp.response(201, AreaDetailSchema)
@documents_errors(blp, 400, 401, 403, 409, 413, 422)
def create(body):
    """Create an area under a parent (admin of the parent's subtree; a root needs a global admin)."""
    principal = staff_principal()
    parent = area_from_ref(body["parent"], "parent")
    require_admin_over_areas(principal, [parent], "create areas")
    area = create_area(db.session, code=body["code"], name=body["name"], kind=body["kind"],
                       parent_id=parent.id if parent else None, timezone=body["timezone"],
                       within=readable_scope(principal, "areas", "create"))
    audit("area.create", "area", area.id, {"code": area.code, "parent": parent.code if parent else None})
    db.session.commit()
    return area


@blp.route("/<int:area_id>", methods=["GET"])
@blp.response(200, AreaDetailSchema)
@documents_errors(blp, 401, 403, 404)
def detail(area_id):
    principal = staff_principal()
    area = get_or_404(Area, area_id, "area")
    require_in_scope(principal, area)
    return area


@blp.route("/<int:area_id>", methods=["PATCH"])
@blp.arguments(AreaUpdateSchema)
@blp.response(200, AreaDetailSchema)
@documents_errors(blp, 400, 401, 403, 404, 409, 413, 422)
def update(body, area_id):
    """Edit an area; giving `parent` moves it with its whole subtree."""
    principal = staff_principal()
    area = get_or_404(Area, area_id, "area")
    require_admin_over_areas(principal, [area], "edit areas")
    before = {"code": area.code, "parent_id": area.parent_id}
    if "parent" in body:
        parent = area_from_ref(body.pop("parent"), "parent")
        if (parent.id if parent else None) != area.parent_id:
            require_admin_over_areas(principal, [parent], "move areas there")
            move_area(db.session, area, parent.id if parent else None)
    update_area(db.session, area, body, within=readable_scope(principal, "areas", "update"))
    audit("area.update", "area", area.id, {"before": before, "changes": {k: str(v) for k, v in body.items()},
                                           "parent_id": area.parent_id})
    db.session.commit()
    return area


@blp.route("/<int:area_id>", methods=["DELETE"])
@blp.response(204)
@documents_errors(blp, 401, 403, 404, 409)
def delete(area_id):
    """Remove an area that nothing refers to any more (409 `area_in_use` lists what still does)."""
    principal = staff_principal()
    area = get_or_404(Area, area_id, "area")
    require_admin_over_areas(principal, [area], "delete areas")
    delete_area(db.session, area)
    audit("area.delete", "area", area.id, {"code": area.code})
    db.session.commit()
    return None


@blp.route("/<int:area_id>/leaders", methods=["GET"])
@blp.response(200, LeaderSchema(many=True))
@documents_errors(blp, 401, 403, 404)
def leaders(area_id):
    """The area's leaders in alert order: 组长 first, then deputies."""
    principal = staff_principal()
    area = get_or_404(Area, area_id, "area")
    require_in_scope(principal, area)
    result = []
    for member in leaders_of(db.session, area):
        assignment = next(a for a in member.assignments if a.area_id == area.id and a.role in LEADER_ROLES)
        result.append({"member_id": member.id, "name": member.name, "phone": member.phone,
                       "role": assignment.role, "rank": assignment.rank})
    return result


@blp.route("/<int:area_id>/schedule", methods=["GET"])
@blp.arguments(EffectiveOnArgs, **QUERY)
@blp.response(200, EffectiveScheduleSchema)
@documents_errors(blp, 401, 403, 404)
def schedule(args, area_id):
    """The schedule that governs this area: its own, else the nearest ancestor's (`on` = a date)."""
    principal = staff_principal()
    area = get_or_404(Area, area_id, "area")
    require_in_scope(principal, area)
    return effective_for(area, args.get("on"))

