"""The worker exactly as the Procfile starts it, on PostgreSQL and Redis in production mode, through several
consecutive jobs of every kind — missed-patrol and overdue scans, alert delivery, filing the office phone's
texts, sending through the phone — then SIGKILLed in the middle of a burst and restarted: every job
finishes, nothing is left pending, nothing is sent twice.

The forking worker once shared the parent's PostgreSQL connection with every work horse: the first scan
ran, every later one failed with DuplicatePreparedStatement and the alerts stayed pending.
"""
from __future__ import annotations

import os
import re
import signal
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from core.db import db
from sms.models import InboundMessage, OutboundMessage, SmsWebhookEvent
from tests.conftest import POSTGRES_URL, flush_test_redis
from tests.support.plain_install import Processes, fresh_postgres_database
from tests.support.production_worker import (ROOT, app_config, build_patrol_world, failed_jobs, finished_functions,
                                             local, procfile_command, production_env, recent_days, wait_until)
from sms.providers.android.standin import AndroidPhoneStandIn, received_payload, signed_webhook
from core.models.alerts import WorkerAlert

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow_start]  # RQ worker processes


@pytest.fixture(scope="module")
def worker_database(postgres_url, tmp_path_factory) -> str:
    """A database of its own, migrated the production way (`gridpatrol db upgrade`), once per module."""
    name = POSTGRES_URL.rpartition("/")[2].split("?")[0] + "_worker"
    database_url = fresh_postgres_database(postgres_url, name)
    where = tmp_path_factory.mktemp("migrate")
    Processes(where, production_env(database_url, "redis://127.0.0.1:9/0", where, None)).run(
        ["gridpatrol", "db", "upgrade"])
    return database_url


@pytest.fixture
def office(worker_database, redis_url, tmp_path):
    """The office phone's stand-in, the production environment, and an app in the test that takes the
    phone's webhooks and enqueues jobs on the same Redis; the world emptied and built afresh."""
    from redis import Redis
    from server import create_app
    from core.domain.incidents import create_incident
    from tests.conftest import reset_database
    from tests.support.workers_helpers import category
    flush_test_redis(redis_url)
    phone = AndroidPhoneStandIn().start()
    env = production_env(worker_database, redis_url, tmp_path / "instance", phone, GRIDPATROL_SMS_SWEEP_GRACE=1,
                         GRIDPATROL_SMS_SENDING_LEASE=2, GRIDPATROL_SMS_EXPIRE_AFTER=30 * 86400,
                         GRIDPATROL_SMS_RATE_LIMIT=1000)
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(logs, env)
    app = create_app(app_config(env, phone))
    days = recent_days(3)
    with app.app_context():
        reset_database(db)
        world = build_patrol_world(db.session)
        for n in range(3):  # 即办, due by the end of the day before the first scan: overdue, then escalated
            create_incident(db.session, category=category(db.session, "dust"), area=world.g11, channel="api",
                            source="patrol", handling_class="immediate", now=local(days[0], 9, n))
        db.session.commit()
    try:
        yield SimpleNamespace(app=app, env=env, procs=procs, phone=phone, days=days,
                              redis=Redis.from_url(redis_url), client=app.test_client())
    finally:
        procs.stop_all()
        phone.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        flush_test_redis(redis_url)


def _queue(office, name: str):
    from rq import Queue
    return Queue(name, connection=office.redis)


