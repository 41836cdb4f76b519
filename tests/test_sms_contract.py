"""ONE contract every SMS backend passes (console and twilio-through-the-stand-in), plus segment counts."""
from __future__ import annotations

from datetime import timedelta

import pytest

from server.models import utcnow
from sms.backends import ConsoleBackend, SendError, TwilioBackend
from sms.segments import count_segments
from tests.sms_helpers import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, TwilioStandIn


@pytest.fixture(params=["console", "twilio"])
def backend(request):
    if request.param == "console":
        yield ConsoleBackend(echo=False)
        return
    stand_in = TwilioStandIn().start()
    try:
        yield TwilioBackend(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM_NUMBER,
                            status_callback_base=PUBLIC_BASE_URL, api_base_url=stand_in.base_url)
    finally:
        stand_in.stop()


def test_send_returns_distinct_provider_ids(backend):
    first = backend.send("+8613800138000", "第一条", "ref-1")
    second = backend.send("+8613800138000", "第二条", "ref-2")
    assert first and second and first != second


def test_find_answers_whether_the_provider_has_a_message(backend):
    since = utcnow()
    sid = backend.send("+8613800138001", "找得到吗", "ref-find")
    found = backend.find("+8613800138001", "找得到吗", "ref-find", since)
    assert found is not None and found.sid == sid and found.body == "找得到吗"
    assert backend.find("+8613800138002", "从未发送", "ref-never", since) is None
    assert backend.find("+8613800138001", "另一条", "ref-other", since + timedelta(seconds=1)) is None


def test_invalid_number_is_a_permanent_error(backend):
    with pytest.raises(SendError) as info:
        backend.send("12345", "坏号码", "ref-bad")
    assert info.value.code == "21211" and not info.value.transient


@pytest.mark.parametrize("text,encoding,segments", [
    ("hello", "GSM-7", 1), ("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2), ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3), ("{" * 80, "GSM-7", 1), ("{" * 81, "GSM-7", 2), ("中" * 70, "UCS-2", 1),
    ("中" * 71, "UCS-2", 2), ("中" * 134, "UCS-2", 2), ("中" * 135, "UCS-2", 3), ("a" * 69 + "中", "UCS-2", 1),
    ("😀" * 35, "UCS-2", 1), ("😀" * 36, "UCS-2", 2), ("", "GSM-7", 1)])
def test_segment_accounting(text, encoding, segments):
    info = count_segments(text)
    assert (info.encoding, info.segments) == (encoding, segments)
