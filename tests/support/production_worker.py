"""The worker as production starts it: the Procfile's command line, the production environment, a
migrated PostgreSQL database of its own, Redis, and the office phone's stand-in for every text sent.
Used by tests/test_production_worker.py and bench/worker_bench.py.
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sms.providers.android.standin import android_config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
QUEUES = ("sms", "alerts", "reports")


def procfile_command(process: str) -> list[str]:
    """The Procfile's command line for `process`, split as a shell would (honcho runs it through sh)."""
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == process and not line.lstrip().startswith("#"):
            return shlex.split(command)
    raise AssertionError(f"the Procfile has no {process!r} process")


def production_env(database_url: str, redis_url: str, instance: Path, phone, **extra) -> dict:
    """The environment an office's worker runs with (production mode, the office phone as provider),
    this checkout's venv first on PATH so the Procfile's `gridpatrol` is ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDPATROL_", "ANDROID_", "TWILIO_"))}
    env.update({"PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}", "PYTHONPATH": str(ROOT),
                "GRIDPATROL_ENV": "production", "GRIDPATROL_SECRET_KEY": "production-worker-test-key",
                "DATABASE_URL": database_url, "REDIS_URL": redis_url, "GRIDPATROL_INSTANCE": str(instance),
                "GRIDPATROL_SMS_BACKEND": "android", "GRIDPATROL_LOG_LEVEL": "WARNING",
                "GRIDPATROL_WORKERS_EMBEDDED_TIMER": "false", "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in android_config(phone).items() if k.startswith("ANDROID_")})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def app_config(env: dict, phone) -> dict:
    """The same settings for an app built inside the test or bench (it enqueues the jobs the worker runs)."""
    return {"DATABASE_URL": env["DATABASE_URL"], "REDIS_URL": env["REDIS_URL"],
            "INSTANCE_PATH": env["GRIDPATROL_INSTANCE"], "LOG_LEVEL": "WARNING", "WORKERS_EMBEDDED_TIMER": False,
            "JOBS_INPROCESS_TIMERS": False, **android_config(phone)}


def local(day: date, hh: int, mm: int = 0) -> datetime:
    """A Beijing wall-clock time on `day` as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI).astimezone(timezone.utc)


def recent_days(count: int) -> list[date]:
    """The last `count` local dates before today: scans for them write rows the sweeper treats as due."""
    today = datetime.now(SHANGHAI).date()
    return [today - timedelta(days=count - i) for i in range(count)]


def build_patrol_world(session, extra_grids: int = 6):
    """The suite's small world (tests/support/factories.py) plus `extra_grids` grids with a patroller each,
    all on the default two daily windows: every scan has several missed windows to alert about."""
    from core.domain.areas import create_area
    from core.models import PatrolSchedule
    from tests.support.factories import add_member, build_world
    world = build_world(session)
    for n in range(extra_grids):
        grid = create_area(session, code=f"HD03-2-{n + 2}", name=f"白马{n + 2}网格", kind="grid", parent_id=world.c2.id)
        add_member(session, f"巡查{n + 2}", f"+86170000002{n:02d}", ("patroller", grid))
    session.add(PatrolSchedule(area_id=world.subdistrict.id, windows=[{"start": "08:00", "end": "12:00"},
                                                                      {"start": "14:00", "end": "18:00"}]))
    session.commit()
    return world


def wait_until(predicate, timeout: float, what: str, poll: float = 0.2, context=None):
    """Poll `predicate` until true; on timeout, fail naming what was awaited (and `context()`, if given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}"
                                 + (f"\n{context()}" if context else ""))
        time.sleep(poll)


def queues_idle(connection) -> bool:
    """Nothing queued, started or scheduled on any gridpatrol queue."""
    from rq import Queue
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        if queue.count or queue.started_job_registry.count or queue.scheduled_job_registry.count:
            return False
    return True


def failed_jobs(connection) -> list[str]:
    """`function: last line of the error` for every failed job on the gridpatrol queues."""
    from rq import Queue
    from rq.job import Job
    out = []
    for name in QUEUES:
        registry = Queue(name, connection=connection).failed_job_registry
        for job in Job.fetch_many(registry.get_job_ids(), connection=connection):
            if job is not None:
                result = job.latest_result()
                lines = [x for x in ((result.exc_string if result else "") or "").strip().splitlines()
                         if x.strip() and "sqlalche.me" not in x]
                out.append(f"{job.func_name}: {lines[-1] if lines else '?'}")
    return out


def finished_functions(connection) -> dict[str, int]:
    """How many jobs of each function finished (RQ keeps them for result_ttl, 500 s by default)."""
    from rq import Queue
    from rq.job import Job
    counts: dict[str, int] = {}
    for name in QUEUES:
        registry = Queue(name, connection=connection).finished_job_registry
        for job in Job.fetch_many(registry.get_job_ids(), connection=connection):
            if job is not None:
                counts[job.func_name] = counts.get(job.func_name, 0) + 1
    return counts
