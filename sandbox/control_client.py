"""A small client for the control API (standard library only), for tests and scripts that use a
sandbox over HTTP, in this process or another."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request


class ControlError(RuntimeError):
    pass


class SandboxControl:
    def __init__(self, control_url: str, urls: dict | None = None, broker: dict | None = None,
                 oauth: dict | None = None):
        self.control_url = control_url.rstrip("/")
        self.urls = urls or {}
        self.broker = broker or {}
        self.oauth = oauth or {}

    def call(self, method: str, path: str, body=None, query: dict | None = None):
        url = self.control_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                payload = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            raise ControlError(f"{method} {path}: HTTP {e.code} {e.read()[:500]!r}") from None
        if payload.get("code") != "200000":
            raise ControlError(f"{method} {path}: {payload}")
        return payload["data"]

    # -- the operations ----------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> dict:
        return self.call("POST", "/reset", {} if seed is None else {"seed": seed})

    def dump(self) -> dict:
        return self.call("GET", "/state")

    def load(self, state: dict) -> None:
        self.call("POST", "/state", state)

    def info(self) -> dict:
        return self.call("GET", "/info")

    def set_fault(self, kind: str, probability: float | None = None, count: int | None = None, **opts) -> dict:
        body = {"kind": kind, **opts}
        if probability is not None:
            body["probability"] = probability
        if count is not None:
            body["count"] = count
        return self.call("POST", "/faults", body)

    def faults(self) -> list:
        return self.call("GET", "/faults")

    def clear_faults(self, kind: str | None = None) -> None:
        self.call("DELETE", "/faults", query={"kind": kind} if kind else None)

    def set_mark_price(self, symbol: str, price) -> None:
        self.call("POST", "/mark-price", {"symbol": symbol, "price": str(price)})

    def make_deposit(self, uid: str | None, currency: str, amount, chain: str | None = None,
                     address: str | None = None, **extra) -> dict:
        """uid may be None when `address` is a deposit address the sandbox handed out (it says whose)."""
        body = {"currency": currency, "amount": str(amount), **extra}
        if uid is not None:
            body["uid"] = str(uid)
        if chain is not None:
            body["chain"] = chain
        if address is not None:
            body["address"] = address
        return self.call("POST", "/deposits", body)

    def set_withdrawal_status(self, withdrawal_id: str, status: str) -> dict:
        """Move a running (own-account, V3) withdrawal on now: WALLET_PROCESSING, SUCCESS or FAILURE."""
        return self.call("POST", "/withdrawals/status", {"id": withdrawal_id, "status": status})

    def advance_time(self, seconds: float) -> dict:
        return self.call("POST", "/time", {"advance": seconds})

    def set_quota(self, pool: str, limit: int, window_ms: int = 30_000) -> dict:
        return self.call("POST", "/quotas", {"pool": pool, "limit": limit, "windowMs": window_ms})

    def default_quotas(self) -> dict:
        return self.call("POST", "/quotas", {"defaults": True})
