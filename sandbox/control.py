"""The control API under /_sandbox on every host (a path KuCoin does not use).

Not signed, never subject to faults or rate limits. JSON in, ``{"code":"200000","data":...}`` out.
  POST   /_sandbox/reset            {"seed": N?}                      back to the seeded state
  GET    /_sandbox/state                                              the whole state (dump)
  POST   /_sandbox/state            <a dump>                          load a state
  GET    /_sandbox/info                                               urls-independent facts: broker credentials, oauth
  GET    /_sandbox/faults                                             active faults
  POST   /_sandbox/faults           {"kind", "probability"?, "count"?, "family"?, "path"?, "method"?, "ms"?}
  DELETE /_sandbox/faults[?kind=K]                                    clear all / one
  POST   /_sandbox/time             {"advance": seconds}              move the sandbox clock
  POST   /_sandbox/quotas           {"pool", "limit", "windowMs"?}    or {"defaults": true}
  POST   /_sandbox/deposits         {"uid", "currency", "amount", "chain"?, "address"?, "status"?}
  POST   /_sandbox/mark-price       {"symbol", "price"}               delegated to the trading section
Sections may add their own control routes with ``@route("*", ..., "/_sandbox/...", auth="none")``.
"""
from __future__ import annotations

from .errors import ApiError
from .routes import ANY_FAMILY, route


def _body(req) -> dict:
    b = req.body if req.body is not None else {}
    if not isinstance(b, dict):
        raise ApiError("400100", "control body must be a JSON object")
    return b


@route(ANY_FAMILY, "POST", "/_sandbox/reset", auth="none", validate=False)
def reset(req, world):
    seed = _body(req).get("seed")
    world.reset(seed=None if seed is None else int(seed))
    return {"seed": world.seed_value}


@route(ANY_FAMILY, "GET", "/_sandbox/state", auth="none", validate=False)
def state(req, world):
    return world.dump()


@route(ANY_FAMILY, "POST", "/_sandbox/state", auth="none", validate=False)
def load_state(req, world):
    world.load(_body(req))
    return True


@route(ANY_FAMILY, "GET", "/_sandbox/info", auth="none", validate=False)
def info(req, world):
    return describe(world)


def describe(world) -> dict:
    out = {"broker": world.accounts.credentials(), "oauth": {}}
    if world.has_section("oauth") and hasattr(world.section("oauth"), "client_info"):
        out["oauth"] = world.section("oauth").client_info()
    return out


@route(ANY_FAMILY, "GET", "/_sandbox/faults", auth="none", validate=False)
def list_faults(req, world):
    return world.faults.to_json()


@route(ANY_FAMILY, "POST", "/_sandbox/faults", auth="none", validate=False)
def set_fault(req, world):
    b = dict(_body(req))
    kind = b.pop("kind", None)
    if not kind:
        raise ApiError("400100", "kind is required")
    try:
        f = world.faults.set(kind, b.pop("probability", None), b.pop("count", None),
                             family=b.pop("family", None), path=b.pop("path", None),
                             method=b.pop("method", None), **b)
    except (ValueError, TypeError) as e:
        raise ApiError("400100", str(e)) from None
    return f.to_json()


@route(ANY_FAMILY, "DELETE", "/_sandbox/faults", auth="none", validate=False)
def clear_faults(req, world):
    world.faults.clear(req.args.get("kind"))
    return True


@route(ANY_FAMILY, "POST", "/_sandbox/time", auth="none", validate=False)
def advance_time(req, world):
    b = _body(req)
    try:
        seconds = float(b.get("advance", 0))
    except (TypeError, ValueError):
        raise ApiError("400100", "advance must be a number of seconds") from None
    now = world.clock.advance(seconds)
    for sec in world.sections.values():       # sections with time-driven state (KYC review ...)
        if hasattr(sec, "on_time_advanced"):
            sec.on_time_advanced(now)
    return {"nowMs": now, "offsetMs": world.clock.offset_ms}


@route(ANY_FAMILY, "POST", "/_sandbox/quotas", auth="none", validate=False)
def quotas(req, world):
    b = _body(req)
    if b.get("defaults"):
        world.ratelimiter.restore_default_quotas()
    else:
        try:
            world.ratelimiter.set_quota(b["pool"], int(b["limit"]), int(b.get("windowMs", 30_000)))
        except (KeyError, ValueError) as e:
            raise ApiError("400100", f"bad quota: {e}") from None
    return world.ratelimiter.quotas_json()


@route(ANY_FAMILY, "POST", "/_sandbox/mark-price", auth="none", validate=False)
def mark_price(req, world):
    b = _body(req)
    if not world.has_section("trading") or not hasattr(world.section("trading"), "set_mark_price"):
        raise ApiError("404000", "no trading section with set_mark_price")
    from decimal import Decimal
    world.section("trading").set_mark_price(str(b["symbol"]), Decimal(str(b["price"])))
    return True
