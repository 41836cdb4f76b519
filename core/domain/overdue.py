"""Overdue incidents: alert at the deadline, escalate one level after the grace, digest at the top.

Stage 1 picks incidents whose deadline passed within WORKERS_OVERDUE_LOOKBACK_HOURS (a range on the
(status, deadline) index) and that have no track for that deadline yet; it opens an `OverdueTrack` and
alerts the first leader of the responsible area. Stage 2 reads tracks whose grace ran out (index on
stage + next_check_at): still open and unacknowledged → `incidents.escalate(flag=True, channel="worker")`
and an alert to the new level's leader; at the top level (WORKERS_TOP_LEVEL, default sub-district) the
track waits for the daily digest instead. Escalation gives the incident a new deadline, which gets its
own track when it passes, so the climb continues level by level.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.domain.incidents import escalate
from core.models import Category, Incident, OPEN_STATUSES
from core import settings
from core.domain import alert_texts as texts
from core.domain.alerts import alert_key, raise_alerts
from core.models.alerts import OverdueTrack
from core.domain.recipients import AreaIndex, first_leaders
from core.domain.patrol_calendar import in_quiet_hours


def urgent_category_ids(session: Session) -> set[int]:
    codes = settings.get("WORKERS_URGENT_CATEGORIES")
    query = select(Category.id).where(Category.code.in_(codes)) if codes is not None else \
        select(Category.id).where(Category.urgent.is_(True))
    return set(session.scalars(query))


def _insert_tracks(session: Session, rows: list[dict]) -> set[str]:
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        # local: each dialect's insert is named insert; the bind picks one
        from sqlalchemy.dialects.postgresql import insert
    else:
        # local: each dialect's insert is named insert; the bind picks one
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(OverdueTrack).values(rows).on_conflict_do_nothing(
        index_elements=["incident_id", "deadline"]).returning(OverdueTrack.incident_id)
    return set(session.scalars(statement))


def scan_overdue(session: Session, now: datetime, *, commit: bool = True) -> dict:
    batch = settings.get("WORKERS_SCAN_BATCH")
    grace = timedelta(minutes=settings.get("WORKERS_OVERDUE_GRACE_MINUTES"))
    since = now - timedelta(hours=settings.get("WORKERS_OVERDUE_LOOKBACK_HOURS"))
    urgent_ids = urgent_category_ids(session)
    totals = {"overdue": 0, "escalated": 0, "digest": 0, "closed": 0, "alerts": 0, "held": 0}
    no_track = ~exists().where(OverdueTrack.incident_id == Incident.id, OverdueTrack.deadline == Incident.deadline)
    while True:  # stage 1: deadlines that have just passed
        incidents = session.scalars(
            select(Incident).where(Incident.status.in_(OPEN_STATUSES), Incident.deadline <= now,
                                   Incident.deadline > since, Incident.deleted_at.is_(None), no_track)
            .order_by(Incident.deadline, Incident.id).limit(batch)).all()
        if not incidents:
            break
        _alert_at_deadline(session, incidents, now, grace, urgent_ids, totals)
        if commit:
            session.commit()
        if len(incidents) < batch:
            break
    while True:  # stage 2: graces that have run out
        tracks = session.scalars(
            select(OverdueTrack).where(OverdueTrack.stage == "alerted", OverdueTrack.next_check_at <= now)
            .order_by(OverdueTrack.next_check_at, OverdueTrack.id).limit(batch)
            .with_for_update(skip_locked=True)).all()
        if not tracks:
            break
        _after_grace(session, tracks, now, urgent_ids, totals)
        if commit:
            session.commit()
        if len(tracks) < batch:
            break
    return totals


def _alert_at_deadline(session, incidents, now, grace, urgent_ids, totals) -> None:
    """Open a track and alert the responsible leader. The grace runs from when the alert goes out: a
    deadline passed at midnight is texted at 07:00 and escalates at 09:00, not at 02:00 while the text
    is still held (urgent categories, sent at once, escalate two hours after the deadline)."""
    index = AreaIndex(session, [i.responsible_area_id for i in incidents], settings.default_timezone())
    quiet = (settings.get("WORKERS_QUIET_START"), settings.get("WORKERS_QUIET_END"))

    def grace_starts(incident) -> datetime:
        if incident.category_id in urgent_ids:
            return incident.deadline
        released = in_quiet_hours(now, index.timezone(incident.responsible_area_id), *quiet)
        return max(incident.deadline, released) if released else incident.deadline

    created = _insert_tracks(session, [
        {"incident_id": i.id, "deadline": i.deadline, "area_id": i.responsible_area_id, "level": i.responsible_level,
         "stage": "alerted", "next_check_at": grace_starts(i) + grace, "created_at": now} for i in incidents])
    fresh = [i for i in incidents if i.id in created]  # another worker may have taken the rest
    if not fresh:
        return
    leaders = first_leaders(session, [i.responsible_area_id for i in fresh])
    categories = {c.id: c for c in session.scalars(select(Category))}
    specs = []
    for incident in fresh:
        totals["overdue"] += 1
        leader = leaders.get(incident.responsible_area_id)
        if leader is None:
            continue
        tz = index.timezone(incident.responsible_area_id)
        category = categories[incident.category_id]
        specs.append({
            "rule": "overdue", "subject_type": "incident", "subject_id": incident.id, "member": leader,
            "area_id": incident.responsible_area_id, "tz": tz, "urgent": incident.category_id in urgent_ids,
            "key": alert_key("overdue", f"i{incident.id}", incident.deadline, leader.id),
            "body": texts.overdue(leader.locale, incident.ticket, _category_name(category, leader.locale),
                                  index.code(incident.responsible_area_id), incident.deadline, tz),
            "params": texts.incident_params("overdue", incident.ticket, _category_name(category, "zh"),
                                            incident.deadline, tz, area=index.code(incident.responsible_area_id))})
    result = raise_alerts(session, specs, now)
    totals["alerts"] += result["sent"]
    totals["held"] += result["held"]


def _category_name(category: Category, locale: str) -> str:
    return category.name_en if locale == "en" else category.name_zh


def _after_grace(session, tracks, now, urgent_ids, totals) -> None:
    top_level = settings.get("WORKERS_TOP_LEVEL")
    incidents = {i.id: i for i in session.scalars(select(Incident).where(
        Incident.id.in_([t.incident_id for t in tracks])))}
    escalated = []
    for track in tracks:
        incident = incidents.get(track.incident_id)
        track.next_check_at = None
        if incident is None or incident.status not in OPEN_STATUSES or incident.deadline != track.deadline:
            track.stage, track.closed_at = "resolved", now  # resolved, or its deadline was changed by hand
            totals["closed"] += 1
        elif incident.acknowledged_at is not None:
            track.stage, track.closed_at = "acknowledged", now
            totals["closed"] += 1
        elif incident.responsible_level == top_level or incident.responsible_area.parent_id is None:
            track.stage = "digest"
            totals["digest"] += 1
        else:
            from_area = incident.responsible_area
            escalate(session, incident, channel="worker", actor_label="gridpatrol worker", flag=True,
                     reason="超期未办，自动升级挂牌督办", now=now, **settings.domain().incident_kwargs())
            track.stage, track.closed_at = "escalated", now
            escalated.append((incident, from_area))
            totals["escalated"] += 1
    session.flush()
    if not escalated:
        return
    index = AreaIndex(session, [i.responsible_area_id for i, _ in escalated], settings.default_timezone())
    leaders = first_leaders(session, [i.responsible_area_id for i, _ in escalated])
    specs = []
    for incident, from_area in escalated:
        leader = leaders.get(incident.responsible_area_id)
        if leader is None:
            continue
        tz = index.timezone(incident.responsible_area_id)
        specs.append({
            "rule": "escalated", "subject_type": "incident", "subject_id": incident.id, "member": leader,
            "area_id": incident.responsible_area_id, "tz": tz, "urgent": incident.category_id in urgent_ids,
            "key": alert_key("escalated", f"i{incident.id}-a{incident.responsible_area_id}",
                             f"n{incident.escalation_count}", leader.id),
            "body": texts.escalated(leader.locale, incident.ticket, _category_name(incident.category, leader.locale),
                                    from_area.code, incident.responsible_area.code, incident.deadline, tz),
            "params": texts.incident_params("escalation", incident.ticket, _category_name(incident.category, "zh"),
                                            incident.deadline, tz, from_area=from_area.code,
                                            to_area=incident.responsible_area.code)})
    result = raise_alerts(session, specs, now)
    totals["alerts"] += result["sent"]
    totals["held"] += result["held"]


def send_daily_digest(session: Session, now: datetime) -> dict:
    """Once per local day, after WORKERS_DIGEST_HOUR: the top level's flagged overdue incidents, one SMS
    per sub-district leader (key per area, date and leader, so a second run that day sends nothing)."""
    hour = settings.get("WORKERS_DIGEST_HOUR")
    rows = session.execute(
        select(OverdueTrack, Incident).join(Incident, Incident.id == OverdueTrack.incident_id)
        .where(OverdueTrack.stage == "digest").order_by(Incident.ticket)).all()
    by_area: dict[int, list[str]] = {}
    for track, incident in rows:
        if incident.status not in OPEN_STATUSES or incident.deadline != track.deadline:
            track.stage, track.closed_at = "resolved", now
            continue
        by_area.setdefault(incident.responsible_area_id, []).append(incident.ticket)
    if not by_area:
        return {"areas": 0, "alerts": 0}
    index = AreaIndex(session, list(by_area), settings.default_timezone())
    leaders = first_leaders(session, list(by_area))
    specs = []
    for area_id, tickets in by_area.items():
        tz = index.timezone(area_id)
        local = now.astimezone(ZoneInfo(tz))
        leader = leaders.get(area_id)
        if leader is None or local.hour < hour:
            continue
        day = local.strftime("%m-%d")
        specs.append({"rule": "digest", "subject_type": "digest", "subject_id": f"a{area_id}", "member": leader,
                      "area_id": area_id, "tz": tz, "urgent": True,
                      "key": alert_key("digest", f"a{area_id}", local.strftime("%Y%m%d"), leader.id),
                      "body": texts.digest(leader.locale, index.areas[area_id].name, day, tickets),
                      "params": texts.template_params("overdue_digest", area=index.areas[area_id].name, day=day,
                                                      count=len(tickets))})
    result = raise_alerts(session, specs, now)
    return {"areas": len(by_area), "alerts": result["sent"], "duplicate": result["duplicate"]}

