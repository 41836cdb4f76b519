"""/api/v1/incidents — problems: list/filter, report, detail with history, and actions.

Every action goes through core.domain.incidents (the state machine) and writes an IncidentEvent with
channel "api" and the acting member, plus an audit entry, in one transaction. An incident is addressed by
its UUID or by its ticket number, whichever the caller has.
"""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased, joinedload

from server.api.common import (QUERY, READ_ROLES, area_from_ref, as_record_id, audit, documents_errors, page_schema,
                               paginate)
from server.api.incident_schemas import (EscalateSchema, IncidentCreateSchema, IncidentDetailSchema, IncidentFilter,
                                         IncidentSchema, IncidentUpdateSchema, NoteOnlySchema, NoteRequiredSchema,
                                         ReassignSchema, RejectSchema)
from core.domain.scoping import require_in_scope
from server.http.auth import staff_principal
from core.domain import incidents as rules
from core.domain.access import ACT_ON_INCIDENT, can, can_act_on_incident, roles_for
from core.domain.incident_edits import check_promise, local_today, update_incident
from core.domain.phones import normalize_phone
from core.settings import DomainSettings
from core.domain.errors import Invalid, NotFound
from core.db import db
from core.models import Area, Category, Incident, OPEN_STATUSES, utcnow

blp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents",
                description="Problems (incidents): report, follow, handle, escalate, close")

CHANNEL = "api"


def category_from_ref(ref, field: str = "category") -> Category:
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isascii() and ref.strip().isdigit()):
        number = as_record_id(ref)  # SMS numbers are small; one beyond any column names no category
        category = db.session.scalar(select(Category).where(Category.number == number)) if number else None
    else:
        category = db.session.scalar(select(Category).where(Category.code == str(ref).strip().lower()))
    if category is None or category.deleted_at is not None:
        raise Invalid(f"unknown category {ref!r}", details={field: [f"Unknown category {ref!r}."]})
    return category


def find_incident(ref: str) -> Incident:
    ref = ref.strip()
    incident = db.session.get(Incident, ref) if len(ref) == 36 else rules.find_by_ticket(db.session, ref)
    if incident is None or incident.deleted_at is not None:
        raise NotFound(f"no incident {ref}", details={"incident": [f"No incident with id or ticket {ref}."]})
    return incident


def _policy_kwargs() -> dict:
    return DomainSettings.from_config(current_app.config).incident_kwargs()


@blp.route("", methods=["GET"])
@blp.arguments(IncidentFilter, **QUERY)
@blp.response(200, page_schema(IncidentSchema, "IncidentPage"))
@documents_errors(blp, 401, 403)
def list_incidents(args):
    """Incidents found in, or now the responsibility of, your subtrees; newest first."""
    principal = staff_principal()
    found, responsible = aliased(Area), aliased(Area)
    statement = (select(Incident).join(found, found.id == Incident.area_id)
                 .join(responsible, responsible.id == Incident.responsible_area_id)
                 .where(Incident.deleted_at.is_(None),
                        or_(principal.area_filter(found.path, READ_ROLES),
                            principal.area_filter(responsible.path, READ_ROLES)))
                 .order_by(Incident.reported_at.desc(), Incident.ticket.desc())
                 .options(joinedload(Incident.category), joinedload(Incident.area),
                          joinedload(Incident.responsible_area)))
    if "within" in args:
        root = area_from_ref(args["within"], "within")
        statement = statement.where(or_(found.path.startswith(root.path), responsible.path.startswith(root.path)))
    if args.get("status"):
        statement = statement.where(Incident.status.in_(args["status"]))
    if "category" in args:
        statement = statement.where(Incident.category_id == category_from_ref(args["category"]).id)
    if args.get("overdue") is True:
        statement = statement.where(Incident.status.in_(OPEN_STATUSES), Incident.deadline < utcnow())
    elif args.get("overdue") is False:
        statement = statement.where(or_(Incident.status.notin_(OPEN_STATUSES), Incident.deadline.is_(None),
                                        Incident.deadline >= utcnow()))
    if "since" in args:
        statement = statement.where(Incident.reported_at >= args["since"])
    if "until" in args:
        statement = statement.where(Incident.reported_at < args["until"])
    for key in ("handling_class", "flagged", "source", "responsible_level"):
        if key in args:
            statement = statement.where(getattr(Incident, key) == args[key])
    if "ticket" in args:
        statement = statement.where(Incident.ticket == args["ticket"].strip())
    return paginate(statement, args, lambda r: r)


