"""Alert bookkeeping: one row per deterministic key, held in quiet hours, handed to the SMS outbox once.

The key (rule, subject, window or deadline, recipient) is both the UNIQUE key of `worker_alerts` and the
outbox's idempotency key, and both rows are written in the scan's transaction. So a retried job, a
duplicate cron firing, a second worker or a worker killed mid-scan can at most redo the work of an
uncommitted transaction: the second INSERT of a key does nothing (ON CONFLICT DO NOTHING waits for the
first transaction on PostgreSQL, then skips), and nothing reaches the outbox twice.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.models import Area, Incident, Member
from core import settings
from core.models.alerts import PatrolWindow, WorkerAlert
from core.domain.patrol_calendar import in_quiet_hours
from core.jobs.runner import enqueue_after_commit
from core.domain.access import Principal
from core.models import LEADER_ROLES, utcnow
from core.domain.incidents import acknowledge
from core.domain.patrol_windows import window_has_patrol

log = logging.getLogger(__name__)


def alert_key(rule: str, subject: str, when: datetime | str, member_id: int) -> str:
    stamp = when if isinstance(when, str) else when.strftime("%Y%m%dT%H%MZ")
    return f"gp:{rule}:{subject}:{stamp}:m{member_id}"


ALERT_COLUMNS = ("key", "rule", "subject_type", "subject_id", "area_id", "member_id", "phone", "body", "urgent",
                 "status", "hold_until", "created_at", "queued_at", "params")


def _insert_ignore(session: Session, rows: list[dict]) -> dict[str, int]:
    """INSERT … ON CONFLICT (key) DO NOTHING RETURNING: the keys that are new in this transaction."""
    if not rows:
        return {}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # psycopg's pipelined executemany with RETURNING: one prepared statement, no giant VALUES text to
        # build (thousands of alerts at 12:15 would otherwise cost more than the scan itself).
        placeholders = ", ".join(["%s"] * len(ALERT_COLUMNS))
        sql = (f"INSERT INTO worker_alerts ({', '.join(ALERT_COLUMNS)}) VALUES ({placeholders})"
               " ON CONFLICT (key) DO NOTHING RETURNING id, key")
        # local: PostgreSQL only
        from psycopg.types.json import Json
        cursor = session.connection().connection.dbapi_connection.cursor()
        try:
            cursor.executemany(sql, [tuple(Json(r[c]) if c == "params" and r[c] is not None else r[c]
                                           for c in ALERT_COLUMNS) for r in rows], returning=True)
            created = {}
            while True:
                for alert_id, key in cursor.fetchall():
                    created[key] = alert_id
                if not cursor.nextset():
                    break
            return created
        finally:
            cursor.close()
    # local: each dialect's insert is named insert; the bind picks one
    from sqlalchemy.dialects.sqlite import insert
    table = WorkerAlert.__table__
    statement = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id, table.c.key)
    return {key: alert_id for alert_id, key in session.execute(statement, rows)}


def raise_alerts(session: Session, specs: list[dict], now: datetime) -> dict:
    """Record each alert once: `pending` (handed to the SMS outbox right after this transaction commits, by
    the deliver job, workers.jobs.deliver_pending) or `held` until quiet hours end.

    A spec: rule, subject_type, subject_id, member, body, key, tz, area_id, urgent. Keys already recorded
    (by an earlier run, a retry, another worker) are skipped silently and nothing is sent for them.
    The outbox hand-over is a separate job so that a scan's transaction (and its row locks) never waits on
    thousands of outbox inserts at 12:15; `pending` rows survive a crash and are delivered by the next
    deliver run (every release_held beat delivers what is pending too).
    """
    if not specs:
        return {"new": 0, "sent": 0, "held": 0, "duplicate": 0}
    quiet = (settings.get("WORKERS_QUIET_START"), settings.get("WORKERS_QUIET_END"))
    rows, by_key = [], {}
    for spec in specs:
        if spec["key"] in by_key:
            continue
        hold_until = None if spec.get("urgent") else in_quiet_hours(now, spec["tz"], *quiet)
        member = spec["member"]
        by_key[spec["key"]] = hold_until
        rows.append({"key": spec["key"], "rule": spec["rule"], "subject_type": spec["subject_type"],
                     "subject_id": str(spec["subject_id"]), "area_id": spec.get("area_id"), "member_id": member.id,
                     "phone": member.phone, "body": spec["body"], "urgent": bool(spec.get("urgent")),
                     "status": "held" if hold_until else "pending", "hold_until": hold_until, "created_at": now,
                     "queued_at": None, "params": spec.get("params")})
    created = _insert_ignore(session, rows)
    held = sum(1 for key in created if by_key[key] is not None)
    if len(created) > held:
        schedule_delivery(session)
    return {"new": len(created), "sent": len(created) - held, "held": held, "duplicate": len(rows) - len(created)}


def schedule_delivery(session: Session) -> None:
    """One deliver job per transaction, enqueued after it commits (nothing if it rolls back)."""
    enqueue_after_commit(session, "workers.jobs.deliver_alerts_job", queue="alerts", once_key="workers.deliver")


def still_relevant(session: Session, alert: WorkerAlert, now: datetime) -> bool:
    """A held reminder is dropped if, by morning, the window was patrolled late or acknowledged, or the
    incident was resolved or acknowledged."""
    if alert.subject_type == "window":
        window = session.get(PatrolWindow, int(alert.subject_id))
        if window is None or window.acknowledged_at is not None or window.state not in ("missed", "escalated"):
            return False
        if window_has_patrol(session, window, now):
            if window.state == "missed":
                window.state, window.next_check_at = "late", None
            return False
        return True
    if alert.subject_type == "incident":
        incident = session.get(Incident, alert.subject_id)
        if incident is None or incident.status not in ("open", "in_progress"):
            return False
        return alert.rule == "digest" or incident.acknowledged_at is None
    return True


def release_held(session: Session, now: datetime, limit: int = 5000) -> dict:
    """Alerts whose quiet hours are over become pending (indexed on status + hold_until), or cancelled if
    no longer relevant; the caller delivers them (release_held_job does, in the same run)."""
    rows = session.scalars(select(WorkerAlert).where(WorkerAlert.status == "held", WorkerAlert.hold_until <= now)
                           .order_by(WorkerAlert.hold_until, WorkerAlert.id).limit(limit)
                           .with_for_update(skip_locked=True)).all()
    released = cancelled = 0
    for alert in rows:
        if not still_relevant(session, alert, now):
            alert.status = "cancelled"
            cancelled += 1
            continue
        alert.status = "pending"
        released += 1
    return {"released": released, "cancelled": cancelled}


def cancel_held(session: Session, subject_type: str, subject_id: str) -> int:
    result = session.execute(update(WorkerAlert).where(
        WorkerAlert.subject_type == subject_type, WorkerAlert.subject_id == str(subject_id),
        WorkerAlert.status == "held").values(status="cancelled"))
    return result.rowcount or 0


def acknowledge_alert(session: Session, member: Member, *, alert_id: int | None = None, key: str | None = None,
                      now: datetime | None = None, channel: str = "sms") -> list[WorkerAlert]:
    """收到. With no alert named, acknowledges the member's unacknowledged alerts of the last
    WORKERS_ACK_LOOKBACK_HOURS that were sent (what a bare SMS reply means). A leader's 收到 stops further
    reminders: the window is marked acknowledged (no community escalation), held reminders are cancelled,
    and an incident alert also acknowledges the incident (incidents.acknowledge), stopping its escalation.
    A patroller's 收到 is recorded on their own alert only."""
    now = now or utcnow()
    query = select(WorkerAlert).where(WorkerAlert.member_id == member.id, WorkerAlert.acknowledged_at.is_(None),
                                      WorkerAlert.status.in_(("pending", "queued")))
    if alert_id is not None:
        query = query.where(WorkerAlert.id == alert_id)
    elif key is not None:
        query = query.where(WorkerAlert.key == key)
    else:
        since = now - timedelta(hours=settings.get("WORKERS_ACK_LOOKBACK_HOURS"))
        query = query.where(WorkerAlert.created_at >= since, WorkerAlert.subject_type.in_(("window", "incident")))
    alerts = session.scalars(query.order_by(WorkerAlert.id)).all()
    principal = Principal.for_member(member)
    for alert in alerts:
        alert.acknowledged_at = now
        area = session.get(Area, alert.area_id) if alert.area_id else None
        if area is None or not principal.roles_over(area) & (set(LEADER_ROLES) | {"admin", "supervisor"}):
            continue  # not a leader here: the window's reminders go on
        if alert.subject_type == "window":
            window = session.get(PatrolWindow, int(alert.subject_id))
            if window is not None and window.acknowledged_at is None:
                window.acknowledged_at, window.acknowledged_by_id = now, member.id
                if window.state == "missed":
                    window.state, window.next_check_at = "acknowledged", None
            cancel_held(session, "window", alert.subject_id)
        elif alert.subject_type == "incident":
            incident = session.get(Incident, alert.subject_id)
            if incident is not None and incident.status in ("open", "in_progress") and incident.acknowledged_at is None:
                acknowledge(session, incident, channel=channel, actor=member, note="收到", now=now)
            cancel_held(session, "incident", alert.subject_id)
    session.flush()
    return alerts
