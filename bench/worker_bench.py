"""Benchmark: per-job latency of the RQ worker on the office phone's two busiest jobs, filing a text and
sending its reply, for each way the worker can run them.

    .venv/bin/python bench/worker_bench.py --redis-url redis://127.0.0.1:6379/13 \
        [--database-url postgresql://postgres@127.0.0.1:5432/gp_worker_bench] [--jobs 200] \
        [--variants simple,fork] [--before DIR]

Each variant starts the Procfile's worker command (`nice -n 10 gridpatrol worker`, plus `--fork` for the
forking variant) in production mode against PostgreSQL and Redis, with the office phone played by the local
stand-in (sms/providers/android/standin.py) through the real android-sms-gateway client. The worker is
suspended (`rq suspend`) while `--jobs` signed webhooks are accepted, so the queue holds that many filing
jobs; then it is resumed and drains them. Every filing queues one reply, behind all the filings, so the
sends drain next. Per-job latency = (last job's end − first job's start) / jobs, from RQ's own timestamps:
what one worker takes per job, fork and bookkeeping included.

`--before DIR` also measures the worker of another checkout (e.g. `git archive <commit> | tar -x -C DIR`)
with that checkout's Procfile command, for a before/after figure. The database and Redis db are emptied first.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TEXTS = ["楼下有人烧垃圾，烟很大", "举报 烧煤 映月路12号", "隔壁在熏腊肉，满楼道都是烟", "帮助", "查询 100001"]

# Imports inside functions are deliberate: `--help` answers without loading the app, and each step loads
# only what it measures.


def _procfile_worker(checkout: Path) -> list[str]:
    import shlex
    for line in (checkout / "Procfile").read_text(encoding="utf-8").splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() == "worker":
            return shlex.split(command)
    raise SystemExit(f"{checkout}/Procfile has no worker")


def _drain_rate(connection, function: str, count: int) -> tuple[float, float, int] | None:
    """(ms per job from the first start to the last end, median ms a job ran, failed jobs) for `function`
    on the sms queue; None until `count` of them finished."""
    import statistics
    from rq import Queue
    from rq.job import Job
    queue = Queue("sms", connection=connection)
    jobs = [j for j in Job.fetch_many(queue.finished_job_registry.get_job_ids(), connection=connection)
            if j is not None and j.func_name == function]
    failed = [j for j in Job.fetch_many(queue.failed_job_registry.get_job_ids(), connection=connection)
              if j is not None and j.func_name == function]
    if len(jobs) < count:
        return None
    start = min(j.started_at for j in jobs)
    end = max(j.ended_at for j in jobs)
    median = statistics.median((j.ended_at - j.started_at).total_seconds() * 1000 for j in jobs)
    return (end - start).total_seconds() * 1000 / len(jobs), median, len(failed)


def run_variant(label: str, argv: list[str], cwd: Path, database_url: str, redis_url: str, jobs: int,
                pythonpath: str) -> dict:
    from redis import Redis
    from rq import Worker
    from rq.suspension import resume, suspend
    from sqlalchemy import func, select
    from server import create_app
    from core.db import db
    from sms.models import SmsWebhookEvent
    from tests.support.postgres import fresh_postgres_schema
    from tests.support.production_worker import app_config, build_patrol_world, production_env
    from sms.providers.android.standin import AndroidPhoneStandIn, received_payload, signed_webhook
    fresh_postgres_schema(database_url)
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    phone = AndroidPhoneStandIn().start()
    instance = Path(tempfile.mkdtemp(prefix="worker-bench-"))
    env = production_env(database_url, redis_url, instance, phone, GRIDPATROL_SMS_RATE_LIMIT=100000,
                         PYTHONPATH=pythonpath)
    app = create_app(app_config(env, phone))
    with app.app_context():
        db.create_all()
        build_patrol_world(db.session)
    suspend(connection)
    worker = subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not Worker.all(connection=connection):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{label}: the worker did not start")
            time.sleep(0.2)
        time.sleep(3)  # past any start-up work, as a worker that has been up a while
        client = app.test_client()
        for n in range(jobs):
            raw, headers = signed_webhook("sms:received", received_payload(f"+86139{n:08d}", TEXTS[n % len(TEXTS)]),
                                          event_id=f"bench-{n}")
            assert client.post("/sms/android/webhook", data=raw, headers=headers).status_code == 200
        resume(connection)
        deadline = time.monotonic() + 30 + jobs * 3
        while len(phone.sent) < jobs:
            if time.monotonic() > deadline:
                with app.app_context():
                    unfiled = db.session.scalar(select(func.count()).select_from(SmsWebhookEvent).where(
                        SmsWebhookEvent.inbound_id.is_(None)))
                raise SystemExit(f"{label}: {len(phone.sent)} of {jobs} replies after the deadline "
                                 f"({unfiled} texts unfiled)")
            time.sleep(0.1)
        deadline = time.monotonic() + 30  # the phone has the last reply a moment before its job ends
        while not all(_drain_rate(connection, f, jobs) for f in ("sms.inbound.file_event_job",
                                                                  "sms.outbox.send_message_job")):
            if time.monotonic() > deadline:
                raise SystemExit(f"{label}: not every job finished")
            time.sleep(0.2)
        filing, filing_run, filing_failed = _drain_rate(connection, "sms.inbound.file_event_job", jobs)
        sending, sending_run, sending_failed = _drain_rate(connection, "sms.outbox.send_message_job", jobs)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        phone.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        connection.flushdb()
    return {"variant": label, "filing_ms": filing, "send_ms": sending, "filing_run_ms": filing_run,
            "send_run_ms": sending_run, "failed": filing_failed + sending_failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True, help="a Redis database of the bench's own (it is flushed)")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/gp_worker_bench")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--variants", default="simple,fork", help="simple (the default worker), fork (--fork)")
    parser.add_argument("--before", type=Path, help="another checkout whose Procfile worker to measure too")
    args = parser.parse_args()
    from bench.sms_providers_bench import _own_redis
    _own_redis(args.redis_url)
    os.environ.setdefault("GRIDPATROL_LOG_LEVEL", "WARNING")
    procfile = _procfile_worker(ROOT)
    runs = []
    if args.before:
        before = args.before.resolve()
        runs.append(("before", _procfile_worker(before), before, str(before)))
    for variant in [v.strip() for v in args.variants.split(",") if v.strip()]:
        argv = procfile + (["--fork"] if variant == "fork" else [])
        runs.append((variant, argv, Path(tempfile.mkdtemp(prefix="worker-bench-cwd-")), str(ROOT)))
    results = [run_variant(label, argv, cwd, args.database_url, args.redis_url, args.jobs, path)
               for label, argv, cwd, path in runs]
    print(f"{'worker':<8} {'filing ms/job':>14} {'send ms/job':>12}   {'(median run: filing, send)':>27} "
          f"{'failed':>7}   ({args.jobs} jobs each)")
    for r in results:
        print(f"{r['variant']:<8} {r['filing_ms']:>14.1f} {r['send_ms']:>12.1f}   "
              f"{r['filing_run_ms']:>13.1f} {r['send_run_ms']:>12.1f} {r['failed']:>7}")


if __name__ == "__main__":
    main()
