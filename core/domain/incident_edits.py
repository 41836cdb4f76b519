"""Correcting an incident's facts (category, place, description, handling class) after it was reported,
and recategorising a resident's report.

Patrollers report in a hurry over poor signal; a desk fixes the details later. The correction is written to
the history as a note event listing the old and new values, so nothing said earlier is lost.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.domain.areas import effective_timezone
from core.settings import DEFAULT_TIMEZONE
from core.domain.incidents import add_event, compute_deadline, require_promised_date, require_usable_category
from core.domain.errors import IllegalTransition, Invalid
from core.models import Incident, Member, OPEN_STATUSES, utcnow
from core.domain.access import can_act_on_incident, require

HANDLING_FIELDS = ("handling_class", "promised_date")
DEFAULT_MAX_PROMISE_DAYS = 30


def check_promise(promised: date | None, today: date, max_days: int | None = None) -> None:
    """A promised date (承诺) lies between today and today + max_days (config MAX_PROMISE_DAYS)."""
    if promised is None:
        return
    max_days = DEFAULT_MAX_PROMISE_DAYS if max_days is None else max_days
    if promised < today or (promised - today).days > max_days:
        raise Invalid(f"a promise runs from today to at most {max_days} days ahead",
                      details={"promised_date": [f"Must be between {today.isoformat()} and "
                                                 f"{max_days} days later."]})


def check_reported_at(reported_at: datetime, now: datetime) -> None:
    """A problem is reported in the past (a device clock may run 5 minutes ahead) and in this century."""
    if reported_at > now + timedelta(minutes=5) or reported_at < datetime(2000, 1, 1, tzinfo=timezone.utc):
        raise Invalid("reported_at must not lie in the future",
                      details={"reported_at": ["Must be a moment in the past (device clocks may run 5 minutes "
                                               "ahead)."]})


def local_today(session: Session, incident_or_area, now: datetime, default_tz: str = DEFAULT_TIMEZONE) -> date:
    area = getattr(incident_or_area, "responsible_area", None) or incident_or_area
    return now.astimezone(ZoneInfo(effective_timezone(session, area, default_tz))).date()


def check_handling_change(session: Session, actor, incident: Incident, changes: dict, *, now: datetime | None = None,
                          max_days: int | None = None, default_tz: str = DEFAULT_TIMEZONE) -> None:
    """Who may move a deadline: the handling class and promised date are changed only by roles the permission
    table gives `set_handling` (leaders, supervisors, admins) over the incident, within the promise range.
    The same rule for the API, SMS and device sync; `reported_at` never changes after creation."""
    if "reported_at" in changes and changes["reported_at"] != incident.reported_at:
        raise Invalid("reported_at is fixed when a problem is reported",
                      details={"reported_at": ["Cannot be changed after the incident was created."]})
    moving = {k for k in HANDLING_FIELDS if k in changes and changes[k] != getattr(incident, k)}
    if not moving:
        return
    if actor is not None:
        can_act_on_incident(actor, incident, "set_handling")
    if "promised_date" in moving:
        check_promise(changes["promised_date"], local_today(session, incident, now or utcnow(), default_tz), max_days)


EDITABLE = ("category", "description", "location_text", "latitude", "longitude", "handling_class", "promised_date")


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "code"):
        return value.code
    return value


def update_incident(session: Session, incident: Incident, changes: dict, *, channel: str,
                    actor: Member | None = None, now: datetime | None = None, policy: dict | None = None,
                    default_tz: str = DEFAULT_TIMEZONE, principal=None, max_days: int | None = None):
    """Apply the changes; a new handling class or promised date recomputes the deadline of an open incident.
    With `principal`, the handling rule (check_handling_change) is enforced for it."""
    now = now or utcnow()
    check_handling_change(session, principal, incident, changes, now=now, max_days=max_days, default_tz=default_tz)
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


def require_may_recategorise(principal, incident: Incident, *, teach: bool = False) -> None:
    """Who may move a report to another category: the permission table's incidents/update row over where the
    report was found or who handles it; teaching the words that misplaced it also needs the lexicon/create
    row — the lexicon is one for the whole installation, so only an installation-wide role (a global admin)
    changes it. The API and the dashboard ask this before `recategorise`."""
    can_act_on_incident(principal, incident, "update")
    if teach:
        require(principal, "create", "lexicon", what="teach the classifier words (one lexicon for every area)")


def recategorise(session: Session, incident: Incident, category, *, actor: Member | None = None,
                 channel: str = "api", now: datetime | None = None):
    """Move a report to another category (the 待分类 triage's one action): the same checked, recorded edit as
    any correction of its facts. Returns the category it had."""
    old = incident.category
    update_incident(session, incident, {"category": category}, channel=channel, actor=actor, now=now)
    return old
