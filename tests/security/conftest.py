"""Fixtures of the security tests."""
from __future__ import annotations

import pytest

from tests.support.sms_fixtures import _close, build_sms_app
from sms.providers.android.standin import AndroidPhoneStandIn, android_config


@pytest.fixture
def android_app(db_url, tmp_path):
    """An app whose SMS goes through the office phone (its stand-in is `android_app.phone`)."""
    phone = AndroidPhoneStandIn().start()
    app = build_sms_app(db_url, tmp_path, **android_config(phone))
    app.phone = phone
    yield app
    _close(app)
    phone.stop()
