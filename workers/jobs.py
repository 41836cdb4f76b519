"""RQ job functions. Each takes an explicit `now` (datetime or ISO text; default: the clock) and ids,
opens its own session with core.jobs.context.job_session, and is safe to run twice (every effect is keyed).
Each run is recorded in worker_periodic_runs for the health view, also when it fails.
"""
from __future__ import annotations

import logging
import traceback
from datetime import datetime, timezone

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.models import utcnow
from core.domain import roster_uploads
from core.jobs.context import job_app, job_session
from core.domain.patrol_calendar import local_date
from sms import outbox
from sms.sweep import sweep_sms_job
from core import settings
from core.domain.alerts import release_held
from core.models.alerts import PeriodicRun, WorkerAlert
from core.domain.overdue import scan_overdue, send_daily_digest
from core.domain.patrol_windows import plan_windows, roster_fingerprint
from core.domain.weekly_reports import run_weekly_reports
from core.domain.missed_patrols import scan_missed_patrols

log = logging.getLogger(__name__)


def deliver_pending(session: Session, now: datetime, *, batch: int | None = None, commit: bool = True) -> dict:
    """Hand pending alerts to the SMS outbox, a batch per transaction: the outbox row (idempotent by the
    same key) and `queued` are committed together, so a kill mid-batch redoes that batch and no key is
    queued twice. Rows are claimed FOR UPDATE SKIP LOCKED: two deliverers split the work."""
    batch = batch or settings.get("WORKERS_DELIVER_BATCH")
    table = WorkerAlert.__table__
    delivered = 0
    while True:
        # Plain rows, statuses written in one UPDATE per batch: ORM objects would be autoflushed by every
        # outbox lookup, one extra round trip per alert.
        alerts = session.execute(select(table.c.id, table.c.key, table.c.phone, table.c.body, table.c.member_id,
                                        table.c.area_id, table.c.params).where(table.c.status == "pending")
                                 .order_by(table.c.id).limit(batch).with_for_update(skip_locked=True)).all()
        # outbox.queue_messages is looked up at each call, so a test job can swap it
        # (tests/support/workers_rq_jobs.py)
        messages = outbox.queue_messages(session, [
            {"to": a.phone, "body": a.body, "key": a.key, "purpose": "alert", "member_id": a.member_id,
             "area_id": a.area_id, "params": a.params} for a in alerts])
        outbox_ids = {alert.id: str(message.id) for alert, message in zip(alerts, messages)}
        if alerts:
            session.execute(update(table).where(table.c.id.in_([a.id for a in alerts]))
                            .values(status="queued", queued_at=now))
            if outbox_ids:
                session.execute(update(table).where(table.c.id == bindparam("alert_id"))
                                .values(outbox_id=bindparam("outbox_id")),
                                [{"alert_id": k, "outbox_id": v} for k, v in outbox_ids.items()])
        delivered += len(alerts)
        if commit:
            session.commit()
        else:
            session.flush()
        if len(alerts) < batch:
            return {"delivered": delivered}


def parse_now(now: datetime | str | None) -> datetime:
    if now is None:
        return utcnow()
    if isinstance(now, str):
        now = datetime.fromisoformat(now.replace("Z", "+00:00"))
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc)


def _record(name: str, now: datetime, started: datetime, status: str, summary: dict, error: str = "") -> None:
    try:
        with job_session() as session:
            run = session.get(PeriodicRun, name, with_for_update=True)
            if run is None:
                run = PeriodicRun(name=name, runs=0)
                session.add(run)
            run.last_started_at, run.last_finished_at, run.last_now = started, utcnow(), now
            run.last_status, run.last_summary, run.last_error = status, summary, error[-4000:]
            run.runs = (run.runs or 0) + 1
    except Exception:  # the record is for the health view; never fail the job because of it
        log.exception("could not record the run of %s", name)


