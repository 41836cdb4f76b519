"""Incident rules: tickets, the status state machine, deadlines, handling, escalation.

Every change writes an IncidentEvent, so the history is complete whichever channel (API, device sync,
SMS, worker, CLI) made it. Callers own the transaction: these functions flush, never commit.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.domain.areas import effective_timezone, parent_area
from core.domain.phones import mask_phone
from core.settings import DEFAULT_TIMEZONE
from core.domain.errors import Conflict, IllegalTransition, Invalid
from core.domain.tickets import next_ticket
from core.models import OPEN_STATUSES, Area, Category, Incident, IncidentEvent, Member, utcnow

TRANSITIONS: dict[str, set[str]] = {
    "open": {"in_progress", "resolved", "rejected", "duplicate"},
    "in_progress": {"open", "resolved", "rejected", "duplicate"},
    "resolved": {"closed", "in_progress"},
    "closed": {"open"},
    "rejected": {"open"},
    "duplicate": {"open"},
}
TERMINAL = {"closed", "rejected", "duplicate"}

DEFAULT_DEADLINE_POLICY = {
    # hours a level has to act on a reported (上报) problem; immediate (即办) ones are due by the end of
    # the local day; committed (承诺) ones by the end of their promised date.
    "reported_hours": {"grid": 24, "community": 24, "subdistrict": 48, "district": 72, "other": 48},
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, set())


def _end_of_local_day(day: date, tz: str) -> datetime:
    local = datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(tz))
    return local.astimezone(timezone.utc)


def compute_deadline(handling_class: str, level: str, now: datetime, tz: str,
                     promised_date: date | None = None, policy: dict | None = None) -> datetime:
    policy = {**DEFAULT_DEADLINE_POLICY, **(policy or {})}
    if handling_class == "immediate":
        return _end_of_local_day(now.astimezone(ZoneInfo(tz)).date(), tz)
    if handling_class == "committed" and promised_date is not None:
        return _end_of_local_day(promised_date, tz)
    hours = policy["reported_hours"].get(level, policy["reported_hours"].get("other", 48))
    return now + timedelta(hours=hours)


def initial_responsible_area(session: Session, area: Area, handling_class: str) -> Area:
    """Small problems stay in the grid; reported (上报) ones go to the level above."""
    if handling_class == "reported":
        return parent_area(session, area) or area
    return area


def add_event(session: Session, incident: Incident, kind: str, *, channel: str, actor: Member | None = None,
              actor_label: str = "", note: str = "", from_status: str | None = None, to_status: str | None = None,
              from_area_id: int | None = None, to_area_id: int | None = None, data: dict | None = None,
              at: datetime | None = None, event_id: str | None = None) -> IncidentEvent:
    event = IncidentEvent(
        incident=incident, kind=kind, channel=channel, actor_member_id=actor.id if actor else None,
        actor_label=actor_label or (actor.name if actor else ""), note=note or "", from_status=from_status,
        to_status=to_status, from_area_id=from_area_id, to_area_id=to_area_id, data=data or {}, at=at or utcnow())
    if event_id:
        event.id = event_id
    session.add(event)
    return event


# --- the rules every channel (API, SMS, sync, CLI) checks, each written once ---------------------------------

def require_promised_date(handling_class: str, promised_date) -> None:
    """A committed (承诺) problem needs a promised date."""
    if handling_class == "committed" and not promised_date:
        raise Invalid("a committed (承诺) problem needs a promised date",
                      details={"promised_date": ["Required when handling_class is committed."]})


def require_usable_category(category: Category, *, field: str = "category", current_id: int | None = None) -> None:
    """An inactive (retired) category takes no new problems; an incident already filed under it keeps it."""
    if not category.active and category.id != current_id:
        raise Invalid(f"category {category.code} is no longer in use",
                      details={field: [f"Category {category.number} ({category.name_zh}) is inactive."]})


def placement(session: Session, area: Area, handling_class: str, default_tz: str) -> tuple[Area, str]:
    """Where a new problem is handled and the time zone its deadline is counted in."""
    responsible = initial_responsible_area(session, area, handling_class)
    return responsible, effective_timezone(session, responsible, default_tz)


def new_incident_row(*, category: Category, area: Area, responsible: Area, tz: str, source: str,
                     handling_class: str = "reported", status: str = "open", description: str = "",
                     location_text: str = "", promised_date: date | None = None, reporter_id: int | None = None,
                     reporter_phone: str | None = None, latitude: float | None = None, longitude: float | None = None,
                     patrol_id: str | None = None, reported_at: datetime, now: datetime | None = None,
                     policy: dict | None = None, ticket: str | None = None) -> dict:
    """Every column of a new incident, by the rules: promised date, responsible level, deadline, state.

    The one builder behind both the ORM path (`create_incident`) and the COPY path of a sync batch, so the
    two cannot drift. Pure: the caller resolves `responsible` and `tz` (see `placement`)."""
    require_promised_date(handling_class, promised_date)
    now = now or reported_at
    return {
        "ticket": ticket, "category_id": category.id, "area_id": area.id, "responsible_area_id": responsible.id,
        "responsible_level": responsible.kind, "location_text": location_text or "", "latitude": latitude,
        "longitude": longitude, "description": description or "", "source": source, "handling_class": handling_class,
        "promised_date": promised_date, "status": status,
        "deadline": compute_deadline(handling_class, responsible.kind, reported_at, tz, promised_date, policy),
        "escalation_count": 0, "flagged": False, "acknowledged_at": None,
        "resolved_at": now if status == "resolved" else None, "closed_at": None, "reported_at": reported_at,
        "reporter_member_id": reporter_id, "reporter_phone": reporter_phone, "patrol_id": patrol_id,
        "duplicate_of_id": None}


def created_event_values(row: dict) -> dict:
    """The history event every new incident starts with."""
    return {"kind": "created", "to_status": "open", "to_area_id": row["responsible_area_id"],
            "data": {"source": row["source"], "handling_class": row["handling_class"]}}


def create_incident(session: Session, *, category: Category, area: Area, channel: str, source: str,
                    handling_class: str = "reported", description: str = "", location_text: str = "",
                    promised_date: date | None = None, reporter: Member | None = None,
                    reporter_phone: str | None = None, latitude: float | None = None,
                    longitude: float | None = None, patrol_id: str | None = None, incident_id: str | None = None,
                    now: datetime | None = None, policy: dict | None = None,
                    default_tz: str = DEFAULT_TIMEZONE) -> Incident:
    now = now or utcnow()
    require_promised_date(handling_class, promised_date)
    responsible, tz = placement(session, area, handling_class, default_tz)
    row = new_incident_row(
        category=category, area=area, responsible=responsible, tz=tz, source=source, handling_class=handling_class,
        description=description, location_text=location_text, promised_date=promised_date,
        reporter_id=reporter.id if reporter else None,
        reporter_phone=reporter_phone or (reporter.phone if reporter else None), latitude=latitude,
        longitude=longitude, patrol_id=patrol_id, reported_at=now, policy=policy, ticket=next_ticket(session))
    incident = Incident(**row, category=category, area=area, responsible_area=responsible, reporter=reporter)
    if incident_id:
        incident.id = incident_id
    session.add(incident)
    event = created_event_values(row)
    add_event(session, incident, event.pop("kind"), channel=channel, actor=reporter,
              actor_label=reporter.name if reporter else mask_phone(reporter_phone), at=now, **event)
    session.flush()
    return incident


def transition(session: Session, incident: Incident, target: str, *, channel: str, actor: Member | None = None,
               actor_label: str = "", note: str = "", kind: str = "status_change",
               now: datetime | None = None) -> IncidentEvent:
    """Move through the state machine or raise IllegalTransition naming what is allowed."""
    now = now or utcnow()
    current = incident.status
    if not can_transition(current, target):
        allowed = sorted(TRANSITIONS.get(current, set()))
        raise IllegalTransition(
            f"an incident that is {current} cannot become {target}",
            details={"status": [f"From {current} the allowed next states are: {', '.join(allowed) or 'none'}."],
                     "current": current, "requested": target, "allowed": allowed})
    incident.status = target
    if target == "resolved":
        incident.resolved_at = now
    elif target == "closed":
        incident.closed_at = now
    elif target in ("open", "in_progress") and current in ("resolved", "closed", "rejected", "duplicate"):
        incident.resolved_at = None
        incident.closed_at = None
    return add_event(session, incident, kind, channel=channel, actor=actor, actor_label=actor_label, note=note,
                     from_status=current, to_status=target, at=now)


def handle(session: Session, incident: Incident, **kw) -> IncidentEvent:
    """办结: the problem was dealt with."""
    return transition(session, incident, "resolved", kind="handled", **kw)


def acknowledge(session: Session, incident: Incident, *, channel: str, actor: Member | None = None,
                note: str = "", now: datetime | None = None) -> IncidentEvent:
    """收到: a leader has seen it. Stops reminders; an open incident moves to in progress."""
    now = now or utcnow()
    incident.acknowledged_at = now
    if incident.status == "open":
        transition(session, incident, "in_progress", channel=channel, actor=actor, now=now)
    elif incident.status in TERMINAL or incident.status == "resolved":
        raise IllegalTransition(f"incident {incident.ticket} is already {incident.status}",
                                details={"status": [f"Cannot acknowledge a {incident.status} incident."]})
    return add_event(session, incident, "acknowledged", channel=channel, actor=actor, note=note, at=now)


def escalate(session: Session, incident: Incident, *, channel: str, actor: Member | None = None,
             actor_label: str = "", reason: str = "", flag: bool = False, now: datetime | None = None,
             policy: dict | None = None, default_tz: str = DEFAULT_TIMEZONE) -> IncidentEvent:
    """Move responsibility one level up, with a new deadline. `flag` marks 挂牌督办 (overdue escalation)."""
    now = now or utcnow()
    if incident.status not in ("open", "in_progress"):
        raise IllegalTransition(f"incident {incident.ticket} is {incident.status}; only open ones escalate",
                                details={"status": [f"Cannot escalate a {incident.status} incident."]})
    current = incident.responsible_area
    above = parent_area(session, current)
    if above is None:
        raise Conflict(f"incident {incident.ticket} is already at the top level ({current.code})",
                       code="at_top_level", details={"responsible_area": current.code})
    incident.responsible_area = above
    incident.responsible_level = above.kind
    incident.escalation_count += 1
    incident.acknowledged_at = None
    if flag:
        incident.flagged = True
    tz = effective_timezone(session, above, default_tz)
    incident.deadline = compute_deadline("reported", above.kind, now, tz, None, policy)
    return add_event(session, incident, "escalated", channel=channel, actor=actor, actor_label=actor_label,
                     note=reason, from_area_id=current.id, to_area_id=above.id, at=now,
                     data={"flagged": incident.flagged, "level": above.kind})


def reassign(session: Session, incident: Incident, area: Area, *, channel: str, actor: Member | None = None,
             note: str = "", now: datetime | None = None) -> IncidentEvent:
    """Hand responsibility to another area; only open (open / in progress) incidents are reassigned."""
    if incident.status not in OPEN_STATUSES:
        raise IllegalTransition(f"incident {incident.ticket} is {incident.status}; only open ones are reassigned",
                                details={"status": [f"Cannot reassign a {incident.status} incident."]})
    old = incident.responsible_area_id
    incident.responsible_area = area
    incident.responsible_level = area.kind
    return add_event(session, incident, "reassigned", channel=channel, actor=actor, note=note,
                     from_area_id=old, to_area_id=area.id, at=now)


def mark_duplicate(session: Session, incident: Incident, original: Incident, *, channel: str,
                   actor: Member | None = None, note: str = "", now: datetime | None = None) -> IncidentEvent:
    """Close an incident as a duplicate of another; the event names the original's ticket."""
    if original.id == incident.id:
        raise Invalid("an incident cannot duplicate itself", details={"duplicate_of": ["Names this incident."]})
    event = transition(session, incident, "duplicate", channel=channel, actor=actor, note=note, now=now)
    incident.duplicate_of_id = original.id
    event.data = {"duplicate_of": original.ticket}
    return event


def add_note(session: Session, incident: Incident, note: str, *, channel: str, actor: Member | None = None,
             now: datetime | None = None) -> IncidentEvent:
    if not note.strip():
        raise Invalid("a note needs text", details={"note": ["Must not be empty."]})
    return add_event(session, incident, "note", channel=channel, actor=actor, note=note, at=now)


def find_by_ticket(session: Session, ticket: str) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.ticket == ticket.strip()))
