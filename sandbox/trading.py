"""Spot HF and futures order endpoints, and the trading section of the World.

The logic is in trading_spot.py / trading_futures.py; this module wires it to the core: routes,
the World section (reset, dump, state load), the balances, the mark-price control hook, and the
seeded month of orders (trading_seed.py).
"""
from __future__ import annotations

import math
import random
from decimal import Decimal

from sandbox import openapi
from sandbox.balances import InsufficientFunds as CoreInsufficientFunds
from sandbox.errors import ApiError
from sandbox.money import fmt
from sandbox.routes import ANY_FAMILY, route
from sandbox.trading_errors import FUTURES_CONTRACT_NOT_FOUND, TradingError
from sandbox.trading_fills import Fill
from sandbox.trading_futures import FuturesBook, parse_futures_order
from sandbox.trading_markets import (
    FUTURES, FUTURES_CONTRACTS, SPOT, SPOT_SYMBOLS, fee_rate, initial_mark_prices)
from sandbox.trading_spot import SpotBook, parse_spot_order
from sandbox.trading_wallet import InsufficientFunds
from sandbox.world import Section, register_section


class WorldWallet:
    """The order books' Wallet on top of the core's balances section."""

    def __init__(self, world):
        self.world = world

    @property
    def _balances(self):
        return self.world.balances

    def hold(self, uid, account, currency, amount):
        try:
            self._balances.hold(uid, account, currency, amount)
        except CoreInsufficientFunds as e:
            raise InsufficientFunds((uid, account, currency)) from e

    def release(self, uid, account, currency, amount):
        if amount:
            self._balances.unhold(uid, account, currency, amount)

    def spend_held(self, uid, account, currency, amount):
        if amount:
            self._balances.spend_held(uid, account, currency, amount)

    def credit(self, uid, account, currency, amount):
        if amount:
            self._balances.credit(uid, account, currency, amount)

    def debit(self, uid, account, currency, amount):
        try:
            self._balances.debit(uid, account, currency, amount)
        except CoreInsufficientFunds as e:
            raise InsufficientFunds((uid, account, currency)) from e


@register_section
class TradingSection(Section):
    name = "trading"

    def __init__(self, world):
        super().__init__(world)
        self.marks: dict[str, Decimal] = initial_mark_prices()
        self.rng = world.section_rng("trading-ids")
        self.spot = SpotBook(WorldWallet(world), self.marks, self.rng, self._on_fill)
        self.futures = FuturesBook(WorldWallet(world), self.marks, self.rng, self._on_fill)

    def _on_fill(self, fill: Fill) -> None:
        # The rebate ledger is its own section (rebates.py); it is told about every fill.
        ledger = self.world.sections.get("rebates")
        if ledger is not None:
            ledger.record_fill(fill)

    # -- hooks the core calls -----------------------------------------------------------------
    def set_mark_price(self, symbol: str, price: Decimal) -> dict:
        """Control API (POST /_sandbox/mark-price): move a mark price, fill what it crosses."""
        if symbol not in self.marks:
            raise ApiError("400100", f"unknown symbol {symbol}; known: {', '.join(sorted(self.marks))}")
        if not price.is_finite() or price <= 0:
            raise ApiError("400100", "price must be greater than 0")
        self.marks[symbol] = price
        now = self.world.clock.now_ms()
        if symbol in SPOT_SYMBOLS:
            touched = self.spot.on_mark_price(symbol, now)
        else:
            touched = self.futures.on_mark_price(symbol, now)
        return {"symbol": symbol, "price": fmt(price), "filled": touched}

    def on_time_advanced(self, now_ms: int) -> None:
        self.spot.expire_due(now_ms)

    # -- seed / dump / load -------------------------------------------------------------------
    def seed(self, rng: random.Random) -> None:
        from sandbox.trading_seed import seed_history
        seed_history(self, rng)

    def to_json(self) -> dict:
        return {
            "markPrices": {s: fmt(p) for s, p in self.marks.items()},
            "feeRates": {f"{kind}:{liq}": fmt(fee_rate(kind, liq))
                         for kind in (SPOT, FUTURES) for liq in ("maker", "taker")},
            "spotOrders": self.spot.to_json(),
            "futures": self.futures.to_json(),
        }

    def load(self, data: dict) -> None:
        self.marks.clear()
        self.marks.update(initial_mark_prices())
        self.marks.update({s: Decimal(p) for s, p in data.get("markPrices", {}).items()})
        self.spot.load(data.get("spotOrders", []))
        self.futures.load(data.get("futures", {}))
        # a loaded state must not replay the id sequence of the seeded one
        self.rng.seed(f"{self.world.seed_value}:trading-ids:{len(self.spot.orders)}:{len(self.futures.orders)}")


