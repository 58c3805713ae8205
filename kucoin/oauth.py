"""KuCoin's Fast API (OAuth2 authorization code, spec section 10).

The user logs in at KuCoin, KuCoin redirects back with a code, the broker exchanges it for
tokens and creates an API key for the user with the bearer token. Paths are configurable
because KuCoin has moved them before; the tokens and the created key's secret and
passphrase are never in a repr, a log line or an exception message.
"""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable
from urllib.parse import quote

import requests

from .errors import (DuplicateApiNameError, KuCoinError, OAuthError, OAuthServerError, OutcomeUnknownError,
                     RateLimitError, ServiceUnavailableError, TokenExpiredError, TooManyApiKeysError)
from .transport import RequestRecord

logger = logging.getLogger("kucoin.oauth")

SCOPE_CREATE_API = "OAUTH_CREATE_API"
# Query parameters that hold a secret: the code and the client secret travel in the token call's query, because
# KuCoin documents that call as a GET (kucoin-api.md 10.1).
_SECRET_QUERY = re.compile(r"(?:^|&)(?:code|client_secret|refresh_token|access_token)=")


class _SecretQueryRedacted(logging.Filter):
    """urllib3 logs every request's target, query included, at DEBUG: never with the token call's secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_has_secret_query(a) for a in record.args):
            record.args = tuple(a.partition("?")[0] + "?[redacted]" if _has_secret_query(a) else a
                                for a in record.args)
        return True


def _has_secret_query(value: object) -> bool:
    return isinstance(value, str) and bool(_SECRET_QUERY.search(value.partition("?")[2]))


def _redact_urllib3_log() -> None:
    for name in ("urllib3.connectionpool", "urllib3.util.retry"):  # the loggers that print request targets
        target = logging.getLogger(name)
        if not any(isinstance(f, _SecretQueryRedacted) for f in target.filters):
            target.addFilter(_SecretQueryRedacted())


_redact_urllib3_log()


@dataclass(frozen=True, slots=True)
class OAuthTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    expires_in: int
    scope: tuple[str, ...]
    expires_at: datetime

    @classmethod
    def parse(cls, d: dict, now: datetime) -> "OAuthTokens":
        scope = d.get("scope") or ()
        if isinstance(scope, str):
            scope = tuple(s for s in scope.replace(",", " ").split() if s)
        expires_in = int(d.get("expires_in") or 0)
        return cls(str(d["access_token"]), d.get("refresh_token"), str(d.get("token_type") or "bearer"),
                   expires_in, tuple(scope), now + timedelta(seconds=expires_in))


@dataclass(frozen=True, slots=True)
class FastApiKey:
    api_name: str
    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    broker_id: str | None
    auth_group: tuple[str, ...]
    ip_whitelist: str | None

    @classmethod
    def parse(cls, d: dict) -> "FastApiKey":
        groups = d.get("authGroup") or ""
        if isinstance(groups, str):
            groups = tuple(g.strip() for g in groups.split(",") if g.strip())
        return cls(str(d.get("apiName") or ""), str(d["apiKey"]), str(d["secret"]), str(d["passphrase"]),
                   None if d.get("brokerId") is None else str(d.get("brokerId")), tuple(groups),
                   d.get("ipWhiteList", d.get("ipWhitelist")))


def _oauth_error(msg: str, code: str | None, status: int | None, endpoint: str) -> KuCoinError:
    low = (msg or "").lower()
    kw = dict(code=code, http_status=status, endpoint=endpoint)
    if status == 429 or code == "429000":
        return RateLimitError(msg, **kw)  # not a refusal of the login: worth another try later
    if status is not None and status >= 500:
        return OAuthServerError(msg, **kw)
    if "apiname" in low.replace(" ", "") and any(w in low for w in ("exist", "repeat", "duplicat", "already")):
        return DuplicateApiNameError(msg, **kw)
    if any(w in low for w in ("maximum", "max number", "too many", "limit")) and "key" in low:
        return TooManyApiKeysError(msg, **kw)
    if status == 401 or any(w in low for w in ("expire", "invalid_token", "invalid token", "unauthorized")):
        return TokenExpiredError(msg, **kw)
    return OAuthError(msg, **kw)


class OAuthClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str | None = None,
        authorize_path: str = "/oauth",
        token_path: str = "/_oauth/access-token",
        refresh_path: str = "/_oauth/refresh-token",
        api_key_add_path: str = "/_oauth/resource/ucenter/outer/api-key/add",
        on_request: Callable[[RequestRecord], None] | None = None,
        timeout: tuple[float, float] = (3.05, 10),
        refresh_grant_type: str = "refresh_token",
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.authorize_path = authorize_path
        self.token_path = token_path
        self.refresh_path = refresh_path
        self.api_key_add_path = api_key_add_path
        self.on_request = on_request
        self.timeout = timeout
        # KuCoin's table says authorization_code for refresh, OAuth2 says refresh_token (spec 10.1, OPEN).
        self.refresh_grant_type = refresh_grant_type
        self.session = session or requests.Session()

    def __repr__(self) -> str:
        return f"OAuthClient(base_url={self.base_url!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        self.session.close()

    def authorize_url(self, redirect_uri: str, state: str, scope: str = SCOPE_CREATE_API) -> str:
        """The KuCoin login page. The redirect URL goes in as it is: KuCoin asks not to encode it."""
        return (f"{self.base_url}{self.authorize_path}?response_type=code&client_id={quote(self.client_id, safe='')}"
                f"&redirect_uri={redirect_uri}&scope={quote(scope, safe='_,')}&state={quote(state, safe='')}")

    def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        params = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri),
                  ("client_id", self.client_id)]
        if self._client_secret:
            params.append(("client_secret", self._client_secret))
        data = self._call("GET", self.token_path, params=params)
        return OAuthTokens.parse(data, datetime.now(timezone.utc))

    def refresh(self, refresh_token: str, scope: str = SCOPE_CREATE_API) -> OAuthTokens:
        form = {"grant_type": self.refresh_grant_type, "refresh_token": refresh_token, "scope": scope,
                "client_id": self.client_id}
        if self._client_secret:
            form["client_secret"] = self._client_secret
        data = self._call("POST", self.refresh_path, data=form)
        return OAuthTokens.parse(data, datetime.now(timezone.utc))

    def create_api_key(self, access_token: str, body: dict | None = None) -> FastApiKey:
        """Create the user's API key, bound to the broker. `body` for newer API versions (authGroupMap...)."""
        headers = {"Authorization": f"bearer {access_token}"}
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8") if body is not None else b"{}"
        headers["Content-Type"] = "application/json"
        return self._call("POST", self.api_key_add_path, headers=headers, raw=payload, create=True,
                          parse=FastApiKey.parse)

    # -- plumbing --
    def _call(self, method: str, path: str, *, params=None, data=None, headers=None, raw=None,
              create: bool = False, parse: Callable[[Any], Any] | None = None) -> Any:
        endpoint = f"{method} {path}"
        started = time.perf_counter()
        status = code = err = None
        try:
            try:
                resp = self.session.request(method, self.base_url + path, params=params, data=raw if raw is not None
                                            else data, headers=headers, timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                if create and not isinstance(exc, requests.ConnectTimeout):
                    raise OutcomeUnknownError(f"no answer from KuCoin ({type(exc).__name__}); the key may exist",
                                              endpoint=endpoint) from None
                raise ServiceUnavailableError(f"KuCoin unreachable: {type(exc).__name__}", endpoint=endpoint) from None
            status = resp.status_code
            try:
                body = json.loads(resp.content.decode("utf-8"), parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                body = None
            if isinstance(body, dict) and body.get("code") is not None:
                code = str(body.get("code"))
            if create and status >= 500:
                # A 5xx does not say whether the key was made (a gateway may give up after the service acted).
                msg = str(body.get("msg") or "") if isinstance(body, dict) else ""
                raise OutcomeUnknownError(f"KuCoin answered HTTP {status}{f' ({msg})' if msg else ''}; the key may "
                                          "exist", code=code, http_status=status, endpoint=endpoint)
            if create and status < 400 and not isinstance(body, dict):
                # A truncated or foreign body under a non-error status says nothing about the key: it may exist.
                raise OutcomeUnknownError(f"unreadable answer from KuCoin (HTTP {status}); the key may exist",
                                          http_status=status, endpoint=endpoint)
            if body is None:
                raise _oauth_error(f"unreadable answer (HTTP {status})", None, status, endpoint)
            if not isinstance(body, dict):
                raise _oauth_error("unexpected answer", None, status, endpoint)
            if "access_token" in body and status == 200:  # token endpoints answer unwrapped
                return body
            ok = 200 <= status < 300 and (body.get("success") is True or code in ("200", "200000"))
            if ok:
                if parse is None:
                    return body.get("data")
                try:
                    return parse(body.get("data"))
                except (KeyError, TypeError, ValueError, AttributeError):
                    if not create:
                        raise
                    # KuCoin said success but sent no usable key (data null, fields missing): it may have made one.
                    raise OutcomeUnknownError(f"KuCoin answered success without a usable key (HTTP {status}); the "
                                              "key may exist", code=code, http_status=status,
                                              endpoint=endpoint) from None
            if create and status < 400 and code is None and body.get("success") is not False and not body.get("error"):
                # Neither success nor a refusal KuCoin would word (a code, success false, an error): unknown.
                raise OutcomeUnknownError(f"KuCoin's answer (HTTP {status}) is neither a key nor a refusal; the key "
                                          "may exist", http_status=status, endpoint=endpoint)
            msg = str(body.get("msg") or body.get("error_description") or body.get("error") or f"HTTP {status}")
            if body.get("error") in ("invalid_token", "invalid_grant") and "expire" not in msg.lower():
                msg = f"{body.get('error')}: {msg}"
            raise _oauth_error(msg, code, status, endpoint)
        except Exception as exc:
            err = exc
            raise
        finally:
            if self.on_request is not None:
                try:
                    self.on_request(RequestRecord(method, "oauth", path, "", 0, status, code,
                                                  round((time.perf_counter() - started) * 1000, 3), None,
                                                  type(err).__name__ if err else None))
                except Exception:
                    logger.exception("on_request hook failed for %s", endpoint)
