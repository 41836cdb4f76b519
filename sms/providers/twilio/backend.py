"""Where outbound texts go: the console (embedded default) or Twilio, behind one small interface.

`send(to, body, reference) -> provider id` raises `SendError` saying whether trying again could help.
`find(to, body, reference, since)` answers "did the provider already accept this?" after a crash between
its answer and our commit — the outbox reconciles with it instead of sending blindly a second time.
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

from flask import Flask, current_app

from server.domain.phones import mask_phone
from server.models import utcnow

log = logging.getLogger(__name__)

# Provider error codes we act on. 30003 (unreachable handset) is transient; 21610 (recipient replied STOP)
# and 21211 (not a valid number) are permanent and change what we do next.
TRANSIENT_CODES = {"20429", "30003", "30001", "30008"}
OPTED_OUT_CODES = {"21610"}
INVALID_NUMBER_CODES = {"21211", "21614", "21612"}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class SendError(Exception):
    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 transient: bool = False):
        super().__init__(message)
        self.code = code
        self.status = status
        self.transient = transient


@dataclass
class ProviderMessage:
    sid: str
    to: str
    body: str
    status: str
    created_at: datetime | None = None
    reference: str | None = None


class SmsBackend:
    name = "abstract"

    def send(self, to: str, body: str, reference: str) -> str:
        raise NotImplementedError

    def find(self, to: str, body: str, reference: str, since: datetime) -> ProviderMessage | None:
        raise NotImplementedError


class ConsoleBackend(SmsBackend):
    """Prints each text and keeps it in memory: the embedded mode has no SMS provider."""

    name = "console"

    def __init__(self, echo: bool = True):
        self.sent: list[ProviderMessage] = []
        self.echo = echo
        self.lock = threading.Lock()

    def send(self, to: str, body: str, reference: str) -> str:
        if not E164.match(to or ""):
            raise SendError(f"not an E.164 number: {to!r}", code="21211", status=400)  # as Twilio would
        with self.lock:
            sid = f"CONSOLE{len(self.sent) + 1:08d}"
            self.sent.append(ProviderMessage(sid=sid, to=to, body=body, status="sent", created_at=utcnow(),
                                             reference=reference))
        if self.echo:
            print(f"[sms → {mask_phone(to)}] {body}", flush=True)
        log.info("console sms %s to %s", sid, mask_phone(to))
        return sid

    def find(self, to, body, reference, since):
        with self.lock:
            for message in reversed(self.sent):
                if message.reference == reference:
                    return message
        return None


def rebasing_http_client(base_url: str):
    """A twilio HttpClient that sends every API call to `base_url` instead of https://api.twilio.com
    (a local stand-in in tests, or an egress proxy). Paths and query strings are kept."""
    from twilio.http.http_client import TwilioHttpClient

    base = urlsplit(base_url.rstrip("/"))

    class RebasingHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            parts = urlsplit(url)
            url = urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, parts.fragment))
            return super().request(method, url, *args, **kwargs)

    return RebasingHttpClient(timeout=10)


class TwilioBackend(SmsBackend):
    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, status_callback_base: str | None = None,
                 api_base_url: str | None = None, http_client=None):
        from twilio.rest import Client
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if http_client is None and api_base_url:
            http_client = rebasing_http_client(api_base_url)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_base = status_callback_base.rstrip("/") if status_callback_base else None

    def status_callback(self, reference: str) -> str | None:
        if not self.status_callback_base:
            return None
        return f"{self.status_callback_base}/sms/twilio/status?ref={quote(reference)}"

    def send(self, to: str, body: str, reference: str) -> str:
        from twilio.base.exceptions import TwilioException, TwilioRestException
        params = {"to": to, "body": body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        callback = self.status_callback(reference)
        if callback:
            params["status_callback"] = callback
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except (TwilioException, OSError) as exc:  # requests' connection errors are OSErrors
            raise SendError(f"network error: {exc}", code="network", transient=True) from exc
        return message.sid

    def find(self, to, body, reference, since):
        """Twilio keeps no reference of ours on the Message resource, so look at the latest messages
        to this number created since the attempt began and match the body."""
        from twilio.base.exceptions import TwilioException
        try:
            recent = self.client.messages.list(to=to, limit=20)
        except (TwilioException, OSError) as exc:
            raise SendError(f"could not list messages: {exc}", code="network", transient=True) from exc
        floor = since - timedelta(seconds=60)  # clock skew; identical texts within 10 min are `duplicate`
        for message in recent:
            created = message.date_created
            if message.body == body and (created is None or created >= floor):
                return ProviderMessage(sid=message.sid, to=message.to, body=message.body, status=message.status,
                                       created_at=created)
        return None


def _classify(exc) -> SendError:
    code = str(exc.code) if exc.code is not None else None
    status = exc.status
    transient = status == 429 or (status is not None and status >= 500) or code in TRANSIENT_CODES
    return SendError(exc.msg or str(exc), code=code or str(status), status=status, transient=transient)


@dataclass
class _BackendSlot:
    backend: SmsBackend | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def build_backend(config: dict) -> SmsBackend:
    name = (config.get("SMS_BACKEND") or "console").lower()
    if name == "console":
        return ConsoleBackend(echo=not config.get("TESTING"))
    if name == "twilio":
        return TwilioBackend(
            account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
            from_number=config.get("TWILIO_FROM_NUMBER"),
            messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
            status_callback_base=config.get("PUBLIC_BASE_URL"), api_base_url=config.get("TWILIO_API_BASE_URL"))
    raise ValueError(f"unknown SMS_BACKEND {name!r}: use console or twilio")


def get_backend(app: Flask | None = None) -> SmsBackend:
    app = app or current_app._get_current_object()
    slot = app.extensions.setdefault("gridpatrol.sms_backend", _BackendSlot())
    if slot.backend is None:
        with slot.lock:
            if slot.backend is None:
                slot.backend = build_backend(app.config)
    return slot.backend


def set_backend(app: Flask, backend: SmsBackend) -> None:
    """Tests and embedders swap the backend (e.g. a twilio client with a custom http_client)."""
    app.extensions.setdefault("gridpatrol.sms_backend", _BackendSlot()).backend = backend
