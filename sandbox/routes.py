"""The route registry: every endpoint of the sandbox is a function registered with ``@route``.

A handler is ``def handler(req: Request, world: World) -> Any``. It runs with ``world.lock`` held
(see world.py) and returns either the ``data`` of the success envelope (any JSON-able value;
Decimal is written as a string), or a ``RawResponse`` for answers that are not KuCoin envelopes
(HTML, redirects, CSV, OAuth token JSON). To refuse, it raises ``errors.ApiError``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

FAMILIES = ("spot", "futures", "broker", "oauth")
ANY_FAMILY = "*"          # a route served on every host (the control API)
AUTH_MODES = ("signed", "none", "bearer")
PERMISSIONS = (None, "General", "Spot", "Futures", "Withdrawal")
POOLS = (None, "spot", "futures", "management", "public", "broker")


@dataclass
class RawResponse:
    """An answer that bypasses the envelope: ``body`` is bytes or str (str is UTF-8 encoded)."""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str = b""


@dataclass
class Request:
    method: str                      # "GET", "POST", "DELETE", ...
    family: str                      # "spot" | "futures" | "broker" | "oauth"
    path: str                        # path as sent, without the query
    path_params: dict[str, str]      # decoded values of the template's {variables}
    query: list[tuple[str, str]]     # decoded (name, value) pairs in wire order
    args: dict[str, str]             # the same as a dict (last value wins)
    raw_query: str                   # the query text as received, still encoded
    body: Any                        # parsed JSON body, or None when there is none
    raw_body: bytes
    headers: dict[str, str]          # header names lower-cased
    client_ip: str
    now_ms: int                      # sandbox clock for this request (offset and skew applied)
    route: "Route | None" = None
    clock_skew_ms: int = 0           # the clock-skew fault's shift for this request (already in now_ms)
    # Set by authentication (auth="signed"):
    account: Any = None              # accounts.Account: .uid (str), .is_broker, .name
    key: Any = None                  # accounts.ApiKey: .api_key, .permissions (set of "General"/"Spot"/"Futures"...)
    partner_tag: str | None = None   # partner id when the partner headers were present and right for this host
    # Set for auth="bearer": the token from "Authorization: bearer <token>", unchecked (the owner checks it)
    bearer_token: str | None = None

    @property
    def uid(self) -> str | None:
        return self.account.uid if self.account is not None else None


@dataclass
class Route:
    family: str
    method: str
    template: str
    handler: Callable[[Request, Any], Any]
    auth: str = "signed"
    permission: str | None = None
    pool: str | None = None
    weight: int = 1
    validate: bool = True            # check the request against the OpenAPI request schema
    lenient: tuple[str, ...] = ()    # fields whose enum/required checks are skipped (validation.py)
    spec: Any = None                 # the OpenAPI operation, filled in at start-up (app.py)
    response_schema: Any = None      # its 200 schema, for response validation in tests
    envelope_extra: dict = field(default_factory=dict)   # extra top-level keys the schema requires
    regex: re.Pattern | None = None
    param_names: tuple[str, ...] = ()


_REGISTRY: list[Route] = []


def route(family: str, method: str, path_template: str, *, auth: str = "signed",
          permission: str | None = None, pool: str | None = None, weight: int | None = None,
          validate: bool = True, lenient: tuple[str, ...] = ()):
    """Register a handler. ``pool``/``weight`` default to the OpenAPI metadata of the endpoint
    (``x-api-rate-limit-pool``/``-weight``) when left out, else to no rate limiting / weight 1.
    ``family`` is one of FAMILIES, or "*" for every host. ``validate=False`` skips the OpenAPI
    request check; ``lenient`` names fields whose enum/required checks are skipped."""
    if family not in FAMILIES and family != ANY_FAMILY:
        raise ValueError(f"unknown family {family!r}")
    if auth not in AUTH_MODES:
        raise ValueError(f"unknown auth {auth!r}")
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    if pool not in POOLS:
        raise ValueError(f"unknown pool {pool!r}")

    def deco(fn):
        names = tuple(re.findall(r"{([^}]+)}", path_template))
        regex = None
        if names:
            pattern = re.sub(r"{[^}]+}", "([^/]+)", re.escape(path_template).replace(r"\{", "{").replace(r"\}", "}"))
            regex = re.compile("^" + pattern + "$")
        r = Route(family, method.upper(), path_template, fn, auth, permission, pool,
                  weight if weight is not None else -1, validate, tuple(lenient), None, None, {}, regex, names)
        for existing in _REGISTRY:
            if (existing.family, existing.method, existing.template) == (r.family, r.method, r.template):
                raise ValueError(f"duplicate route {r.family} {r.method} {r.template}")
        _REGISTRY.append(r)
        return fn
    return deco


def all_routes() -> list[Route]:
    return list(_REGISTRY)


class Router:
    """Finds the route of (family, method, path). Literal paths win over templated ones."""

    def __init__(self, routes: list[Route]):
        self.exact: dict[tuple[str, str, str], Route] = {}
        self.templated: dict[tuple[str, str], list[Route]] = {}
        for r in routes:
            fams = FAMILIES if r.family == ANY_FAMILY else (r.family,)
            for fam in fams:
                if r.regex is None:
                    self.exact.setdefault((fam, r.method, r.template), r)
                else:
                    self.templated.setdefault((fam, r.method), []).append(r)
        for lst in self.templated.values():
            # fewer variables and longer literal text first: /orders/byClientOid before /orders/{id}
            lst.sort(key=lambda r: (len(r.param_names), -len(re.sub(r"{[^}]+}", "", r.template))))

    def match(self, family: str, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """-> (route, raw path params, path_known_for_other_method)."""
        r = self.exact.get((family, method, path))
        if r is not None:
            return r, {}, True
        for r in self.templated.get((family, method), ()):
            m = r.regex.match(path)
            if m:
                return r, dict(zip(r.param_names, m.groups())), True
        return None, {}, False
