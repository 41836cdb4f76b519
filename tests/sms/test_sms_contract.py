"""ONE contract every SMS provider passes: console, and twilio, android and aliyun each through its real
client library against a local stand-in of its real API. Plus segment counts.

What the outbox relies on: distinct ids, `find` after a crash, one result per message from `send_batch`,
and every failure a SendError whose kind says what to do (never an exception of the client library,
never a success when the provider answered garbage or is down).
"""
from __future__ import annotations

import pytest

from core.models import utcnow
from sms.providers import REGISTRY, provider_class
from sms.providers.base import KINDS, RETRYABLE_KINDS, OutgoingSms, Provider, SendError
from core.domain.segments import count_segments
from sms.providers.twilio.standin import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, TwilioStandIn
from sms.providers.aliyun.standin import AliyunStandIn, aliyun_config
from sms.providers.android.standin import AndroidPhoneStandIn, android_config

PROVIDERS = ["console", "twilio", "android", "aliyun"]


class Harness:
    """A provider and, when it has one, the stand-in it talks to (with a way to script its answers)."""

    def __init__(self, name):
        self.name = name
        self.stand_in = None
        config = {"TESTING": True}
        if name == "twilio":
            self.stand_in = TwilioStandIn().start()
            config.update(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_NUMBER=FROM_NUMBER,
                          PUBLIC_BASE_URL=PUBLIC_BASE_URL, TWILIO_API_BASE_URL=self.stand_in.base_url)
        elif name == "android":
            self.stand_in = AndroidPhoneStandIn().start()
            config.update(android_config(self.stand_in))
        elif name == "aliyun":
            self.stand_in = AliyunStandIn().start()
            config.update(aliyun_config(self.stand_in))
        self.provider: Provider = provider_class(name).from_config(config)

    def script(self, *answers):
        """Answers in the stand-in's own terms: "garbage", "down" (503), "drop"."""
        mapped = []
        for answer in answers:
            if answer == "down":
                answer = {"twilio": (503, 20500), "android": 503, "aliyun": 503}[self.name]
            mapped.append(answer)
        self.stand_in.script.extend(mapped)

    def stop(self):
        if self.stand_in is not None:
            self.stand_in.stop()


@pytest.fixture(params=PROVIDERS)
def harness(request):
    h = Harness(request.param)
    yield h
    h.stop()


def sms(to="+8613800138000", body="巡查提醒", ref="ref-1", **kw) -> OutgoingSms:
    return OutgoingSms(to=to, body=body, reference=ref, **kw)


def test_every_registered_provider_is_in_the_contract():
    assert sorted(REGISTRY) == sorted(PROVIDERS)


def test_send_returns_distinct_provider_ids(harness):
    first = harness.provider.send(sms(body="第一条", ref="ref-1"))
    second = harness.provider.send(sms(body="第二条", ref="ref-2"))
    assert first and second and first != second


def test_find_answers_whether_the_provider_has_a_message(harness):
    since = utcnow()
    message = sms(to="+8613800138001", body="找得到吗", ref="ref-find")
    harness.provider.send(message)
    found = harness.provider.find(message, since)
    if harness.name != "console" and found is None:
        pytest.fail(f"{harness.name} cannot find a message it accepted")
    assert found is not None and found.to == "+8613800138001"
    assert harness.provider.find(sms(to="+8613800138002", body="从未发送", ref="ref-never"), since) is None


def test_send_batch_answers_once_per_message_in_order(harness):
    messages = [sms(to=f"+861380013810{i}", body=f"第{i}条", ref=f"ref-b{i}") for i in range(5)]
    results = harness.provider.send_batch(messages)
    assert len(results) == 5 and all(isinstance(r, str) and r for r in results)


def test_invalid_number_is_a_permanent_error_with_its_kind(harness):
    with pytest.raises(SendError) as info:
        harness.provider.send(sms(to="12345", body="坏号码", ref="ref-bad"))
    assert info.value.kind == "invalid_number" and not info.value.transient


def test_a_provider_answering_garbage_is_transient_and_may_have_sent(harness):
    if harness.stand_in is None:
        pytest.skip("the console has no API to answer garbage")
    harness.script("garbage")
    with pytest.raises(SendError) as info:
        harness.provider.send(sms(ref="ref-garbage"))
    assert info.value.kind in RETRYABLE_KINDS and info.value.maybe_sent


def test_a_provider_that_is_down_is_retryable_never_a_success(harness):
    if harness.stand_in is None:
        pytest.skip("the console is never down")
    harness.script("down")
    with pytest.raises(SendError) as info:
        harness.provider.send(sms(ref="ref-down"))
    assert info.value.kind in ("transient", "provider_down")
    harness.stop()  # connection refused
    with pytest.raises(SendError) as info:
        harness.provider.send(sms(ref="ref-stopped"))
    assert info.value.kind in ("transient", "provider_down")


def test_every_error_kind_is_known_and_health_is_a_dict(harness):
    assert set(RETRYABLE_KINDS) <= set(KINDS)
    health = harness.provider.health()
    assert isinstance(health, dict) and health.get("configured") is True


def test_the_provider_is_built_from_configuration_and_refuses_missing_settings(harness):
    from core.settings import ConfigError
    if harness.name == "console":
        return
    with pytest.raises(ConfigError) as info:
        provider_class(harness.name).from_config({})
    assert harness.name in str(info.value)


@pytest.mark.parametrize("text,encoding,segments", [
    ("hello", "GSM-7", 1), ("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2), ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3), ("{" * 80, "GSM-7", 1), ("{" * 81, "GSM-7", 2), ("中" * 70, "UCS-2", 1),
    ("中" * 71, "UCS-2", 2), ("中" * 134, "UCS-2", 2), ("中" * 135, "UCS-2", 3), ("a" * 69 + "中", "UCS-2", 1),
    ("😀" * 35, "UCS-2", 1), ("😀" * 36, "UCS-2", 2), ("", "GSM-7", 1)])
def test_segment_accounting(text, encoding, segments):
    info = count_segments(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_warm_up_loads_the_client_and_sends_nothing(harness):
    """A worker warms every configured provider before its first job: nothing may reach the provider."""
    harness.provider.warm_up()
    assert getattr(harness.stand_in, "requests", []) == [] and getattr(harness.stand_in, "sent", []) == []
