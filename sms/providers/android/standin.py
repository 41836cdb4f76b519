"""Local stand-ins for the SMS providers' real APIs, driven through their real client libraries.

Each is a real HTTP server on 127.0.0.1 (a free port) answering like the real service: the office phone's
"SMS Gateway for Android" API (POST /messages, GET /messages/{id}, GET /health, Basic auth) and Alibaba
Cloud's dysmsapi RPC API (SendSms, SendBatchSms, QuerySendDetails; business errors as HTTP 200 with a
Code). Tests script answers (errors, garbage, dropped connections), inspect what arrived, and stop a
stand-in to play a phone that went dark. Nothing of ours is patched.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ANDROID_USER, ANDROID_PASSWORD, ANDROID_SIGNING_KEY = "office", "phone-password-123", "signing-key-0123456789"
ANDROID_NUMBER = "+8613900000000"
ALIYUN_KEY_ID, ALIYUN_SECRET, ALIYUN_SIGN = "LTAI5tTestKeyId000000", "test-secret-0123456789", "某街道网格办"
ALIYUN_TEMPLATES = {"missed_patrol": "SMS_100000001", "missed_patrol_up": "SMS_100000002",
                    "overdue": "SMS_100000003", "escalation": "SMS_100000004", "overdue_digest": "SMS_100000005",
                    "weekly_summary": "SMS_100000006", "provider_failover": "SMS_100000007",
                    "notice": "SMS_100000008"}


class _Server:
    """A ThreadingHTTPServer on a free port with a `handle(handler, method)` hook."""

    def start(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # no keep-alive: a stopped stand-in refuses at once

            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.handle(self, "GET")

            def do_POST(self):
                owner.handle(self, "POST")

            def do_DELETE(self):
                owner.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.running = True
        return self

    def stop(self) -> None:
        if getattr(self, "running", False):
            self.running = False
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @staticmethod
    def body_of(handler) -> bytes:
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    @staticmethod
    def answer(handler, status: int, payload, content_type="application/json") -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    @staticmethod
    def drop(handler) -> None:
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)


class AndroidPhoneStandIn(_Server):
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


class AliyunStandIn(_Server):
    """dysmsapi.aliyuncs.com (version 2017-05-25): SendSms, SendBatchSms, QuerySendDetails."""

    def __init__(self, key_id=ALIYUN_KEY_ID):
        self.key_id = key_id
        self.requests: list[dict] = []
        self.sent: list[dict] = []   # one per recipient: biz_id, phone, template, params, out_id, status, err
        self.script: list = []       # next answers to Send*: "ok", an isv.* code, 503, "garbage", "drop"
        self.lock = threading.Lock()
        self.batch_sizes: list[int] = []
        self.next_status = 3         # what QuerySendDetails reports: 3 delivered, 2 failed, 1 waiting

    def handle(self, handler, method):
        raw = self.body_of(handler)
        parts = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        params.update({k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()})
        action = handler.headers.get("x-acs-action") or params.get("Action")
        auth = handler.headers.get("Authorization", "") + params.get("AccessKeyId", "")
        with self.lock:
            self.requests.append({"action": action, "params": params})
        if self.key_id not in auth:
            return self.answer(handler, 404, {"Code": "InvalidAccessKeyId.NotFound",
                                              "Message": "Specified access key is not found."})
        if action in ("SendSms", "SendBatchSms"):
            with self.lock:
                answer = self.script.pop(0) if self.script else "ok"
            if answer == "garbage":
                return self.answer(handler, 200, b"<html>502 Bad Gateway</html>", "text/html")
            if answer == "drop":
                self._store(action, params)
                return self.drop(handler)
            if isinstance(answer, int):
                return self.answer(handler, answer, {"Code": "ServiceUnavailable", "Message": "stand-in",
                                                     "RequestId": uuid.uuid4().hex})
            if answer != "ok":
                return self.answer(handler, 200, {"Code": answer, "Message": "stand-in error",
                                                  "RequestId": uuid.uuid4().hex})
            phones = (json.loads(params["PhoneNumberJson"]) if action == "SendBatchSms"
                      else params["PhoneNumbers"].split(","))
            if not all(p.isdigit() and len(p) >= 11 for p in phones):
                return self.answer(handler, 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号",
                                                  "RequestId": uuid.uuid4().hex})
            biz_id = self._store(action, params)
            return self.answer(handler, 200, {"Code": "OK", "Message": "OK", "BizId": biz_id,
                                              "RequestId": uuid.uuid4().hex})
        if action == "QuerySendDetails":
            phone, biz = params.get("PhoneNumber"), params.get("BizId")
            rows = [s for s in self.sent if s["phone"] == phone and (not biz or s["biz_id"] == biz)]
            dtos = [{"PhoneNum": s["phone"], "SendStatus": self.next_status, "ErrCode": "DELIVERED"
                     if self.next_status == 3 else "MOBILE_NOT_ON_SERVICE", "TemplateCode": s["template"],
                     "Content": s["text"], "SendDate": s["at"], "ReceiveDate": s["at"], "OutId": s["out_id"]}
                    for s in rows]
            return self.answer(handler, 200, {"Code": "OK", "Message": "OK", "RequestId": uuid.uuid4().hex,
                                              "TotalCount": len(dtos), "SmsSendDetailDTOs": {"SmsSendDetailDTO": dtos}})
        return self.answer(handler, 400, {"Code": "InvalidAction.NotFound", "Message": f"unknown action {action}"})

    def _store(self, action: str, params: dict) -> str:
        from sms.providers.aliyun.templates import render
        codes = {v: k for k, v in ALIYUN_TEMPLATES.items()}
        biz_id = f"{len(self.sent) + 1:06d}^{uuid.uuid4().int % 10**10}"
        if action == "SendBatchSms":
            phones = json.loads(params["PhoneNumberJson"])
            values = json.loads(params["TemplateParamJson"])
            out_ids = [params.get("OutId")] * len(phones)
        else:
            phones, values, out_ids = ([params["PhoneNumbers"]], [json.loads(params["TemplateParam"])],
                                       [params.get("OutId")])
        at = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
        with self.lock:
            self.batch_sizes.append(len(phones))
            for phone, value, out_id in zip(phones, values, out_ids):
                template = codes.get(params["TemplateCode"], "notice")
                self.sent.append({"biz_id": biz_id, "phone": phone, "template": params["TemplateCode"],
                                  "params": value, "out_id": out_id, "at": at,
                                  "text": render(template, value) if template in codes.values() else ""})
        return biz_id


def aliyun_config(stand_in: AliyunStandIn | None, **extra) -> dict:
    config = {"ALIYUN_SMS_ACCESS_KEY_ID": ALIYUN_KEY_ID, "ALIYUN_SMS_ACCESS_KEY_SECRET": ALIYUN_SECRET,
              "ALIYUN_SMS_SIGN_NAME": ALIYUN_SIGN, "ALIYUN_SMS_TEMPLATES": json.dumps(ALIYUN_TEMPLATES),
              "ALIYUN_SMS_ENDPOINT": stand_in.base_url if stand_in else "http://127.0.0.1:9"}
    config.update(extra)
    return config
