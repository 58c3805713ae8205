"""HTTP transport: signing, rate limiting, envelope, errors, retries, clock and the call hook.

One requests.Session per client (pooled keep-alive connections). The query is built
once as ordered pairs: the URL carries them url-encoded, the prehash the same pairs
decoded (spec 2.3). The body is signed as the exact bytes sent.
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from . import weights
from .clock import ServerClock
from .credentials import Credentials, Hosts, PartnerCredentials
from .errors import (InvalidTimestampError, KuCoinError, OutcomeUnknownError, RateLimitError, ServerError,
                     ServiceUnavailableError, error_for)
from .ratelimit import InProcessRateLimiter, RateLimiter
from .signing import Signer, encoded_query, json_body, query_pairs, raw_query
from .weights import Endpoint

logger = logging.getLogger("kucoin.transport")

SUCCESS = "200000"
USER_AGENT = "brokeroffice-kucoin/1.0"
# When a 429000 comes without gw-ratelimit-reset, wait this long before the budget reopens.
DEFAULT_429_RESET_MS = 1000


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP attempt, for the back-office's call log. Never holds a header or a secret."""

    method: str
    family: str
    path: str
    query: str  # url-encoded query string ('' if none); queries carry no secrets here
    weight: int
    http_status: int | None
    code: str | None
    latency_ms: float
    credential_id: str | None
    error: str | None = None  # exception class name when the attempt failed
    attempt: int = 1
    pool: str = ""
    quota_limit: int | None = None  # KuCoin's gw-ratelimit-limit of the pool, when it answered with one
    quota_remaining: int | None = None  # gw-ratelimit-remaining: the headroom left in the current window


def prepare(method: str, url: str, headers: Mapping[str, str], body: bytes,
            session_headers: Mapping[str, str] | None = None) -> requests.PreparedRequest:
    """A ready-to-send request with exactly the URL and body bytes that were signed.

    Built by hand: requests' own preparation would re-parse and possibly re-quote the URL we
    signed, and costs more than the signing itself."""
    p = requests.PreparedRequest()
    p.method = method
    p.url = url
    h = CaseInsensitiveDict(session_headers or {})
    h.update(headers)
    if body:
        h["Content-Length"] = str(len(body))
    elif method in ("POST", "PUT", "PATCH"):
        h["Content-Length"] = "0"
    p.headers = h
    p.body = body or None
    return p


def _safe_path_value(value: Any) -> str:
    return quote(str(value), safe="-_.~")


def _rate_headers(resp: requests.Response) -> tuple[int, int, int] | None:
    h = resp.headers
    try:
        limit = int(h["gw-ratelimit-limit"])
        remaining = int(h["gw-ratelimit-remaining"])
        reset = int(h["gw-ratelimit-reset"])
    except (KeyError, ValueError):
        return None
    if limit < 0:
        return None
    return limit, remaining, reset


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached KuCoin (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError):
        text = repr(exc)
        return "NewConnectionError" in text or "Connection refused" in text or "NameResolutionError" in text
    return False


