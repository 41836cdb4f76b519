"""Sessions for job functions: every job opens its own, inside an app context.

Under an RQ worker there is no Flask app yet, so one is built per process from the environment.
"""
from __future__ import annotations

from contextlib import contextmanager
from importlib import import_module

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from core.db import db

_process_app: Flask | None = None
APP_FACTORY = "server:create_app"  # the composition root, named like gunicorn names it


def _app_factory():
    """The app factory, looked up by name: jobs sit at the bottom of the layers, and the factory that
    assembles every feature is the top; naming it keeps the jobs layer from importing the whole house."""
    module, _, attr = APP_FACTORY.partition(":")
    return getattr(import_module(module), attr)


def job_app() -> Flask:
    global _process_app
    if has_app_context():
        return current_app._get_current_object()
    if _process_app is None:
        # A worker process runs jobs; the periodic timer belongs to an embedded server, never to a worker
        # (started without REDIS_URL in its environment it would otherwise beat inside a work horse).
        _process_app = _app_factory()({"WORKERS_EMBEDDED_TIMER": False})
    return _process_app


@contextmanager
def job_session():
    """Yield a fresh Session (not the request-scoped one), committing on success."""
    app = job_app()
    with app.app_context():
        session = Session(db.engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
