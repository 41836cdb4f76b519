"""/api/v1/sites — the ledger (台账) of pollution sources, e.g. loose-coal users, with inspections."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from sqlalchemy import func
from sqlalchemy.orm import contains_eager

from server.api.common import (QUERY, READ_ROLES, AreaRef, StrictSchema, UTCDateTimeField, area_from_ref, audit,
                               documents_errors, live, page_args_schema, page_schema, paginate)
from core.domain.scoping import require_in_scope
from server.http.auth import staff_principal
from core.domain.sites import create_site, delete_site, get_site, inspect_site, update_site
from core.db import db
from core.models import Area, SITE_KINDS, SITE_STATUSES, Site

blp = Blueprint("sites", __name__, url_prefix="/api/v1/sites",
                description="The ledger (台账): pollution-source points and their inspections")

from core.domain.access import roles_for  # noqa: E402  (the permission table decides)

LEDGER_KEEPERS = roles_for("sites", "update")
LEDGER_CREATORS = roles_for("sites", "create")  # a patroller who finds a coal user adds it
INSPECTORS = roles_for("sites", "inspect")


class SiteUpdateSchema(StrictSchema):
    area = AreaRef(metadata={"description": "area id or code (usually the grid or community)"})
    name = fields.String(validate=validate.Length(max=200))
    address = fields.String(validate=validate.Length(min=1, max=300))
    kind = fields.String(validate=validate.OneOf(SITE_KINDS))
    stove_count = fields.Integer(strict=True, validate=validate.Range(min=0, max=10000))
    status = fields.String(validate=validate.OneOf(SITE_STATUSES))
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    notes = fields.String(validate=validate.Length(max=5000))


class SiteCreateSchema(SiteUpdateSchema):
    area = AreaRef(required=True, metadata={"description": "area id or code"})
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))


class InspectionInSchema(StrictSchema):
    status_after = fields.String(required=True, validate=validate.OneOf(SITE_STATUSES),
                                 metadata={"description": "what the inspector found; becomes the site's status"})
    note = fields.String(load_default="", validate=validate.Length(max=5000))
    at = UTCDateTimeField(load_default=None, allow_none=True, metadata={"description": "default: now"})


class InspectionSchema(Schema):
    id = fields.String()
    site_id = fields.String()
    member_id = fields.Integer(allow_none=True)
    at = fields.DateTime()
    status_after = fields.String()
    note = fields.String()


class SiteSchema(Schema):
    id = fields.String()
    area_id = fields.Integer()
    area_code = fields.Function(lambda s: s.area.code)
    name = fields.String()
    address = fields.String()
    kind = fields.String()
    stove_count = fields.Integer()
    status = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    notes = fields.String()
    last_inspected_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SiteDetailSchema(SiteSchema):
    inspections = fields.List(fields.Nested(InspectionSchema), metadata={"description": "oldest first"})


SiteFilter = page_args_schema({
    "within": fields.String(metadata={"description": "sites in this subtree (area id or code)"}),
    "status": fields.String(validate=validate.OneOf(SITE_STATUSES)),
    "kind": fields.String(validate=validate.OneOf(SITE_KINDS)),
    "q": fields.String(metadata={"description": "name or address contains"}),
})


def _scoped_site(site_id: str, action: str = "view", roles=None) -> Site:
    principal = staff_principal()
    site = get_site(db.session, site_id)
    if roles:
        require_in_scope(principal, site.area, action, roles)
    else:
        require_in_scope(principal, site.area)
    return site


@blp.route("", methods=["GET"])
@blp.arguments(SiteFilter, **QUERY)
@blp.response(200, page_schema(SiteSchema, "SitePage"))
@documents_errors(blp, 401, 403)
def list_sites(args):
    principal = staff_principal()
    statement = (live(Site).join(Area, Area.id == Site.area_id)
                 .where(principal.area_filter(Area.path, READ_ROLES))
                 .order_by(func.length(Area.code), Area.code, Site.created_at, Site.id)
                 .options(contains_eager(Site.area)))
    if "within" in args:
        statement = statement.where(Area.path.startswith(area_from_ref(args["within"], "within").path))
    for key in ("status", "kind"):
        if key in args:
            statement = statement.where(getattr(Site, key) == args[key])
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        statement = statement.where(Site.name.ilike(like) | Site.address.ilike(like))
    return paginate(statement, args, lambda r: r)


@blp.route("", methods=["POST"])
@blp.arguments(SiteCreateSchema)
@blp.response(201, SiteDetailSchema)
@documents_errors(blp, 400, 401, 403, 413)
def create(body):
    principal = staff_principal()
    area = area_from_ref(body.pop("area"))
    require_in_scope(principal, area, "keep the ledger", LEDGER_CREATORS)
    site = create_site(db.session, area, body)
    audit("site.create", "site", site.id, {"area": area.code, "address": site.address, "status": site.status})
    db.session.commit()
    return site


@blp.route("/<string:site_id>", methods=["GET"])
@blp.response(200, SiteDetailSchema)
@documents_errors(blp, 401, 403, 404)
def detail(site_id):
    return _scoped_site(site_id)


@blp.route("/<string:site_id>", methods=["PATCH"])
@blp.arguments(SiteUpdateSchema)
@blp.response(200, SiteDetailSchema)
@documents_errors(blp, 400, 401, 403, 404, 413)
def update(body, site_id):
    site = _scoped_site(site_id, "keep the ledger", LEDGER_KEEPERS)
    area = None
    if "area" in body:
        area = area_from_ref(body.pop("area"))
        require_in_scope(staff_principal(), area, "keep the ledger", LEDGER_KEEPERS)
    update_site(db.session, site, body, area)
    audit("site.update", "site", site.id, {"fields": sorted(body) + (["area"] if area else [])})
    db.session.commit()
    return site


@blp.route("/<string:site_id>", methods=["DELETE"])
@blp.response(204)
@documents_errors(blp, 401, 403, 404)
def delete(site_id):
    site = _scoped_site(site_id, "keep the ledger", LEDGER_KEEPERS)
    delete_site(db.session, site)
    audit("site.delete", "site", site.id, {"address": site.address})
    db.session.commit()
    return None


@blp.route("/<string:site_id>/inspections", methods=["POST"])
@blp.arguments(InspectionInSchema)
@blp.response(201, SiteDetailSchema)
@documents_errors(blp, 400, 401, 403, 404, 413)
def inspect(body, site_id):
    """Record an inspection; the site takes the status found (unless a later inspection exists)."""
    site = _scoped_site(site_id, "inspect sites", INSPECTORS)
    inspection = inspect_site(db.session, site, member=staff_principal().member, **body)
    audit("site.inspect", "site", site.id, {"inspection_id": inspection.id, "status_after": inspection.status_after})
    db.session.commit()
    return site


@blp.route("/<string:site_id>/inspections", methods=["GET"])
@blp.response(200, InspectionSchema(many=True))
@documents_errors(blp, 401, 403, 404)
def history(site_id):
    """The site's inspection history, oldest first."""
    return _scoped_site(site_id).inspections
