"""Fixtures for the SMS tests (`stand_in`, `twilio_app`, `console_app`), registered for the whole suite by
`pytest_plugins` in tests/conftest.py; import the helpers (`build_sms_app`, `sms_world`) by name."""
from __future__ import annotations

import pytest

from tests.conftest import make_app, reset_database, shared_app
from tests.support.factories import build_world
from sms.providers.twilio.standin import TwilioStandIn, twilio_config

__all__ = ["stand_in", "twilio_app", "console_app", "build_sms_app", "sms_world"]


SMS_APP_CONFIG = {"JOBS_INPROCESS_TIMERS": False, "SMS_DUPLICATE_WINDOW_SECONDS": 600}


def build_sms_app(db_url, tmp_path, **overrides):
    from core.db import db
    config = dict(SMS_APP_CONFIG)
    config.update(overrides)
    app = make_app(db_url, tmp_path, **config)
    with app.app_context():
        reset_database(db)
    return app


def _close(app):
    from core.db import db
    app.extensions["gridpatrol.runner"].wait(timeout=30)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def stand_in():
    server = TwilioStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def twilio_app(db_url, tmp_path, stand_in):
    app = build_sms_app(db_url, tmp_path, **twilio_config(stand_in))
    yield app
    _close(app)


@pytest.fixture
def console_app(backend, request, tmp_path):
    """The console provider with Twilio's signing secrets (the webhook checks signatures): one app per database
    per process, put back after each test like `app` (tests/support/apps.py)."""
    from core.db import db
    from tests.support.apps import isolated
    from sms.providers.twilio.standin import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL
    app = shared_app(request, backend, **SMS_APP_CONFIG, SMS_BACKEND="console", TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                     TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    with isolated(app, tmp_path / "instance", lambda: reset_database(db)):
        yield app


def sms_world(app):
    from core.db import db
    with app.app_context():
        world = build_world(db.session)
        db.session.commit()
        return world
