"""Futures orders (spec section 5) with every V3 parameter, on the futures host.

Signed with the trading account's key; the futures partner headers are added when the
client has futures partner credentials (spot ones would not get the order attributed)."""
from __future__ import annotations

from decimal import Decimal

from . import validation as v
from . import weights as w
from .models import FuturesAccount, FuturesOrder, OpenOrderCounts, OrderRef
from .transport import Transport

SIDES = ("buy", "sell")
TYPES = ("limit", "market")
MARGIN_MODES = ("ISOLATED", "CROSS")
TIME_IN_FORCE = ("GTC", "IOC")
STOPS = ("down", "up")
STOP_PRICE_TYPES = ("TP", "MP", "IP")
STP = ("CN", "CO", "CB")


def build_order_body(*, client_oid: str, symbol: str, side: str | None = None, type: str = "limit",
                     leverage: int | None = None, price: Decimal | str | None = None, size: int | None = None,
                     qty: Decimal | str | None = None, value_qty: Decimal | str | None = None,
                     margin_mode: str | None = None, time_in_force: str | None = None,
                     reduce_only: bool | None = None, close_order: bool | None = None,
                     force_hold: bool | None = None, post_only: bool | None = None, hidden: bool | None = None,
                     iceberg: bool | None = None, visible_size: int | None = None, stop: str | None = None,
                     stop_price: Decimal | str | None = None, stop_price_type: str | None = None,
                     remark: str | None = None, stp: str | None = None) -> dict:
    """The V3 order body, after every check KuCoin would make on its own."""
    v.client_oid(client_oid)
    v.required(symbol, "symbol")
    v.one_of(type, TYPES, "type")
    amounts = [n for n, val in (("size", size), ("qty", qty), ("valueQty", value_qty)) if val is not None]
    if len(amounts) > 1:
        raise v.ValidationError(f"size, qty and valueQty are mutually exclusive; got {', '.join(amounts)}",
                                field=amounts[1])
    if not close_order:
        v.one_of(side, SIDES, "side")
        if not amounts:
            raise v.ValidationError("one of size, qty or valueQty is required", field="size")
        if leverage is None:
            raise v.ValidationError("leverage is required", field="leverage")
    elif side is not None:
        v.one_of(side, SIDES, "side")
    if leverage is not None:
        v.positive_int(leverage, "leverage")
    if type == "limit" and price is None:
        raise v.ValidationError("a limit order needs a price", field="price")
    if type == "market" and price is not None:
        raise v.ValidationError("a market order takes no price", field="price")
    if margin_mode is not None:
        v.one_of(margin_mode, MARGIN_MODES, "marginMode")
    if time_in_force is not None:
        v.one_of(time_in_force, TIME_IN_FORCE, "timeInForce")
        if type != "limit":
            raise v.ValidationError("timeInForce only applies to limit orders", field="timeInForce")
    if stop is not None or stop_price is not None or stop_price_type is not None:
        if stop is None:
            raise v.ValidationError("stopPrice and stopPriceType need stop (up or down)", field="stop")
        v.one_of(stop, STOPS, "stop")
        if stop_price is None or stop_price_type is None:
            raise v.ValidationError("a stop order needs both stopPrice and stopPriceType", field="stopPrice")
        v.one_of(stop_price_type, STOP_PRICE_TYPES, "stopPriceType")
    if (post_only or hidden or iceberg) and type != "limit":
        raise v.ValidationError("postOnly, hidden and iceberg apply to limit orders only", field="postOnly")
    if post_only and (hidden or iceberg):
        raise v.ValidationError("postOnly cannot be combined with hidden or iceberg", field="postOnly")
    if post_only and time_in_force == "IOC":
        raise v.ValidationError("postOnly cannot be combined with IOC", field="postOnly")
    if iceberg and visible_size is None:
        raise v.ValidationError("an iceberg order needs visibleSize", field="visibleSize")
    if visible_size is not None:
        if not iceberg:
            raise v.ValidationError("visibleSize only applies to iceberg orders", field="visibleSize")
        v.positive_int(visible_size, "visibleSize")
    if remark is not None and len(remark) > 100:
        raise v.ValidationError("remark must be at most 100 characters", field="remark")
    if stp is not None:
        v.one_of(stp, STP, "stp")

    body: dict = {"clientOid": client_oid}
    fields = [
        ("side", side), ("symbol", symbol), ("leverage", leverage), ("type", type),
        ("price", None if price is None else v.positive_decimal(price, "price")),
        ("size", None if size is None else v.positive_int(size, "size")),
        ("qty", None if qty is None else v.positive_decimal(qty, "qty")),
        ("valueQty", None if value_qty is None else v.positive_decimal(value_qty, "valueQty")),
        ("marginMode", margin_mode), ("timeInForce", time_in_force), ("reduceOnly", reduce_only),
        ("closeOrder", close_order), ("forceHold", force_hold), ("postOnly", post_only), ("hidden", hidden),
        ("iceberg", iceberg), ("visibleSize", None if visible_size is None else str(visible_size)),
        ("stop", stop), ("stopPrice", None if stop_price is None else v.positive_decimal(stop_price, "stopPrice")),
        ("stopPriceType", stop_price_type), ("remark", remark), ("stp", stp),
    ]
    body.update((k, val) for k, val in fields if val is not None)
    return body


class FuturesAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def place_order(self, *, client_oid: str, symbol: str, side: str | None = None, type: str = "limit",
                    leverage: int | None = None, price: Decimal | str | None = None, size: int | None = None,
                    qty: Decimal | str | None = None, value_qty: Decimal | str | None = None,
                    margin_mode: str | None = None, time_in_force: str | None = None,
                    reduce_only: bool | None = None, close_order: bool | None = None,
                    force_hold: bool | None = None, post_only: bool | None = None, hidden: bool | None = None,
                    iceberg: bool | None = None, visible_size: int | None = None, stop: str | None = None,
                    stop_price: Decimal | str | None = None, stop_price_type: str | None = None,
                    remark: str | None = None, stp: str | None = None) -> OrderRef:
        body = build_order_body(
            client_oid=client_oid, symbol=symbol, side=side, type=type, leverage=leverage, price=price, size=size,
            qty=qty, value_qty=value_qty, margin_mode=margin_mode, time_in_force=time_in_force,
            reduce_only=reduce_only, close_order=close_order, force_hold=force_hold, post_only=post_only,
            hidden=hidden, iceberg=iceberg, visible_size=visible_size, stop=stop, stop_price=stop_price,
            stop_price_type=stop_price_type, remark=remark, stp=stp)
        data = self._t.call(w.FUTURES_PLACE_ORDER, body=body)
        return OrderRef(str(data["orderId"]), data.get("clientOid", client_oid))

    def get_order(self, order_id: str) -> FuturesOrder:
        data = self._t.call(w.FUTURES_GET_ORDER, path_params={"orderId": v.required(order_id, "orderId")})
        return FuturesOrder.parse(data)

    def get_order_by_client_oid(self, client_oid: str) -> FuturesOrder:
        data = self._t.call(w.FUTURES_GET_ORDER_BY_CLIENT_OID, query=[("clientOid", v.client_oid(client_oid))])
        return FuturesOrder.parse(data)

    def cancel_order(self, order_id: str) -> list[str]:
        data = self._t.call(w.FUTURES_CANCEL_ORDER, path_params={"orderId": v.required(order_id, "orderId")})
        return [str(x) for x in (data or {}).get("cancelledOrderIds") or []]

    def cancel_order_by_client_oid(self, client_oid: str, symbol: str) -> str:
        data = self._t.call(w.FUTURES_CANCEL_ORDER_BY_CLIENT_OID,
                            path_params={"clientOid": v.client_oid(client_oid)},
                            query=[("symbol", v.required(symbol, "symbol"))])
        return str((data or {}).get("clientOid", client_oid))

    def open_order_counts(self, symbol: str) -> OpenOrderCounts:
        """Open limit orders and untriggered stop orders of one contract (caps: 100 and 200)."""
        v.required(symbol, "symbol")
        limits = self._t.call(w.FUTURES_ORDER_LIST, query=[("status", "active"), ("symbol", symbol),
                                                           ("type", "limit"), ("currentPage", 1), ("pageSize", 1)])
        stops = self._t.call(w.FUTURES_STOP_ORDER_LIST, query=[("symbol", symbol), ("currentPage", 1),
                                                               ("pageSize", 1)])
        return OpenOrderCounts(symbol, int((limits or {}).get("totalNum") or 0),
                               int((stops or {}).get("totalNum") or 0))

    def get_account_overview(self, currency: str) -> FuturesAccount:
        """The key's futures account in one settlement currency (XBT for bitcoin, USDT, USDC, ETH...).
        Needs a key with the Futures permission. KuCoin's default is XBT, so the currency is always sent."""
        currency = str(v.required(currency, "currency")).strip().upper()
        if not currency.isalnum():
            raise v.ValidationError("currency must be letters and digits", field="currency")
        return FuturesAccount.parse(self._t.call(w.FUTURES_ACCOUNT_OVERVIEW, query=[("currency", currency)]) or {})
