"""Futures (USDT-margined, linear) orders: validation, margin holds, positions, stop triggers, views.

Matching model, as for spot (see trading_spot.py): one mark price per contract, moved by the control
API; market orders and crossing limit orders fill whole at the mark (taker); resting limit orders fill
whole at their own price when the mark moves through them (maker); a postOnly order that would cross is
accepted and cancelled at once; IOC that does not cross is cancelled.

Stop orders (stop + stopPrice + stopPriceType) wait untriggered and hold nothing; when the mark price
reaches stopPrice (`down`: at or below, `up`: at or above; TP/MP/IP all read the mark price here) they
become ordinary limit/market orders, holding margin then (cancelled if the margin is not there).

Money, in the CONTRACT account of the settle currency:
- placing holds margin = value / leverage plus the largest fee the fill could cost, value taken at the
  order price (or the mark when that is worse for the holder); reduceOnly / closeOrder orders hold the
  fee only (unless forceHold);
- a fill pays the fee out of the hold, keeps the margin of the lots that open or grow a position held
  as position margin, and gives back the rest;
- a fill that shrinks a position releases that share of the position margin and settles the profit or
  loss (a loss is capped at the released margin: the position would have been liquidated).
"""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Optional

from sandbox.trading_errors import (
    FUTURES_ACTIVE_ORDER_LIMIT, FUTURES_BALANCE_INSUFFICIENT, FUTURES_CONTRACT_NOT_FOUND,
    FUTURES_NO_POSITION_TO_CLOSE, FUTURES_NOT_CANCELABLE, FUTURES_ORDER_NOT_FOUND, FUTURES_STOP_ORDER_LIMIT,
    PARAMETER_ERROR, TradingError, parameter_error)
from sandbox.trading_fills import Fill, FillListener, ignore_fill
from sandbox.trading_markets import (
    FUTURES, FUTURES_CONTRACTS, FuturesContract, fee_rate, is_multiple, max_fee_rate, to_wire)
from sandbox.trading_validation import CLIENT_OID, amount, choice, flag, integer, require_object, text
from sandbox.trading_wallet import InsufficientFunds, Wallet

CONTRACT_ACCOUNT = "CONTRACT"
# Margin is a division (value / leverage, or a share of a position): rounded to this step so that
# holds, releases and position margin always add up exactly.
MARGIN_STEP = Decimal("1e-10")


def margin_of(value: Decimal, leverage: int) -> Decimal:
    return (value / leverage).quantize(MARGIN_STEP, rounding=ROUND_UP)
MAX_OPEN_LIMIT_ORDERS = 100   # per UID and contract (kucoin-api.md 5.1)
MAX_OPEN_STOP_ORDERS = 200


