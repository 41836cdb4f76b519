"""Where background jobs run: RQ on Redis when REDIS_URL is set, else a thread in this process.

Infrastructure at the bottom: every feature (sms, workers, …) enqueues through this interface and none
imports another feature to do it. Both backends take the same job functions (dotted path or callable, ids
as arguments) and offer rq's verbs — `enqueue`, `enqueue_in`, `enqueue_at` — plus `enqueue_after_commit`:
jobs must be enqueued after the data they read is committed, or a worker may look before it is there.
Both pass the same contract suite (tests/jobs/test_jobs_contract.py).
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from importlib import import_module
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import scoped_session, Session

log = logging.getLogger(__name__)


class JobRunner:
    """The interface every backend offers."""

    name = "abstract"

    def enqueue(self, func: Callable | str, *args, queue: str = "default", job_id: str | None = None, **kwargs):
        raise NotImplementedError

    def enqueue_at(self, when: datetime, func: Callable | str, *args, queue: str = "default",
                   job_id: str | None = None, **kwargs):
        """Run at an aware instant (RQ: workers need --with-scheduler; in-process: a timer thread)."""
        raise NotImplementedError

    def enqueue_in(self, delay: timedelta | float, func: Callable | str, *args, queue: str = "default",
                   job_id: str | None = None, **kwargs):
        seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
        return self.enqueue_at(datetime.now(timezone.utc) + timedelta(seconds=max(seconds, 0.0)), func, *args,
                               queue=queue, job_id=job_id, **kwargs)

    def enqueue_after_commit(self, session: Session, func: Callable | str, *args, queue: str = "default",
                             job_id: str | None = None, at: datetime | None = None, once_key: str | None = None,
                             **kwargs) -> None:
        """Enqueue (at `at`, when given) once this session's transaction commits; nothing if it rolls back.
        `once_key`: at most one such job per transaction."""
        self.enqueue_many_after_commit(session, func, [args], queue=queue, job_ids=[job_id], at=at,
                                       once_key=once_key, **kwargs)

    def enqueue_many_after_commit(self, session: Session, func, args_list: list[tuple], *, queue: str = "default",
                                  job_ids: list[str | None] | None = None, at: datetime | None = None,
                                  once_key: str | None = None, **kwargs) -> None:
        """One after-commit hook for a batch of jobs of the same function (e.g. one send per outbox row)."""
        if not args_list:
            return
        after_commit(session, lambda: self._enqueue_batch(func, args_list, job_ids, queue, at, kwargs),
                     once_key=once_key)

    def _enqueue_batch(self, func, args_list, job_ids, queue, at, kwargs) -> None:
        # The write is committed: a queue outage must not turn it into an error. What is not enqueued is
        # picked up by the periodic sweeps (the SMS outbox sweep re-sends rows still `queued`).
        for number, (args, job_id) in enumerate(zip(args_list, job_ids or [None] * len(args_list))):
            try:
                if at is None:
                    self.enqueue(func, *args, queue=queue, job_id=job_id, **kwargs)
                else:
                    self.enqueue_at(at, func, *args, queue=queue, job_id=job_id, **kwargs)
            except Exception as exc:  # noqa: BLE001 - redis down, pool shut down …
                log.warning("queue unavailable (%s): %d job(s) of %s left for the periodic sweep",
                            type(exc).__name__, len(args_list) - number, getattr(func, "__name__", func))
                return

    def enqueue_unless_pending(self, func: Callable | str, *args, job_id: str, queue: str = "default",
                               **kwargs) -> bool:
        """Enqueue under a deterministic `job_id` unless the job of that id is still waiting to run. For
        sweeps that hand out again what a lost job left behind: run every minute while a backlog drains,
        they must not pile a new copy of each job onto the queue each time. True when enqueued. A backend
        that cannot tell (a test's stand-in runner) just enqueues."""
        self.enqueue(func, *args, queue=queue, job_id=job_id, **kwargs)
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until enqueued work has finished (in-process only; RQ workers are elsewhere)."""

    def drain(self, timeout: float = 120.0) -> int:
        """Before a CLI command exits: finish what this process queued (jobs a job queues included) and
        answer how many jobs were left unfinished (0 for RQ: its workers live elsewhere)."""
        return 0


def after_commit(session: Session, callback: Callable[[], None], *, once_key: str | None = None) -> None:
    """Call `callback` once after this session's transaction commits; forget it if it rolls back.

    The one after-commit hook of the code base (jobs, alert delivery, SMS retries all go through it).
    With `once_key`, a second registration with the same key in the same transaction is a no-op (e.g. one
    alert-delivery job per transaction however many alerts it raised)."""
    if isinstance(session, scoped_session):
        session = session()  # listen on this request's session, not on every session of the class
    flag = f"gridpatrol.after_commit:{once_key}" if once_key else None
    if flag:
        if session.info.get(flag):
            return
        session.info[flag] = True
    settled = []

    # SQLAlchemy sends after_commit and after_rollback for a SAVEPOINT too (`begin_nested()`, e.g. the
    # outbox's insert): that is not the end of the transaction, so it is let pass. Acting on it ran jobs
    # before their rows were committed (a text's send job found no row and the text waited for the sweeper).
    def _commit(_session):
        if settled or _session.in_nested_transaction():
            return
        settled.append("committed")
        if flag:
            session.info.pop(flag, None)
        if event.contains(session, "after_rollback", _rollback):
            event.remove(session, "after_rollback", _rollback)
        callback()

    def _rollback(_session):
        if settled or _session.in_nested_transaction():
            return
        settled.append("rolled back")
        if flag:
            session.info.pop(flag, None)
        if event.contains(session, "after_commit", _commit):
            event.remove(session, "after_commit", _commit)

    event.listen(session, "after_commit", _commit)
    event.listen(session, "after_rollback", _rollback)


def _resolve(func: Callable | str) -> Callable:
    if callable(func):
        return func
    module_name, _, attr = func.rpartition(".")
    return getattr(import_module(module_name), attr)


class InProcessRunner(JobRunner):
    """Runs jobs on one background thread inside the app, in an app context, in order."""

    name = "inprocess"

    def __init__(self, app: Flask):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridpatrol-job")
        self.pending: list[Future] = []
        self.lock = threading.Lock()
        self.failures: list[tuple[str, BaseException]] = []
        self.by_id: dict[str, Future] = {}

    def _run(self, func, args, kwargs):
        with self.app.app_context():
            try:
                return _resolve(func)(*args, **kwargs)
            except BaseException as exc:  # a failed job must not kill the thread; it is recorded
                log.exception("job %s failed", func)
                self.failures.append((str(func), exc))
                raise

    def enqueue(self, func, *args, queue: str = "default", job_id: str | None = None, **kwargs):
        future = self.pool.submit(self._run, func, args, kwargs)
        with self.lock:
            self.pending = [f for f in self.pending if not f.done()] + [future]
            if job_id is not None:
                self.by_id = {k: f for k, f in self.by_id.items() if not f.done()}
                self.by_id[job_id] = future
        return future

    def enqueue_unless_pending(self, func, *args, job_id: str, queue: str = "default", **kwargs) -> bool:
        with self.lock:
            earlier = self.by_id.get(job_id)
        if earlier is not None and not earlier.done():  # waiting, or running in this very process
            return False
        self.enqueue(func, *args, queue=queue, job_id=job_id, **kwargs)
        return True

    def enqueue_at(self, when: datetime, func, *args, queue: str = "default", job_id: str | None = None,
                   **kwargs):
        """A daemon timer hands the job to the pool when due. JOBS_INPROCESS_TIMERS=False drops delayed
        jobs instead (tests that must not leave timers behind); the features' sweeps catch up."""
        if not self.app.config.get("JOBS_INPROCESS_TIMERS", True):
            log.info("delayed job %s dropped (JOBS_INPROCESS_TIMERS off)", func)
            return None
        delay = max((when - datetime.now(timezone.utc)).total_seconds(), 0.0)
        timer = threading.Timer(delay, self.enqueue, args=(func, *args), kwargs={"queue": queue, **kwargs})
        timer.daemon = True
        timer.start()
        return timer

    def wait(self, timeout: float | None = None) -> None:
        while True:
            with self.lock:
                pending = [f for f in self.pending if not f.done()]
            if not pending:
                return
            for future in pending:
                try:
                    future.result(timeout=timeout)
                except Exception:  # already logged and recorded
                    pass

    def drain(self, timeout: float = 120.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                pending = [f for f in self.pending if not f.done()]
            if not pending:
                return 0
            try:
                pending[0].result(timeout=max(0.01, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - logged by _run; a timeout ends the loop below
                pass
        with self.lock:
            return len([f for f in self.pending if not f.done()])


class RQRunner(JobRunner):
    name = "rq"

    def __init__(self, app: Flask):
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from redis import Redis
        self.app = app
        self.connection = Redis.from_url(app.config["REDIS_URL"])

    def queue(self, name: str):
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from rq import Queue
        return Queue(name, connection=self.connection)

    @staticmethod
    def _target(func) -> str:
        return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"

    def enqueue(self, func, *args, queue: str = "default", job_id: str | None = None, **kwargs):
        return self.queue(queue).enqueue(self._target(func), args=args, kwargs=kwargs or None, job_id=job_id)

    def enqueue_unless_pending(self, func, *args, job_id: str, queue: str = "default", **kwargs) -> bool:
        """Skipped while the job of that id is queued, scheduled or deferred. One that finished, failed or
        was left `started` by a killed worker is deleted first (its record, with the expiry RQ gave its
        result, must not be reused by the new job) and enqueued afresh; the jobs are safe to run twice."""
        # local: Redis is optional (without REDIS_URL jobs run in-process)
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus
        try:
            earlier = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            earlier = None
        if earlier is not None:
            if earlier.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
                return False
            earlier.delete(remove_from_queue=False)
        self.enqueue(func, *args, queue=queue, job_id=job_id, **kwargs)
        return True

    def enqueue_at(self, when: datetime, func, *args, queue: str = "default", job_id: str | None = None,
                   **kwargs):
        return self.queue(queue).enqueue_at(when, self._target(func), args=args, kwargs=kwargs or None,
                                            job_id=job_id)

    def enqueue_in(self, delay, func, *args, queue: str = "default", job_id: str | None = None, **kwargs):
        delay = delay if isinstance(delay, timedelta) else timedelta(seconds=float(delay))
        return self.queue(queue).enqueue_in(delay, self._target(func), args=args, kwargs=kwargs or None,
                                            job_id=job_id)


def init_runner(app: Flask) -> None:
    app.extensions["gridpatrol.runner"] = RQRunner(app) if app.config.get("REDIS_URL") else InProcessRunner(app)


def get_runner(app: Flask | None = None) -> JobRunner:
    return (app or current_app).extensions["gridpatrol.runner"]


def enqueue_after_commit(session: Session, func, *args, queue: str = "default", job_id: str | None = None,
                         **kwargs) -> None:
    """`get_runner().enqueue_after_commit(...)`, for code that has no runner at hand."""
    get_runner().enqueue_after_commit(session, func, *args, queue=queue, job_id=job_id, **kwargs)


def enqueue_many_after_commit(session: Session, func, args_list: list[tuple], **kwargs) -> None:
    get_runner().enqueue_many_after_commit(session, func, args_list, **kwargs)