def _text(office, sender: str, body: str, event_id: str) -> None:
    raw, headers = signed_webhook("sms:received", received_payload(sender, body), event_id=event_id)
    response = office.client.post("/sms/android/webhook", data=raw, headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "accepted", response.get_json()


def _start_worker(office, label: str, argv: list[str] | None = None):
    from rq import Worker
    before = {w.name for w in Worker.all(connection=office.redis)}
    process = office.procs.start(label, argv or procfile_command("worker"))
    wait_until(lambda: process.poll() is not None or {w.name for w in Worker.all(connection=office.redis)} - before,
               60, "the worker to register")
    assert process.poll() is None, office.procs.log_text()
    return process


def _state(office) -> dict:
    with office.app.app_context():
        session = db.session
        counts = {
            "unfiled": session.scalar(select(func.count()).select_from(SmsWebhookEvent).where(
                SmsWebhookEvent.event == "inbound", SmsWebhookEvent.inbound_id.is_(None))),
            "pending_alerts": session.scalar(select(func.count()).select_from(WorkerAlert).where(
                WorkerAlert.status.in_(("pending", "held")))),
            "unsent": session.scalar(select(func.count()).select_from(OutboundMessage).where(
                OutboundMessage.state.in_(("queued", "sending")))),
            "inbound": session.scalar(select(func.count()).select_from(InboundMessage)),
            "alerts": session.scalar(select(func.count()).select_from(WorkerAlert)),
            "outbox": session.scalar(select(func.count()).select_from(OutboundMessage)),
        }
        session.remove()
    return counts


def _settled(office) -> bool:
    failures = failed_jobs(office.redis)
    assert not failures, failures  # no need to wait for what will never happen
    state = _state(office)
    return not (state["unfiled"] or state["pending_alerts"] or state["unsent"]) and \
        all(_queue(office, q).count == 0 for q in ("sms", "alerts", "reports"))


def _context(office) -> str:
    queues = {q: _queue(office, q).count for q in ("sms", "alerts", "reports")}
    return f"state {_state(office)}, queued {queues}\n{office.procs.log_text()[-3000:]}"


def _assert_sent_once(office) -> None:
    with office.app.app_context():
        rows = db.session.scalars(select(OutboundMessage)).all()
        assert sorted({r.state for r in rows}) == ["sent"], Counter(r.state for r in rows)
        expected = Counter((r.to_number, r.body) for r in rows)
        db.session.remove()
    arrived = Counter((m["to"], m["text"]) for m in office.phone.sent)
    assert arrived == expected  # every outbox row reached the phone, none twice


def test_procfile_worker_runs_consecutive_jobs_of_every_kind_then_survives_a_sigkill(office):
    alerts_q = _queue(office, "alerts")
    _start_worker(office, "worker")
    # Three rounds of every kind of job, one after another on the same worker.
    for n, day in enumerate(office.days):
        alerts_q.enqueue("workers.jobs.plan_windows_job", local(day, 7).isoformat())
        alerts_q.enqueue("workers.jobs.missed_patrols_job", local(day, 12, 20).isoformat())
        alerts_q.enqueue("workers.jobs.overdue_job", local(day, 12, 20).isoformat())
        alerts_q.enqueue("workers.jobs.deliver_alerts_job")
        _text(office, f"+861391234560{n}", "楼下有人烧垃圾，烟很大", f"evt-round-{n}")
    wait_until(lambda: _settled(office), 120, "three rounds of scans, deliveries, filings and sends",
               poll=0.5, context=lambda: _context(office))
    assert failed_jobs(office.redis) == [], office.procs.log_text()[-4000:]
    done = finished_functions(office.redis)
    for function in ("workers.jobs.missed_patrols_job", "workers.jobs.overdue_job", "workers.jobs.deliver_alerts_job",
                     "sms.inbound.file_event_job", "sms.outbox.send_message_job"):
        assert done.get(function, 0) >= 3, done
    first = _state(office)
    assert first["alerts"] >= 9 and first["inbound"] == 3
    _assert_sent_once(office)

    # A burst of texts, the worker SIGKILLed in the middle of it, then started again.
    senders = [f"+8613900{n:05d}" for n in range(60)]
    for n, sender in enumerate(senders):
        _text(office, sender, "隔壁在熏腊肉，满楼道都是烟", f"evt-burst-{n}")
    wait_until(lambda: _state(office)["inbound"] >= first["inbound"] + 5, 60, "the burst to be under way", poll=0.05)
    worker = office.procs.children["worker"]
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    assert _state(office)["inbound"] < first["inbound"] + len(senders), "the kill came after the burst was done"
    _start_worker(office, "worker-restarted")

    def swept() -> bool:  # the cron's minute tick, sped up: the sweeper hands out what the kill left
        _queue(office, "sms").enqueue("workers.jobs.sms_sweep_job")
        alerts_q.enqueue("workers.jobs.release_held_job")
        return _settled(office)
    wait_until(swept, 180, "the restarted worker to file and answer every text", poll=2,
               context=lambda: _context(office))
    assert failed_jobs(office.redis) == [], office.procs.log_text()[-4000:]
    state = _state(office)
    assert state["inbound"] == first["inbound"] + len(senders)  # each text filed once
    _assert_sent_once(office)
    replies = Counter(m["to"] for m in office.phone.sent if m["to"] in set(senders))
    assert set(replies.values()) == {1} and len(replies) == len(senders)  # each answered exactly once
    log = office.procs.log_text()
    assert "DuplicatePreparedStatement" not in log and "Traceback" not in log, log[-4000:]


def test_the_forking_worker_gives_every_job_its_own_connection(office):
    """`gridpatrol worker --fork` (a work horse per job) stays available; no horse inherits the parent's
    connection, so consecutive scans all succeed."""
    alerts_q = _queue(office, "alerts")
    for day in office.days:
        alerts_q.enqueue("workers.jobs.plan_windows_job", local(day, 7).isoformat())
        alerts_q.enqueue("workers.jobs.missed_patrols_job", local(day, 12, 20).isoformat())
        alerts_q.enqueue("workers.jobs.overdue_job", local(day, 12, 20).isoformat())
    argv = [*procfile_command("worker"), "--fork", "--burst", "--queues", "alerts"]  # the sends wait for later
    result = office.procs.run(argv, timeout=240)
    assert failed_jobs(office.redis) == [], result.stderr[-4000:]
    done = finished_functions(office.redis)
    assert done["workers.jobs.missed_patrols_job"] == done["workers.jobs.overdue_job"] == 3
    state = _state(office)
    assert state["alerts"] >= 9 and state["pending_alerts"] == 0 and state["outbox"] == state["alerts"]


def test_procfile_systemd_and_readme_start_the_same_worker():
    """One worker command everywhere an operator reads one: the Procfile, the systemd unit in
    docs/operations.md and the README's production block."""
    procfile = procfile_command("worker")
    assert procfile[:3] == ["nice", "-n", "10"]
    command = procfile[3:]
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    unit = operations[operations.index("gridpatrol-worker@.service"):]
    exec_start = re.search(r"^ExecStart=(\S+)(.*)$", unit, re.M)
    assert Path(exec_start.group(1)).name == command[0] and exec_start.group(2).split() == command[1:]
    assert re.search(r"^Nice=10$", unit, re.M)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in (x for x in readme.splitlines() if re.match(r"^(nice -n \d+ )?gridpatrol worker\b", x)):
        assert line.split("#")[0].split()[:len(procfile)] == procfile, line


def test_the_sweeper_adds_no_copies_of_filing_jobs_still_queued(db_url, redis_url, tmp_path):
    """Texts accepted while the worker is down (or behind): a sweep each minute hands each text out once,
    not once more per sweep (the worker once came back to 196 jobs for 74 texts)."""
    from rq import Queue
    from core.models import utcnow
    from sms.sweep import sweep_sms
    from tests.support.sms_fixtures import _close, build_sms_app, sms_world
    from sms.providers.android.standin import android_config
    flush_test_redis(redis_url)
    app = build_sms_app(db_url, tmp_path, REDIS_URL=redis_url, **android_config(None))
    try:
        sms_world(app)
        client = app.test_client()
        for n in range(5):
            raw, headers = signed_webhook("sms:received", received_payload(f"+86139000100{n}", "帮助"),
                                          event_id=f"evt-backlog-{n}")
            assert client.post("/sms/android/webhook", data=raw, headers=headers).get_json()["status"] == "accepted"
        sms = Queue("sms", connection=app.extensions["gridpatrol.runner"].connection)
        assert sms.count == 5
        for minute in (2, 3, 4):
            with app.app_context():
                assert sweep_sms(db.session, utcnow() + timedelta(minutes=minute))["texts_refiled"] == 0
                db.session.commit()
        assert sms.count == 5
        sms.empty()  # the jobs are lost (Redis flushed, a worker killed): the next sweep hands each out once
        with app.app_context():
            assert sweep_sms(db.session, utcnow() + timedelta(minutes=5))["texts_refiled"] == 5
            assert sweep_sms(db.session, utcnow() + timedelta(minutes=6))["texts_refiled"] == 0
        assert sms.count == 5
    finally:
        _close(app)
        flush_test_redis(redis_url)
