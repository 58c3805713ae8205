"""A minimal signed client for the sandbox's own tests, written from kucoin-api.md 2.4 (not from
kucoin/ and not from the SDK), with switches to break each part of a request on purpose."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import requests


def b64_hmac(key: str, msg: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), msg.encode(), hashlib.sha256).digest()).decode()


class Kc:
    def __init__(self, base_url: str, api_key: str, secret: str, passphrase: str, *,
                 partner: str | None = None, broker_key: str | None = None, broker_name: str | None = None,
                 verify: bool = True, session: requests.Session | None = None):
        self.base_url = base_url
        self.api_key, self.secret, self.passphrase = api_key, secret, passphrase
        self.partner, self.broker_key, self.broker_name, self.verify = partner, broker_key, broker_name, verify
        self.s = session or requests.Session()

    @classmethod
    def broker(cls, sandbox, family: str = "broker", **kw):
        b = sandbox.broker
        prefix = "futures_" if family == "futures" else ""
        return cls(sandbox.urls[family], b["api_key"], b["api_secret"], b["api_passphrase"],
                   partner=b[prefix + "partner"], broker_key=b[prefix + "broker_key"],
                   broker_name=b["broker_name"], **kw)

    def headers(self, method: str, path_and_query: str, body: str, *, ts: str | None = None,
                secret: str | None = None, passphrase: str | None = None, version: str | None = "3",
                partner_sign: str | None = None, verify: bool | None = None) -> dict:
        ts = ts or str(int(time.time() * 1000))
        secret = secret or self.secret
        h = {"KC-API-KEY": self.api_key, "KC-API-TIMESTAMP": ts,
             "KC-API-SIGN": b64_hmac(secret, ts + method + path_and_query + body),
             "KC-API-PASSPHRASE": b64_hmac(secret, passphrase or self.passphrase),
             "Content-Type": "application/json"}
        if version is not None:
            h["KC-API-KEY-VERSION"] = version
        if self.partner:
            h["KC-API-PARTNER"] = self.partner
            h["KC-API-PARTNER-SIGN"] = partner_sign or b64_hmac(self.broker_key, ts + self.partner + self.api_key)
            h["KC-BROKER-NAME"] = self.broker_name
            if (self.verify if verify is None else verify):
                h["KC-API-PARTNER-VERIFY"] = "true"
        return h

    def request(self, method: str, path: str, params: dict | None = None, body=None, *,
                raw_query: str | None = None, **hkw):
        query = raw_query if raw_query is not None else (urlencode(params) if params else "")
        signed_query = query
        if raw_query is None and params:
            signed_query = "&".join(f"{k}={v}" for k, v in params.items())
        text = json.dumps(body, separators=(",", ":")) if body is not None else ""
        pq = path + ("?" + signed_query if signed_query else "")
        h = self.headers(method, pq, text, **hkw)
        url = self.base_url + path + ("?" + query if query else "")
        return self.s.request(method, url, data=text.encode() if text else None, headers=h, timeout=10)

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, None, body, **kw)

    def delete(self, path, params=None, **kw):
        return self.request("DELETE", path, params, **kw)
