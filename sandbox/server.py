"""HTTP transport: one threaded HTTP/1.1 (keep-alive) server per host family, all on one World.

Spot and futures share paths (/api/v1/orders, /api/v1/timestamp), so each family has its own port.
The response is written with a single send (head and body together) and TCP_NODELAY, which keeps
small keep-alive exchanges free of Nagle/delayed-ACK stalls.
"""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .app import App
from .routes import FAMILIES

_REASONS = {200: "OK", 302: "Found", 303: "See Other", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 415: "Unsupported Media Type", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120                     # idle keep-alive connections end after this

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format, *args):  # quiet: the sandbox is hammered by tests and benches
        pass

    def _handle(self):
        length = self.headers.get("Content-Length")
        try:
            n = int(length) if length else 0
        except ValueError:
            n = 0
        body = self.rfile.read(n) if n > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        out = self.server.app.handle(self.server.family, self.command, self.path, headers, body,
                                     self.client_address[0])
        if out.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        lines = [f"HTTP/1.1 {out.status} {_REASONS.get(out.status, 'Status')}"]
        for k, v in out.headers.items():
            lines.append(f"{k}: {v}")
        lines.append(f"Content-Length: {len(out.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + out.body)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


class _FamilyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app: App, family: str):
        self.app = app
        self.family = family
        self._conns: set = set()
        self._conns_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def track(self, conn, add: bool):
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close_all(self):
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SandboxServer:
    """Four listening sockets (spot, futures, broker, oauth) served by threads.

    ``port=0``: every family on an ephemeral port; ``port=N``: spot N, futures N+1, broker N+2, oauth N+3.
    """

    def __init__(self, world, bind: str = "127.0.0.1", port: int = 0):
        self.world = world
        self.app = App(world)
        self.bind = bind
        self.servers: dict[str, _FamilyServer] = {}
        for i, fam in enumerate(FAMILIES):
            self.servers[fam] = _FamilyServer((bind, port + i if port else 0), self.app, fam)
        self.threads: list[threading.Thread] = []

    @property
    def urls(self) -> dict[str, str]:
        host = self.bind if self.bind not in ("0.0.0.0", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return {fam: f"http://{host}:{s.server_address[1]}" for fam, s in self.servers.items()}

    def start(self) -> "SandboxServer":
        for fam, s in self.servers.items():
            t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                 name=f"sandbox-{fam}", daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self) -> None:
        for s in self.servers.values():
            s.shutdown()
        for s in self.servers.values():
            s.close_all()
            s.server_close()
        for t in self.threads:
            t.join(timeout=5)
        self.threads = []
