"""Spot HF orders: validation, holds, matching against the mark price, fees, views.

Matching model (a sandbox, not an exchange): there is no order book of other users, only a mark price
per symbol that the control API moves.
- A market order fills at once, whole, at the mark price (taker).
- A limit order that crosses the mark on arrival (buy at or above it, sell at or below it) fills at
  once, whole, at the mark price (taker); with postOnly it is accepted and cancelled at once instead,
  which is what KuCoin's HF engine does with a post-only order that would take liquidity.
  IOC and FOK orders that do not cross are cancelled at once.
- Otherwise the order rests (GTC, or GTT until cancelAfter seconds pass) and fills, whole, at its own
  price (maker) when the mark price later moves through it.
Funds: a buy holds price * size plus the largest fee it could pay, in the quote currency; a sell holds
the base size. Fees are charged in the quote currency, as KuCoin does for spot.
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from decimal import ROUND_DOWN, Decimal
from typing import Optional

from sandbox.trading_errors import (
    SPOT_BALANCE_INSUFFICIENT, SPOT_CLIENT_OID_DUPLICATE, SPOT_ORDER_NOT_FOUND, SPOT_SYMBOL_NOT_FOUND,
    SPOT_TOO_MANY_OPEN_ORDERS, TradingError, parameter_error)
from sandbox.trading_fills import Fill, FillListener, ignore_fill
from sandbox.trading_markets import SPOT, SPOT_SYMBOLS, SpotSymbol, fee_rate, is_multiple, max_fee_rate, to_wire
from sandbox.trading_validation import (
    CLIENT_OID, amount, choice, flag, integer, require_object, text)
from sandbox.trading_wallet import InsufficientFunds, Wallet

TRADE_ACCOUNT = "TRADE"
MAX_OPEN_ORDERS_PER_SYMBOL = 200       # classic account, per UID and symbol (kucoin-api.md 4.2)
MAX_CANCEL_AFTER_SECONDS = 2_592_000   # 30 days


def partner_tag(partner: Optional[str]) -> Optional[str]:
    """The `tags` value KuCoin shows on a broker-attributed spot order (kucoin-api.md 4.3)."""
    return f"partner:{partner}" if partner else None


@dataclass
class SpotOrder:
    id: str
    uid: str
    symbol: str
    side: str
    type: str
    price: Optional[Decimal]
    size: Optional[Decimal]
    funds: Optional[Decimal]
    time_in_force: str
    cancel_after: int
    post_only: bool
    hidden: bool
    iceberg: bool
    visible_size: Optional[Decimal]
    stp: Optional[str]
    remark: Optional[str]
    client_oid: str
    user_tags: Optional[str]
    partner: Optional[str]
    created_at: int
    last_updated_at: int
    fee_currency: str
    deal_size: Decimal = Decimal(0)
    deal_funds: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    active: bool = True
    in_order_book: bool = False
    cancel_exist: bool = False
    held: Decimal = Decimal(0)
    held_currency: str = ""

    # -- derived values ------------------------------------------------------------------------
    @property
    def tags(self) -> Optional[str]:
        # The partner tag wins over the user's own label (kucoin-api.md 4.1 recommendation).
        return partner_tag(self.partner) or self.user_tags

    @property
    def order_funds(self) -> Decimal:
        if self.type == "limit":
            return self.price * self.size
        return self.funds or Decimal(0)

    @property
    def cancelled_size(self) -> Decimal:
        if self.active or not self.cancel_exist or self.size is None:
            return Decimal(0)
        return self.size - self.deal_size

    @property
    def cancelled_funds(self) -> Decimal:
        if self.active or not self.cancel_exist:
            return Decimal(0)
        if self.type == "limit":
            return self.price * (self.size - self.deal_size)
        return (self.funds - self.deal_funds) if self.funds else Decimal(0)

    @property
    def remain_size(self) -> Decimal:
        if not self.active or self.size is None:
            return Decimal(0)
        return self.size - self.deal_size

    @property
    def remain_funds(self) -> Decimal:
        if not self.active:
            return Decimal(0)
        return self.order_funds - self.deal_funds

    # -- wire views ---------------------------------------------------------------------------
    def hf_view(self) -> dict:
        """`GET /api/v1/hf/orders/{orderId}` data, field for field as in KuCoin's example."""
        return {
            "id": self.id,
            "clientOid": self.client_oid,
            "symbol": self.symbol,
            "opType": "DEAL",
            "type": self.type,
            "side": self.side,
            "price": to_wire(self.price or Decimal(0)),
            "size": to_wire(self.size or Decimal(0)),
            "funds": to_wire(self.order_funds),
            "dealSize": to_wire(self.deal_size),
            "dealFunds": to_wire(self.deal_funds),
            "remainSize": to_wire(self.remain_size),
            "remainFunds": to_wire(self.remain_funds),
            "cancelledSize": to_wire(self.cancelled_size),
            "cancelledFunds": to_wire(self.cancelled_funds),
            "fee": to_wire(self.fee),
            "feeCurrency": self.fee_currency,
            "stp": self.stp,  # null when none, never "" (the SDK's enum has no "")
            "timeInForce": self.time_in_force,
            "postOnly": self.post_only,
            "hidden": self.hidden,
            "iceberg": self.iceberg,
            "visibleSize": to_wire(self.visible_size or Decimal(0)),
            "cancelAfter": max(self.cancel_after, 0),
            "channel": "API",
            "remark": self.remark,
            "tags": self.tags,
            "cancelExist": self.cancel_exist,
            "tradeType": "TRADE",
            "inOrderBook": self.in_order_book,
            "active": self.active,
            "tax": "0",
            "createdAt": self.created_at,
            "lastUpdatedAt": self.last_updated_at,
        }

    def old_view(self) -> dict:
        """`GET /api/v1/orders/{orderId}` (old spot path) data: isActive, stop fields, stp ""."""
        return {
            "id": self.id,
            "symbol": self.symbol,
            "opType": "DEAL",
            "type": self.type,
            "side": self.side,
            "price": to_wire(self.price or Decimal(0)),
            "size": to_wire(self.size or Decimal(0)),
            "funds": to_wire(self.order_funds),
            "dealFunds": to_wire(self.deal_funds),
            "dealSize": to_wire(self.deal_size),
            "fee": to_wire(self.fee),
            "feeCurrency": self.fee_currency,
            "stp": self.stp or "",
            "stop": "",
            "stopTriggered": False,
            "stopPrice": "0",
            "timeInForce": self.time_in_force,
            "postOnly": self.post_only,
            "hidden": self.hidden,
            "iceberg": self.iceberg,
            "visibleSize": to_wire(self.visible_size or Decimal(0)),
            "cancelAfter": max(self.cancel_after, 0),
            "channel": "API",
            "clientOid": self.client_oid,
            "remark": self.remark,
            "tags": self.tags,
            "isActive": self.active,
            "cancelExist": self.cancel_exist,
            "createdAt": self.created_at,
            "tradeType": "TRADE",
            "tax": "0",
            "taxRate": "0",
            "taxCurrency": "USDT",
        }

    # -- state --------------------------------------------------------------------------------
    def to_json(self) -> dict:
        out = asdict(self)
        out["tags"] = self.tags
        return out

    @classmethod
    def from_json(cls, data: dict) -> "SpotOrder":
        names = {f.name: f for f in fields(cls)}
        kwargs = {}
        for name, f in names.items():
            value = data.get(name)
            if value is not None and "Decimal" in str(f.type):
                value = Decimal(value)
            kwargs[name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class SpotOrderRequest:
    """A validated `POST /api/v1/hf/orders` body."""
    symbol: SpotSymbol
    side: str
    type: str
    client_oid: Optional[str]
    price: Optional[Decimal]
    size: Optional[Decimal]
    funds: Optional[Decimal]
    time_in_force: str
    cancel_after: int
    post_only: bool
    hidden: bool
    iceberg: bool
    visible_size: Optional[Decimal]
    stp: Optional[str]
    remark: Optional[str]
    user_tags: Optional[str]


def parse_spot_order(body, *, client_oid_required: bool = False, default_type: Optional[str] = None
                     ) -> SpotOrderRequest:
    """Every rule of kucoin-api.md 4.2, each failure a 400100 naming the field."""
    body = require_object(body)
    client_oid = text(body, "clientOid", required=client_oid_required, max_len=40, pattern=CLIENT_OID)
    side = choice(body, "side", ("buy", "sell"), required=True)
    symbol_name = text(body, "symbol", required=True)
    order_type = choice(body, "type", ("limit", "market"), required=default_type is None, default=default_type)
    symbol = SPOT_SYMBOLS.get(symbol_name)
    if symbol is None:
        raise TradingError(SPOT_SYMBOL_NOT_FOUND, f"Symbol {symbol_name} does not exist")
    price = amount(body, "price")
    size = amount(body, "size")
    funds = amount(body, "funds")
    time_in_force = choice(body, "timeInForce", ("GTC", "GTT", "IOC", "FOK"), default="GTC")
    cancel_after = integer(body, "cancelAfter")
    post_only = flag(body, "postOnly")
    hidden = flag(body, "hidden")
    iceberg = flag(body, "iceberg")
    visible_size = amount(body, "visibleSize")
    stp = choice(body, "stp", ("DC", "CO", "CN", "CB"))
    remark = text(body, "remark", max_len=20, ascii_only=True)
    user_tags = text(body, "tags", max_len=20, ascii_only=True)

    if order_type == "limit":
        if price is None:
            raise parameter_error("price", "is required for a limit order")
        if size is None:
            raise parameter_error("size", "is required for a limit order")
        if funds is not None:
            raise parameter_error("funds", "is not allowed for a limit order")
    else:
        if price is not None:
            raise parameter_error("price", "is not allowed for a market order")
        if (size is None) == (funds is None):
            raise parameter_error("size", "or funds: exactly one is required for a market order")
        if time_in_force in ("GTT",) or post_only:
            raise parameter_error("timeInForce" if not post_only else "postOnly",
                                  "is not allowed for a market order")
    if price is not None and not is_multiple(price, symbol.price_increment):
        raise parameter_error("price", f"must be a multiple of priceIncrement {to_wire(symbol.price_increment)}")
    if size is not None:
        if not is_multiple(size, symbol.base_increment):
            raise parameter_error("size", f"must be a multiple of baseIncrement {to_wire(symbol.base_increment)}")
        if not symbol.base_min_size <= size <= symbol.base_max_size:
            raise parameter_error("size", f"must be between {to_wire(symbol.base_min_size)} and "
                                          f"{to_wire(symbol.base_max_size)}")
    if funds is not None:
        if not is_multiple(funds, symbol.quote_increment):
            raise parameter_error("funds", f"must be a multiple of quoteIncrement {to_wire(symbol.quote_increment)}")
        if not symbol.quote_min_size <= funds <= symbol.quote_max_size:
            raise parameter_error("funds", f"must be between {to_wire(symbol.quote_min_size)} and "
                                           f"{to_wire(symbol.quote_max_size)}")
    # cancelAfter: the SDK always sends -1 ("never"); a positive value only makes sense with GTT.
    if cancel_after is None or cancel_after in (-1, 0):
        if time_in_force == "GTT":
            raise parameter_error("cancelAfter", "is required (1 to 2592000 seconds) with timeInForce GTT")
        cancel_after = -1
    else:
        if time_in_force != "GTT":
            raise parameter_error("cancelAfter", "is only allowed with timeInForce GTT")
        if not 1 <= cancel_after <= MAX_CANCEL_AFTER_SECONDS:
            raise parameter_error("cancelAfter", f"must be between 1 and {MAX_CANCEL_AFTER_SECONDS}")
    if post_only and time_in_force in ("IOC", "FOK"):
        raise parameter_error("postOnly", "is not allowed with timeInForce IOC or FOK")
    if visible_size is not None and not iceberg:
        raise parameter_error("visibleSize", "is only allowed with iceberg")
    if iceberg and hidden:
        raise parameter_error("hidden", "is not allowed with iceberg")
    return SpotOrderRequest(symbol, side, order_type, client_oid, price, size, funds, time_in_force,
                            cancel_after, post_only, hidden, iceberg, visible_size, stp, remark, user_tags)


class SpotBook:
    """All spot orders of all users. Not thread-safe: the core holds world.lock around every call."""

    def __init__(self, wallet: Wallet, marks: dict[str, Decimal], rng: random.Random,
                 on_fill: FillListener = ignore_fill):
        self.wallet = wallet
        self.marks = marks                         # shared with the futures book: symbol -> price
        self.rng = rng
        self.on_fill = on_fill
        self.orders: dict[str, SpotOrder] = {}     # id -> order, insertion order = placement order
        # indexes, so that a long history does not slow placing down
        self.by_client_oid: dict[tuple[str, str], str] = {}   # (uid, clientOid) -> id
        self.active: dict[str, SpotOrder] = {}                # id -> open order

    def _store(self, order: SpotOrder) -> None:
        self.orders[order.id] = order
        self.by_client_oid[(order.uid, order.client_oid)] = order.id
        if order.active:
            self.active[order.id] = order

    # -- ids ----------------------------------------------------------------------------------
    def new_order_id(self, now_ms: int) -> str:
        return "%08x%016x" % ((now_ms // 1000) & 0xFFFFFFFF, self.rng.getrandbits(64))

    def new_client_oid(self) -> str:
        return "%032x" % self.rng.getrandbits(128)

    # -- queries ------------------------------------------------------------------------------
    def find(self, uid: str, *, order_id: Optional[str] = None, client_oid: Optional[str] = None,
             symbol: Optional[str] = None) -> SpotOrder:
        order = None
        if order_id is not None:
            candidate = self.orders.get(order_id)
            if candidate is not None and candidate.uid == uid:
                order = candidate
        else:
            order = self.orders.get(self.by_client_oid.get((uid, client_oid), ""))
        if order is None or (symbol is not None and order.symbol != symbol):
            raise TradingError(SPOT_ORDER_NOT_FOUND, "order not exist.")
        return order

    def open_orders(self, uid: str, symbol: Optional[str] = None) -> list[SpotOrder]:
        return [o for o in self.active.values()
                if o.uid == uid and (symbol is None or o.symbol == symbol)]

    # -- placing ------------------------------------------------------------------------------
    def place(self, uid: str, req: SpotOrderRequest, *, partner: Optional[str], now_ms: int,
              dry_run: bool = False) -> SpotOrder:
        self.expire_due(now_ms)
        client_oid = req.client_oid or self.new_client_oid()
        if (uid, client_oid) in self.by_client_oid:
            raise TradingError(SPOT_CLIENT_OID_DUPLICATE, "clientOid duplicate")
        if req.type == "limit" and len(self.open_orders(uid, req.symbol.symbol)) >= MAX_OPEN_ORDERS_PER_SYMBOL:
            raise TradingError(SPOT_TOO_MANY_OPEN_ORDERS,
                               f"Exceeded the maximum number of active orders ({MAX_OPEN_ORDERS_PER_SYMBOL}) "
                               f"for {req.symbol.symbol}")
        mark = self.marks[req.symbol.symbol]
        order = SpotOrder(
            id=self.new_order_id(now_ms), uid=uid, symbol=req.symbol.symbol, side=req.side, type=req.type,
            price=req.price, size=req.size, funds=req.funds, time_in_force=req.time_in_force,
            cancel_after=req.cancel_after, post_only=req.post_only, hidden=req.hidden, iceberg=req.iceberg,
            visible_size=req.visible_size, stp=req.stp, remark=req.remark, client_oid=client_oid,
            user_tags=req.user_tags, partner=partner, created_at=now_ms, last_updated_at=now_ms,
            fee_currency=req.symbol.quote)
        held_currency, hold = self._hold_needed(order, req.symbol, mark)
        if hold is None:
            raise parameter_error("funds", "is too small for one size increment at the mark price")
        try:
            if dry_run:
                # /test: the same checks, nothing placed or held
                if self._available_is_short(uid, held_currency, hold):
                    raise InsufficientFunds()
                return order
            self.wallet.hold(uid, TRADE_ACCOUNT, held_currency, hold)
        except InsufficientFunds:
            raise TradingError(SPOT_BALANCE_INSUFFICIENT, "Balance insufficient!") from None
        order.held, order.held_currency = hold, held_currency
        self._store(order)
        self._match_on_arrival(order, req.symbol, mark, now_ms)
        return order

    def _available_is_short(self, uid: str, currency: str, amount_needed: Decimal) -> bool:
        try:
            self.wallet.hold(uid, TRADE_ACCOUNT, currency, amount_needed)
        except InsufficientFunds:
            return True
        self.wallet.release(uid, TRADE_ACCOUNT, currency, amount_needed)
        return False

    def _market_size(self, order: SpotOrder, symbol: SpotSymbol, mark: Decimal) -> Decimal:
        if order.size is not None:
            return order.size
        return (order.funds / mark).quantize(symbol.base_increment, rounding=ROUND_DOWN)

    def _hold_needed(self, order: SpotOrder, symbol: SpotSymbol, mark: Decimal
                     ) -> tuple[str, Optional[Decimal]]:
        if order.side == "sell":
            size = order.size if order.size is not None else self._market_size(order, symbol, mark)
            return symbol.base, (size if size > 0 else None)
        top_fee = max_fee_rate(SPOT)
        if order.type == "limit":
            return symbol.quote, order.price * order.size * (1 + top_fee)
        if order.funds is not None:
            size = self._market_size(order, symbol, mark)
            return symbol.quote, (order.funds * (1 + top_fee) if size > 0 else None)
        return symbol.quote, order.size * mark * (1 + top_fee)

    def _match_on_arrival(self, order: SpotOrder, symbol: SpotSymbol, mark: Decimal, now_ms: int) -> None:
        if order.type == "market":
            self._fill(order, symbol, mark, self._market_size(order, symbol, mark), "taker", now_ms)
            return
        crosses = order.price >= mark if order.side == "buy" else order.price <= mark
        if crosses and order.post_only:
            self._cancel(order, now_ms)
        elif crosses:
            self._fill(order, symbol, mark, order.size, "taker", now_ms)
        elif order.time_in_force in ("IOC", "FOK"):
            self._cancel(order, now_ms)
        else:
            order.in_order_book = True

    # -- fills --------------------------------------------------------------------------------
    def _fill(self, order: SpotOrder, symbol: SpotSymbol, price: Decimal, size: Decimal, liquidity: str,
              now_ms: int) -> None:
        deal_funds = price * size
        fee = deal_funds * fee_rate(SPOT, liquidity)
        if order.side == "buy":
            spent = deal_funds + fee
            self.wallet.spend_held(order.uid, TRADE_ACCOUNT, symbol.quote, spent)
            self.wallet.release(order.uid, TRADE_ACCOUNT, symbol.quote, order.held - spent)
            self.wallet.credit(order.uid, TRADE_ACCOUNT, symbol.base, size)
        else:
            self.wallet.spend_held(order.uid, TRADE_ACCOUNT, symbol.base, size)
            self.wallet.release(order.uid, TRADE_ACCOUNT, symbol.base, order.held - size)
            self.wallet.credit(order.uid, TRADE_ACCOUNT, symbol.quote, deal_funds - fee)
        order.held = Decimal(0)
        self.active.pop(order.id, None)
        order.deal_size += size
        order.deal_funds += deal_funds
        order.fee += fee
        order.active = False
        order.in_order_book = False
        order.last_updated_at = now_ms
        self.on_fill(Fill(uid=order.uid, kind=SPOT, symbol=order.symbol, order_id=order.id, time_ms=now_ms,
                          volume=deal_funds, fee=fee, fee_currency=symbol.quote, liquidity=liquidity,
                          partner=order.partner))

    def on_mark_price(self, symbol_name: str, now_ms: int) -> list[str]:
        """Fill every resting order that the new mark price crosses; returns their ids."""
        self.expire_due(now_ms)
        symbol = SPOT_SYMBOLS.get(symbol_name)
        if symbol is None:
            return []
        mark = self.marks[symbol_name]
        filled = []
        for order in list(self.active.values()):
            if not (order.active and order.in_order_book and order.symbol == symbol_name):
                continue
            if (order.side == "buy" and mark <= order.price) or (order.side == "sell" and mark >= order.price):
                self._fill(order, symbol, order.price, order.size - order.deal_size, "maker", now_ms)
                filled.append(order.id)
        return filled

    # -- cancelling ---------------------------------------------------------------------------
    def _cancel(self, order: SpotOrder, now_ms: int) -> None:
        if order.held:
            self.wallet.release(order.uid, TRADE_ACCOUNT, order.held_currency, order.held)
        order.held = Decimal(0)
        self.active.pop(order.id, None)
        order.active = False
        order.in_order_book = False
        order.cancel_exist = True
        order.last_updated_at = now_ms

    def cancel(self, uid: str, *, symbol: str, now_ms: int, order_id: Optional[str] = None,
               client_oid: Optional[str] = None) -> SpotOrder:
        self.expire_due(now_ms)
        order = self.find(uid, order_id=order_id, client_oid=client_oid, symbol=symbol)
        if not order.active:
            raise TradingError(SPOT_ORDER_NOT_FOUND, "order not exist or has been completed.")
        self._cancel(order, now_ms)
        return order

    def expire_due(self, now_ms: int) -> None:
        """GTT orders die cancelAfter seconds after creation; done lazily, on the next touch."""
        for order in list(self.active.values()):
            if (order.active and order.time_in_force == "GTT" and order.cancel_after > 0
                    and now_ms >= order.created_at + order.cancel_after * 1000):
                self._cancel(order, order.created_at + order.cancel_after * 1000)

    # -- state --------------------------------------------------------------------------------
    def to_json(self) -> list[dict]:
        return [o.to_json() for o in self.orders.values()]

    def load(self, data: list[dict]) -> None:
        self.orders, self.by_client_oid, self.active = {}, {}, {}
        for item in data:
            item = {k: v for k, v in item.items() if k != "tags"}
            self._store(SpotOrder.from_json(item))