def _recorded(name: str, now, job) -> dict:
    """Run `job(now)` and record the run (ok or failed) for the health view."""
    now = parse_now(now)
    started = utcnow()
    try:
        summary = job(now) or {}
    except Exception:
        _record(name, now, started, "failed", {}, traceback.format_exc())
        raise
    _record(name, now, started, "ok", summary)
    log.info("%s at %s: %s", name, now.isoformat(), summary)
    return summary


def _run(name: str, now, body) -> dict:
    """`body(session, now)` in its own job session, recorded."""
    def job(moment):
        with job_session() as session:
            return body(session, moment)
    return _recorded(name, now, job)


def plan_windows_job(now=None, grid_ids: list[int] | None = None, force: bool = False) -> dict:
    """Hourly. Walks every grid only when the roster or a schedule changed, or the local date did;
    otherwise it costs two aggregate queries."""

    def body(session, now):
        fingerprint = roster_fingerprint(session)
        day = local_date(now, settings.default_timezone()).isoformat()
        last = session.get(PeriodicRun, "plan_windows")
        summary = (last.last_summary or {}) if last is not None and last.last_status == "ok" else {}
        if not force and grid_ids is None and summary.get("fingerprint") == fingerprint and \
                summary.get("day") == day:
            return {"skipped": True, "fingerprint": fingerprint, "day": day}
        return {**plan_windows(session, now, grid_ids=grid_ids), "fingerprint": fingerprint, "day": day}
    return _run("plan_windows", now, body)


def missed_patrols_job(now=None) -> dict:
    return _run("missed_patrols", now, lambda s, n: scan_missed_patrols(s, n))


def overdue_job(now=None) -> dict:
    return _run("overdue", now, lambda s, n: scan_overdue(s, n))


def release_held_job(now=None) -> dict:
    """Quiet hours over → pending; then deliver everything pending (also the safety net for a deliver
    job that was lost or killed)."""

    def body(session, now):
        released = release_held(session, now)
        session.commit()
        return {**released, **deliver_pending(session, now)}
    return _run("release_held", now, body)


def deliver_alerts_job(now=None) -> dict:
    """Enqueued after a scan's transaction commits: hand its pending alerts to the SMS outbox."""
    return _run("deliver_alerts", now, lambda s, n: deliver_pending(s, n))


def daily_digest_job(now=None) -> dict:
    return _run("daily_digest", now, lambda s, n: send_daily_digest(s, n))


def weekly_report_job(now=None, subdistrict_id: int | None = None, force: bool = False) -> dict:
    """Hourly; produces each sub-district's (then each district's) report only on the report weekday after
    the report hour (local), once per week (stored reports are unique by area and week), and texts its
    leaders. subdistrict_id (name kept for queued jobs) may name a district too."""
    return _run("weekly_report", now, lambda s, n: run_weekly_reports(s, n, area_id=subdistrict_id,
                                                                      force=force))


def sms_sweep_job(now=None) -> dict:
    """The SMS safety net (`sms.sweep.sweep_sms_job`: stuck outbox rows, texts accepted but not filed) on
    the same clock as the scans, recorded for the health view."""
    return _recorded("sms_sweep", now, sweep_sms_job)


def purge_roster_uploads_job(now=None) -> dict:
    """Delete roster files checked on the dashboard and never committed, once they expire (names and
    phones must not lie in the instance folder for ever)."""
    config = job_app().config
    return _recorded("roster_uploads", now, lambda moment: {"deleted": roster_uploads.purge_expired(
        config["INSTANCE_PATH"], moment, config["ROSTER_UPLOAD_TTL_MINUTES"])})


def run_all(now=None) -> dict:
    """Every scan once for one moment, in dependency order (`gridpatrol alerts run --now`)."""
    now = parse_now(now)
    return {name: func(now) for name, func in (
        ("plan_windows", plan_windows_job), ("missed_patrols", missed_patrols_job), ("overdue", overdue_job),
        ("release_held", release_held_job), ("daily_digest", daily_digest_job),
        ("weekly_report", weekly_report_job))}

