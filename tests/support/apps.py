"""One gridpatrol app per database per test process, and what a test must not leave behind in it.

`create_app` costs a tenth of a second or more (blueprints, the OpenAPI document, every feature's init), and
most tests want the same app: the embedded defaults on the suite's database. So the `app` fixture hands every
test the process's app for its database and puts back, after the test, what a test may change in it: the
config (a test may set `app.config["SMS_RATE_LIMIT_PER_HOUR"] = 3`), `app.extensions` (a test may swap the job
runner), the SMS providers built from that config, and the timers of delayed jobs it queued. Its instance
folder is the test's own `tmp_path / "instance"` (spooled texts, roster uploads).

A test that needs another configuration at start-up (a provider, Redis, a pool size) builds its own app with
`tests.conftest.make_app`, on the same emptied database.
"""
from __future__ import annotations

import copy
import threading
from contextlib import contextmanager
from pathlib import Path

from sms.providers import SLOT as PROVIDERS_SLOT


def _runner(app):
    return app.extensions["gridpatrol.runner"]


@contextmanager
def isolated(app, instance: Path, empty):
    """Run one test on a shared app: an emptied database (`empty()`), its own instance folder, and the app
    as it was found once the test is over."""
    from core.db import db
    config = copy.deepcopy(dict(app.config))
    extensions = {k: v for k, v in app.extensions.items() if k != PROVIDERS_SLOT}
    attributes = set(vars(app))
    instance.mkdir(parents=True, exist_ok=True)
    app.config["INSTANCE_PATH"] = str(instance)
    app.extensions.pop(PROVIDERS_SLOT, None)
    runner = _runner(app)
    if hasattr(runner, "failures"):
        runner.failures.clear()
    threads_before = set(threading.enumerate())
    with app.app_context():
        empty()
    try:
        yield app
    finally:
        _runner(app).wait(timeout=30)
        for thread in set(threading.enumerate()) - threads_before:
            if isinstance(thread, threading.Timer):
                thread.cancel()  # a delayed job this test queued must not run in the next one
        with app.app_context():
            db.session.remove()
        app.config.clear()
        app.config.update(config)
        app.extensions.clear()
        app.extensions.update(extensions)
        for name in set(vars(app)) - attributes:  # a test's own marks (and lazily built values, built again)
            delattr(app, name)
