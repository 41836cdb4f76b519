"""/api/v1/triage — residents' reports filed as 其他 (待分类) and their one-action recategorisation.

Thin adapter over core.domain.incident_edits (require_may_recategorise) and sms.understanding.store
(pending_triage, recategorise), like the
dashboard's 待分类 page: the list is limited to the caller's areas; recategorising follows the permission
table's incidents/update row, and teaching the lexicon a word (`learn`) its lexicon/create row (a global
admin's: the lexicon is one for the whole installation); a taught word must occur in the report's text.
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from server.api.common import StrictSchema, audit, documents_errors
from server.http.auth import staff_principal
from core.domain.errors import Invalid, NotFound
from core.domain.incident_edits import require_may_recategorise
from core.db import db
from server.api.incidents import find_incident
from sms.understanding import store

blp = Blueprint("triage", __name__, url_prefix="/api/v1/triage",
                description="Residents' reports no category was sure of (待分类), and recategorising them")


class CueSchema(Schema):
    word = fields.String()
    category = fields.String()
    kind = fields.String()
    weight = fields.Float()


class TriageItemSchema(Schema):
    id = fields.String()
    ticket = fields.String()
    text = fields.String()
    area = fields.String(metadata={"description": "code of the area it was filed under"})
    confidence = fields.Float()
    cues = fields.List(fields.Nested(CueSchema))
    reported_at = fields.DateTime()


class TriageListSchema(Schema):
    items = fields.List(fields.Nested(TriageItemSchema))


class RecategoriseSchema(StrictSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=50),
                             metadata={"description": "number, code or Chinese/English name, e.g. 烟花爆竹"})
    learn = fields.List(fields.String(validate=validate.Length(min=1, max=40)), load_default=list,
                        validate=validate.Length(max=20),
                        metadata={"description": "words of the text to add to the category's lexicon"})


class RecategorisedSchema(Schema):
    ticket = fields.String()
    category = fields.String()
    missed_words = fields.List(fields.String())


@blp.route("", methods=["GET"])
@blp.response(200, TriageListSchema)
@documents_errors(blp, 401, 403)
def pending():
    """The 待分类 list in the caller's areas, oldest first."""
    principal = staff_principal()
    rows = store.pending_triage(db.session, None if principal.is_global_admin else principal)
    return {"items": [{"id": i.id, "ticket": i.ticket, "text": u.text, "area": i.area.code,
                       "confidence": u.confidence, "cues": u.cues, "reported_at": i.reported_at} for i, u in rows]}


@blp.route("/<string:ref>", methods=["POST"])
@blp.arguments(RecategoriseSchema)
@blp.response(200, RecategorisedSchema)
@documents_errors(blp, 400, 401, 403, 404, 413, 422)
def recategorise(body, ref):
    """Set the category of one report (by id or ticket) in one action; the change and the words no cue
    knew are recorded, and the report leaves the 待分类 list."""
    principal = staff_principal()
    incident = find_incident(ref)
    require_may_recategorise(principal, incident, teach=bool(body["learn"]))
    try:
        change = store.recategorise(db.session, incident, body["category"], actor=principal.member, channel="api",
                                    learn=body["learn"])
    except NotFound as exc:
        raise Invalid(exc.message, details={"category": [exc.message]}) from exc
    audit("incident.recategorise", "incident", incident.id,
          {"ticket": incident.ticket, "to": incident.category.code, "missed": change.words, "learned": body["learn"]})
    db.session.commit()
    return {"ticket": incident.ticket, "category": incident.category.code, "missed_words": change.words}
