"""/api/v1/auth — staff login, staff tokens, and "who am I".

Tokens are shown once, in the response that creates them; the server keeps only their SHA-256.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from server.api.common import (MAX_INT, QUERY, StrictSchema, audit, documents_errors, id_field, page_args_schema,
                               page_schema, paginate)
from core.domain.scoping import require_authority_over_member
from server.http.auth import staff_principal
from core.domain.logins import log_in
from core.domain.members import get_member
from core.domain.audit import record as audit_record
from core.domain.tokens import issue_staff_token
from core.domain.errors import NotFound
from core.db import db
from core.models import StaffToken, utcnow

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Login, staff tokens, who am I")


class LoginSchema(StrictSchema):
    phone = fields.String(required=True, validate=validate.Length(min=3, max=40))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))
    name = fields.String(load_default="login", validate=validate.Length(max=100),
                         metadata={"description": "label for the token, e.g. the computer's name"})


class IssueTokenSchema(StrictSchema):
    member_id = id_field(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    expires_in_days = fields.Integer(load_default=None, allow_none=True, strict=True,
                                     validate=validate.Range(min=1, max=3650),
                                     metadata={"description": "omit for a token that never expires"})


class TokenSchema(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    name = fields.String()
    token_prefix = fields.String(metadata={"description": "first characters, to recognise a token"})
    created_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "the bearer token; shown only in this response"})


class GrantSchema(Schema):
    role = fields.String()
    area_id = fields.Integer(allow_none=True)
    area_code = fields.String(allow_none=True)
    rank = fields.Integer()


class MeSchema(Schema):
    member_id = fields.Integer()
    name = fields.String()
    phone = fields.String()
    locale = fields.String()
    token_kind = fields.String()
    roles = fields.List(fields.String())
    is_global_admin = fields.Boolean()
    scope = fields.List(fields.Nested(GrantSchema), metadata={"description": "each role and the area "
                        "whose whole subtree it covers; area null = everywhere"})


TokenFilter = page_args_schema({"member_id": id_field(strict=False),
                                "include_revoked": fields.Boolean(load_default=False)})


def _issue(member, name: str, days: int | None):
    expires = utcnow() + timedelta(days=days) if days else None
    record, token = issue_staff_token(db.session, member, name=name, expires_at=expires)
    return record, token


def _dump_new(record, token: str):
    record.token = token  # a plain attribute for this response only; never stored
    return record


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(201, NewTokenSchema)
@documents_errors(blp, 400, 401, 413, 429)
@blp.doc(security=[])
def login(body):
    """Exchange a member's phone and password for a staff token (expires after STAFF_TOKEN_TTL_DAYS).

    Failed attempts are kept in the audit log; after 5 for one phone within 15 minutes the phone is refused
    (429) until the window has passed, whatever the password (core.domain.logins, as the dashboard)."""
    member = log_in(db.session, body["phone"], body["password"], region=current_app.config["GRIDPATROL_PHONE_REGION"],
                    channel="api")
    record, token = _issue(member, body["name"], current_app.config["STAFF_TOKEN_TTL_DAYS"])
    audit_record(db.session, "auth.login", channel="api", actor=member, entity="staff_token", entity_id=record.id)
    db.session.commit()
    return _dump_new(record, token)


@blp.route("/tokens", methods=["POST"])
@blp.arguments(IssueTokenSchema)
@blp.response(201, NewTokenSchema)
@documents_errors(blp, 400, 401, 403, 413)
def issue_token(body):
    """An admin issues a staff token for a member (e.g. a leader without a password)."""
    principal = staff_principal()
    member = get_member(db.session, body["member_id"])
    require_authority_over_member(principal, member, "create", "credentials", "issue tokens")
    record, token = _issue(member, body["name"], body["expires_in_days"])
    audit("staff_token.issue", "staff_token", record.id, {"member_id": member.id, "name": body["name"]})
    db.session.commit()
    return _dump_new(record, token)


@blp.route("/tokens", methods=["GET"])
@blp.arguments(TokenFilter, **QUERY)
@blp.response(200, page_schema(TokenSchema, "TokenPage"))
@documents_errors(blp, 401, 403)
def list_tokens(args):
    """Your own tokens; an admin may list anyone's (member_id)."""
    principal = staff_principal()
    member_id = args.get("member_id", principal.member.id)
    if member_id != principal.member.id:
        require_authority_over_member(principal, get_member(db.session, member_id), "read", "credentials",
                                      "list tokens")
    statement = select(StaffToken).where(StaffToken.member_id == member_id).order_by(StaffToken.id)
    if not args["include_revoked"]:
        statement = statement.where(StaffToken.revoked_at.is_(None))
    return paginate(statement, args, lambda r: r)


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@documents_errors(blp, 401, 403, 404)
def revoke_token(token_id):
    """Revoke a staff token: your own, or (admin) anyone's. Revoking twice is harmless."""
    principal = staff_principal()
    record = db.session.get(StaffToken, token_id) if token_id <= MAX_INT else None
    if record is None:
        raise NotFound(f"no token with id {token_id}", details={"id": [f"Unknown token id {token_id}."]})
    if record.member_id != principal.member.id:
        require_authority_over_member(principal, record.member, "delete", "credentials", "revoke tokens")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit("staff_token.revoke", "staff_token", record.id, {"member_id": record.member_id})
    db.session.commit()
    return None


@blp.route("/me", methods=["GET"])
@blp.response(200, MeSchema)
@documents_errors(blp, 401, 403)
def me():
    """Who the token belongs to, the roles it holds and the areas they cover."""
    principal = staff_principal()
    member = principal.member
    scope = [{"role": a.role, "area_id": a.area_id, "area_code": a.area.code if a.area else None, "rank": a.rank}
             for a in member.assignments]
    return {"member_id": member.id, "name": member.name, "phone": member.phone, "locale": member.locale,
            "token_kind": principal.kind, "roles": member.roles, "is_global_admin": principal.is_global_admin,
            "scope": scope}

