"""A local TCP proxy the tests start in front of PostgreSQL or Redis, to cut them without touching the shared
servers: `cut()` drops every open connection and refuses new ones (connection refused: the listening
socket is closed), `restore()` listens again on the same port. `drop()` only resets the open connections
(a phone's link blinking: it reconnects at once), and `up`/`down` count the bytes each way (the field
benchmark's wire figures). Threads only; no external tool."""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

import pytest


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, listen_port: int = 0):
        self.target = (target_host, target_port)
        self.port = listen_port
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.cut_count = 0
        self.up = self.down = 0  # bytes client → target, target → client
        self.start()

    # ------------------------------------------------------------ control
    def start(self) -> "TcpProxy":
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(128)
        self.port = server.getsockname()[1]
        self._server = server
        self._thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._thread.start()
        return self

    def cut(self) -> None:
        """Drop every connection and stop listening (clients see resets, then connection refused)."""
        self.cut_count += 1
        server, self._server = self._server, None
        if server is not None:
            try:
                server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            server.close()
        self.drop()

    def reset_counts(self) -> None:
        with self._lock:
            self.up = self.down = 0

    def drop(self) -> None:
        """Reset every open connection; new ones are still accepted."""
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def restore(self) -> None:
        if self._server is None:
            self.start()

    def close(self) -> None:
        self.cut()

    def url_for(self, url: str) -> str:
        """The same URL with host:port replaced by the proxy's."""
        host, port = self.target
        return url.replace(f"{host}:{port}", f"127.0.0.1:{self.port}")

    # ------------------------------------------------------------ plumbing
    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            if self._server is not server:
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns.update((client, upstream))
            for a, b, direction in ((client, upstream, "up"), (upstream, client, "down")):
                threading.Thread(target=self._pipe, args=(a, b, direction), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._lock:
                    setattr(self, direction, getattr(self, direction) + len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._conns.discard(source)
                self._conns.discard(sink)


@pytest.fixture
def pg_proxy(postgres_url):
    """A proxy in front of the suite's PostgreSQL (`pg_proxy.url_for(postgres_url)`), to cut it mid-test
    (registered for the whole suite by `pytest_plugins` in tests/conftest.py)."""
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname, parts.port or 5432)
    yield proxy
    proxy.close()
