"""What the health view reports: the runner, Redis, each queue's depth and failed jobs, the cron
schedulers alive, each periodic job's last run and the alerts waiting out quiet hours."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from core.db import db
from core.models.alerts import PeriodicRun, WorkerAlert
from workers.periodic import PERIODIC, QUEUES, interval_of
from sms.routing import provider_states


def _queues(app) -> tuple[dict, dict, list]:
    if not app.config.get("REDIS_URL"):
        return {"configured": False}, {}, []
    # local: Redis is optional (without REDIS_URL jobs run in-process)
    from redis import Redis
    from rq import Queue
    try:
        connection = Redis.from_url(app.config["REDIS_URL"], socket_timeout=2)
        connection.ping()
    except Exception as exc:  # report, don't raise: this view exists to say what is down
        return {"configured": True, "ok": False, "error": type(exc).__name__}, {}, []
    queues = {}
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        failed = queue.failed_job_registry
        queues[name] = {"queued": queue.count, "started": queue.started_job_registry.count,
                        "scheduled": queue.scheduled_job_registry.count, "failed": failed.count,
                        "finished": queue.finished_job_registry.count,
                        "recent_failures": _recent_failures(queue, failed)}
    schedulers = []
    try:
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from rq.cron import CronScheduler
        for scheduler in CronScheduler.all(connection):
            heartbeat = scheduler.last_heartbeat
            schedulers.append({"name": scheduler.name, "hostname": scheduler.hostname, "pid": scheduler.pid,
                               "last_heartbeat": heartbeat.isoformat() if heartbeat else None})
    except Exception:  # older rq without cron: not fatal for the view
        pass
    return {"configured": True, "ok": True}, queues, schedulers


def _recent_failures(queue, registry, limit: int = 5) -> list[dict]:
    """The newest failed jobs: what ran and the last line of its error (the full trace is in rq-dashboard)."""
    # local: Redis is optional (without REDIS_URL jobs run in-process)
    from rq.job import Job
    ids = registry.get_job_ids()[-limit:]
    out = []
    for job in Job.fetch_many(ids, connection=queue.connection):
        if job is None:
            continue
        error = (job.latest_result().exc_string if job.latest_result() else "") or ""
        out.append({"id": job.id, "function": job.func_name, "ended_at": job.ended_at.isoformat() if job.ended_at
                    else None, "error": error.strip().splitlines()[-1] if error.strip() else ""})
    return out


_PATHS = None


def redact(text: str) -> str:
    """The last line of an error without file-system paths: enough to see what failed, not where the code
    lives (tracebacks with server paths are for global admins only)."""
    global _PATHS
    if _PATHS is None:
        _PATHS = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-]+){2,}")
    last = text.strip().splitlines()[-1] if text and text.strip() else ""
    return _PATHS.sub("<path>", last)[:300]


def worker_health(app, details: bool = True) -> dict:
    """`details` False (anyone but a global admin): errors are one redacted line, never a traceback."""
    redis, queues, schedulers = _queues(app)
    runs = {r.name: r for r in db.session.scalars(select(PeriodicRun))}
    periodic = []
    for name, (function, queue, _) in PERIODIC.items():
        run = runs.get(name)
        periodic.append({
            "name": name, "function": function, "queue": queue, "interval_seconds": interval_of(name),
            "last_started_at": run.last_started_at.isoformat() if run and run.last_started_at else None,
            "last_finished_at": run.last_finished_at.isoformat() if run and run.last_finished_at else None,
            "last_now": run.last_now.isoformat() if run and run.last_now else None,
            "last_status": run.last_status if run else None, "runs": run.runs if run else 0,
            "last_summary": run.last_summary if run else {},
            "last_error": (run.last_error or "")[-500:] if run else ""})
    counts = dict(db.session.execute(select(WorkerAlert.status, func.count()).group_by(WorkerAlert.status)).all())
    runner = app.extensions["gridpatrol.runner"]
    if runner.name == "inprocess":
        queues = {"inprocess": {"failed": len(getattr(runner, "failures", []))}}
    if not details:
        for item in periodic:
            item["last_error"] = redact(item["last_error"])
        for queue in queues.values():
            for failure in queue.get("recent_failures", []):
                failure["error"] = redact(failure["error"])
    return {"runner": runner.name, "redis": redis, "queues": queues, "periodic": periodic,
            "cron_schedulers": schedulers, "sms_providers": provider_states(db.session, app, details=details),
            "alerts": {s: counts.get(s, 0) for s in ("held", "pending", "queued", "cancelled")}}
