"""Periodic jobs: which, how often, and how each is enqueued once per period however many schedulers run.

Production (REDIS_URL set): `rq cron workers.cron_config` (or `gridpatrol worker --with-cron`) enqueues
`tick` every minute on the `alerts` queue. Several cron schedulers may run; each tick claims a job's
current period with a Redis `SET NX` (key per job and period, expiring after three periods) and only the
winner enqueues the job, under a deterministic job id, with the period start as its `now`.

Embedded (no REDIS_URL): a daemon timer thread started by `workers.init_app` does the same claim in the
database (`worker_periodic_runs.claimed_period`, a conditional UPDATE — the SQL twin of SET NX, so
several gunicorn processes still run each job once per period) and runs the job on the in-process runner.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from sqlalchemy import or_, update

from core.models import utcnow
from core import settings
from core.jobs.context import job_app, job_session
from core.jobs.runner import get_runner
from core.models.alerts import PeriodicRun

log = logging.getLogger(__name__)

# name: (job function, queue, interval in seconds; None = the scan interval setting)
PERIODIC: dict[str, tuple[str, str, int | None]] = {
    "plan_windows": ("workers.jobs.plan_windows_job", "alerts", 3600),
    "missed_patrols": ("workers.jobs.missed_patrols_job", "alerts", None),
    "overdue": ("workers.jobs.overdue_job", "alerts", None),
    "release_held": ("workers.jobs.release_held_job", "alerts", None),
    "daily_digest": ("workers.jobs.daily_digest_job", "reports", 3600),
    "weekly_report": ("workers.jobs.weekly_report_job", "reports", 3600),
    "sms_sweep": ("workers.jobs.sms_sweep_job", "sms", 60),  # the SMS outbox's safety net (docs/sms.md)
    "sms_spool": ("sms.spool.replay_spool_job", "sms", 60),  # texts spooled while the database was down
    "roster_uploads": ("workers.jobs.purge_roster_uploads_job", "reports", 600),  # expired roster dry runs
}
QUEUES = ("sms", "alerts", "reports")


def interval_of(name: str) -> int:
    seconds = PERIODIC[name][2]
    return int(seconds if seconds is not None else settings.get("WORKERS_SCAN_INTERVAL_SECONDS"))


def period_start(name: str, now: datetime) -> datetime:
    step = interval_of(name)
    epoch = int(now.timestamp()) // step * step
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def period_job_id(name: str, period: datetime) -> str:
    return f"gridpatrol-{name}-{period.strftime('%Y%m%dT%H%M%SZ')}"


def claim_in_redis(connection, name: str, period: datetime) -> bool:
    key = f"gridpatrol:periodic:{name}:{period.strftime('%Y%m%dT%H%M%SZ')}"
    return bool(connection.set(key, utcnow().isoformat(), nx=True, ex=3 * interval_of(name)))


def enqueue_due(connection, now: datetime | None = None, names=None) -> list[str]:
    """Enqueue each periodic job whose current period nobody has claimed yet. Returns the job ids."""
    # local: Redis is optional (without REDIS_URL jobs run in-process)
    from rq import Queue
    now = now or utcnow()
    enqueued = []
    for name in names or PERIODIC:
        func, queue, _ = PERIODIC[name]
        period = period_start(name, now)
        if not claim_in_redis(connection, name, period):
            continue
        job_id = period_job_id(name, period)
        Queue(queue, connection=connection).enqueue(func, now=period.isoformat(), job_id=job_id,
                                                    job_timeout=max(600, interval_of(name)),
                                                    result_ttl=86400, failure_ttl=7 * 86400)
        enqueued.append(job_id)
    return enqueued


def tick() -> list[str]:
    """The cron-registered function: runs inside an RQ worker, uses its Redis connection."""
    # local: Redis is optional (without REDIS_URL jobs run in-process)
    from rq import get_current_job
    job = get_current_job()
    if job is not None:
        connection = job.connection
    else:
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from redis import Redis
        connection = Redis.from_url(job_app().config["REDIS_URL"])
    return enqueue_due(connection)


def claim_in_database(session, name: str, period: datetime) -> bool:
    if session.get(PeriodicRun, name) is None:
        if session.get_bind().dialect.name == "postgresql":
            # local: each dialect's insert is named insert; the bind picks one
            from sqlalchemy.dialects.postgresql import insert
        else:
            # local: each dialect's insert is named insert; the bind picks one
            from sqlalchemy.dialects.sqlite import insert
        session.execute(insert(PeriodicRun).values(name=name, runs=0, last_status="", last_error="",
                                                   last_summary={}).on_conflict_do_nothing(index_elements=["name"]))
    result = session.execute(update(PeriodicRun).where(
        PeriodicRun.name == name, or_(PeriodicRun.claimed_period.is_(None), PeriodicRun.claimed_period < period))
        .values(claimed_period=period))
    session.commit()
    return result.rowcount == 1


def run_embedded_once(app, now: datetime | None = None) -> list[str]:
    """One timer beat: claim and run each due job on the in-process runner."""
    now = now or utcnow()
    started = []
    with app.app_context():
        for name, (func, _queue, _) in PERIODIC.items():
            period = period_start(name, now)
            with job_session() as session:
                won = claim_in_database(session, name, period)
            if won:
                get_runner(app).enqueue(func, now=period.isoformat())
                started.append(name)
    return started


class EmbeddedTimer:
    """A daemon thread beating every WORKERS_TIMER_SECONDS; stops with the process or `stop()`."""

    def __init__(self, app, seconds: float):
        self.app, self.seconds = app, seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="gridpatrol-timer", daemon=True)

    def start(self) -> "EmbeddedTimer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def _loop(self) -> None:
        delay = min(self.seconds, 5.0)  # the first beat soon after start: a fresh server shows alerts quickly
        while not self.stopped.wait(delay):
            delay = self.seconds
            try:
                run_embedded_once(self.app)
            except Exception:  # a bad beat must not end the timer
                log.exception("embedded periodic beat failed")