@blp.route("", methods=["POST"])
@blp.arguments(IncidentCreateSchema)
@blp.response(201, IncidentDetailSchema)
@documents_errors(blp, 400, 401, 403, 413)
def create(body):
    """Report a problem in an area you work in; reported (上报) ones go to the level above at once."""
    principal = staff_principal()
    area = area_from_ref(body.pop("area"))
    require_in_scope(principal, area, "report problems", ACT_ON_INCIDENT["note"])
    category = category_from_ref(body.pop("category"))
    rules.require_usable_category(category)
    if body.get("reporter_phone"):
        body["reporter_phone"] = normalize_phone(body["reporter_phone"], current_app.config["GRIDPATROL_PHONE_REGION"])
    reporter_phone = body.pop("reporter_phone")
    if body.get("promised_date") is not None:
        check_promise(body["promised_date"], local_today(db.session, area, utcnow(),
                                                         current_app.config["GRIDPATROL_TIMEZONE"]),
                      current_app.config.get("MAX_PROMISE_DAYS"))
    incident = rules.create_incident(db.session, category=category, area=area, channel=CHANNEL,
                                     reporter=principal.member if not reporter_phone else None,
                                     reporter_phone=reporter_phone, **body, **_policy_kwargs())
    audit("incident.create", "incident", incident.id, {"ticket": incident.ticket, "area": area.code,
                                                       "category": category.code})
    db.session.commit()
    return incident


@blp.route("/<string:ref>", methods=["GET"])
@blp.response(200, IncidentDetailSchema)
@documents_errors(blp, 401, 403, 404)
def detail(ref):
    """One incident by UUID or ticket, with its whole event history."""
    principal = staff_principal()
    incident = find_incident(ref)
    if not _readable(principal, incident):
        require_in_scope(principal, incident.responsible_area, "view", roles_for("incidents", "read"))
    return incident


def _readable(principal, incident: Incident) -> bool:
    return can(principal, "read", "incidents", incident.area) or can(principal, "read", "incidents",
                                                                      incident.responsible_area)


@blp.route("/<string:ref>", methods=["PATCH"])
@blp.arguments(IncidentUpdateSchema)
@blp.response(200, IncidentDetailSchema)
@documents_errors(blp, 400, 401, 403, 404, 409, 413)
def update(body, ref):
    """Correct the facts of a report (category, place, description, handling); the history keeps old values."""
    principal, incident = _act(ref, "update")
    if "category" in body:
        body["category"] = category_from_ref(body["category"])
    event = update_incident(db.session, incident, body, channel=CHANNEL, actor=principal.member, principal=principal,
                            max_days=current_app.config.get("MAX_PROMISE_DAYS"), **_policy_kwargs())
    if event is None:
        return incident
    return _finish(incident, "update", event, {"fields": sorted(event.data["changes"])})


def _act(ref: str, action: str):
    principal = staff_principal()
    incident = find_incident(ref)
    can_act_on_incident(principal, incident, action)
    return principal, incident


def _finish(incident: Incident, action: str, event, extra: dict | None = None) -> Incident:
    db.session.flush()  # the event's id is assigned at flush; the audit entry names it
    audit(f"incident.{action}", "incident", incident.id,
          {"ticket": incident.ticket, "status": incident.status, "event_id": event.id if event else None,
           **(extra or {})})
    db.session.commit()
    return incident


def _action_doc(func):
    func = documents_errors(blp, 400, 401, 403, 404, 409, 413)(func)
    return blp.response(200, IncidentDetailSchema)(func)


@blp.route("/<string:ref>/handle", methods=["POST"])
@blp.arguments(NoteOnlySchema)
@_action_doc
def handle(body, ref):
    """办结: mark the problem dealt with (→ resolved)."""
    principal, incident = _act(ref, "handle")
    event = rules.handle(db.session, incident, channel=CHANNEL, actor=principal.member, note=body["note"])
    return _finish(incident, "handle", event)


