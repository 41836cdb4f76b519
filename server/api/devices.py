"""/api/v1/devices — patrollers' phones: register (token shown once), list, revoke.

A revoked device's token answers 401 from then on; the record stays so its past uploads keep an owner.
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from server.api.common import (QUERY, StrictSchema, audit, documents_errors, id_field, page_args_schema, page_schema,
                               paginate)
from core.domain.scoping import member_filter, require_authority_over_member, require_member_visible
from server.http.auth import staff_principal
from core.domain.members import get_member
from core.domain.tokens import register_device
from core.domain.errors import Conflict, NotFound
from core.db import db
from core.models import Device, Member, utcnow

blp = Blueprint("devices", __name__, url_prefix="/api/v1/devices", description="Patrollers' devices and their tokens")


class DeviceCreateSchema(StrictSchema):
    member_id = id_field(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=100), metadata={"example": "吴巡查的手机"})


class DeviceSchema(Schema):
    id = fields.String(metadata={"description": "UUID"})
    member_id = fields.Integer()
    member_name = fields.Function(lambda d: d.member.name)
    name = fields.String()
    token_prefix = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)
    active = fields.Function(lambda d: d.revoked_at is None)


class NewDeviceSchema(DeviceSchema):
    token = fields.String(metadata={"description": "bearer token for the device; shown only in this response"})


DeviceFilter = page_args_schema({"member_id": id_field(strict=False), "active": fields.Boolean()})


def _get_device(device_id: str) -> Device:
    device = db.session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device with id {device_id}", details={"id": [f"Unknown device id {device_id}."]})
    return device


@blp.route("", methods=["POST"])
@blp.arguments(DeviceCreateSchema)
@blp.response(201, NewDeviceSchema)
@documents_errors(blp, 400, 401, 403, 409, 413)
def register(body):
    """Register a device for a member; the response carries its token, which is never shown again."""
    principal = staff_principal()
    member = get_member(db.session, body["member_id"])
    require_authority_over_member(principal, member, "create", "devices", "register devices")
    if not member.active:
        raise Conflict(f"member {member.id} is inactive", code="member_inactive",
                       details={"member_id": ["This member is inactive."]})
    device, token = register_device(db.session, member, name=body["name"])
    audit("device.register", "device", device.id, {"member_id": member.id, "name": device.name})
    db.session.commit()
    device.token = token  # a plain attribute for this response only; never stored
    return device


@blp.route("", methods=["GET"])
@blp.arguments(DeviceFilter, **QUERY)
@blp.response(200, page_schema(DeviceSchema, "DevicePage"))
@documents_errors(blp, 401, 403)
def list_devices(args):
    """Devices of members in your subtrees."""
    principal = staff_principal()
    statement = (select(Device).join(Member, Member.id == Device.member_id).where(member_filter(principal))
                 .order_by(Device.created_at, Device.id).options(contains_eager(Device.member)))
    if "member_id" in args:
        statement = statement.where(Device.member_id == args["member_id"])
    if args.get("active") is True:
        statement = statement.where(Device.revoked_at.is_(None))
    elif args.get("active") is False:
        statement = statement.where(Device.revoked_at.isnot(None))
    return paginate(statement, args, lambda r: r)


@blp.route("/<string:device_id>", methods=["GET"])
@blp.response(200, DeviceSchema)
@documents_errors(blp, 401, 403, 404)
def detail(device_id):
    principal = staff_principal()
    device = _get_device(device_id)
    require_member_visible(principal, device.member)
    return device


@blp.route("/<string:device_id>", methods=["DELETE"])
@blp.response(200, DeviceSchema)
@documents_errors(blp, 401, 403, 404)
def revoke(device_id):
    """Revoke the device's token (the record stays). Revoking twice is harmless."""
    principal = staff_principal()
    device = _get_device(device_id)
    require_authority_over_member(principal, device.member, "delete", "devices", "revoke devices")
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        audit("device.revoke", "device", device.id, {"member_id": device.member_id})
    db.session.commit()
    return device
