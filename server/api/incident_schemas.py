"""Request and response bodies of /api/v1/incidents (kept apart so the views stay readable)."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate
from flask import g

from server.api.common import ID_OR_TEXT, AreaRef, StrictSchema, UTCDateTimeField, page_args_schema
from core.domain.incidents import TRANSITIONS
from core.db import db
from core.models import Area, HANDLING_CLASSES, SOURCES, STATUSES, utcnow
from core.domain.access import may_see_phones
from core.domain.phones import mask_phone


class CategoryRef(fields.Field):
    """A category by SMS number (5 or "5") or by code ("coal")."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"oneOf": ID_OR_TEXT, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if (isinstance(value, bool) or not isinstance(value, (int, str))
                or (isinstance(value, str) and not value.strip())):
            raise ValidationError("Give a category number (e.g. 5) or code (e.g. coal).")
        return value


class IncidentCreateSchema(StrictSchema):
    category = CategoryRef(required=True, metadata={"description": "number (e.g. 5) or code (e.g. coal)"})
    area = AreaRef(required=True, metadata={"description": "where the problem is (grid id or code)"})
    handling_class = fields.String(load_default="reported", validate=validate.OneOf(HANDLING_CLASSES),
                                   metadata={"description": "immediate 即办 / reported 上报 / committed 承诺"})
    promised_date = fields.Date(load_default=None, allow_none=True, metadata={"description": "committed only"})
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    location_text = fields.String(load_default="", validate=validate.Length(max=300))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180))
    source = fields.String(load_default="staff", validate=validate.OneOf(SOURCES))
    reporter_phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40),
                                   metadata={"description": "a resident's phone, when reported by phone call"})


class IncidentUpdateSchema(StrictSchema):
    category = CategoryRef(metadata={"description": "number or code"})
    handling_class = fields.String(validate=validate.OneOf(HANDLING_CLASSES))
    promised_date = fields.Date(allow_none=True)
    description = fields.String(validate=validate.Length(max=5000))
    location_text = fields.String(validate=validate.Length(max=300))
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))


class NoteOnlySchema(StrictSchema):
    note = fields.String(load_default="", validate=validate.Length(max=5000))


class NoteRequiredSchema(StrictSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class EscalateSchema(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=5000))
    flag = fields.Boolean(load_default=False, metadata={"description": "mark as 挂牌督办 (flagged supervision)"})


class RejectSchema(StrictSchema):
    note = fields.String(load_default="", validate=validate.Length(max=5000))
    duplicate_of = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36),
                                 metadata={"description": "ticket or id of the original: status becomes duplicate"})


class ReassignSchema(StrictSchema):
    area = AreaRef(required=True, metadata={"description": "new responsible area (id or code)"})
    note = fields.String(load_default="", validate=validate.Length(max=5000))


def _viewer():
    return g.get("principal")


def _phone_for_viewer(phone, area):
    """Residents' numbers: whole for those who may read the message log of the area, masked for the rest."""
    if not phone:
        return phone
    return phone if may_see_phones(_viewer(), area) else mask_phone(phone)


def _event_label(event):
    label = event.actor_label or ""
    if label.startswith("+") and label[1:].isdigit():
        return _phone_for_viewer(label, event.incident.area)
    return label


def _area_code(area_id):
    if area_id is None:
        return None
    area = db.session.get(Area, area_id)
    return area.code if area else None


class EventSchema(Schema):
    id = fields.String()
    kind = fields.String()
    at = fields.DateTime()
    channel = fields.String()
    actor_member_id = fields.Integer(allow_none=True)
    actor_label = fields.Function(_event_label)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    from_area_code = fields.Function(lambda e: _area_code(e.from_area_id), allow_none=True)
    to_area_code = fields.Function(lambda e: _area_code(e.to_area_id), allow_none=True)
    note = fields.String()
    data = fields.Dict()


def _overdue(incident) -> bool:
    return bool(incident.status in ("open", "in_progress") and incident.deadline and incident.deadline < utcnow())


class IncidentSchema(Schema):
    id = fields.String(metadata={"description": "UUID"})
    ticket = fields.String(metadata={"description": "short number residents and patrollers quote"})
    category_id = fields.Integer()
    category_code = fields.Function(lambda i: i.category.code)
    category_name = fields.Function(lambda i: i.category.name_zh)
    area_id = fields.Integer()
    area_code = fields.Function(lambda i: i.area.code)
    responsible_area_id = fields.Integer()
    responsible_area_code = fields.Function(lambda i: i.responsible_area.code)
    responsible_level = fields.String()
    location_text = fields.String()
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    description = fields.String()
    source = fields.String()
    handling_class = fields.String()
    promised_date = fields.Date(allow_none=True)
    status = fields.String()
    allowed_next = fields.Function(lambda i: sorted(TRANSITIONS.get(i.status, ())))
    deadline = fields.DateTime(allow_none=True)
    overdue = fields.Function(_overdue)
    escalation_count = fields.Integer()
    flagged = fields.Boolean(metadata={"description": "挂牌督办"})
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    reported_at = fields.DateTime()
    reporter_member_id = fields.Integer(allow_none=True)
    reporter_phone = fields.Function(lambda i: _phone_for_viewer(i.reporter_phone, i.area), allow_none=True,
                                     metadata={"description": "masked (+86 139****5678) unless you may read "
                                                              "the SMS message log of the area"})
    patrol_id = fields.String(allow_none=True)
    duplicate_of_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


# Events written by one action share a timestamp (acknowledge = status change + acknowledged); the database
# returns ties in any order, so ties are broken by what logically happens first.
_TIE_ORDER = {"created": 0, "status_change": 1}


def _history(incident):
    return sorted(incident.events, key=lambda e: (e.at, _TIE_ORDER.get(e.kind, 2)))


class IncidentDetailSchema(IncidentSchema):
    events = fields.List(fields.Nested(EventSchema), metadata={"description": "full history, oldest first"})

    def get_attribute(self, obj, attr, default):
        if attr == "events":
            return _history(obj)
        return super().get_attribute(obj, attr, default)


IncidentFilter = page_args_schema({
    "within": fields.String(metadata={"description": "found in, or now the responsibility of, this subtree"}),
    "status": fields.List(fields.String(validate=validate.OneOf(STATUSES)),
                          metadata={"description": "repeat to allow several"}),
    "category": fields.String(metadata={"description": "number or code"}),
    "overdue": fields.Boolean(metadata={"description": "open or in progress and past the deadline"}),
    "since": UTCDateTimeField(metadata={"description": "reported at or after"}),
    "until": UTCDateTimeField(metadata={"description": "reported before"}),
    "handling_class": fields.String(validate=validate.OneOf(HANDLING_CLASSES)),
    "flagged": fields.Boolean(),
    "source": fields.String(validate=validate.OneOf(SOURCES)),
    "ticket": fields.String(),
    "responsible_level": fields.String(),
})
