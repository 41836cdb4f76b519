"""/api/v1/audit — the audit log of every write made through the API or the CLI (global admins only)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from server.api.common import (QUERY, UTCDateTimeField, documents_errors, id_field, page_args_schema, page_schema,
                               paginate)
from server.http.auth import staff_principal
from core.db import db
from core.models import AuditLog

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Who changed what (admins)")


class AuditSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    channel = fields.String()
    actor_member_id = fields.Integer(allow_none=True)
    actor_label = fields.String()
    action = fields.String(metadata={"example": "incident.escalate"})
    entity = fields.String()
    entity_id = fields.String()
    summary = fields.Dict()


AuditFilter = page_args_schema({
    "action": fields.String(metadata={"description": "exact, or a prefix ending in '.' (e.g. incident.)"}),
    "entity": fields.String(),
    "entity_id": fields.String(),
    "actor_member_id": id_field(strict=False),
    "channel": fields.String(),
    "since": UTCDateTimeField(),
    "until": UTCDateTimeField(),
})


@blp.route("", methods=["GET"])
@blp.arguments(AuditFilter, **QUERY)
@blp.response(200, page_schema(AuditSchema, "AuditPage"))
@documents_errors(blp, 401, 403)
def list_audit(args):
    """Newest first."""
    staff_principal().require_admin(None, "read the audit log")
    statement = db.select(AuditLog).order_by(AuditLog.id.desc())
    if "action" in args:
        action = args["action"]
        statement = statement.where(AuditLog.action.startswith(action) if action.endswith(".")
                                    else AuditLog.action == action)
    for key in ("entity", "entity_id", "actor_member_id", "channel"):
        if key in args:
            statement = statement.where(getattr(AuditLog, key) == args[key])
    if "since" in args:
        statement = statement.where(AuditLog.at >= args["since"])
    if "until" in args:
        statement = statement.where(AuditLog.at < args["until"])
    return paginate(statement, args, lambda r: r)
