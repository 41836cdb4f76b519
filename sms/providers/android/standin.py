"""A local stand-in for the office phone's "SMS Gateway for Android" API, driven by the real
`android-sms-gateway` client: POST /messages, GET /messages/{id}, GET /health, Basic auth; and the phone's
signed webhooks (`signed_webhook`, `received_payload`) as the app sends them. Tests script its answers
(errors, garbage, dropped connections), inspect what arrived, and stop it to play a phone that went dark.
Nothing of ours is patched.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sms.providers.standin_server import StandInServer

ANDROID_USER, ANDROID_PASSWORD, ANDROID_SIGNING_KEY = "office", "phone-password-123", "signing-key-0123456789"
ANDROID_NUMBER = "+8613900000000"


class AndroidPhoneStandIn(StandInServer):
    """The office phone's local server (or sms-gate.app's cloud API: the same 3rd-party API)."""

    def __init__(self, username=ANDROID_USER, password=ANDROID_PASSWORD):
        self.username, self.password = username, password
        self.messages: dict[str, dict] = {}
        self.sent: list[dict] = []  # in arrival order: {"id", "to", "text", "at"}
        self.script: list = []      # next answers to POST /messages: "ok", 500, 503, 400, 401, "garbage", "drop"
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    def handle(self, handler, method):
        raw = self.body_of(handler)
        path = urlsplit(handler.path).path
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if handler.headers.get("Authorization") != expected:
            return self.answer(handler, 401, {"message": "Unauthorized"})
        if method == "GET" and path == "/health":
            return self.answer(handler, 200, {"status": "pass", "version": "1.40.0", "releaseId": 1, "checks": {}})
        if method == "POST" and path == "/messages":
            with self.lock:
                answer = self.script.pop(0) if self.script else "ok"
            if answer == "garbage":
                return self.answer(handler, 202, b"<html>captive portal</html>", "text/html")
            if isinstance(answer, int):
                return self.answer(handler, answer, {"message": f"stand-in error {answer}"})
            request = json.loads(raw)
            message_id = request.get("id") or uuid.uuid4().hex
            numbers = request["phoneNumbers"]
            if not all(n.startswith("+") and n[1:].isdigit() for n in numbers):
                return self.answer(handler, 400, {"message": "invalid phone number"})
            state = {"id": message_id, "deviceId": "standin-device", "state": "Pending", "isHashed": False,
                     "isEncrypted": False, "createdAt": datetime.now(timezone.utc).isoformat(),
                     "recipients": [{"phoneNumber": n, "state": "Pending"} for n in numbers]}
            with self.arrived:
                if message_id not in self.messages:  # the app keeps one message per id
                    self.messages[message_id] = state
                    for number in numbers:
                        self.sent.append({"id": message_id, "to": number, "text": request["textMessage"]["text"],
                                          "at": time.monotonic()})
                self.arrived.notify_all()
            if answer == "drop":
                return self.drop(handler)
            return self.answer(handler, 202, state)
        if method == "GET" and path.startswith("/messages/"):
            state = self.messages.get(path.rsplit("/", 1)[1])
            return self.answer(handler, 200, state) if state else self.answer(handler, 404, {"message": "not found"})
        return self.answer(handler, 404, {"message": "not found"})

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.sent) < count and time.monotonic() < deadline:
                self.arrived.wait(0.05)
            return list(self.sent)


def android_config(phone: AndroidPhoneStandIn | None, **extra) -> dict:
    config = {"SMS_BACKEND": "android", "ANDROID_SMS_URL": phone.base_url if phone else "http://127.0.0.1:9",
              "ANDROID_SMS_USERNAME": ANDROID_USER, "ANDROID_SMS_PASSWORD": ANDROID_PASSWORD,
              "ANDROID_SMS_SIGNING_KEY": ANDROID_SIGNING_KEY, "ANDROID_SMS_PHONE_NUMBER": ANDROID_NUMBER,
              "ANDROID_SMS_TIMEOUT_SECONDS": 2}
    config.update(extra)
    return config


def signed_webhook(event: str, payload: dict, *, key: str = ANDROID_SIGNING_KEY, event_id: str | None = None,
                   timestamp: int | None = None, raw: bytes | None = None) -> tuple[bytes, dict]:
    """A webhook body and headers exactly as the app sends them: HMAC-SHA256(key, body + X-Timestamp)."""
    if raw is None:
        raw = json.dumps({"deviceId": "standin-device", "event": event, "id": event_id or uuid.uuid4().hex[:21],
                          "payload": payload, "webhookId": "wh-1"}, ensure_ascii=False).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(key.encode(), raw + stamp.encode(), hashlib.sha256).hexdigest()
    return raw, {"X-Signature": signature, "X-Timestamp": stamp, "Content-Type": "application/json"}


def received_payload(sender: str, text: str, received_at: datetime | None = None) -> dict:
    at = (received_at or datetime.now(timezone(timedelta(hours=8)))).isoformat(timespec="milliseconds")
    return {"messageId": hashlib.md5(text.encode()).hexdigest()[:16], "message": text, "phoneNumber": sender,
            "sender": sender, "recipient": ANDROID_NUMBER, "simNumber": 1, "receivedAt": at}
