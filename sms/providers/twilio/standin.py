"""A local stand-in for Twilio's Messages API, and Twilio's signed webhooks as Twilio sends them.

The stand-in is a real HTTP server on 127.0.0.1 (ports 8400-8499) so the real `twilio` Client, with a
rebasing `http_client`, goes through requests, auth, form encoding and error parsing exactly as in
production. Tests script its answers (201, 429, 400 with an error code, dropped connections) and assert on
the exact requests it received.
"""
from __future__ import annotations

import base64
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "https://gridpatrol.example.org"
PORT_RANGE = range(8400, 8500)


@dataclass
class ReceivedRequest:
    method: str
    path: str
    query: dict
    form: dict
    headers: dict

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return user, password


@dataclass
class TwilioStandIn:
    """Answers like api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json (create and list)."""

    requests: list[ReceivedRequest] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    script: list = field(default_factory=list)  # next answers for POSTs: "ok", 429, (400, 21211), "drop"
    port: int = 0

    def start(self) -> "TwilioStandIn":
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _record(self) -> ReceivedRequest:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                received = ReceivedRequest(
                    method=self.command, path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    form={k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()},
                    headers=dict(self.headers.items()))
                stand_in.requests.append(received)
                return received

            def _json(self, status: int, payload: dict):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                received = self._record()
                answer = stand_in.script.pop(0) if stand_in.script else "ok"
                if answer == "ok" and not re.match(r"^\+[1-9]\d{6,14}$", received.form.get("To", "")):
                    answer = (400, 21211)  # Twilio: "The 'To' number is not a valid phone number."
                if answer == "garbage":  # a proxy's error page where JSON should be
                    body = b"<html>bad gateway</html>"
                    self.send_response(201)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if answer == "drop":  # accepted, then the connection dies before the answer
                    stand_in._store(received)
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if answer == "ok":
                    self._json(201, stand_in._store(received))
                    return
                status, code = (answer, 20429) if answer == 429 else answer
                self._json(status, {"code": code, "message": f"stand-in error {code}",
                                    "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})

            def do_GET(self):
                received = self._record()
                to = received.query.get("To")
                rows = [m for m in reversed(stand_in.messages) if to is None or m["to"] == to]
                size = int(received.query.get("PageSize", 50))
                self._json(200, {"messages": rows[:size], "page": 0, "page_size": size, "start": 0,
                                 "end": max(len(rows[:size]) - 1, 0), "uri": received.path,
                                 "first_page_uri": received.path, "next_page_uri": None,
                                 "previous_page_uri": None})

        for port in PORT_RANGE:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            except OSError:
                continue
            self.port = port
            break
        else:
            raise RuntimeError("no free port in 8400-8499 for the Twilio stand-in")
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _store(self, received: ReceivedRequest) -> dict:
        now = format_datetime(datetime.now(timezone.utc), usegmt=True)
        sid = f"SM{len(self.messages) + 1:032x}"
        account = received.path.split("/")[3]
        message = {
            "sid": sid, "account_sid": account, "to": received.form.get("To"), "from": received.form.get("From"),
            "messaging_service_sid": received.form.get("MessagingServiceSid"), "body": received.form.get("Body"),
            "status": "queued", "num_segments": "1", "num_media": "0", "direction": "outbound-api",
            "api_version": "2010-04-01", "price": None, "price_unit": "USD", "error_code": None,
            "error_message": None, "date_created": now, "date_updated": now, "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json", "subresource_uris": {}}
        self.messages.append(message)
        return message

    @property
    def posts(self) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.method == "POST"]


def twilio_config(stand_in: TwilioStandIn) -> dict:
    return {"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": stand_in.base_url,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL}


def signed_post(client, path: str, params: dict, *, token: str = AUTH_TOKEN, base: str = PUBLIC_BASE_URL,
                signature: str | None = None, **kwargs):
    """POST a form like Twilio does, signed with Twilio's own algorithm over the public URL."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(base + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature}, **kwargs)


_sid_counter = [0]


def inbound_params(sender: str, body: str, sid: str | None = None, to: str = FROM_NUMBER) -> dict:
    if sid is None:
        _sid_counter[0] += 1
        sid = f"SM{_sid_counter[0]:032x}"
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": to,
            "Body": body, "NumMedia": "0", "NumSegments": "1"}