def _trading(world) -> TradingSection:
    return world.section("trading")


def _spot_book(req, world) -> SpotBook:
    """The spot book with GTT orders that are due already expired (expiry is lazy)."""
    book = _trading(world).spot
    book.expire_due(req.now_ms)
    return book


def _only_known_fields(req, template: str) -> None:
    """For routes registered with validate=False (see below): still refuse a field that KuCoin's
    OpenAPI request schema does not declare, as the core's validation would."""
    schema = openapi.request_body_schema(openapi.find(req.family, req.method, template) or {}) or {}
    known = schema.get("properties") or {}
    if isinstance(req.body, dict):
        for name in req.body:
            if name not in known:
                raise ApiError("400100", f"{name} is not a recognised parameter")


# The spot HF place-order schema declares cancelAfter with minimum 0, yet its default (and what the
# official SDK always sends) is -1; the core's validator would refuse every SDK order. These routes
# skip the core's request validation; parse_spot_order checks every field itself (types, enums,
# bounds, -1 included) and _only_known_fields refuses undeclared ones.


# =============================================================================================
# Spot HF orders (spot host). Permission: Spot to place/cancel, General to read (kucoin-api.md 4).
# =============================================================================================

@route("spot", "POST", "/api/v1/hf/orders", permission="Spot", validate=False)
def spot_add_order(req, world):
    _only_known_fields(req, "/api/v1/hf/orders")
    order = _trading(world).spot.place(req.uid, parse_spot_order(req.body), partner=req.partner_tag,
                                       now_ms=req.now_ms)
    return {"orderId": order.id, "clientOid": order.client_oid}


@route("spot", "POST", "/api/v1/hf/orders/test", permission="Spot", validate=False)
def spot_add_order_test(req, world):
    _only_known_fields(req, "/api/v1/hf/orders/test")
    order = _trading(world).spot.place(req.uid, parse_spot_order(req.body), partner=req.partner_tag,
                                       now_ms=req.now_ms, dry_run=True)
    return {"orderId": order.id, "clientOid": order.client_oid}


@route("spot", "POST", "/api/v1/hf/orders/sync", permission="Spot", validate=False)
def spot_add_order_sync(req, world):
    _only_known_fields(req, "/api/v1/hf/orders/sync")
    order = _trading(world).spot.place(req.uid, parse_spot_order(req.body), partner=req.partner_tag,
                                       now_ms=req.now_ms)
    view = order.hf_view()
    return {"orderId": order.id, "clientOid": order.client_oid, "orderTime": order.created_at,
            "originSize": view["size"], "dealSize": view["dealSize"], "remainSize": view["remainSize"],
            "canceledSize": view["cancelledSize"],
            "status": "open" if order.active else "done", "matchTime": order.last_updated_at}


@route("spot", "POST", "/api/v1/orders", permission="Spot")
def spot_add_order_old(req, world):
    # The old endpoint: clientOid required, type defaults to limit, no `tags` field in its schema.
    if isinstance(req.body, dict) and req.body.get("tradeType", "TRADE") != "TRADE":
        raise ApiError("400100", "Parameter error: tradeType MARGIN_TRADE is not supported by the sandbox")
    order = _trading(world).spot.place(req.uid, parse_spot_order(req.body, client_oid_required=True,
                                                                 default_type="limit"),
                                       partner=req.partner_tag, now_ms=req.now_ms)
    return {"orderId": order.id}


