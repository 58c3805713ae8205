"""KuCoin request signing (spec section 2).

prehash = timestamp + METHOD + path[?raw query] + body bytes.
The raw query is the same ordered pairs as the URL's query, values not
URL-encoded (spec 2.3, vector 3). Bodies are signed as the exact bytes sent.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Iterable, Sequence
from urllib.parse import urlencode

from .credentials import Credentials, PartnerCredentials

QueryPairs = Sequence[tuple[str, str]]


def b64_hmac_sha256(key: bytes, message: bytes) -> str:
    # hmac.digest is OpenSSL's one-shot HMAC: noticeably faster than hmac.new().
    return base64.b64encode(hmac.digest(key, message, "sha256")).decode("ascii")


class PrekeyedHmacSha256:
    """HMAC-SHA256 (RFC 2104) with the keyed inner and outer states computed once.

    Signing many requests with one secret then costs two hash-state copies instead of a
    full key schedule per call; output is identical to hmac.new(key, msg, sha256)."""

    __slots__ = ("_inner", "_outer")
    _BLOCK = 64

    def __init__(self, key: bytes) -> None:
        if len(key) > self._BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(self._BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __repr__(self) -> str:
        return "PrekeyedHmacSha256(<key hidden>)"

    def b64(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return base64.b64encode(outer.digest()).decode("ascii")


def query_value(value: Any) -> str:
    """Text of one query value as KuCoin's SDK writes it (booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_pairs(params: Iterable[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Ordered pairs with unset (None) values dropped."""
    return [(k, query_value(v)) for k, v in params if v is not None]


def encoded_query(pairs: QueryPairs) -> str:
    """What goes into the URL (form encoding: space is '+')."""
    return urlencode(pairs)


def raw_query(pairs: QueryPairs) -> str:
    """What goes into the prehash: the same pairs, values as they are."""
    return "&".join(f"{k}={v}" for k, v in pairs)


def json_body(payload: Any) -> bytes:
    """Compact JSON as the official SDK (pydantic) writes it: no spaces, UTF-8, non-ASCII kept."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Signer:
    """Signs requests for one credential; the secret-derived values are computed once."""

    __slots__ = ("_key", "_secret_mac", "_passphrase_sign", "_version", "_partner", "_broker_mac", "_partner_tail")

    def __init__(self, credentials: Credentials, partner: PartnerCredentials | None = None) -> None:
        self._key = credentials.api_key
        self._secret_mac = PrekeyedHmacSha256(credentials.api_secret.encode("utf-8"))
        self._passphrase_sign = self._secret_mac.b64(credentials.api_passphrase.encode("utf-8"))
        self._version = credentials.key_version
        self._partner = partner
        # Partner prehash = timestamp + partner + apiKey: only the timestamp changes per call.
        self._broker_mac = PrekeyedHmacSha256(partner.broker_key.encode("utf-8")) if partner else None
        self._partner_tail = (partner.partner + credentials.api_key).encode("utf-8") if partner else b""

    def __repr__(self) -> str:
        return f"Signer(api_key={self._key!r}, partner={'yes' if self._partner else 'no'})"

    @property
    def has_partner(self) -> bool:
        return self._partner is not None

    def headers(self, timestamp_ms: str, method: str, path_and_raw_query: str, body: bytes = b"") -> dict[str, str]:
        """The KC-API-* headers (and the four broker headers when a partner is set)."""
        prehash = (timestamp_ms + method.upper() + path_and_raw_query).encode("utf-8") + body
        headers = {
            "KC-API-KEY": self._key,
            "KC-API-SIGN": self._secret_mac.b64(prehash),
            "KC-API-TIMESTAMP": timestamp_ms,
            "KC-API-PASSPHRASE": self._passphrase_sign,
            "KC-API-KEY-VERSION": self._version,
        }
        partner = self._partner
        if partner is not None:
            headers["KC-API-PARTNER"] = partner.partner
            headers["KC-API-PARTNER-SIGN"] = self._broker_mac.b64(timestamp_ms.encode("ascii") + self._partner_tail)
            headers["KC-BROKER-NAME"] = partner.broker_name
            if partner.verify:
                headers["KC-API-PARTNER-VERIFY"] = "true"
        return headers


def signed_headers(
    credentials: Credentials,
    timestamp_ms: str,
    method: str,
    path: str,
    query: QueryPairs = (),
    body: bytes = b"",
    partner: PartnerCredentials | None = None,
) -> dict[str, str]:
    """One-shot convenience: headers for `path` with `query` pairs and `body` bytes."""
    target = path + ("?" + raw_query(query) if query else "")
    return Signer(credentials, partner).headers(timestamp_ms, method, target, body)
