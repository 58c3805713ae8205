"""The request pipeline, independent of the HTTP transport.

Order for a KuCoin path: faults (drawn first, so "before" faults cost nothing) -> route -> body
parse -> authentication (2.7 steps 1-8) -> rate limit (step 9) -> request validation -> handler ->
"after" faults. Control paths (/_sandbox/...) skip faults, auth and rate limits.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus

from . import openapi
from .auth import authenticate
from .errors import ApiError
from .faults import ERROR_CODES, TERMINAL_ORDER
from .routes import RawResponse, Request, Router, all_routes
from .validation import validate_request
from .world import json_default

# Modules that register routes and sections; the optional ones belong to S2 and may not exist yet.
CORE_MODULES = ("sandbox.accounts", "sandbox.balances", "sandbox.funding", "sandbox.kyc",
                "sandbox.market", "sandbox.ndbroker", "sandbox.spot_account", "sandbox.wallet",
                "sandbox.wallet_routes", "sandbox.control")
OPTIONAL_MODULES = ("sandbox.trading", "sandbox.rebates", "sandbox.oauth")

CONTROL_PREFIX = "/_sandbox"


def load_modules() -> None:
    # SANDBOX_DISABLE=trading,oauth leaves optional modules out (a debugging aid while they are written)
    disabled = {"sandbox." + n.strip() for n in os.environ.get("SANDBOX_DISABLE", "").split(",") if n.strip()}
    for name in CORE_MODULES:
        importlib.import_module(name)
    for name in OPTIONAL_MODULES:
        if name not in disabled and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)   # an error inside an existing module is not hidden


def _dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=json_default).encode("utf-8")


@dataclass
class Outcome:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False          # close the connection without answering


class App:
    def __init__(self, world):
        load_modules()
        self.world = world
        routes = all_routes()
        for r in routes:
            if r.family == "*":
                continue
            op = openapi.find(r.family, r.method, r.template)
            r.spec = op if (op is not None and r.validate) else None
            if op is not None:
                pool, weight = openapi.pool_and_weight(op)
                if r.pool is None:
                    r.pool = pool
                if r.weight == -1 and weight is not None:
                    r.weight = weight
            if r.weight == -1:
                r.weight = 1
            r.response_schema = openapi.response_schema(op) if op is not None else None
            r.envelope_extra = _envelope_extra(r.response_schema)
        self.router = Router(routes)

    # -- entry point -----------------------------------------------------------------------------
    def handle(self, family: str, method: str, target: str, headers: dict[str, str], body: bytes,
               client_ip: str) -> Outcome:
        path, _, raw_query = target.partition("?")
        if path.startswith(CONTROL_PREFIX):
            return self._control(family, method, path, raw_query, headers, body, client_ip)
        world = self.world
        with world.lock:
            fired = world.faults.draw(family, method, path)
        if "latency" in fired:
            time.sleep(int(fired["latency"].opts.get("ms", 500)) / 1000.0)
        skew = int(fired["clock_skew"].opts.get("ms", 10_000)) if "clock_skew" in fired else 0
        now = world.clock.now_ms() + skew
        for kind in TERMINAL_ORDER:
            if kind in fired:
                if kind == "drop_before":
                    return Outcome(drop=True)
                opts = fired[kind].opts
                error = (ApiError(str(opts["code"]), opts.get("msg")) if kind == "refuse" else
                         ApiError(ERROR_CODES[kind]))
                with world.lock:
                    rl = world.ratelimiter.peek("public", client_ip, now)
                return self._error(error, rl)
        out = self._kucoin(family, method, path, raw_query, headers, body, client_ip, now, skew)
        if "drop_after" in fired:
            return Outcome(drop=True)
        if "malformed" in fired:
            out.body = out.body[: max(1, len(out.body) // 2)] + b"\x00<"
            out.headers["Content-Type"] = "application/json"
        return out

    # -- KuCoin paths ----------------------------------------------------------------------------
    def _kucoin(self, family, method, path, raw_query, headers, body, client_ip, now, skew=0) -> Outcome:
        world = self.world
        route, raw_params, _ = self.router.match(family, method, path)
        if route is None:
            with world.lock:
                rl = world.ratelimiter.peek("public", client_ip, now)
            return self._error(ApiError("404000"), rl)
        req = self._request(family, method, path, raw_query, headers, body, client_ip, now, route, raw_params)
        req.clock_skew_ms = skew
        pool = route.pool
        with world.lock:
            rl = world.ratelimiter.peek(pool or "public", client_ip, now)
            try:
                self._parse_body(req)
                if route.auth == "signed":
                    authenticate(req, world, route)
                elif route.auth == "bearer":
                    req.bearer_token = _bearer(headers)
                subject = req.account.uid if req.account is not None else client_ip
                if pool is not None:
                    allowed, rl = world.ratelimiter.consume(pool, subject, route.weight, now)
                    if not allowed:
                        raise ApiError("429000")
                if route.spec is not None:
                    validate_request(req, route)
                result = route.handler(req, world)
            except ApiError as e:
                return self._error(e, rl)
            except Exception:  # a bug in a handler: answer like KuCoin's 500, keep the trace visible
                traceback.print_exc(file=sys.stderr)
                return self._error(ApiError("500000"), rl)
        if isinstance(result, RawResponse):
            b = result.body.encode("utf-8") if isinstance(result.body, str) else result.body
            return Outcome(result.status, {**rl, **result.headers}, b)
        envelope = {"code": "200000", "data": result}
        if route.envelope_extra:
            envelope = {**route.envelope_extra, **envelope}
        out_body = _dumps(envelope)
        if world.validate_responses and route.response_schema is not None:
            problem = self._check_response(route, out_body)
            if problem:
                return Outcome(500, {"Content-Type": "application/json", **rl},
                               _dumps({"code": "500000", "msg": "sandbox answer breaks the OpenAPI schema: " + problem}))
        return Outcome(200, {"Content-Type": "application/json", "x-result-biz-code": "200000", **rl}, out_body)

    def _check_response(self, route, body: bytes) -> str | None:
        from .schemacheck import check
        return check(route.response_schema, json.loads(body))

    @staticmethod
    def _request(family, method, path, raw_query, headers, body, client_ip, now, route, raw_params) -> Request:
        query = []
        if raw_query:
            for part in raw_query.split("&"):
                if not part:
                    continue
                k, _, v = part.partition("=")
                query.append((unquote_plus(k), unquote_plus(v)))
        return Request(method=method, family=family, path=path,
                       path_params={k: unquote(v) for k, v in raw_params.items()},
                       query=query, args=dict(query), raw_query=raw_query, body=None, raw_body=body,
                       headers=headers, client_ip=client_ip, now_ms=now, route=route)

    @staticmethod
    def _parse_body(req: Request) -> None:
        if not req.raw_body:
            return
        ctype = req.headers.get("content-type", "")
        if req.route.auth != "none" and "json" not in ctype.lower() and req.method in ("POST", "PUT", "PATCH"):
            if not ctype.lower().startswith("application/x-www-form-urlencoded"):
                raise ApiError("415000")
        if "json" in ctype.lower() or not ctype:
            try:
                req.body = json.loads(req.raw_body)
            except (ValueError, UnicodeDecodeError):
                # a KuCoin API call must carry JSON; an unsigned page (OAuth) may post a form untyped
                if "json" in ctype.lower() or req.route.auth == "signed":
                    raise ApiError("400100", "Invalid request body: not JSON") from None

    @staticmethod
    def _error(e: ApiError, rl: dict[str, str]) -> Outcome:
        return Outcome(e.http_status, {"Content-Type": "application/json", "x-result-biz-code": e.code, **rl,
                                       **e.headers},
                       _dumps({"code": e.code, "msg": e.msg}))

    # -- control paths ---------------------------------------------------------------------------
    def _control(self, family, method, path, raw_query, headers, body, client_ip) -> Outcome:
        world = self.world
        route, raw_params, _ = self.router.match(family, method, path)
        now = world.clock.now_ms()
        if route is None:
            return self._error(ApiError("404000"), {})
        req = self._request(family, method, path, raw_query, headers, body, client_ip, now, route, raw_params)
        with world.lock:
            try:
                if body:
                    try:
                        req.body = json.loads(body)
                    except ValueError:
                        raise ApiError("400100", "control body must be JSON") from None
                result = route.handler(req, world)
            except ApiError as e:
                return self._error(e, {})
            except (ValueError, KeyError, TypeError) as e:
                return self._error(ApiError("400100", f"{type(e).__name__}: {e}"), {})
        if isinstance(result, RawResponse):
            b = result.body.encode("utf-8") if isinstance(result.body, str) else result.body
            return Outcome(result.status, dict(result.headers), b)
        return Outcome(200, {"Content-Type": "application/json"}, _dumps({"code": "200000", "data": result}))


def _envelope_extra(schema) -> dict:
    """Top-level keys besides code/data that an operation's schema requires. One quirk of KuCoin's
    files (the ND deposit list) declares success/msg/retry; answer them so the schema holds."""
    if not schema:
        return {}
    defaults = {"success": True, "msg": "success", "retry": False}
    return {k: defaults[k] for k in schema.get("required", ()) if k in defaults}


def _bearer(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
