"""End to end on the real Redis with real RQ workers (PostgreSQL: several processes share it).

Duplicate cron firings, two cron schedulers, two worker processes and a worker SIGKILLed in the middle of a
scan all end with exactly one alert per key. Under CI=true an unreachable Redis or PostgreSQL fails.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from tests.conftest import flush_test_redis, make_app, reset_database
from tests.support.factories import build_world
from tests.support.workers_helpers import add_schedule, load_world, local
from core.models.alerts import PatrolWindow, PeriodicRun, WorkerAlert

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow_start  # RQ worker processes, killed and started again


@pytest.fixture
def rq_app(postgres_url, redis_url, tmp_path):
    from core.db import db
    flush_test_redis(redis_url)
    app = make_app(postgres_url, tmp_path, REDIS_URL=redis_url)
    with app.app_context():
        reset_database(db)
        world = build_world(db.session)
        db.session.commit()
        app.world = world
        yield app
        db.session.remove()
    flush_test_redis(redis_url)


@pytest.fixture
def planned(rq_app):
    """HD03 on the default windows; nobody patrolled on 2026-11-23, so at 12:15 three grids missed."""
    from core.db import db
    from core.domain.patrol_windows import plan_windows
    w = load_world(db.session, rq_app.world)
    add_schedule(db.session, w.subdistrict)
    plan_windows(db.session, local(2026, 11, 23, 7, 0))
    db.session.commit()
    return w


def _env(app, **extra) -> dict:
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "GRIDPATROL_INSTANCE": app.config["INSTANCE_PATH"], "PYTHONPATH": str(ROOT)}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _worker(app, *queues, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rq.cli", "worker", *queues, "--burst", "--url",
                             app.config["REDIS_URL"], "--logging_level", "WARNING"],
                            env=_env(app, **env), cwd=ROOT, start_new_session=True)


def _alert_keys(session, status: str | None = None) -> list[str]:
    session.commit()
    query = select(WorkerAlert.key).order_by(WorkerAlert.key)
    if status:
        query = query.where(WorkerAlert.status == status)
    return list(session.scalars(query))


def _outbox_keys(session) -> list[str] | None:
    """Keys in the SMS outbox (None while the outbox is not part of this build)."""
    try:
        from sms.models import OutboundMessage
    except ImportError:
        return None
    session.commit()
    return list(session.scalars(select(OutboundMessage.key).order_by(OutboundMessage.key)))


def _wait_for(marker: Path, worker: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and worker.poll() is None, "the worker never reached the hang"
        time.sleep(0.1)
    time.sleep(0.2)  # the pid is written; let the file be complete
    return int(marker.read_text())


def _kill(worker: subprocess.Popen, horse: int) -> None:
    """SIGKILL the work horse running the job (RQ forks it into its own session) and the worker."""
    os.kill(horse, signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def _expected_missed_keys(w) -> int:
    # g11: first leader + patroller; g12: nobody assigned; g21: its patroller → 3 texts for the morning
    return 3


def test_two_cron_schedulers_enqueue_each_periodic_job_once(rq_app, redis_url):
    from rq.cron import CronScheduler
    from core.db import db
    connection = Redis.from_url(redis_url)
    start = local(2026, 11, 23, 12, 14)
    with time_machine.travel(start, tick=False):
        schedulers = []
        for _ in range(2):
            scheduler = CronScheduler(connection=connection)
            scheduler.load_config_from_file("workers.cron_config")
            schedulers.append(scheduler)
    with time_machine.travel(local(2026, 11, 23, 12, 15).replace(second=5), tick=False):
        fired = [len(s.enqueue_jobs()) for s in schedulers]
        assert fired == [1, 1]  # each scheduler fired its tick: two ticks in the alerts queue
        assert Queue("alerts", connection=connection).count == 2
        SimpleWorker([Queue(n, connection=connection) for n in ("alerts", "reports")],
                     connection=connection).work(burst=True)
        SimpleWorker([Queue("sms", connection=connection)], connection=connection).work(burst=True)
    runs = {r.name: r.runs for r in db.session.scalars(select(PeriodicRun))}
    assert runs == {"plan_windows": 1, "missed_patrols": 1, "overdue": 1, "release_held": 1, "daily_digest": 1,
                    "weekly_report": 1, "sms_sweep": 1, "roster_uploads": 1}
    last = db.session.get(PeriodicRun, "missed_patrols")
    assert last.last_now == local(2026, 11, 23, 12, 15)  # the period start is the job's `now`


def test_duplicate_firings_and_two_worker_processes_send_one_alert_per_key(rq_app, planned):
    from core.db import db
    queue = Queue("alerts", connection=Redis.from_url(rq_app.config["REDIS_URL"]))
    now = local(2026, 11, 23, 12, 15).isoformat()
    for _ in range(4):  # retries and duplicate cron firings of the same scan
        queue.enqueue("workers.jobs.missed_patrols_job", now=now)
    workers = [_worker(rq_app, "alerts"), _worker(rq_app, "alerts")]
    assert [p.wait(timeout=60) for p in workers] == [0, 0]
    keys = _alert_keys(db.session)
    assert len(keys) == _expected_missed_keys(planned) == len(set(keys))
    assert _alert_keys(db.session, "queued") == keys  # the deliver job ran too and handed each over once
    outbox = _outbox_keys(db.session)
    assert outbox is None or outbox == keys
    assert queue.failed_job_registry.count == 0 and queue.finished_job_registry.count == 5  # 4 scans + 1 deliver
    from workers.health import worker_health
    health = worker_health(rq_app)
    assert health["runner"] == "rq" and health["redis"]["ok"] is True
    assert health["queues"]["alerts"]["finished"] == 5 and health["queues"]["alerts"]["failed"] == 0
    assert health["queues"]["alerts"]["recent_failures"] == []
    states = db.session.execute(select(PatrolWindow.state, func.count()).group_by(PatrolWindow.state)).all()
    assert dict(states)["missed"] == 3  # g11, g12, g21 mornings


def test_worker_killed_mid_scan_then_rerun_sends_each_alert_once(rq_app, planned, tmp_path):
    from core.db import db
    queue = Queue("alerts", connection=Redis.from_url(rq_app.config["REDIS_URL"]))
    marker = tmp_path / "hanging"
    now = local(2026, 11, 23, 12, 15).isoformat()
    job = queue.enqueue("tests.support.workers_rq_jobs.missed_scan_that_hangs", now=now, marker=str(marker),
                        hang_on_call=3)  # windows g11 (two texts) and g12 (none) committed, g21 in flight
    worker = _worker(rq_app, "alerts", GRIDPATROL_WORKERS_SCAN_BATCH=1)  # commit window by window
    _kill(worker, _wait_for(marker, worker))
    committed = _alert_keys(db.session)
    assert len(committed) == 2 and all(":a%d:" % planned.g11.id in k for k in committed)
    assert job.get_status(refresh=True) != "finished"
    # The next firing of the periodic scan (and a duplicate of it) finishes the work, and delivers.
    queue.enqueue("workers.jobs.missed_patrols_job", now=now)
    queue.enqueue("workers.jobs.missed_patrols_job", now=now)
    rerun = _worker(rq_app, "alerts")
    assert rerun.wait(timeout=60) == 0
    keys = _alert_keys(db.session)
    assert len(keys) == len(set(keys)) == _expected_missed_keys(planned) and set(committed) <= set(keys)
    assert _alert_keys(db.session, "queued") == keys
    outbox = _outbox_keys(db.session)
    assert outbox is None or outbox == keys


def test_worker_killed_mid_send_then_rerun_hands_each_alert_over_once(rq_app, planned, tmp_path):
    from core.db import db
    from core.domain.missed_patrols import scan_missed_patrols
    queue = Queue("alerts", connection=Redis.from_url(rq_app.config["REDIS_URL"]))
    scan_missed_patrols(db.session, local(2026, 11, 23, 12, 15))  # three alerts pending
    queue.empty()  # drop the deliver job that commit enqueued: the hanging one below takes its place
    assert len(_alert_keys(db.session, "pending")) == 3
    marker = tmp_path / "hanging"
    queue.enqueue("tests.support.workers_rq_jobs.delivery_that_hangs", now=local(2026, 11, 23, 12, 16).isoformat(),
                  marker=str(marker), hang_on_call=2)
    worker = _worker(rq_app, "alerts", GRIDPATROL_WORKERS_DELIVER_BATCH=1)  # one alert per transaction
    _kill(worker, _wait_for(marker, worker))  # the second hand-over is inside an open transaction
    assert len(_alert_keys(db.session, "queued")) == 1 and len(_alert_keys(db.session, "pending")) == 2
    from rq.registry import StartedJobRegistry
    StartedJobRegistry("alerts", connection=queue.connection).cleanup(time.time() + 10 ** 6)  # the lost job: failed
    from workers.health import worker_health
    [failure] = worker_health(rq_app)["queues"]["alerts"]["recent_failures"]
    assert failure["function"] == "tests.support.workers_rq_jobs.delivery_that_hangs"
    outbox = _outbox_keys(db.session)
    assert outbox is None or outbox == _alert_keys(db.session, "queued")  # the killed one left nothing
    # The next release_held beat delivers what is pending; a duplicate deliver job changes nothing.
    queue.enqueue("workers.jobs.release_held_job", now=local(2026, 11, 23, 12, 20).isoformat())
    queue.enqueue("workers.jobs.deliver_alerts_job", now=local(2026, 11, 23, 12, 20).isoformat())
    assert _worker(rq_app, "alerts").wait(timeout=60) == 0
    keys = _alert_keys(db.session)
    assert _alert_keys(db.session, "queued") == keys and len(keys) == 3
    outbox = _outbox_keys(db.session)
    assert outbox is None or outbox == keys


def test_gridpatrol_worker_command_runs_the_queues(rq_app, planned):
    """`gridpatrol worker --burst` (the documented wrapper) works the alerts queue like `rq worker`."""
    from click.testing import CliRunner
    from server.cli import main
    from core.db import db
    queue = Queue("alerts", connection=Redis.from_url(rq_app.config["REDIS_URL"]))
    queue.enqueue("workers.jobs.missed_patrols_job", now=local(2026, 11, 23, 12, 15).isoformat())
    env = {"DATABASE_URL": rq_app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": rq_app.config["REDIS_URL"],
           "GRIDPATROL_INSTANCE": rq_app.config["INSTANCE_PATH"], "GRIDPATROL_ENV": "development"}
    result = CliRunner().invoke(main, ["worker", "--burst", "--queues", "alerts"], env=env)
    assert result.exit_code == 0, result.output
    assert queue.count == 0 and queue.finished_job_registry.count == 2  # the scan and its deliver job
    assert len(_alert_keys(db.session, "queued")) == 3
    embedded = make_app(f"sqlite:///{rq_app.config['INSTANCE_PATH']}/embedded.db", Path(rq_app.config["INSTANCE_PATH"]))
    with embedded.app_context():  # the command uses the current app (with_appcontext): here one without Redis
        no_redis = CliRunner().invoke(main, ["worker", "--burst"], env=env)
    assert no_redis.exit_code != 0 and "REDIS_URL is not set" in no_redis.output


def test_overdue_incident_texts_once_through_outbox_and_sms_queue(rq_app):
    """Deadline passed: duplicate overdue firings on two worker processes (alerts + sms queues) → one
    outbox row for the responsible leader, sent once by the console backend."""
    from core.domain.incidents import create_incident
    from core.db import db
    from sms.models import OutboundMessage
    from tests.support.workers_helpers import category
    w = load_world(db.session, rq_app.world)
    incident = create_incident(db.session, category=category(db.session, "coal"), area=w.g11, channel="api",
                               source="patrol", handling_class="reported", now=local(2026, 11, 23, 10, 0))
    db.session.commit()
    queue = Queue("alerts", connection=Redis.from_url(rq_app.config["REDIS_URL"]))
    for _ in range(3):
        queue.enqueue("workers.jobs.overdue_job", now=local(2026, 11, 24, 10, 5).isoformat())
    workers = [_worker(rq_app, "alerts", "sms"), _worker(rq_app, "alerts", "sms")]
    assert [p.wait(timeout=90) for p in workers] == [0, 0]
    db.session.commit()
    [message] = db.session.scalars(select(OutboundMessage)).all()
    assert message.to_number == w.c1_leader.phone and message.state == "sent"
    assert f"工单{incident.ticket}" in message.body and "已超期" in message.body
    assert message.key == _alert_keys(db.session, "queued")[0]