@route("spot", "GET", "/api/v1/hf/orders/{orderId}", permission="General")
def spot_get_order(req, world):
    return _spot_book(req, world).find(req.uid, order_id=req.path_params["orderId"],
                                   symbol=req.args.get("symbol")).hf_view()


@route("spot", "GET", "/api/v1/hf/orders/client-order/{clientOid}", permission="General")
def spot_get_order_by_client_oid(req, world):
    return _spot_book(req, world).find(req.uid, client_oid=req.path_params["clientOid"],
                                   symbol=req.args.get("symbol")).hf_view()


@route("spot", "GET", "/api/v1/orders/{orderId}", permission="General")
def spot_get_order_old(req, world):
    # Whether the old path finds HF orders on live KuCoin is open (kucoin-api.md 11.8); here it does.
    return _spot_book(req, world).find(req.uid, order_id=req.path_params["orderId"]).old_view()


@route("spot", "GET", "/api/v1/order/client-order/{clientOid}", permission="General")
def spot_get_order_by_client_oid_old(req, world):
    return _spot_book(req, world).find(req.uid, client_oid=req.path_params["clientOid"]).old_view()


@route("spot", "DELETE", "/api/v1/hf/orders/{orderId}", permission="Spot")
def spot_cancel_order(req, world):
    order = _trading(world).spot.cancel(req.uid, symbol=req.args.get("symbol"), now_ms=req.now_ms,
                                        order_id=req.path_params["orderId"])
    return {"orderId": order.id}


@route("spot", "DELETE", "/api/v1/hf/orders/client-order/{clientOid}", permission="Spot")
def spot_cancel_order_by_client_oid(req, world):
    order = _trading(world).spot.cancel(req.uid, symbol=req.args.get("symbol"), now_ms=req.now_ms,
                                        client_oid=req.path_params["clientOid"])
    return {"clientOid": order.client_oid}


@route("spot", "GET", "/api/v1/hf/orders/active", permission="General")
def spot_open_orders(req, world):
    return [o.hf_view() for o in _spot_book(req, world).open_orders(req.uid, req.args.get("symbol"))]


# =============================================================================================
# Futures orders (futures host). Permission: Futures to place/cancel, General to read (section 5).
# =============================================================================================

@route("futures", "POST", "/api/v1/orders", permission="Futures")
def futures_add_order(req, world):
    order = _trading(world).futures.place(req.uid, parse_futures_order(req.body), partner=req.partner_tag,
                                          now_ms=req.now_ms)
    return {"orderId": order.id, "clientOid": order.client_oid}


@route("futures", "POST", "/api/v1/orders/test", permission="Futures")
def futures_add_order_test(req, world):
    order = _trading(world).futures.place(req.uid, parse_futures_order(req.body), partner=req.partner_tag,
                                          now_ms=req.now_ms, dry_run=True)
    return {"orderId": order.id, "clientOid": order.client_oid}


@route("futures", "GET", "/api/v1/orders/{order-id}", permission="General")
def futures_get_order(req, world):
    return _trading(world).futures.find(req.uid, order_id=req.path_params["order-id"]).view()


@route("futures", "GET", "/api/v1/orders/byClientOid", permission="General")
def futures_get_order_by_client_oid(req, world):
    client_oid = req.args.get("clientOid")
    if not client_oid:
        raise ApiError("400100", "Parameter error: clientOid is required")
    return _trading(world).futures.find(req.uid, client_oid=client_oid).view()


@route("futures", "DELETE", "/api/v1/orders/{orderId}", permission="Futures")
def futures_cancel_order(req, world):
    order = _trading(world).futures.cancel(req.uid, now_ms=req.now_ms, order_id=req.path_params["orderId"])
    return {"cancelledOrderIds": [order.id]}


