"""The job-runner contract: the in-process runner and the RQ runner (real Redis, a real RQ worker and
scheduler) both honour rq's verbs — enqueue, enqueue_in, enqueue_at — and enqueue_after_commit (after a
commit, never after a rollback, at most once per transaction with a once_key)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from core.jobs.runner import InProcessRunner, JobRunner, RQRunner, after_commit
from tests.conftest import flush_test_redis, make_app
from tests.support.jobs_support import record

JOB = "tests.support.jobs_support.record"


class Harness:
    """A runner plus a way to run what is due (the RQ side runs its scheduler and a burst worker)."""

    def __init__(self, kind: str, app, redis_url: str | None):
        self.kind, self.app = kind, app
        self.runner: JobRunner = InProcessRunner(app) if kind == "inprocess" else RQRunner(app)

    def drain(self) -> None:
        if self.kind == "inprocess":
            self.runner.wait(timeout=30)
            return
        from rq import Queue, SimpleWorker
        from rq.scheduler import RQScheduler
        queues = [Queue(name, connection=self.runner.connection) for name in ("default", "sms")]
        scheduler = RQScheduler(queues, connection=self.runner.connection)
        scheduler.acquire_locks()
        try:
            scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()
        SimpleWorker(queues, connection=self.runner.connection).work(burst=True)


@pytest.fixture(params=["inprocess", "rq"])
def harness(request, tmp_path):
    redis_url = None
    if request.param == "rq":
        redis_url = request.getfixturevalue("redis_url")
        flush_test_redis(redis_url)  # keeps the suite's ownership marker, so later tests may flush it too
    app = make_app(f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path, REDIS_URL=redis_url)
    yield Harness(request.param, app, redis_url)
    if redis_url:
        flush_test_redis(redis_url)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def test_enqueue_runs_by_dotted_path_and_by_callable(harness, tmp_path):
    out = tmp_path / "out.txt"
    harness.runner.enqueue(JOB, str(out), "a")
    harness.runner.enqueue(record, str(out), "b", suffix="!", queue="sms")
    harness.drain()
    assert sorted(_lines(out)) == ["a", "b!"]


def test_enqueue_after_commit_runs_after_commit_only(harness, tmp_path):
    from core.db import db
    out = tmp_path / "out.txt"
    with harness.app.app_context():
        db.session.execute(text("SELECT 1"))
        harness.runner.enqueue_after_commit(db.session, JOB, str(out), "rolled-back")
        db.session.rollback()
        db.session.execute(text("SELECT 1"))
        harness.runner.enqueue_after_commit(db.session, JOB, str(out), "once", once_key="k")
        harness.runner.enqueue_after_commit(db.session, JOB, str(out), "twice", once_key="k")
        harness.runner.enqueue_many_after_commit(db.session, JOB, [(str(out), "m1"), (str(out), "m2")])
        harness.drain()
        assert _lines(out) == []  # nothing before the commit
        db.session.commit()
        harness.drain()
        db.session.execute(text("SELECT 1"))
        harness.runner.enqueue_after_commit(db.session, JOB, str(out), "next", once_key="k")  # a new transaction
        db.session.commit()
        harness.drain()
        db.session.remove()
    assert sorted(_lines(out)) == ["m1", "m2", "next", "once"]


def test_enqueue_in_and_enqueue_at_wait_until_due(harness, tmp_path):
    out = tmp_path / "out.txt"
    harness.runner.enqueue_in(timedelta(seconds=1.5), JOB, str(out), "later")
    harness.runner.enqueue_at(datetime.now(timezone.utc) - timedelta(seconds=1), JOB, str(out), "due")
    harness.drain()
    early = _lines(out)
    assert "later" not in early  # not before it is due
    if harness.kind == "rq":
        assert early == ["due"]
    time.sleep(2.0)
    harness.drain()
    deadline = time.monotonic() + 10
    while "later" not in _lines(out) and time.monotonic() < deadline:
        time.sleep(0.1)
        harness.drain()
    assert sorted(_lines(out)) == ["due", "later"]


def test_after_commit_helper_forgets_on_rollback(harness):
    from core.db import db
    calls = []
    with harness.app.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit(db.session, lambda: calls.append("x"))
        db.session.rollback()
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        db.session.remove()
    assert calls == []


def test_after_commit_waits_for_the_transaction_not_a_savepoint(harness):
    """A SAVEPOINT released or rolled back inside the transaction (`begin_nested()`, as the outbox's insert) is
    not the end of it: the hook runs once, at the real commit. (SQLAlchemy sends after_commit for a SAVEPOINT
    too: acting on it ran a text's send job before its row was committed, and the text waited for the sweep.)"""
    from core.db import db
    calls = []
    with harness.app.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit(db.session, lambda: calls.append("sent"))
        with db.session.begin_nested():
            db.session.execute(text("SELECT 1"))
        assert calls == []  # released, not committed
        db.session.begin_nested().rollback()
        assert calls == []  # a SAVEPOINT rolled back; what came before it still commits
        db.session.commit()
        assert calls == ["sent"]
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        db.session.remove()
    assert calls == ["sent"]


def test_enqueue_unless_pending_adds_no_copy_while_the_job_waits(harness, tmp_path):
    """The sweepers hand out again what a lost job left; while the job of that id still waits to run, a
    second (third, …) sweep adds no copy. Once it has run, the id may be handed out again."""
    out = tmp_path / "out.txt"
    harness.runner.enqueue(time.sleep, 0.5, queue="sms")  # keeps the in-process runner busy: the job waits
    added = [harness.runner.enqueue_unless_pending(record, str(out), "once", job_id="sweep-1", queue="sms")
             for _ in range(3)]
    assert added == [True, False, False]
    harness.drain()
    assert _lines(out) == ["once"]
    assert harness.runner.enqueue_unless_pending(record, str(out), "again", job_id="sweep-1", queue="sms")
    harness.drain()
    assert _lines(out) == ["once", "again"]
