"""A tiny KuCoin stand-in for transport tests: checks every signature as KuCoin does
(spec 2.2-2.7), records what it received, and answers from canned routes or scripted faults.

Not the project's sandbox (sandbox/): just enough to see what KuCoin would see."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import unquote_plus, urlsplit


def _b64hmac(key: str, msg: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), msg, hashlib.sha256).digest()).decode()


@dataclass
class Received:
    method: str
    path: str
    raw_query: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    verified_partner: bool = False

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class FakeKuCoin:
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # apiKey -> (secret, passphrase)
    partners: dict[str, tuple[str, str]] = field(default_factory=dict)  # partner -> (broker key, broker name)
    routes: dict[tuple[str, str], Callable[["Received"], Any]] = field(default_factory=dict)
    faults: list[tuple] = field(default_factory=list)  # consumed one per request, in order
    skew_ms: int = 0  # KuCoin's clock = local clock + skew
    rate_headers: tuple[int, int, int] | None = None
    received: list[Received] = field(default_factory=list)
    executed: list[Received] = field(default_factory=list)  # requests that reached the business logic
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- lifecycle --
    def start(self) -> "FakeKuCoin":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # keep test output quiet
                pass

            def do_GET(self):
                fake._handle(self)

            do_POST = do_DELETE = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.skew_ms

    def route(self, method: str, path: str, data: Any = None, fn: Callable | None = None) -> None:
        self.routes[(method, path)] = fn or (lambda req: data)

    # -- request handling --
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        query = [tuple((unquote_plus(p.split("=", 1)[0]), unquote_plus(p.split("=", 1)[1] if "=" in p else "")))
                 for p in split.query.split("&") if p]
        req = Received(h.command, split.path, split.query, query, {k: v for k, v in h.headers.items()}, body)
        with self.lock:
            self.received.append(req)
            fault = self.faults.pop(0) if self.faults else None
        if fault and fault[0] == "drop_before":
            return self._drop(h)
        if fault and fault[0] == "sleep":
            time.sleep(fault[1])
        if split.path == "/api/v1/timestamp":
            return self._send(h, 200, {"code": "200000", "data": self.now_ms()})
        err = self._check_auth(req)
        if err:
            return self._send(h, err[0], {"code": err[1], "msg": err[2]})
        if fault and fault[0] == "status":
            return self._send(h, fault[1], fault[2], extra=fault[3] if len(fault) > 3 else None)
        if fault and fault[0] == "raw":
            return self._send_raw(h, fault[1], fault[2])
        handler = self.routes.get((h.command, split.path))
        if handler is None:
            return self._send(h, 404, {"code": "404000", "msg": "Not Found"})
        with self.lock:
            self.executed.append(req)
        result = handler(req)
        if fault and fault[0] == "drop_after":
            return self._drop(h)
        if isinstance(result, tuple):  # (http status, envelope)
            return self._send(h, result[0], result[1])
        return self._send(h, 200, {"code": "200000", "data": result})

    def _check_auth(self, req: Received):
        hd = {k.lower(): v for k, v in req.headers.items()}
        needed = ["kc-api-key", "kc-api-sign", "kc-api-timestamp", "kc-api-passphrase"]
        if any(k not in hd for k in needed):
            return 400, "400001", "Please check the header of your request"
        ts = hd["kc-api-timestamp"]
        if not ts.isdigit() or abs(int(ts) - self.now_ms()) > 5000:
            return 400, "400002", "Invalid KC-API-TIMESTAMP"
        if hd["kc-api-key"] not in self.keys:
            return 401, "400003", "KC-API-KEY not exists"
        secret, passphrase = self.keys[hd["kc-api-key"]]
        if hd.get("kc-api-key-version") not in ("2", "3"):
            return 400, "400009", "Invalid KC-API-KEY-VERSION"
        if hd["kc-api-passphrase"] != _b64hmac(secret, passphrase.encode()):
            return 401, "400004", "Invalid KC-API-PASSPHRASE"
        # KuCoin signs the query in wire order with values decoded (spec 2.3).
        decoded = "&".join(f"{k}={v}" for k, v in req.query)
        target = req.path + ("?" + decoded if decoded else "")
        prehash = (ts + req.method + target).encode() + req.body
        if hd["kc-api-sign"] != _b64hmac(secret, prehash):
            return 401, "400005", "Invalid KC-API-SIGN"
        partner_headers = ["kc-api-partner", "kc-api-partner-sign", "kc-broker-name", "kc-api-partner-verify"]
        present = [k for k in partner_headers if k in hd]
        if present:
            if len(present) != 4:
                return 400, "400201", "partial broker headers"
            if hd["kc-api-partner"] not in self.partners:
                return 400, "400200", "Unknown partner"
            bkey, bname = self.partners[hd["kc-api-partner"]]
            good = hd["kc-api-partner-sign"] == _b64hmac(bkey, (ts + hd["kc-api-partner"] + hd["kc-api-key"]).encode())
            if not good or hd["kc-broker-name"] != bname:
                return 400, "400201", "Invalid KC-API-PARTNER-SIGN"
            req.verified_partner = True
        return None

    def _send(self, h, status: int, payload: Any, extra: dict | None = None) -> None:
        self._send_raw(h, status, json.dumps(payload).encode(), extra)

    def _send_raw(self, h, status: int, raw: bytes, extra: dict | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        headers = dict(extra or {})
        if self.rate_headers and not any(k.startswith("gw-ratelimit") for k in headers):
            limit, remaining, reset = self.rate_headers
            headers.update({"gw-ratelimit-limit": limit, "gw-ratelimit-remaining": remaining,
                            "gw-ratelimit-reset": reset})
        for k, v in headers.items():
            h.send_header(k, str(v))
        h.end_headers()
        h.wfile.write(raw)

    @staticmethod
    def _drop(h) -> None:
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
