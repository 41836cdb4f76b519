"""Where background jobs run: RQ on Redis when REDIS_URL is set, else a thread in this process.

Both backends take the same job functions (dotted path or callable, ids as arguments). Jobs must be
enqueued after the data they read is committed, or a worker may look before it is there: use
`enqueue_after_commit(session, ...)` from inside a transaction.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


class JobRunner:
    """The interface every backend offers."""

    name = "abstract"

    def enqueue(self, func: Callable | str, *args, queue: str = "default", job_id: str | None = None, **kwargs):
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> None:
        """Block until enqueued work has finished (in-process only; RQ workers are elsewhere)."""


def _resolve(func: Callable | str) -> Callable:
    if callable(func):
        return func
    module_name, _, attr = func.rpartition(".")
    from importlib import import_module
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
        return future

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


class RQRunner(JobRunner):
    name = "rq"

    def __init__(self, app: Flask):
        from redis import Redis
        self.app = app
        self.connection = Redis.from_url(app.config["REDIS_URL"])

    def queue(self, name: str):
        from rq import Queue
        return Queue(name, connection=self.connection)

    def enqueue(self, func, *args, queue: str = "default", job_id: str | None = None, **kwargs):
        target = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
        return self.queue(queue).enqueue(target, args=args, kwargs=kwargs or None, job_id=job_id)


def init_runner(app: Flask) -> None:
    app.extensions["gridpatrol.runner"] = RQRunner(app) if app.config.get("REDIS_URL") else InProcessRunner(app)


def get_runner(app: Flask | None = None) -> JobRunner:
    return (app or current_app).extensions["gridpatrol.runner"]


def enqueue_after_commit(session: Session, func, *args, queue: str = "default", job_id: str | None = None,
                         **kwargs) -> None:
    """Enqueue once this session's transaction commits; nothing is enqueued if it rolls back."""
    enqueue_many_after_commit(session, func, [args], queue=queue, job_ids=[job_id], **kwargs)


def enqueue_many_after_commit(session: Session, func, args_list: list[tuple], *, queue: str = "default",
                              job_ids: list[str | None] | None = None, **kwargs) -> None:
    """One after-commit hook for a batch of jobs of the same function (e.g. one send job per outbox row)."""
    from sqlalchemy.orm import scoped_session
    if not args_list:
        return
    if isinstance(session, scoped_session):
        session = session()  # listen on this request's session, not on every session of the class
    runner = get_runner()
    job_ids = job_ids or [None] * len(args_list)

    @event.listens_for(session, "after_commit", once=True)
    def _enqueue(_session):
        for args, job_id in zip(args_list, job_ids):
            runner.enqueue(func, *args, queue=queue, job_id=job_id, **kwargs)

    @event.listens_for(session, "after_rollback", once=True)
    def _forget(_session):
        if event.contains(session, "after_commit", _enqueue):
            event.remove(session, "after_commit", _enqueue)
