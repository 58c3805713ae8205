"""KuCoin's request authentication, in the order of kucoin-api.md 2.7.

Written from the spec, independently of kucoin/ and of the official SDK, so that a mistake in one
is caught by the other.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote, unquote_plus

from .errors import ApiError

TIMESTAMP_WINDOW_MS = 5000


def b64_hmac(key: str, message: str | bytes) -> str:
    if isinstance(message, str):
        message = message.encode("utf-8")
    return base64.b64encode(hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()).decode("ascii")


def decoded_query(raw_query: str) -> str:
    """The query as it enters the prehash: wire order, each name=value percent-decoded with form
    semantics ('+' is a space), joined with '&' (kucoin-api.md 2.3)."""
    if not raw_query:
        return ""
    return "&".join(unquote_plus(part) for part in raw_query.split("&"))


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def authenticate(req, world, route) -> None:
    """Check a signed request; fill ``req.account``, ``req.key``, ``req.partner_tag``; raise ApiError.

    Steps 1-8 of 2.7; step 9 (rate limit) is the pipeline's.
    """
    h = req.headers
    api_key = h.get("kc-api-key")
    sign = h.get("kc-api-sign")
    ts = h.get("kc-api-timestamp")
    passphrase = h.get("kc-api-passphrase")
    # 1. headers present
    if not api_key or not sign or not ts or not passphrase:
        raise ApiError("400001")
    # 2. timestamp: an integer within 5 s of the server clock (either side)
    try:
        ts_ms = int(ts)
    except ValueError:
        raise ApiError("400002") from None
    # Against the sandbox clock, or against the wall clock: advancing the sandbox clock (for expiry
    # tests) must not break clients that cannot move their own clock, like the official SDK. The
    # clock-skew fault shifts both references, so it still catches a client that does not correct.
    wall = int(time.time() * 1000) + req.clock_skew_ms
    if abs(ts_ms - req.now_ms) > TIMESTAMP_WINDOW_MS and abs(ts_ms - wall) > TIMESTAMP_WINDOW_MS:
        raise ApiError("400002")
    # 3. key known
    accounts = world.accounts
    key = accounts.keys.get(api_key)
    if key is None:
        raise ApiError("400003")
    # 4. key version, then passphrase: 2 and 3 sign the passphrase; no header = plain passphrase (v1 scheme)
    version = h.get("kc-api-key-version")
    if version is None:
        expected_pass = key.passphrase
    elif version in ("2", "3"):
        expected_pass = b64_hmac(key.secret, key.passphrase)
    else:
        raise ApiError("400009")
    if not _eq(passphrase, expected_pass):
        raise ApiError("400004")
    # 5. signature over timestamp + METHOD + path[?decoded query] + body; the still-encoded query is
    #    accepted as a fallback (some clients sign it; all agree for plain values)
    body = req.raw_body.decode("utf-8", "replace") if req.raw_body else ""
    base = ts + req.method + req.path
    candidates = [base + ("?" + decoded_query(req.raw_query) if req.raw_query else "") + body]
    if req.raw_query and ("%" in req.raw_query or "+" in req.raw_query):
        candidates.append(base + "?" + req.raw_query + body)
    if "%" in req.path:   # a percent-encoded path variable: accept it signed decoded as well
        dq = "?" + decoded_query(req.raw_query) if req.raw_query else ""
        candidates.append(ts + req.method + unquote(req.path) + dq + body)
    if not any(_eq(sign, b64_hmac(key.secret, c)) for c in candidates):
        raise ApiError("400005")
    # 6. IP whitelist (an empty list means any IP)
    if key.ip_whitelist and req.client_ip not in key.ip_whitelist:
        raise ApiError("400006", "Invalid request IP, the current client IP is: %s." % req.client_ip)
    # 7. permission
    if route.permission and route.permission not in key.permissions:
        raise ApiError("400007")
    req.key = key
    req.account = accounts.accounts[key.uid]
    # 8. partner headers: the futures host checks the futures set, the others the spot set
    req.partner_tag = _check_partner(req, accounts, ts, api_key)


def _check_partner(req, accounts, ts: str, api_key: str) -> str | None:
    h = req.headers
    partner_id = h.get("kc-api-partner")
    partner_sign = h.get("kc-api-partner-sign")
    broker_name = h.get("kc-broker-name")
    verify = (h.get("kc-api-partner-verify") or "").strip().lower() == "true"
    if not partner_id and not partner_sign:
        return None
    product = "futures" if req.family == "futures" else "spot"
    partner = accounts.partner(product, partner_id or "")
    if partner is None:
        if verify:
            raise ApiError("400200")
        return None
    ok = (partner_sign is not None
          and _eq(partner_sign, b64_hmac(partner.broker_key, ts + partner.partner + api_key))
          and broker_name == partner.broker_name)
    if not ok:
        if verify:
            raise ApiError("400201")
        return None
    return partner.partner