class Transport:
    def __init__(
        self,
        credentials: Credentials | None,
        hosts: Hosts = Hosts(),
        partners: Mapping[str, PartnerCredentials | None] | None = None,
        rate_limiter: RateLimiter | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
        timeout: tuple[float, float] = (3.05, 10),
        max_get_retries: int = 3,
        clock: ServerClock | None = None,
        session: requests.Session | None = None,
        backoff_base_s: float = 0.25,
        backoff_cap_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        pool_maxsize: int = 10,
    ) -> None:
        self.credentials = credentials
        self.hosts = hosts
        self.partners = dict(partners or {})
        self.rate_limiter = rate_limiter if rate_limiter is not None else InProcessRateLimiter()
        self.on_request = on_request
        self.timeout = timeout
        self.max_get_retries = max_get_retries
        self.clock = clock if clock is not None else ServerClock()
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._signers: dict[str, Signer] = {}
        self._env_settings: dict[str, dict] = {}

    def __repr__(self) -> str:
        cid = self.credentials.credential_id if self.credentials else None
        return f"Transport(credential_id={cid!r}, hosts={self.hosts!r})"

    def close(self) -> None:
        self.session.close()

    # -- pieces -----------------------------------------------------------------------------

    def signer(self, family: str) -> Signer:
        s = self._signers.get(family)
        if s is None:
            if self.credentials is None:
                raise KuCoinError("this client has no credentials; only public endpoints can be called")
            s = self._signers[family] = Signer(self.credentials, self.partners.get(family))
        return s

    @property
    def account(self) -> str:
        return self.credentials.account_key if self.credentials else "public"

    @property
    def credential_id(self) -> str | None:
        return self.credentials.credential_id if self.credentials else None

    def server_time_ms(self, family: str = "spot") -> int:
        ep = weights.FUTURES_SERVER_TIME if family == "futures" else weights.SPOT_SERVER_TIME
        data = self.call(ep)
        return int(data)

    def sync_clock(self) -> float:
        return self.clock.sync(self.server_time_ms)

    def _emit(self, record: RequestRecord) -> None:
        if self.on_request is None:
            return
        try:
            self.on_request(record)
        except Exception:  # the hook must never break a call
            logger.exception("on_request hook failed for %s %s", record.method, record.path)

    def _backoff(self, attempt: int) -> None:
        self._sleep(random.uniform(0, min(self.backoff_cap_s, self.backoff_base_s * (2 ** attempt))))

    # -- the call ---------------------------------------------------------------------------

    def call(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Iterable[tuple[str, Any]] = (),
        body: Any = None,
    ) -> Any:
        """Send one KuCoin request and return the envelope's `data`, or raise a KuCoinError."""
        path = endpoint.path
        if path_params:
            path = path.format(**{k: _safe_path_value(v) for k, v in path_params.items()})
        pairs = query_pairs(query)
        url_query = encoded_query(pairs) if pairs else ""
        url = self.hosts.base_url(endpoint.family) + path + ("?" + url_query if url_query else "")
        target = path + ("?" + raw_query(pairs) if pairs else "")
        body_bytes = json_body(body) if body is not None else b""
        method = endpoint.method
        is_get = method == "GET"
        name = f"{method} {path}"
        account = self.account if endpoint.signed else "public"

        attempt = 0
        resynced = False
        while True:
            attempt += 1
            if endpoint.signed and self.clock.needs_sync():
                self.sync_clock()
            self.rate_limiter.acquire(account, endpoint.pool, endpoint.weight)
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
            if endpoint.signed:
                headers.update(self.signer(endpoint.family).headers(self.clock.timestamp(), method, target,
                                                                    body_bytes))
            started = time.perf_counter()
            status: int | None = None
            code: str | None = None
            rate: tuple[int, int, int] | None = None
            error: KuCoinError | None = None
            retry = False
            try:
                resp = self._send(method, url, headers, body_bytes, endpoint.family)
            except requests.RequestException as exc:
                if _not_sent(exc):
                    error = ServiceUnavailableError(f"KuCoin unreachable: {type(exc).__name__}", endpoint=name)
                    retry = is_get
                elif is_get:
                    error = ServiceUnavailableError(f"no answer from KuCoin: {type(exc).__name__}", endpoint=name)
                    retry = True
                else:
                    error = OutcomeUnknownError(
                        f"no answer from KuCoin after sending ({type(exc).__name__}); the request may have "
                        f"been executed", endpoint=name)
            else:
                status = resp.status_code
                rate = _rate_headers(resp)
                if rate is not None:
                    self.rate_limiter.observe(account, endpoint.pool, *rate)
                payload = self._parse(resp)
                if isinstance(payload, dict) and "code" in payload:
                    code = str(payload.get("code"))
                if payload is None or code is None:
                    msg = f"unreadable answer from KuCoin (HTTP {status})"
                    if status == 429:
                        error = RateLimitError("Too Many Requests", http_status=status, endpoint=name)
                    elif is_get:  # no KuCoin answer can be read in it: not a refusal, and reading is safe to repeat
                        error, retry = ServerError(msg, http_status=status, endpoint=name), True
                    else:
                        error = OutcomeUnknownError(msg, http_status=status, endpoint=name)
                elif code == SUCCESS and status < 400:
                    self._emit(self._record(endpoint, path, url_query, status, code, started, None, attempt, rate))
                    return payload.get("data")
                else:
                    error = error_for(code, str(payload.get("msg") or ""), status, name)
                    if isinstance(error, InvalidTimestampError) and not resynced:
                        resynced, retry = True, True  # gateway refused it: nothing was executed
                        self.clock.invalidate()
                    elif isinstance(error, RateLimitError):
                        reset = rate[2] if rate is not None and rate[2] > 0 else DEFAULT_429_RESET_MS
                        error.reset_ms = reset
                        self.rate_limiter.exhaust(account, endpoint.pool, reset)
                        retry = True  # refused at the gateway: nothing was executed
                    elif isinstance(error, ServerError):
                        if is_get:
                            retry = True
                        else:
                            error = OutcomeUnknownError(error.msg, code=code, http_status=status, endpoint=name)
            if isinstance(error, RateLimitError) and error.reset_ms is None:
                error.reset_ms = DEFAULT_429_RESET_MS
                self.rate_limiter.exhaust(account, endpoint.pool, DEFAULT_429_RESET_MS)
                retry = True
            self._emit(self._record(endpoint, path, url_query, status, code, started, error, attempt, rate))
            assert error is not None
            clock_retry = isinstance(error, InvalidTimestampError) and retry
            if not retry or (attempt > self.max_get_retries and not clock_retry):
                logger.info("KuCoin call failed: %s code=%s http=%s (%s)", name, error.code, status,
                            type(error).__name__)
                raise error
            if not isinstance(error, (RateLimitError, InvalidTimestampError)):
                self._backoff(attempt)

    def _send(self, method: str, url: str, headers: dict, body: bytes, family: str) -> requests.Response:
        prepared = prepare(method, url, headers, body, self.session.headers)
        return self.session.send(prepared, timeout=self.timeout, allow_redirects=False,
                                 **self._settings_for(family))

    def _settings_for(self, family: str) -> dict:
        """Proxies and CA bundle from the environment (HTTPS_PROXY, REQUESTS_CA_BUNDLE...), as
        session.request() would apply them; worked out once per host, not on every call."""
        s = self._env_settings.get(family)
        if s is None:
            merged = self.session.merge_environment_settings(self.hosts.base_url(family), {}, None, None, None)
            s = self._env_settings[family] = {k: merged[k] for k in ("proxies", "verify", "cert")}
        return s

    @staticmethod
    def _parse(resp: requests.Response) -> Any:
        try:
            return json.loads(resp.content.decode("utf-8"), parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return None

    def _record(self, endpoint, path, query, status, code, started, error, attempt, rate) -> RequestRecord:
        return RequestRecord(
            method=endpoint.method, family=endpoint.family, path=path, query=query, weight=endpoint.weight,
            http_status=status, code=code, latency_ms=round((time.perf_counter() - started) * 1000.0, 3),
            credential_id=self.credential_id, error=type(error).__name__ if error else None, attempt=attempt,
            pool=endpoint.pool, quota_limit=rate[0] if rate else None, quota_remaining=rate[1] if rate else None)
