"""/api/v1/members — the roster: people, phones (E.164), role assignments, passwords."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import exists, select
from sqlalchemy.orm import selectinload

from server.api.common import (QUERY, StrictSchema, area_from_ref, audit, documents_errors, id_field, live,
                               page_args_schema, page_schema, paginate)
from core.domain.scoping import (member_filter, require_admin_over_member, require_authority_over_member,
                                   require_member_visible)
from server.http.auth import staff_principal
from core.domain.access import require_may_grant
from core.domain.logins import confirm_password
from core.domain.members import (create_member, deactivate_member, get_member,
                                   removed_member_with_phone, set_password, update_member, validate_assignments)
from core.domain.phones import normalize_phone
from core.domain.errors import Invalid
from core.db import db
from core.models import ROLES, Area, Assignment, Member

blp = Blueprint("members", __name__, url_prefix="/api/v1/members",
                description="Patrollers, leaders, supervisors and admins, and their assignments")

LOCALES = ("zh", "en")


class AssignmentInSchema(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    area_id = id_field(load_default=None, allow_none=True)
    area_code = fields.String(load_default=None, allow_none=True)
    rank = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=99),
                          metadata={"description": "leaders: 1 = 组长 (alerted first), 2+ = 副组长"})

    @validates_schema
    def _one_area(self, data, **_):
        if data.get("area_id") is not None and data.get("area_code"):
            raise ValidationError("Give area_id or area_code, not both.", "area_code")


class AssignmentSchema(Schema):
    id = fields.Integer()
    role = fields.String()
    area_id = fields.Integer(allow_none=True)
    area_code = fields.Function(lambda a: a.area.code if a.area else None, allow_none=True)
    rank = fields.Integer()


class MemberSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    phone = fields.String(metadata={"description": "E.164"})
    locale = fields.String()
    active = fields.Boolean()
    roles = fields.List(fields.String())
    assignments = fields.List(fields.Nested(AssignmentSchema))
    has_password = fields.Function(lambda m: bool(m.password_hash))
    has_sms_pin = fields.Function(lambda m: bool(m.sms_pin_hash),
                                  metadata={"description": "staff SMS commands must end with *PIN"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class MemberUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    phone = fields.String(validate=validate.Length(min=3, max=40),
                          metadata={"description": "any common format; stored as E.164 (default region CN)"})
    locale = fields.String(validate=validate.OneOf(LOCALES))
    active = fields.Boolean()
    assignments = fields.List(fields.Nested(AssignmentInSchema), validate=validate.Length(max=50),
                              metadata={"description": "replaces all assignments"})
    sms_pin = fields.String(allow_none=True, load_only=True, validate=validate.Regexp(r"^\d{4,8}$"),
                            metadata={"description": "4-8 digits this member must end staff SMS commands "
                                                     "with (`办结 100002 *4821`); null removes it"})


class MemberCreateSchema(MemberUpdateSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40))
    locale = fields.String(load_default="zh", validate=validate.OneOf(LOCALES))
    active = fields.Boolean(load_default=True)
    assignments = fields.List(fields.Nested(AssignmentInSchema), load_default=list, validate=validate.Length(max=50))


class PasswordSchema(StrictSchema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))
    current_password = fields.String(load_default=None, load_only=True, validate=validate.Length(max=200),
                                     metadata={"description": "needed when you change your own password"})


MemberFilter = page_args_schema({
    "area": fields.String(metadata={"description": "assigned to this area (id or code)"}),
    "within": fields.String(metadata={"description": "assigned somewhere in this subtree (id or code)"}),
    "role": fields.String(validate=validate.OneOf(ROLES)),
    "phone": fields.String(),
    "name": fields.String(metadata={"description": "name contains"}),
    "active": fields.Boolean(),
})


def _region() -> str:
    return current_app.config["GRIDPATROL_PHONE_REGION"]


def _assignment_pairs(items: list[dict]) -> list[tuple[str, Area | None]]:
    """(role, area) of each new assignment (area None = everywhere); validation errors surface first."""
    return [(role, area) for role, area, _rank in validate_assignments(db.session, items)]


def assignments_summary(member: Member) -> list[dict]:
    """What the audit log keeps of a member's grants: role AND area (None = everywhere), never role names
    alone, so a change of reach is as visible as a change of role."""
    return sorted(({"role": a.role, "area": a.area.code if a.area is not None else None, "rank": a.rank}
                   for a in member.assignments), key=lambda g: (g["role"], g["area"] or "", g["rank"]))


@blp.route("", methods=["GET"])
@blp.arguments(MemberFilter, **QUERY)
@blp.response(200, page_schema(MemberSchema, "MemberPage"))
@documents_errors(blp, 401, 403)
def list_members(args):
    """Members assigned somewhere in your subtrees (global admins see everyone)."""
    principal = staff_principal()
    statement = (live(Member).where(member_filter(principal)).order_by(Member.id)
                 .options(selectinload(Member.assignments).joinedload(Assignment.area)))
    conditions = []
    if "area" in args:
        conditions.append(Assignment.area_id == area_from_ref(args["area"]).id)
    if "within" in args:
        conditions.append(Area.path.startswith(area_from_ref(args["within"], "within").path))
    if "role" in args:
        conditions.append(Assignment.role == args["role"])
    if conditions:
        statement = statement.where(exists(select(Assignment.id).outerjoin(Area, Area.id == Assignment.area_id)
                                           .where(Assignment.member_id == Member.id, *conditions)))
    if "phone" in args:
        try:
            statement = statement.where(Member.phone == normalize_phone(args["phone"], _region()))
        except Invalid as exc:
            raise Invalid(exc.message, details={"phone": exc.details["phone"]}) from None
    if args.get("name"):
        statement = statement.where(Member.name.contains(args["name"].strip()))
    if "active" in args:
        statement = statement.where(Member.active.is_(args["active"]))
    return paginate(statement, args, lambda r: r)


@blp.route("", methods=["POST"])
@blp.arguments(MemberCreateSchema)
@blp.response(201, MemberSchema)
@documents_errors(blp, 400, 401, 403, 409, 413)
def create(body):
    """Add a member (admin of every area the assignments name). Duplicate phone → 409 on `phone`; the phone of
    a removed member brings her record back (same id) with the new details."""
    principal = staff_principal()
    pairs = _assignment_pairs(body["assignments"])
    require_may_grant(principal, pairs or [("admin", None)], "add members")
    removed = removed_member_with_phone(db.session, body["phone"], _region())
    before = []
    if removed is not None:  # reviving someone: her old areas must be the actor's too
        require_admin_over_member(principal, removed, "bring back a removed member")
        before = assignments_summary(removed)
    member = create_member(db.session, region=_region(), **body)
    db.session.flush()
    db.session.refresh(member, ["assignments"])
    audit("member.reactivate" if member.revived else "member.create", "member", member.id,
          {"name": member.name, "roles": member.roles, "assignments_before": before,
           "assignments": assignments_summary(member)})
    db.session.commit()
    return member


@blp.route("/<int:member_id>", methods=["GET"])
@blp.response(200, MemberSchema)
@documents_errors(blp, 401, 403, 404)
def detail(member_id):
    principal = staff_principal()
    member = get_member(db.session, member_id)
    require_member_visible(principal, member)
    return member


@blp.route("/<int:member_id>", methods=["PATCH"])
@blp.arguments(MemberUpdateSchema)
@blp.response(200, MemberSchema)
@documents_errors(blp, 400, 401, 403, 404, 409, 413)
def update(body, member_id):
    principal = staff_principal()
    member = get_member(db.session, member_id)
    require_admin_over_member(principal, member, "edit members")
    if "assignments" in body:
        require_may_grant(principal, _assignment_pairs(body["assignments"]), "assign roles")
    before = assignments_summary(member)
    update_member(db.session, member, body, _region())
    db.session.flush()
    db.session.refresh(member, ["assignments"])
    audit("member.update", "member", member.id, {"fields": sorted(body), "roles": member.roles,
                                                 "assignments_before": before,
                                                 "assignments": assignments_summary(member)})
    db.session.commit()
    return member


@blp.route("/<int:member_id>", methods=["DELETE"])
@blp.response(204)
@documents_errors(blp, 401, 403, 404)
def delete(member_id):
    """Deactivate a member: kept for history, devices and tokens revoked, no longer alerted."""
    principal = staff_principal()
    member = get_member(db.session, member_id)
    require_admin_over_member(principal, member, "remove members")
    deactivate_member(db.session, member)
    audit("member.deactivate", "member", member.id, {"name": member.name})
    db.session.commit()
    return None


@blp.route("/<int:member_id>/password", methods=["PUT"])
@blp.arguments(PasswordSchema)
@blp.response(204)
@documents_errors(blp, 400, 401, 403, 404, 413, 429)
def put_password(body, member_id):
    """Set a member's password for POST /auth/login: an admin for her members, or a member for herself
    (giving her current password, so a token left on a desk cannot take over the account)."""
    principal = staff_principal()
    member = get_member(db.session, member_id)
    if member.id != principal.member.id:
        require_authority_over_member(principal, member, "create", "credentials", "set passwords")
    elif member.password_hash:
        confirm_password(db.session, member, body["current_password"] or "", channel="api")
    set_password(member, body["password"])
    audit("member.set_password", "member", member.id)
    db.session.commit()
    return None