@blp.route("/<string:ref>/escalate", methods=["POST"])
@blp.arguments(EscalateSchema)
@_action_doc
def escalate(body, ref):
    """Send responsibility one level up (grid → community → sub-district → district); 409 at_top_level."""
    principal, incident = _act(ref, "escalate")
    event = rules.escalate(db.session, incident, channel=CHANNEL, actor=principal.member, reason=body["reason"],
                           flag=body["flag"], **_policy_kwargs())
    return _finish(incident, "escalate", event, {"to": incident.responsible_area.code, "flagged": incident.flagged})


@blp.route("/<string:ref>/acknowledge", methods=["POST"])
@blp.arguments(NoteOnlySchema)
@_action_doc
def acknowledge(body, ref):
    """收到 (leaders): stops reminders; an open incident moves to in progress."""
    principal, incident = _act(ref, "acknowledge")
    event = rules.acknowledge(db.session, incident, channel=CHANNEL, actor=principal.member, note=body["note"])
    return _finish(incident, "acknowledge", event)


@blp.route("/<string:ref>/close", methods=["POST"])
@blp.arguments(NoteOnlySchema)
@_action_doc
def close(body, ref):
    """Close a resolved incident (leaders)."""
    principal, incident = _act(ref, "close")
    event = rules.transition(db.session, incident, "closed", channel=CHANNEL, actor=principal.member,
                             note=body["note"])
    return _finish(incident, "close", event)


@blp.route("/<string:ref>/reopen", methods=["POST"])
@blp.arguments(NoteOnlySchema)
@_action_doc
def reopen(body, ref):
    """Reopen a closed, rejected or duplicate incident (leaders); a resolved one goes back in progress."""
    principal, incident = _act(ref, "reopen")
    target = "in_progress" if incident.status == "resolved" else "open"
    event = rules.transition(db.session, incident, target, channel=CHANNEL, actor=principal.member,
                             note=body["note"])
    return _finish(incident, "reopen", event)


@blp.route("/<string:ref>/reject", methods=["POST"])
@blp.arguments(RejectSchema)
@_action_doc
def reject(body, ref):
    """Reject (not a problem) or, with duplicate_of, mark as a duplicate of another incident (leaders)."""
    principal, incident = _act(ref, "reject")
    if body["duplicate_of"]:
        original = find_incident(body["duplicate_of"])
        if not _readable(principal, original):  # neither confirm nor reveal an incident outside your areas
            raise NotFound(f"no incident {body['duplicate_of']}",
                           details={"duplicate_of": [f"No incident with id or ticket {body['duplicate_of']}."]})
        event = rules.mark_duplicate(db.session, incident, original, channel=CHANNEL, actor=principal.member,
                                     note=body["note"])
        return _finish(incident, "reject", event, {"duplicate_of": original.ticket})
    event = rules.transition(db.session, incident, "rejected", channel=CHANNEL, actor=principal.member,
                             note=body["note"])
    return _finish(incident, "reject", event, {})


@blp.route("/<string:ref>/note", methods=["POST"])
@blp.arguments(NoteRequiredSchema)
@_action_doc
def note(body, ref):
    """Add a note to the history without changing anything else."""
    principal, incident = _act(ref, "note")
    event = rules.add_note(db.session, incident, body["note"], channel=CHANNEL, actor=principal.member)
    return _finish(incident, "note", event)


@blp.route("/<string:ref>/reassign", methods=["POST"])
@blp.arguments(ReassignSchema)
@_action_doc
def reassign(body, ref):
    """Hand responsibility to another area in your subtrees (leaders)."""
    principal, incident = _act(ref, "reassign")
    area = area_from_ref(body["area"])
    require_in_scope(principal, area, "reassign incidents", ACT_ON_INCIDENT["reassign"])
    old_code = incident.responsible_area.code
    event = rules.reassign(db.session, incident, area, channel=CHANNEL, actor=principal.member, note=body["note"])
    return _finish(incident, "reassign", event, {"from": old_code, "to": area.code})
