"""GET /api/v1/messages — the outbox and the inbound log, for the people who answer for them.

A global admin sees everything. Leaders, supervisors and area admins see a message when it concerns an
area in their subtrees (`area_id`) or was sent to / received from a member assigned there (the rule is
sms.visibility.message_filter, over the permission table's messages/read row). Patrollers and devices are
refused: the log holds residents' phone numbers.
"""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import false, func, literal, select, union_all

from server.api.common import BoundedAwareDateTime, page_args_schema
from server.http.auth import staff_principal
from core.domain.phones import try_normalize_phone
from core.db import db
from sms.models import INBOUND_OUTCOMES, OUTBOUND_STATES, InboundMessage, OutboundMessage
from sms.visibility import message_filter

blp = Blueprint("messages", __name__, url_prefix="/api/v1/messages",
                description="The SMS outbox and inbound log (read only).")

MessageArgs = page_args_schema({
    "direction": fields.String(validate=validate.OneOf(["inbound", "outbound"])),
    "number": fields.String(metadata={"description": "a phone number (any format); matches sender or recipient"}),
    "state": fields.String(validate=validate.OneOf(sorted(set(OUTBOUND_STATES) | set(INBOUND_OUTCOMES))),
                           metadata={"description": "outbound state or inbound outcome"}),
    "key": fields.String(metadata={"description": "outbound idempotency key (exact, or a prefix ending in *)"}),
    "since": BoundedAwareDateTime(metadata={"description": "ISO 8601 with offset; inclusive"}),
    "until": BoundedAwareDateTime(metadata={"description": "ISO 8601 with offset; exclusive"}),
})


class MessageSchema(Schema):
    direction = fields.String()
    id = fields.Integer()
    at = fields.DateTime()
    number = fields.String(metadata={"description": "recipient (outbound) or sender (inbound), E.164"})
    body = fields.String()
    member_id = fields.Integer(allow_none=True)
    area_id = fields.Integer(allow_none=True)
    state = fields.String(metadata={"description": "outbound state or inbound outcome"})
    # outbound
    key = fields.String()
    purpose = fields.String()
    attempts = fields.Integer()
    provider_sid = fields.String(allow_none=True)
    error_code = fields.String(allow_none=True)
    encoding = fields.String()
    segments = fields.Integer()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Dict())
    # inbound
    message_sid = fields.String()
    command = fields.String(allow_none=True)
    reply = fields.String()
    result = fields.Dict()


MessagePage = Schema.from_dict({"items": fields.List(fields.Nested(MessageSchema)), "page": fields.Integer(),
                                "per_page": fields.Integer(), "total": fields.Integer()}, name="MessagePage")


def _filters(args, model, at_col, number_col, state_col, direction):
    conditions = []
    if args.get("number"):
        number = try_normalize_phone(args["number"], current_app.config["GRIDPATROL_PHONE_REGION"]) or args["number"]
        conditions.append(number_col == number)
    if args.get("state"):
        conditions.append(state_col == args["state"])
    if args.get("key"):
        if direction == "inbound":
            conditions.append(false())
        elif args["key"].endswith("*"):
            conditions.append(model.key.startswith(args["key"][:-1], autoescape=True))
        else:
            conditions.append(model.key == args["key"])
    if args.get("since"):
        conditions.append(at_col >= args["since"])
    if args.get("until"):
        conditions.append(at_col < args["until"])
    return conditions


@blp.route("")
@blp.arguments(MessageArgs, location="query")
@blp.response(200, MessagePage)
def list_messages(args):
    """Inbound and outbound texts, newest first, filtered by direction, number, state, key and time."""
    principal = staff_principal()
    selects = []
    if args.get("direction") in (None, "outbound"):
        cond = _filters(args, OutboundMessage, OutboundMessage.created_at, OutboundMessage.to_number,
                        OutboundMessage.state, "outbound")
        scope = message_filter(principal, OutboundMessage.area_id, OutboundMessage.member_id)
        selects.append(select(literal("outbound").label("direction"), OutboundMessage.id.label("id"),
                              OutboundMessage.created_at.label("at"))
                       .where(*cond, *([scope] if scope is not None else [])))
    if args.get("direction") in (None, "inbound"):
        cond = _filters(args, InboundMessage, InboundMessage.received_at, InboundMessage.sender,
                        InboundMessage.outcome, "inbound")
        scope = message_filter(principal, InboundMessage.area_id, InboundMessage.member_id)
        selects.append(select(literal("inbound").label("direction"), InboundMessage.id.label("id"),
                              InboundMessage.received_at.label("at"))
                       .where(*cond, *([scope] if scope is not None else [])))
    combined = union_all(*selects).subquery() if len(selects) > 1 else selects[0].subquery()
    per_page = args.get("per_page") or current_app.config["DEFAULT_PAGE_SIZE"]
    page = args.get("page") or 1
    total = db.session.scalar(select(func.count()).select_from(combined))
    keys = db.session.execute(select(combined.c.direction, combined.c.id)
                              .order_by(combined.c.at.desc(), combined.c.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": _load(keys), "page": page, "per_page": per_page, "total": total}


def _load(keys) -> list[dict]:
    out_ids = [i for d, i in keys if d == "outbound"]
    in_ids = [i for d, i in keys if d == "inbound"]
    outs = {m.id: m for m in db.session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(out_ids)))} \
        if out_ids else {}
    ins = {m.id: m for m in db.session.scalars(select(InboundMessage).where(InboundMessage.id.in_(in_ids)))} \
        if in_ids else {}
    items = []
    for direction, message_id in keys:
        if direction == "outbound":
            m = outs[message_id]
            items.append({"direction": "outbound", "id": m.id, "at": m.created_at, "number": m.to_number,
                          "body": m.body, "member_id": m.member_id, "area_id": m.area_id, "state": m.state,
                          "key": m.key, "purpose": m.purpose, "attempts": m.attempts,
                          "provider_sid": m.provider_sid, "error_code": m.error_code, "encoding": m.encoding,
                          "segments": m.segments, "sent_at": m.sent_at, "delivered_at": m.delivered_at,
                          "history": m.history or []})
        else:
            m = ins[message_id]
            items.append({"direction": "inbound", "id": m.id, "at": m.received_at, "number": m.sender,
                          "body": m.body, "member_id": m.member_id, "area_id": m.area_id, "state": m.outcome,
                          "message_sid": m.message_sid, "command": m.command, "reply": m.reply,
                          "result": m.result or {}, "error_code": m.error_code})
    return items
