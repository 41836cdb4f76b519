"""The HTTP server every provider's stand-in runs on: a ThreadingHTTPServer on a free port of 127.0.0.1,
with a `handle(handler, method)` hook each stand-in implements, and helpers to answer, read and drop.

A stand-in answers like the real service, so the provider's real client library (the official SDK) goes
through its whole path; tests and benchmarks script its answers and stop it to play a service gone dark.
"""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandInServer:
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
