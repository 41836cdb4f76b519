"""Twilio's Messages API behind the provider interface (deployments outside China).

`send` raises `SendError` with a kind; Twilio's error codes are mapped here (`kind_of`) and nowhere else
(webhook.py reads a delivery report's code through it). `find`
answers "did Twilio already accept this?" after a crash between its answer and our commit — the outbox
reconciles with it instead of sending blindly a second time.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import quote, urlsplit, urlunsplit

from sms.providers.base import (INVALID_NUMBER, OPTED_OUT, PROVIDER_DOWN, RATE_LIMITED, REJECTED_CONTENT,
                                TRANSIENT, OutgoingSms, Provider, ProviderMessage, SendError)
from core.settings import ConfigError

log = logging.getLogger(__name__)

# Twilio error codes → kinds. 30003 (unreachable handset) is transient; 21610 (recipient replied STOP)
# and 21211 (not a valid number) are permanent and change what we do next.
TRANSIENT_CODES = {"30003", "30001", "30008"}
RATE_LIMIT_CODES = {"20429", "14107"}
OPTED_OUT_CODES = {"21610"}
INVALID_NUMBER_CODES = {"21211", "21614", "21612"}
DOWN_CODES = {"20003", "20005"}  # authentication failed / account suspended: nothing will get through


def kind_of(code: str | None, status: int | None = None) -> str:
    code = str(code) if code is not None else None
    if code in OPTED_OUT_CODES:
        return OPTED_OUT
    if code in INVALID_NUMBER_CODES:
        return INVALID_NUMBER
    if status == 429 or code in RATE_LIMIT_CODES:
        return RATE_LIMITED
    if code in DOWN_CODES or status in (401, 403):
        return PROVIDER_DOWN
    if code in TRANSIENT_CODES or (status is not None and status >= 500):
        return TRANSIENT
    return REJECTED_CONTENT


def rebasing_http_client(base_url: str):
    """A twilio HttpClient that sends every API call to `base_url` instead of https://api.twilio.com
    (a local stand-in in tests, or an egress proxy). Paths and query strings are kept."""
    # local: the provider's SDK loads only when it is configured
    from twilio.http.http_client import TwilioHttpClient

    base = urlsplit(base_url.rstrip("/"))

    class RebasingHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            parts = urlsplit(url)
            url = urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, parts.fragment))
            return super().request(method, url, *args, **kwargs)

    return RebasingHttpClient(timeout=10)


class TwilioProvider(Provider):
    name = "twilio"
    two_way = True

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str | None = None,
                 messaging_service_sid: str | None = None, status_callback_base: str | None = None,
                 api_base_url: str | None = None, http_client=None):
        # local: the provider's SDK loads only when it is configured
        from twilio.rest import Client
        if not (from_number or messaging_service_sid):
            raise ValueError("Twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if http_client is None and api_base_url:
            http_client = rebasing_http_client(api_base_url)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.status_callback_base = status_callback_base.rstrip("/") if status_callback_base else None

    @classmethod
    def from_config(cls, config: dict) -> "TwilioProvider":
        for variable in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
            if not config.get(variable):
                raise ConfigError(f"the twilio SMS provider needs {variable}")
        if not (config.get("TWILIO_FROM_NUMBER") or config.get("TWILIO_MESSAGING_SERVICE_SID")):
            raise ConfigError("the twilio SMS provider needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        return cls(account_sid=config["TWILIO_ACCOUNT_SID"], auth_token=config["TWILIO_AUTH_TOKEN"],
                   from_number=config.get("TWILIO_FROM_NUMBER"),
                   messaging_service_sid=config.get("TWILIO_MESSAGING_SERVICE_SID"),
                   status_callback_base=config.get("PUBLIC_BASE_URL"),
                   api_base_url=config.get("TWILIO_API_BASE_URL"))

    def status_callback(self, reference: str) -> str | None:
        if not self.status_callback_base:
            return None
        return f"{self.status_callback_base}/sms/twilio/status?ref={quote(reference)}"

    def send(self, message: OutgoingSms) -> str:
        # local: the provider's SDK loads only when it is configured
        from twilio.base.exceptions import TwilioException, TwilioRestException
        to, body, reference = message.to, message.body, message.reference
        params = {"to": to, "body": body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        callback = self.status_callback(reference)
        if callback:
            params["status_callback"] = callback
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as exc:
            raise _classify(exc) from exc
        except (TwilioException, OSError) as exc:  # requests' connection errors are OSErrors
            raise SendError(f"network error: {exc}", kind=TRANSIENT, code="network", maybe_sent=True) from exc
        except ValueError as exc:  # a 2xx whose body is not JSON: Twilio (or a proxy) answered garbage
            raise SendError(f"unreadable answer: {exc}", kind=TRANSIENT, code="garbage", maybe_sent=True) from exc
        if not getattr(created, "sid", None):
            raise SendError("answer without a message sid", kind=TRANSIENT, code="garbage", maybe_sent=True)
        return created.sid

    def find(self, message: OutgoingSms, since):
        """Twilio keeps no reference of ours on the Message resource, so look at the latest messages
        to this number created since the attempt began and match the body."""
        # local: the provider's SDK loads only when it is configured
        from twilio.base.exceptions import TwilioException
        to, body = message.to, message.body
        try:
            recent = self.client.messages.list(to=to, limit=20)
        except (TwilioException, OSError, ValueError) as exc:
            raise SendError(f"could not list messages: {exc}", kind=TRANSIENT, code="network") from exc
        floor = since - timedelta(seconds=60)  # clock skew; identical texts within 10 min are `duplicate`
        for sent in recent:
            created = sent.date_created
            if sent.body == body and (created is None or created >= floor):
                return ProviderMessage(sid=sent.sid, to=sent.to, body=sent.body, status=sent.status,
                                       created_at=created)
        return None

    def health(self) -> dict:
        return {"configured": True, "from": self.from_number or self.messaging_service_sid}


def _classify(exc) -> SendError:
    code = str(exc.code) if exc.code is not None else None
    status = exc.status
    return SendError(exc.msg or str(exc), kind=kind_of(code, status), code=code or str(status), status=status)
