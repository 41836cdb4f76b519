"""Wire schemas: the request envelope, the fields a device may write per collection, and the response
(documented in OpenAPI). Field errors reach devices as marshmallow's messages."""
from __future__ import annotations

import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates

from core.models import HANDLING_CLASSES, PATROL_OUTCOMES, SITE_KINDS, SITE_STATUSES, STATUSES
from sync import hlc as hlc_module
from sync.collections import COLLECTIONS
from sync.fastcheck import fast_load, finite_json, unstorable_text

CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SCHEMA_VERSIONS = (1, 1)  # supported range, inclusive
MAX_CHANGES = 1000
MAX_LIMIT = 5000
DEFAULT_LIMIT = 500


def no_nul(value):
    """Text a database column can hold: no NUL, no unpaired surrogate."""
    if isinstance(value, str) and unstorable_text(value):
        raise ValidationError("Must not contain NUL characters or unpaired surrogates.")


class ChangeSchema(Schema):
    class Meta:
        unknown = RAISE

    op_id = fields.String(required=True, validate=[validate.Length(min=1, max=64), lambda v: no_nul(v)],
                          metadata={"description": "Unique per device; a retried op returns its first result."})
    collection = fields.String(required=True, validate=validate.OneOf(sorted(COLLECTIONS)))
    id = fields.String(required=True, metadata={"description": "Client-generated UUID of the record."})
    op = fields.String(required=True, validate=validate.OneOf(["put", "delete"]))
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), load_default=dict,
                          metadata={"description": "Only the fields this edit changed (put)."})
    hlc = fields.String(required=True, metadata={"description": "Hybrid logical clock of the edit."})

    @validates("id")
    def _uuid(self, value, **_):
        if not CANONICAL_UUID.fullmatch(value):
            raise ValidationError("Must be a UUID in its canonical form: 36 characters, lowercase hex.")

    @validates("hlc")
    def _hlc(self, value, **_):
        try:
            hlc_module.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class SyncRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    device_id = fields.String(required=True, validate=validate.Length(max=64))
    schema_version = fields.Integer(required=True, strict=True)
    cursor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=DEFAULT_LIMIT, strict=True, validate=validate.Range(min=1, max=MAX_LIMIT))
    changes = fields.List(fields.Nested(ChangeSchema), load_default=list)


class ResultSchema(Schema):
    op_id = fields.String()
    status = fields.String(metadata={"enum": ["applied", "merged", "duplicate", "conflict", "rejected"]})
    version = fields.Integer(allow_none=True)
    record = fields.Dict(metadata={"description": "Server state of the record (merged, conflict, duplicate)."})
    deleted = fields.Boolean()
    lost_fields = fields.Dict(metadata={"description": "Pushed fields that lost, with the winning values."})
    errors = fields.Dict(metadata={"description": "Field errors or the permission reason (rejected)."})
    reason = fields.String()


class ChangeOutSchema(Schema):
    collection = fields.String()
    id = fields.String()
    version = fields.Integer()
    deleted = fields.Boolean()
    fields_ = fields.Dict(data_key="fields")


class RemovedSchema(Schema):
    collection = fields.String()
    id = fields.String()


class SyncResponseSchema(Schema):
    results = fields.List(fields.Nested(ResultSchema))
    changes = fields.List(fields.Nested(ChangeOutSchema))
    removed = fields.List(fields.Nested(RemovedSchema))
    cursor = fields.String()
    has_more = fields.Boolean()
    server_hlc = fields.String()
    reset_required = fields.Boolean()
    reset_reason = fields.String(allow_none=True)


# --- what a device may write, per collection ---------------------------------------------------------

def _text(max_length: int, **kw):
    return fields.String(validate=[validate.Length(max=max_length), no_nul], **kw)


def _ref(**kw):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kw)


class _Fields(Schema):
    class Meta:
        unknown = RAISE


class PatrolFields(_Fields):
    area_id = _ref(required=True)
    started_at = fields.AwareDateTime(required=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    checkpoints = fields.List(fields.Dict(validate=finite_json), validate=validate.Length(max=500))
    outcome = fields.String(validate=validate.OneOf(PATROL_OUTCOMES))
    problem_count = fields.Integer(strict=True, validate=validate.Range(min=0, max=10000))
    notes = _text(5000)


class SiteFields(_Fields):
    area_id = _ref(required=True)
    name = _text(200)
    address = fields.String(required=True, validate=[validate.Length(min=1, max=300), no_nul])
    kind = fields.String(validate=validate.OneOf(SITE_KINDS))
    stove_count = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    status = fields.String(validate=validate.OneOf(SITE_STATUSES))
    latitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    notes = _text(5000)
    last_inspected_at = fields.AwareDateTime(allow_none=True)


class IncidentFields(_Fields):
    category_id = _ref(required=True)
    area_id = _ref(required=True)
    description = _text(5000)
    location_text = _text(300)
    latitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    handling_class = fields.String(validate=validate.OneOf(HANDLING_CLASSES))
    promised_date = fields.Date(allow_none=True)
    status = fields.String(validate=validate.OneOf(STATUSES))
    patrol_id = fields.UUID(allow_none=True)
    reported_at = fields.AwareDateTime()


class IncidentEventFields(_Fields):
    incident_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["note"]))
    note = fields.String(required=True, validate=[validate.Length(min=1, max=5000), no_nul])
    at = fields.AwareDateTime()
    data = fields.Dict(validate=finite_json)


FIELD_SCHEMAS = {"patrols": PatrolFields(), "sites": SiteFields(), "incidents": IncidentFields(),
                 "incident_events": IncidentEventFields()}
PARTIAL_SCHEMAS = {name: type(schema)(partial=True) for name, schema in FIELD_SCHEMAS.items()}


def load_fields(collection: str, data: dict, creating: bool) -> dict:
    schema = FIELD_SCHEMAS[collection] if creating else PARTIAL_SCHEMAS[collection]
    loaded = fast_load(schema, data, partial=not creating)
    if loaded is None:
        loaded = schema.load(data)
    for key in ("patrol_id", "incident_id"):
        if loaded.get(key) is not None:
            loaded[key] = str(loaded[key])
    return loaded


__all__ = ["SyncRequestSchema", "SyncResponseSchema", "load_fields"]
