"""Pieces every API blueprint shares: strict schemas, pagination, the JSON error schema."""
from __future__ import annotations

from flask import current_app
from marshmallow import RAISE, Schema, fields, validate
from sqlalchemy import func, select

from server.extensions import db


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped: a typo must not lose a value."""

    class Meta:
        unknown = RAISE
        ordered = True


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "machine-readable code"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=None, validate=validate.Range(min=1, max=500))


def page_args_schema(extra: dict | None = None) -> type[Schema]:
    """Query-string schema: pagination plus a feature's filters (query strings allow unknown=RAISE too)."""
    return PageArgs.from_dict(extra or {}, name="PageArgs")


def paginate(statement, args: dict, item_dump) -> dict:
    """Run a SELECT with LIMIT/OFFSET and wrap it as {"items", "page", "per_page", "total"}."""
    per_page = args.get("per_page") or current_app.config["DEFAULT_PAGE_SIZE"]
    page = args.get("page") or 1
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [item_dump(r) for r in rows], "page": page, "per_page": per_page, "total": total}


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(), "per_page": fields.Integer(), "total": fields.Integer(),
    }, name=name)
