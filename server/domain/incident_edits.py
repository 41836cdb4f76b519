"""Correcting an incident's facts (category, place, description, handling class) after it was reported.

Patrollers report in a hurry over poor signal; a desk fixes the details later. The correction is written to
the history as a note event listing the old and new values, so nothing said earlier is lost.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from server.domain.areas import effective_timezone
from server.domain.defaults import DEFAULT_TIMEZONE
from server.domain.incidents import add_event, compute_deadline, require_promised_date, require_usable_category
from server.domain.errors import IllegalTransition
from server.models import Incident, Member, OPEN_STATUSES, utcnow

EDITABLE = ("category", "description", "location_text", "latitude", "longitude", "handling_class", "promised_date")


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "code"):
        return value.code
    return value


def update_incident(session: Session, incident: Incident, changes: dict, *, channel: str,
                    actor: Member | None = None, now: datetime | None = None, policy: dict | None = None,
                    default_tz: str = DEFAULT_TIMEZONE):
    """Apply the changes; a new handling class or promised date recomputes the deadline of an open incident."""
    now = now or utcnow()
    if incident.status not in OPEN_STATUSES and {"handling_class", "promised_date"} & set(changes):
        raise IllegalTransition(f"incident {incident.ticket} is {incident.status}; its handling is settled",
                                details={"status": [f"Cannot change the handling of a {incident.status} incident."]})
    handling = changes.get("handling_class", incident.handling_class)
    promised = changes.get("promised_date", incident.promised_date)
    require_promised_date(handling, promised)
    if "category" in changes:
        require_usable_category(changes["category"], current_id=incident.category_id)
    diff = {}
    for key in EDITABLE:
        if key in changes and getattr(incident, key) != changes[key]:
            diff[key] = {"from": _plain(getattr(incident, key)), "to": _plain(changes[key])}
            setattr(incident, key, changes[key])
    if not diff:
        return None
    if {"handling_class", "promised_date"} & set(diff):
        tz = effective_timezone(session, incident.responsible_area, default_tz)
        incident.deadline = compute_deadline(incident.handling_class, incident.responsible_level, now, tz,
                                             incident.promised_date, policy)
    return add_event(session, incident, "note", channel=channel, actor=actor, at=now,
                     note="更正: " + ", ".join(sorted(diff)), data={"changes": diff})