def json_number(value: Optional[Decimal]):
    """A price KuCoin sends as a JSON number (futures stopPrice): an int when whole, since the order
    list's schema (and the SDK's list model) types it integer, else a float; null when absent."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def futures_partner_tag(partner: Optional[str]) -> str:
    """`tags` of a broker-attributed futures order. KuCoin's format is not published
    (kucoin-api.md 11.7); the sandbox uses the spot format, with the futures partner id.
    Untagged futures orders show "" (KuCoin's examples), not null."""
    return f"partner:{partner}" if partner else ""


@dataclass
class Position:
    uid: str
    symbol: str
    qty: int = 0                       # signed lots: > 0 long, < 0 short
    entry_price: Decimal = Decimal(0)
    margin: Decimal = Decimal(0)       # held in the CONTRACT account
    realised_pnl: Decimal = Decimal(0)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "Position":
        return cls(d["uid"], d["symbol"], int(d["qty"]), Decimal(d["entry_price"]), Decimal(d["margin"]),
                   Decimal(d.get("realised_pnl", "0")))


@dataclass
class FuturesOrder:
    id: str
    uid: str
    symbol: str
    side: str
    type: str
    price: Optional[Decimal]
    size: int
    leverage: int
    margin_mode: str
    time_in_force: str
    post_only: bool
    hidden: bool
    iceberg: bool
    visible_size: int
    reduce_only: bool
    close_order: bool
    force_hold: bool
    stop: str                          # "" when not a stop order
    stop_price: Optional[Decimal]
    stop_price_type: str
    remark: Optional[str]
    stp: str
    client_oid: str
    partner: Optional[str]
    created_at: int
    updated_at: int
    order_time_ns: int
    settle_currency: str
    stop_triggered: bool = False
    deal_size: int = 0
    deal_value: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    active: bool = True
    in_order_book: bool = False
    cancel_exist: bool = False
    end_at: Optional[int] = None
    held: Decimal = Decimal(0)

    @property
    def tags(self) -> str:
        return futures_partner_tag(self.partner)

    @property
    def is_waiting_stop(self) -> bool:
        return self.active and bool(self.stop) and not self.stop_triggered

    def value(self, multiplier: Decimal) -> Decimal:
        if self.price is None:
            return self.deal_value
        return self.size * multiplier * self.price

    def view(self) -> dict:
        """`GET /api/v1/orders/{order-id}` data, with the SDK's types: sizes int, stopPrice number|null."""
        contract = FUTURES_CONTRACTS[self.symbol]
        avg = (self.deal_value / (self.deal_size * contract.multiplier)) if self.deal_size else Decimal(0)
        return {
            "id": self.id,
            "symbol": self.symbol,
            "type": self.type,
            "side": self.side,
            "price": to_wire(self.price or Decimal(0)),
            "size": self.size,
            "value": to_wire(self.value(contract.multiplier)),
            "dealValue": to_wire(self.deal_value),
            "dealSize": self.deal_size,
            "stp": self.stp,
            "stop": self.stop,
            "stopPriceType": self.stop_price_type,
            "stopTriggered": self.stop_triggered,
            "stopPrice": json_number(self.stop_price),
            "timeInForce": self.time_in_force,
            "postOnly": self.post_only,
            "hidden": self.hidden,
            "iceberg": self.iceberg,
            "leverage": str(self.leverage),
            "forceHold": self.force_hold,
            "closeOrder": self.close_order,
            "visibleSize": self.visible_size,
            "clientOid": self.client_oid,
            "remark": self.remark,
            "tags": self.tags,
            "isActive": self.active,
            "cancelExist": self.cancel_exist,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "endAt": self.end_at,
            "orderTime": self.order_time_ns,
            "settleCurrency": self.settle_currency,
            "marginMode": self.margin_mode,
            "avgDealPrice": to_wire(avg.quantize(contract.tick_size) if avg else avg),
            "filledSize": self.deal_size,
            "filledValue": to_wire(self.deal_value),
            "status": "open" if self.active else "done",
            "reduceOnly": self.reduce_only,
        }

    def to_json(self) -> dict:
        out = asdict(self)
        out["tags"] = self.tags
        return out

    @classmethod
    def from_json(cls, data: dict) -> "FuturesOrder":
        kwargs = {}
        for f in fields(cls):
            value = data.get(f.name)
            if value is not None and "Decimal" in str(f.type):
                value = Decimal(value)
            kwargs[f.name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class FuturesOrderRequest:
    contract: FuturesContract
    client_oid: str
    side: Optional[str]
    type: str
    price: Optional[Decimal]
    size: Optional[int]
    qty: Optional[Decimal]
    value_qty: Optional[Decimal]
    leverage: Optional[int]
    margin_mode: str
    time_in_force: str
    post_only: bool
    hidden: bool
    iceberg: bool
    visible_size: Optional[int]
    reduce_only: bool
    close_order: bool
    force_hold: bool
    stop: str
    stop_price: Optional[Decimal]
    stop_price_type: str
    remark: Optional[str]
    stp: str


def parse_futures_order(body) -> FuturesOrderRequest:
    """Every rule of kucoin-api.md 5.1, each failure a 400100 naming the field."""
    body = require_object(body)
    client_oid = text(body, "clientOid", required=True, max_len=40, pattern=CLIENT_OID)
    close_order = flag(body, "closeOrder")
    side = choice(body, "side", ("buy", "sell"), required=not close_order)
    symbol = text(body, "symbol", required=True)
    contract = FUTURES_CONTRACTS.get(symbol)
    if contract is None:
        raise TradingError(FUTURES_CONTRACT_NOT_FOUND, f"Contract parameter invalid: {symbol}")
    leverage = integer(body, "leverage", required=not close_order)
    order_type = choice(body, "type", ("limit", "market"), default="limit")
    price = amount(body, "price")
    size_raw = body.get("size")
    if size_raw is not None and (isinstance(size_raw, bool) or not isinstance(size_raw, int)):
        raise parameter_error("size", "must be a positive integer (lots)")
    size = size_raw
    qty = amount(body, "qty")
    value_qty = amount(body, "valueQty")
    margin_mode = choice(body, "marginMode", ("ISOLATED", "CROSS"), default="ISOLATED")
    time_in_force = choice(body, "timeInForce", ("GTC", "IOC"), default="GTC")
    post_only = flag(body, "postOnly")
    hidden = flag(body, "hidden")
    iceberg = flag(body, "iceberg")
    visible_size = integer(body, "visibleSize")
    reduce_only = flag(body, "reduceOnly")
    force_hold = flag(body, "forceHold")
    stop = choice(body, "stop", ("down", "up"), default="")
    stop_price = amount(body, "stopPrice")
    stop_price_type = choice(body, "stopPriceType", ("TP", "MP", "IP"), default="")
    remark = text(body, "remark", max_len=100)
    stp = choice(body, "stp", ("CN", "CO", "CB"), default="")

    given = [name for name, v in (("size", size), ("qty", qty), ("valueQty", value_qty)) if v is not None]
    if not close_order and len(given) != 1:
        raise parameter_error("size", "qty or valueQty: exactly one is required")
    if close_order and len(given) > 1:
        raise parameter_error(given[1], "only one of size, qty, valueQty may be given")
    if size is not None and size <= 0:
        raise parameter_error("size", "must be a positive integer (lots)")
    if size is not None and size > contract.max_order_lots:
        raise parameter_error("size", f"must be at most {contract.max_order_lots} lots")
    if qty is not None and not is_multiple(qty, contract.multiplier):
        raise parameter_error("qty", f"must be a multiple of the contract multiplier {to_wire(contract.multiplier)}")
    if leverage is not None and not 1 <= leverage <= contract.max_leverage:
        raise parameter_error("leverage", f"must be between 1 and {contract.max_leverage}")
    if order_type == "limit":
        if price is None:
            raise parameter_error("price", "is required for a limit order")
        if not is_multiple(price, contract.tick_size):
            raise parameter_error("price", f"must be a multiple of tickSize {to_wire(contract.tick_size)}")
    else:
        price = None  # not used for market orders
        for name, on in (("postOnly", post_only), ("hidden", hidden), ("iceberg", iceberg)):
            if on:
                raise parameter_error(name, "is only allowed on a limit order")
    if post_only and (hidden or iceberg):
        raise parameter_error("postOnly", "is not allowed with hidden or iceberg")
    if post_only and time_in_force == "IOC":
        raise parameter_error("postOnly", "is not allowed with timeInForce IOC")
    if iceberg and visible_size is None:
        raise parameter_error("visibleSize", "is required with iceberg")
    if visible_size is not None:
        if not iceberg:
            raise parameter_error("visibleSize", "is only allowed with iceberg")
        if visible_size <= 0:
            raise parameter_error("visibleSize", "must be a positive integer (lots)")
    if stop and (stop_price is None or not stop_price_type):
        raise parameter_error("stopPrice" if stop_price is None else "stopPriceType", "is required with stop")
    if not stop and (stop_price is not None or stop_price_type):
        raise parameter_error("stop", "is required with stopPrice and stopPriceType")
    return FuturesOrderRequest(contract, client_oid, side, order_type, price, size, qty, value_qty, leverage,
                               margin_mode, time_in_force, post_only, hidden, iceberg, visible_size or 0,
                               reduce_only, close_order, force_hold, stop, stop_price, stop_price_type,
                               remark, stp)


class FuturesBook:
    """All futures orders and positions. Not thread-safe: the core holds world.lock around calls."""

    def __init__(self, wallet: Wallet, marks: dict[str, Decimal], rng: random.Random,
                 on_fill: FillListener = ignore_fill):
        self.wallet = wallet
        self.marks = marks
        self.rng = rng
        self.on_fill = on_fill
        self.orders: dict[str, FuturesOrder] = {}
        # indexes, so that a long history does not slow placing down
        self.by_client_oid: dict[tuple[str, str], str] = {}   # (uid, clientOid) -> id
        self.active: dict[str, FuturesOrder] = {}             # id -> open order (stops included)
        self.positions: dict[tuple[str, str], Position] = {}

    def _store(self, order: FuturesOrder) -> None:
        self.orders[order.id] = order
        self.by_client_oid[(order.uid, order.client_oid)] = order.id
        if order.active:
            self.active[order.id] = order

    def new_order_id(self) -> str:
        return str(self.rng.randrange(10 ** 17, 10 ** 18))

    # -- queries ------------------------------------------------------------------------------
    def find(self, uid: str, *, order_id: Optional[str] = None, client_oid: Optional[str] = None) -> FuturesOrder:
        if order_id is not None:
            order = self.orders.get(order_id)
            if order is not None and order.uid == uid:
                return order
        elif client_oid is not None:
            order = self.orders.get(self.by_client_oid.get((uid, client_oid), ""))
            if order is not None:
                return order
        raise TradingError(FUTURES_ORDER_NOT_FOUND, "error.getOrder.orderNotExist")

    def active_orders(self, uid: str, symbol: Optional[str] = None) -> list[FuturesOrder]:
        """Open limit/market orders (triggered stops included), untriggered stops excluded."""
        return [o for o in self.active.values() if o.active and o.uid == uid and not o.is_waiting_stop
                and (symbol is None or o.symbol == symbol)]

    def waiting_stop_orders(self, uid: str, symbol: Optional[str] = None) -> list[FuturesOrder]:
        return [o for o in self.active.values() if o.is_waiting_stop and o.uid == uid
                and (symbol is None or o.symbol == symbol)]

    def position(self, uid: str, symbol: str) -> Position:
        return self.positions.setdefault((uid, symbol), Position(uid, symbol))

    # -- placing ------------------------------------------------------------------------------
    def _lots(self, req: FuturesOrderRequest, mark: Decimal) -> int:
        c = req.contract
        if req.size is not None:
            return req.size
        if req.qty is not None:
            return int(req.qty / c.multiplier)
        basis = req.price if req.price is not None else mark
        lots = int((req.value_qty / (basis * c.multiplier)).to_integral_value(rounding=ROUND_DOWN))
        if lots < 1:
            raise parameter_error("valueQty", "is less than one lot at this price")
        return lots

    def _checked_lots(self, req: FuturesOrderRequest, mark: Decimal) -> int:
        lots = self._lots(req, mark)
        if lots > req.contract.max_order_lots:
            field = "size" if req.size is not None else ("qty" if req.qty is not None else "valueQty")
            raise parameter_error(field, f"must be at most {req.contract.max_order_lots} lots")
        return lots

    def place(self, uid: str, req: FuturesOrderRequest, *, partner: Optional[str], now_ms: int,
              dry_run: bool = False) -> FuturesOrder:
        c = req.contract
        mark = self.marks[c.symbol]
        if (uid, req.client_oid) in self.by_client_oid:
            raise TradingError(PARAMETER_ERROR, "validation.createOrder.clientOidDuplicated")
        side, lots, reduce_only = req.side, None, req.reduce_only
        position = self.positions.get((uid, c.symbol))
        if req.close_order:
            if position is None or position.qty == 0:
                raise TradingError(FUTURES_NO_POSITION_TO_CLOSE, "No open positions to close.")
            side = "sell" if position.qty > 0 else "buy"
            lots = abs(position.qty)
            reduce_only = True
        else:
            lots = self._checked_lots(req, mark)
        if req.stop:
            if len(self.waiting_stop_orders(uid, c.symbol)) >= MAX_OPEN_STOP_ORDERS:
                current = len(self.waiting_stop_orders(uid, c.symbol))
                raise TradingError(FUTURES_STOP_ORDER_LIMIT, f"Stop order quantity limit exceeded "
                                   f"(limit: {MAX_OPEN_STOP_ORDERS}, current: {current})")
        elif req.type == "limit":
            current = len([o for o in self.active_orders(uid, c.symbol) if o.type == "limit"])
            if current >= MAX_OPEN_LIMIT_ORDERS:
                raise TradingError(FUTURES_ACTIVE_ORDER_LIMIT, f"Active order quantity limit exceeded "
                                   f"(limit: {MAX_OPEN_LIMIT_ORDERS}, current: {current})")
        leverage = req.leverage or 1
        order = FuturesOrder(
            id=self.new_order_id(), uid=uid, symbol=c.symbol, side=side, type=req.type, price=req.price,
            size=lots, leverage=leverage, margin_mode=req.margin_mode, time_in_force=req.time_in_force,
            post_only=req.post_only, hidden=req.hidden, iceberg=req.iceberg, visible_size=req.visible_size,
            reduce_only=reduce_only, close_order=req.close_order, force_hold=req.force_hold, stop=req.stop,
            stop_price=req.stop_price, stop_price_type=req.stop_price_type, remark=req.remark, stp=req.stp,
            client_oid=req.client_oid, partner=partner, created_at=now_ms, updated_at=now_ms,
            order_time_ns=now_ms * 1_000_000 + self.rng.randrange(1_000_000), settle_currency=c.settle_currency)
        if dry_run:
            if not req.stop and self._wallet_short(order, c, mark):
                raise TradingError(FUTURES_BALANCE_INSUFFICIENT, "Balance not enough")
            return order
        if not req.stop:
            try:
                self._hold(order, c, mark)
            except InsufficientFunds:
                raise TradingError(FUTURES_BALANCE_INSUFFICIENT, "Balance not enough") from None
        self._store(order)
        if req.stop:
            self._trigger_if_due(order, c, now_ms)
        else:
            self._match_on_arrival(order, c, now_ms)
        return order

    def _hold_needed(self, order: FuturesOrder, c: FuturesContract, mark: Decimal) -> Decimal:
        basis = mark if order.price is None else max(order.price, mark)
        value = order.size * c.multiplier * basis
        fee_part = value * max_fee_rate(FUTURES)
        if order.reduce_only and not order.force_hold:
            return fee_part
        return margin_of(value, order.leverage) + fee_part

    def _hold(self, order: FuturesOrder, c: FuturesContract, mark: Decimal) -> None:
        amount_needed = self._hold_needed(order, c, mark)
        self.wallet.hold(order.uid, CONTRACT_ACCOUNT, c.settle_currency, amount_needed)
        order.held = amount_needed

    def _wallet_short(self, order: FuturesOrder, c: FuturesContract, mark: Decimal) -> bool:
        try:
            self._hold(order, c, mark)
        except InsufficientFunds:
            return True
        self.wallet.release(order.uid, CONTRACT_ACCOUNT, c.settle_currency, order.held)
        order.held = Decimal(0)
        return False

    def _match_on_arrival(self, order: FuturesOrder, c: FuturesContract, now_ms: int) -> None:
        mark = self.marks[c.symbol]
        if order.type == "market":
            self._fill(order, c, mark, "taker", now_ms)
            return
        crosses = order.price >= mark if order.side == "buy" else order.price <= mark
        if crosses and order.post_only:
            self._cancel(order, now_ms)
        elif crosses:
            self._fill(order, c, mark, "taker", now_ms)
        elif order.time_in_force == "IOC":
            self._cancel(order, now_ms)
        else:
            order.in_order_book = True

    # -- fills --------------------------------------------------------------------------------
    def _fill(self, order: FuturesOrder, c: FuturesContract, price: Decimal, liquidity: str, now_ms: int) -> None:
        position = self.position(order.uid, order.symbol)
        direction = 1 if order.side == "buy" else -1
        lots = order.size - order.deal_size
        closing = min(lots, abs(position.qty)) if position.qty * direction < 0 else 0
        if order.reduce_only:
            lots = closing      # the excess of a reduce-only order is cancelled
        if lots == 0:
            self._cancel(order, now_ms)
            return
        opening = lots - closing
        value = lots * c.multiplier * price
        fee = value * fee_rate(FUTURES, liquidity)
        ccy = c.settle_currency
        # 1. the fee is paid out of the order's hold
        self.wallet.spend_held(order.uid, CONTRACT_ACCOUNT, ccy, fee)
        # 2. closing lots: release their share of position margin, settle profit or loss
        if closing:
            if closing == abs(position.qty):
                released = position.margin
            else:
                released = (position.margin * closing / abs(position.qty)).quantize(MARGIN_STEP, rounding=ROUND_DOWN)
            # the entry price is an average (a division): round the result to the margin step
            pnl = (closing * c.multiplier * (price - position.entry_price) * (1 if position.qty > 0 else -1)
                   ).quantize(MARGIN_STEP)
            position.margin -= released
            position.qty += direction * closing
            position.realised_pnl += pnl
            if pnl < 0:
                loss = min(-pnl, released)
                self.wallet.spend_held(order.uid, CONTRACT_ACCOUNT, ccy, loss)
                self.wallet.release(order.uid, CONTRACT_ACCOUNT, ccy, released - loss)
            else:
                self.wallet.release(order.uid, CONTRACT_ACCOUNT, ccy, released)
                self.wallet.credit(order.uid, CONTRACT_ACCOUNT, ccy, pnl)
            if position.qty == 0:
                position.entry_price = Decimal(0)
        # 3. opening lots: their margin stays held, now as position margin
        margin = Decimal(0)
        if opening:
            margin = margin_of(opening * c.multiplier * price, order.leverage)
            old = abs(position.qty)
            position.entry_price = (old * position.entry_price + opening * price) / (old + opening)
            position.qty += direction * opening
            position.margin += margin
        # 4. whatever the order still holds beyond that goes back
        self.wallet.release(order.uid, CONTRACT_ACCOUNT, ccy, order.held - fee - margin)
        order.held = Decimal(0)
        self.active.pop(order.id, None)
        order.deal_size += lots
        order.deal_value += value
        order.fee += fee
        order.active = False
        order.in_order_book = False
        order.cancel_exist = order.deal_size < order.size
        order.updated_at = order.end_at = now_ms
        self.on_fill(Fill(uid=order.uid, kind=FUTURES, symbol=order.symbol, order_id=order.id, time_ms=now_ms,
                          volume=value, fee=fee, fee_currency=ccy, liquidity=liquidity, partner=order.partner))

    def _trigger_if_due(self, order: FuturesOrder, c: FuturesContract, now_ms: int) -> bool:
        mark = self.marks[c.symbol]
        due = mark <= order.stop_price if order.stop == "down" else mark >= order.stop_price
        if not due:
            return False
        order.stop_triggered = True
        order.updated_at = now_ms
        try:
            self._hold(order, c, mark)
        except InsufficientFunds:
            self._cancel(order, now_ms)
            return True
        self._match_on_arrival(order, c, now_ms)
        return True

    def on_mark_price(self, symbol: str, now_ms: int) -> list[str]:
        """Trigger due stop orders, then fill resting limit orders the mark crosses; returns ids touched."""
        c = FUTURES_CONTRACTS.get(symbol)
        if c is None:
            return []
        mark = self.marks[symbol]
        touched = []
        for order in list(self.active.values()):
            if order.symbol != symbol or not order.active:
                continue
            if order.is_waiting_stop:
                if self._trigger_if_due(order, c, now_ms):
                    touched.append(order.id)
            elif order.in_order_book and (
                    (order.side == "buy" and mark <= order.price) or (order.side == "sell" and mark >= order.price)):
                self._fill(order, c, order.price, "maker", now_ms)
                touched.append(order.id)
        return touched

    # -- cancelling ---------------------------------------------------------------------------
    def _cancel(self, order: FuturesOrder, now_ms: int) -> None:
        if order.held:
            self.wallet.release(order.uid, CONTRACT_ACCOUNT, order.settle_currency, order.held)
        order.held = Decimal(0)
        self.active.pop(order.id, None)
        order.active = False
        order.in_order_book = False
        order.cancel_exist = True
        order.updated_at = order.end_at = now_ms

    def cancel(self, uid: str, *, now_ms: int, order_id: Optional[str] = None,
               client_oid: Optional[str] = None, symbol: Optional[str] = None) -> FuturesOrder:
        order = self.find(uid, order_id=order_id, client_oid=client_oid)
        if symbol is not None and order.symbol != symbol:
            raise TradingError(FUTURES_ORDER_NOT_FOUND, "error.getOrder.orderNotExist")
        if not order.active:
            raise TradingError(FUTURES_NOT_CANCELABLE, "The order cannot be canceled.")
        self._cancel(order, now_ms)
        return order

    # -- state --------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"orders": [o.to_json() for o in self.orders.values()],
                "positions": [p.to_json() for p in self.positions.values() if p.qty or p.margin]}

    def load(self, data: dict) -> None:
        self.orders, self.by_client_oid, self.active = {}, {}, {}
        for item in data.get("orders", []):
            self._store(FuturesOrder.from_json({k: v for k, v in item.items() if k != "tags"}))
        self.positions = {}
        for item in data.get("positions", []):
            p = Position.from_json(item)
            self.positions[(p.uid, p.symbol)] = p
