"""Fixtures for the SMS provider tests: local stand-ins of the providers' real APIs (the office's Android
phone gateway and Aliyun's SMS API), started per test and stopped after it. The Twilio stand-in and the
SMS apps come from tests/support/sms_fixtures.py, registered for the whole suite."""
from __future__ import annotations

import pytest

from sms.providers.aliyun.standin import AliyunStandIn
from sms.providers.android.standin import AndroidPhoneStandIn


@pytest.fixture
def phone():
    stand_in = AndroidPhoneStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def aliyun():
    stand_in = AliyunStandIn().start()
    yield stand_in
    stand_in.stop()
