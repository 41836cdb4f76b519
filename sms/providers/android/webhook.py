"""Verify and read one webhook delivery from "SMS Gateway for Android".

The app signs each POST: X-Signature is the hex HMAC-SHA256, keyed by the signing key (Settings → Webhooks
→ Signing Key), of the raw body followed by X-Timestamp (Unix seconds). We refuse a bad or missing signature
(403) and a timestamp more than 5 minutes away from our clock (a replay), before parsing anything.

The body: {"id": event id, "event": "sms:received" | "sms:sent" | "sms:delivered" | "sms:failed" |
"system:ping", "deviceId", "webhookId", "payload": {...}}. For sms:received the payload's `messageId` is a
hash of the content and NOT unique, so a text is identified by (sender, text, receivedAt) instead.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

from sms.providers.base import (INVALID_NUMBER, TRANSIENT, InboundSms, StatusUpdate, WebhookEvent,
                                WebhookRejected)

PROVIDER = "android"
REPLAY_WINDOW_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024  # a text is at most a few KB; anything bigger is not from the app
STATUS_EVENTS = {"sms:sent": ("sent", "sentAt"), "sms:delivered": ("delivered", "deliveredAt"),
                 "sms:failed": ("failed", "failedAt")}
KNOWN_EVENTS = {"sms:received", "system:ping", *STATUS_EVENTS}


def sign(signing_key: str, raw: bytes, timestamp: str) -> str:
    """The app's signature (also used by tests and the bench to play the phone)."""
    return hmac.new(signing_key.encode(), raw + timestamp.encode(), hashlib.sha256).hexdigest()


def verify(raw: bytes, headers, *, signing_key: str | None, now: float | None = None) -> None:
    if not signing_key:
        raise WebhookRejected(403, "not_configured", "webhooks are refused until ANDROID_SMS_SIGNING_KEY is set")
    signature = (headers.get("X-Signature") or "").strip().lower()
    timestamp = (headers.get("X-Timestamp") or "").strip()
    if not signature or not timestamp:
        raise WebhookRejected(403, "bad_signature", "missing X-Signature or X-Timestamp")
    if not hmac.compare_digest(sign(signing_key, raw, timestamp), signature):
        raise WebhookRejected(403, "bad_signature", "the X-Signature does not match the body and X-Timestamp")
    try:
        stamp = int(timestamp)
    except ValueError:
        raise WebhookRejected(403, "bad_timestamp", "X-Timestamp must be Unix seconds") from None
    if abs((now if now is not None else time.time()) - stamp) > REPLAY_WINDOW_SECONDS:
        raise WebhookRejected(403, "replayed", "X-Timestamp is more than 5 minutes from now: refused as a replay")


def parse_event(raw: bytes, headers, *, signing_key: str | None, now: float | None = None) -> WebhookEvent:
    if len(raw) > MAX_BODY_BYTES:
        raise WebhookRejected(413, "payload_too_large", f"a webhook body is at most {MAX_BODY_BYTES} bytes")
    verify(raw, headers, signing_key=signing_key, now=now)
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(400, "bad_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise WebhookRejected(400, "bad_json", "the body must be a JSON object")
    event = body.get("event")
    if event not in KNOWN_EVENTS:
        raise WebhookRejected(422, "unknown_event", f"unknown webhook event {event!r}",
                              {"event": [f"one of {sorted(KNOWN_EVENTS)}"]})
    event_id = _string(body, "id", required=True, limit=100)
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise WebhookRejected(422, "validation_failed", "payload must be an object", {"payload": ["required"]})
    if event == "sms:received":
        sender = _string(payload, "sender", limit=64) or _string(payload, "phoneNumber", required=True, limit=64)
        text = payload.get("message")
        if not isinstance(text, str):
            raise WebhookRejected(422, "validation_failed", "payload.message must be a string",
                                  {"payload.message": ["required"]})
        received = _instant(payload, "receivedAt")
        digest = hashlib.sha256(json.dumps([sender, text, received.isoformat()], ensure_ascii=False)
                                .encode()).hexdigest()[:40]
        inbound = InboundSms(provider=PROVIDER, message_sid=f"and:{digest}", sender=sender, body=text,
                             to=str(payload.get("recipient") or payload.get("simNumber") or ""), received_at=received)
        return WebhookEvent(PROVIDER, event_id, "inbound", inbound=inbound, data=body)
    if event == "system:ping":
        health = payload.get("health") if isinstance(payload.get("health"), dict) else {}
        return WebhookEvent(PROVIDER, event_id, "heartbeat", data={"deviceId": body.get("deviceId"),
                                                                     "health": health})
    status, field = STATUS_EVENTS[event]
    message_id = _string(payload, "messageId", required=True, limit=64)
    reason = payload.get("reason") if isinstance(payload.get("reason"), str) else None
    kind = None
    if status == "failed":
        upper = (reason or "").upper()
        if "NO_SERVICE" in upper or "RADIO_OFF" in upper or "GENERIC" in upper:
            status, kind = "undelivered", TRANSIENT
        elif "DESTINATION" in upper or "INVALID" in upper:
            kind = INVALID_NUMBER
    at = _instant(payload, field, required=False)
    update = StatusUpdate(provider=PROVIDER, status=status, reference=message_id, sid=None,
                          error_code=(reason or None) and reason[:20], error_kind=kind, at=at)
    return WebhookEvent(PROVIDER, event_id, "status", status=update, data=body)


def _string(obj: dict, key: str, *, required: bool = False, limit: int = 200) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise WebhookRejected(422, "validation_failed", f"{key} is required", {key: ["required"]})
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise WebhookRejected(422, "validation_failed", f"{key} must be a string", {key: ["not a string"]})
    value = str(value)
    if len(value) > limit:
        raise WebhookRejected(422, "validation_failed", f"{key} is longer than {limit}", {key: ["too long"]})
    return value


def _instant(obj: dict, key: str, *, required: bool = True) -> datetime | None:
    raw = obj.get(key)
    if raw is None and not required:
        return None
    if not isinstance(raw, str):
        raise WebhookRejected(422, "validation_failed", f"{key} must be an ISO 8601 timestamp", {key: ["required"]})
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise WebhookRejected(422, "validation_failed", f"{key} is not an ISO 8601 timestamp",
                              {key: ["not a timestamp"]}) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # the app sends an offset; a bare time is taken as UTC
    return value.astimezone(timezone.utc)