@route("futures", "DELETE", "/api/v1/orders/client-order/{clientOid}", permission="Futures")
def futures_cancel_order_by_client_oid(req, world):
    order = _trading(world).futures.cancel(req.uid, now_ms=req.now_ms, client_oid=req.path_params["clientOid"],
                                           symbol=req.args.get("symbol"))
    return {"clientOid": order.client_oid}


def _page(req, items: list) -> dict:
    try:
        current = max(1, int(req.args.get("currentPage", 1)))
        size = min(1000, max(1, int(req.args.get("pageSize", 50))))
    except ValueError:
        raise ApiError("400100", "Parameter error: currentPage and pageSize must be integers") from None
    start = (current - 1) * size
    return {"currentPage": current, "pageSize": size, "totalNum": len(items),
            "totalPage": math.ceil(len(items) / size) if items else 0, "items": items[start:start + size]}


@route("futures", "GET", "/api/v1/orders", permission="General")
def futures_order_list(req, world):
    """How the back-office counts open limit orders per contract: status=active&symbol=... -> totalNum
    (untriggered stop orders are listed by /api/v1/stopOrders instead, as on KuCoin)."""
    book = _trading(world).futures
    status = req.args.get("status")
    symbol = req.args.get("symbol")
    orders = [o for o in reversed(list(book.orders.values()))
              if o.uid == req.uid and not o.is_waiting_stop and (symbol is None or o.symbol == symbol)
              and (status is None or (status == "active") == o.active)
              and (req.args.get("side") is None or o.side == req.args["side"])
              and (req.args.get("type") in (None, o.type))]
    return _page(req, [o.view() for o in orders])


@route("futures", "GET", "/api/v1/stopOrders", permission="General")
def futures_stop_order_list(req, world):
    book = _trading(world).futures
    orders = list(reversed(book.waiting_stop_orders(req.uid, req.args.get("symbol"))))
    items = []
    for o in orders:
        item = o.view()
        # this list types stopPrice as a string (OpenAPI), unlike the single-order answer
        item["stopPrice"] = fmt(o.stop_price) if o.stop_price is not None else None
        items.append(item)
    return _page(req, items)


@route("futures", "GET", "/api/v1/openOrderStatistics", permission="General")
def futures_open_order_value(req, world):
    """Open (unfilled) lots and their value per side, for one contract."""
    symbol = req.args.get("symbol")
    contract = FUTURES_CONTRACTS.get(symbol or "")
    if contract is None:
        raise TradingError(FUTURES_CONTRACT_NOT_FOUND, f"Contract parameter invalid: {symbol}")
    open_orders = _trading(world).futures.active_orders(req.uid, symbol)
    out = {"openOrderBuySize": 0, "openOrderSellSize": 0,
           "openOrderBuyCost": Decimal(0), "openOrderSellCost": Decimal(0)}
    for o in open_orders:
        lots = o.size - o.deal_size
        value = lots * contract.multiplier * (o.price or _trading(world).marks[symbol])
        side = "Buy" if o.side == "buy" else "Sell"
        out[f"openOrder{side}Size"] += lots
        out[f"openOrder{side}Cost"] += value / o.leverage
    return {"openOrderBuySize": out["openOrderBuySize"], "openOrderSellSize": out["openOrderSellSize"],
            "openOrderBuyCost": fmt(out["openOrderBuyCost"]), "openOrderSellCost": fmt(out["openOrderSellCost"]),
            "settleCurrency": contract.settle_currency}


# =============================================================================================
# Control: read the marks (setting them is the core's POST /_sandbox/mark-price -> set_mark_price)
# =============================================================================================

@route(ANY_FAMILY, "GET", "/_sandbox/mark-price", auth="none", validate=False)
def get_mark_prices(req, world):
    return {s: fmt(p) for s, p in _trading(world).marks.items()}
