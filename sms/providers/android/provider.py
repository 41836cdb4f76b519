"""Sending through the office phone with the official `android-sms-gateway` client.

The message id we give the app is our outbox reference, so the app's sms:sent / sms:delivered / sms:failed
events name our row, and `find` can ask the app "do you have <reference>?" after a crash. The phone being
unreachable (powered off, off the LAN, the app killed) is `provider_down`: alerts fail over, replies wait.
"""
from __future__ import annotations

import logging
import threading

from core.domain.phones import mask_phone
from core.settings import ConfigError
from sms.providers.base import (INVALID_NUMBER, PROVIDER_DOWN, RATE_LIMITED, REJECTED_CONTENT, TRANSIENT,
                                OutgoingSms, Provider, ProviderMessage, SendError)
from sms.providers.android.webhook import parse_event

log = logging.getLogger(__name__)

FINAL_FAILED = {"Failed", "Cancelled"}


class AndroidProvider(Provider):
    name = "android"
    two_way = True
    has_heartbeat = True

    def __init__(self, *, url: str, username: str | None, password: str, signing_key: str | None = None,
                 phone_number: str | None = None, timeout: float = 10.0, sim_number: int | None = None):
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.signing_key = signing_key
        self.phone_number = phone_number
        self.timeout = timeout
        self.sim_number = sim_number
        self._local = threading.local()  # one client (and HTTP session) per thread: RQ forks, gunicorn threads

    @classmethod
    def from_config(cls, config: dict) -> "AndroidProvider":
        for variable in ("ANDROID_SMS_URL", "ANDROID_SMS_PASSWORD", "ANDROID_SMS_SIGNING_KEY"):
            if not config.get(variable):
                raise ConfigError(f"the android SMS provider needs {variable}")
        url = config["ANDROID_SMS_URL"]
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"ANDROID_SMS_URL must start with http:// or https://, got {url!r}")
        sim = config.get("ANDROID_SMS_SIM_NUMBER")
        return cls(url=url, username=config.get("ANDROID_SMS_USERNAME"), password=config["ANDROID_SMS_PASSWORD"],
                   signing_key=config["ANDROID_SMS_SIGNING_KEY"], phone_number=config.get("ANDROID_SMS_PHONE_NUMBER"),
                   timeout=float(config.get("ANDROID_SMS_TIMEOUT_SECONDS") or 10),
                   sim_number=int(sim) if sim else None)

    # ------------------------------------------------------------ the client

    def warm_up(self) -> None:
        self.client()

    def client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            import requests
            from android_sms_gateway import APIClient
            from android_sms_gateway.http import RequestsHttpClient

            session = requests.Session()
            session.request = _with_timeout(session.request, self.timeout)
            client = APIClient(self.username, self.password, base_url=self.url, http=RequestsHttpClient(session))
            self._local.client = client
        return client

    def send(self, message: OutgoingSms) -> str:
        from android_sms_gateway import Message, TextMessage
        request = Message(phone_numbers=[message.to], text_message=TextMessage(text=message.body),
                          with_delivery_report=True, id=message.reference, sim_number=self.sim_number)
        state = self._call(lambda: self.client().send(request), maybe_sent=True)
        failed = [r for r in state.recipients if r.state.value in FINAL_FAILED]
        if state.state.value in FINAL_FAILED or failed:
            reason = (failed[0].error if failed else None) or state.state.value
            raise SendError(f"the phone refused the message: {reason}", kind=_kind_of_reason(reason),
                            code="android_failed")
        log.info("android sms %s to %s: %s", state.id, mask_phone(message.to), state.state.value)
        return state.id

    def find(self, message: OutgoingSms, since):
        from android_sms_gateway.errors import NotFoundError
        try:
            state = self.client().get_state(message.reference)
        except NotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - unknown: the outbox asks again later
            raise _classify(exc, maybe_sent=False) from exc
        return ProviderMessage(sid=state.id, to=message.to, body=message.body, status=state.state.value.lower(),
                               created_at=state.created_at, reference=message.reference)

    def _call(self, function, *, maybe_sent: bool):
        try:
            return function()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a SendError with a kind
            raise _classify(exc, maybe_sent=maybe_sent) from exc

    # ------------------------------------------------------------ webhooks and health

    def parse_event(self, raw: bytes, headers, now=None):
        return parse_event(raw, headers, signing_key=self.signing_key, now=now)

    def health(self) -> dict:
        return {"configured": True, "url": self.url, "number": self.phone_number}

    def probe(self) -> dict:
        """Ask the phone's /health now (used by `gridpatrol sms status --probe`)."""
        result = self._call(lambda: self.client().health_check(), maybe_sent=False)
        return {"status": result.status.value, "version": result.version}


def _with_timeout(request, timeout: float):
    def call(method, url, **kwargs):
        kwargs.setdefault("timeout", timeout)
        return request(method, url, **kwargs)
    return call


def _kind_of_reason(reason: str | None) -> str:
    text = (reason or "").upper()
    if "NO_SERVICE" in text or "RADIO_OFF" in text or "LIMIT" in text:
        return TRANSIENT
    if "INVALID" in text and "NUMBER" in text or "DESTINATION" in text:
        return INVALID_NUMBER
    return TRANSIENT if "GENERIC" in text else REJECTED_CONTENT


def _classify(exc: Exception, *, maybe_sent: bool) -> SendError:
    """The client raises APIError subclasses for HTTP errors, requests' errors for the network and
    KeyError/ValueError when the answer is not the app's JSON. None of these may lose a message."""
    import requests
    from android_sms_gateway.errors import APIError
    if isinstance(exc, APIError):
        status = exc.status_code or 0
        detail = (exc.response or {}).get("message") if isinstance(exc.response, dict) else None
        message = f"gateway answered {status}: {detail or exc}"
        if status == 400:
            kind = INVALID_NUMBER if "phone" in (detail or "").lower() else REJECTED_CONTENT
            return SendError(message, kind=kind, code=f"http_{status}", status=status)
        if status == 429:
            return SendError(message, kind=RATE_LIMITED, code="http_429", status=status)
        if status in (401, 403):
            return SendError(message, kind=PROVIDER_DOWN, code=f"http_{status}", status=status)
        if status >= 500:
            return SendError(message, kind=PROVIDER_DOWN if status in (502, 503, 504) else TRANSIENT,
                             code=f"http_{status}", status=status, maybe_sent=maybe_sent and status == 504)
        return SendError(message, kind=TRANSIENT, code=f"http_{status}", status=status)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        # Refused or unreachable: the phone is off or off the network. A read timeout may have sent it.
        refused = isinstance(exc, requests.exceptions.ConnectTimeout) or "NewConnectionError" in repr(exc) \
            or "Connection refused" in str(exc)
        sent = maybe_sent and not refused
        return SendError(f"phone unreachable: {type(exc).__name__}", kind=PROVIDER_DOWN, code="unreachable",
                         maybe_sent=sent)
    if isinstance(exc, (KeyError, ValueError, TypeError, AttributeError)):
        return SendError(f"unreadable answer from the phone: {type(exc).__name__}: {exc}", kind=TRANSIENT,
                         code="garbage", maybe_sent=maybe_sent)
    return SendError(f"{type(exc).__name__}: {exc}", kind=TRANSIENT, code="network", maybe_sent=maybe_sent)
