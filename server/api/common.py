"""Pieces every API blueprint shares: strict schemas, pagination, the JSON error schema."""
from __future__ import annotations

from datetime import timezone

from flask import current_app
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate
from sqlalchemy import func, select

from core.db import db
from server.http.errors import ErrorSchema  # noqa: F401 (the one error shape; re-exported for the API modules)
from server.http.auth import current_principal
from core.domain.audit import record
from core.domain.errors import Invalid, NotFound
from core.models import Area


MAX_INT = 2 ** 31 - 1  # ids are 32-bit integers in PostgreSQL
MAX_BIGINT = 2 ** 63 - 1  # no column holds more; features may take 64-bit values (clocks, versions)


def _bad_value(value) -> str | None:
    if isinstance(value, str) and "\x00" in value:
        return "Must not contain a NUL character."
    if isinstance(value, str) and any("\ud800" <= ch <= "\udfff" for ch in value):
        return "Must not contain unpaired surrogate characters (not UTF-8)."
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_BIGINT:
        return f"Number out of range (at most {MAX_BIGINT})."
    if isinstance(value, (list, tuple)):
        return next((m for m in map(_bad_value, value) if m), None)
    if isinstance(value, dict):
        return next((m for m in map(_bad_value, value.values()) if m), None)
    return None


class StrictSchema(Schema):
    """Unknown fields are an error, not silently dropped: a typo must not lose a value.

    Values no database column can hold (NUL characters, integers beyond 64 bits) are refused here, field
    by field, so SQLite and PostgreSQL answer the same 422 instead of one storing and the other failing.
    Fields naming a record take `id_field()`, which also keeps to the 32-bit id range.
    """

    class Meta:
        unknown = RAISE

    @post_load
    def _storable(self, data, **_):
        errors = {key: [message] for key, value in data.items() if (message := _bad_value(value))}
        if errors:
            raise ValidationError(errors)
        return data


def as_record_id(value) -> int | None:
    """The record id a path, query or body value names, or None when it names none: an int or plain ASCII
    digits within the 32-bit id range. (str.isdigit() also accepts "¹" and other digits int() refuses.)"""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            return None
        value = int(value)
    return value if isinstance(value, int) and 0 < value <= MAX_INT else None


def id_field(*, strict: bool = True, **kwargs) -> fields.Integer:
    """A record id in a body (strict: a JSON number) or a query string (strict=False: digits)."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_INT), **kwargs)


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


# --- shared by the resource modules (server/api/<resource>.py) -------------------------------------

# Roles that may read the records of their areas. Volunteers (红袖标志愿者) report problems but do not
# browse the roster, phones or other people's reports.
from core.domain.access import READERS  # noqa: E402

READ_ROLES = READERS  # the permission table's readers, under the name the views use
QUERY = {"location": "query", "unknown": RAISE}  # a mistyped filter is an error, not "no filter"

ERROR_DESCRIPTIONS = {
    400: "Malformed request (e.g. invalid_json)",
    401: "Missing, unknown, expired or revoked token",
    403: "Outside your areas (out_of_scope), role not permitted, or wrong_token_kind",
    404: "No such record",
    409: "Duplicate, still referenced, or illegal_transition",
    413: "Body larger than the server accepts",
    429: "Too many attempts (rate_limited)",
}


def documents_errors(blp, *statuses: int):
    """Declare the error responses of an operation in OpenAPI with the one error schema."""
    def decorator(func):
        for status in statuses:
            func = blp.alt_response(status, schema=ErrorSchema, description=ERROR_DESCRIPTIONS.get(status))(func)
        return func
    return decorator


def live(model):
    """A SELECT of a Versioned model's rows that are not tombstoned."""
    return select(model).where(model.deleted_at.is_(None))


def get_or_404(model, record_id, what: str | None = None):
    too_big = isinstance(record_id, int) and not 0 < record_id <= MAX_INT
    record = None if too_big else db.session.get(model, record_id)
    if record is None or getattr(record, "deleted_at", None) is not None:
        label = what or model.__tablename__.rstrip("s")
        raise NotFound(f"no {label} with id {record_id}", details={"id": [f"Unknown {label} id {record_id}."]})
    return record


def area_from_ref(ref, field: str = "area"):
    """An area given by id (int) or code (str), for request bodies and filters; unknown → 422 on that field."""
    if ref is None:
        return None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isascii() and ref.strip().isdigit()):
        area = db.session.get(Area, record_id) if (record_id := as_record_id(ref)) else None
    else:
        area = db.session.scalar(select(Area).where(Area.code == str(ref).strip().upper()))
    if area is None or area.deleted_at is not None:
        raise Invalid(f"unknown area {ref!r}", details={field: [f"Unknown area {ref!r}."]})
    return area


def audit(action: str, entity: str, entity_id, summary: dict | None = None):
    """Append to the audit log in the request's transaction, as the requesting member."""
    principal = current_principal()
    return record(db.session, action, channel="api", actor=principal.member, entity=entity,
                  entity_id=entity_id, summary=summary or {})


ID_OR_TEXT = [{"type": "integer"}, {"type": "string"}]


class AreaRef(fields.Field):
    """An area given by numeric id or by code (e.g. "HD03-2"); resolved in the view."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"oneOf": ID_OR_TEXT, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if (isinstance(value, bool) or not isinstance(value, (int, str))
                or (isinstance(value, str) and not value.strip())):
            raise ValidationError("Give an area id (number) or code (text).")
        return value


class BoundedAwareDateTime(fields.AwareDateTime):
    """An ISO 8601 time with an offset that also exists in UTC (0001-01-01T01:00+20:59 does not, and would
    overflow when the database layer converts it: a 500 instead of a 422)."""

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed.astimezone(timezone.utc)
        except OverflowError:
            raise ValidationError("Date and time out of range.") from None
        return parsed


class UTCDateTimeField(BoundedAwareDateTime):
    """Accepts ISO 8601; a time without an offset is taken as UTC."""

    def __init__(self, **kwargs):
        super().__init__(default_timezone=timezone.utc, **kwargs)
