"""Spot orders on the HF path the spec recommends (section 4) and the key's own balances.

Signed with the key of the account that trades (usually a sub-account); the spot partner
headers are added when the client has spot partner credentials, so KuCoin tags the order."""
from __future__ import annotations

from decimal import Decimal

from . import validation as v
from . import weights as w
from .models import Balance, OrderRef, SpotOrder
from .transport import Transport

SIDES = ("buy", "sell")
TYPES = ("limit", "market")
TIME_IN_FORCE = ("GTC", "GTT", "IOC", "FOK")
STP = ("DC", "CO", "CN", "CB")


def _ascii_max(value: str | None, n: int, field: str) -> str | None:
    if value is None:
        return None
    if len(value) > n or not value.isascii():
        raise v.ValidationError(f"{field} must be at most {n} ASCII characters", field=field)
    return value


class SpotAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def place_order(self, *, symbol: str, side: str, type: str, client_oid: str,
                    price: Decimal | str | None = None, size: Decimal | str | None = None,
                    funds: Decimal | str | None = None, time_in_force: str | None = None,
                    cancel_after: int | None = None, post_only: bool | None = None, hidden: bool | None = None,
                    iceberg: bool | None = None, visible_size: Decimal | str | None = None,
                    stp: str | None = None, remark: str | None = None) -> OrderRef:
        body = build_order_body(symbol=symbol, side=side, type=type, client_oid=client_oid, price=price,
                                size=size, funds=funds, time_in_force=time_in_force, cancel_after=cancel_after,
                                post_only=post_only, hidden=hidden, iceberg=iceberg, visible_size=visible_size,
                                stp=stp, remark=remark)
        data = self._t.call(w.SPOT_PLACE_ORDER, body=body)
        return OrderRef(str(data["orderId"]), data.get("clientOid", client_oid))

    def get_order(self, order_id: str, symbol: str) -> SpotOrder:
        data = self._t.call(w.SPOT_GET_ORDER, path_params={"orderId": v.required(order_id, "orderId")},
                            query=[("symbol", v.required(symbol, "symbol"))])
        return SpotOrder.parse(data)

    def get_order_by_client_oid(self, client_oid: str, symbol: str) -> SpotOrder:
        data = self._t.call(w.SPOT_GET_ORDER_BY_CLIENT_OID, path_params={"clientOid": v.client_oid(client_oid)},
                            query=[("symbol", v.required(symbol, "symbol"))])
        return SpotOrder.parse(data)

    def cancel_order(self, order_id: str, symbol: str) -> str:
        data = self._t.call(w.SPOT_CANCEL_ORDER, path_params={"orderId": v.required(order_id, "orderId")},
                            query=[("symbol", v.required(symbol, "symbol"))])
        return str((data or {}).get("orderId", order_id))

    def cancel_order_by_client_oid(self, client_oid: str, symbol: str) -> str:
        data = self._t.call(w.SPOT_CANCEL_ORDER_BY_CLIENT_OID,
                            path_params={"clientOid": v.client_oid(client_oid)},
                            query=[("symbol", v.required(symbol, "symbol"))])
        return str((data or {}).get("clientOid", client_oid))

    def get_balances(self, currency: str | None = None, type: str | None = None) -> list[Balance]:
        """Balances of the key's own account (main, trade...)."""
        data = self._t.call(w.SPOT_ACCOUNTS, query=[("currency", currency), ("type", type)])
        return [Balance.parse(x) for x in data or []]


def build_order_body(*, symbol, side, type, client_oid, price=None, size=None, funds=None, time_in_force=None,
                     cancel_after=None, post_only=None, hidden=None, iceberg=None, visible_size=None, stp=None,
                     remark=None) -> dict:
    """The HF order body, after every check KuCoin would make on its own."""
    v.required(symbol, "symbol")
    v.one_of(side, SIDES, "side")
    v.one_of(type, TYPES, "type")
    v.client_oid(client_oid)
    if type == "limit":
        if price is None:
            raise v.ValidationError("a limit order needs a price", field="price")
        if size is None:
            raise v.ValidationError("a limit order needs a size", field="size")
        if funds is not None:
            raise v.ValidationError("a limit order is sized by size, not funds", field="funds")
    else:
        if price is not None:
            raise v.ValidationError("a market order takes no price", field="price")
        if (size is None) == (funds is None):
            raise v.ValidationError("a market order needs exactly one of size or funds", field="size")
    if time_in_force is not None:
        v.one_of(time_in_force, TIME_IN_FORCE, "timeInForce")
    if cancel_after is not None and time_in_force != "GTT":
        raise v.ValidationError("cancelAfter only applies with timeInForce GTT", field="cancelAfter")
    if cancel_after is not None and not 1 <= int(cancel_after) <= 2592000:
        raise v.ValidationError("cancelAfter must be 1 to 2592000 seconds", field="cancelAfter")
    if post_only and time_in_force in ("IOC", "FOK"):
        raise v.ValidationError("postOnly cannot be combined with IOC or FOK", field="postOnly")
    if visible_size is not None and not iceberg:
        raise v.ValidationError("visibleSize only applies to iceberg orders", field="visibleSize")
    if stp is not None:
        v.one_of(stp, STP, "stp")
    _ascii_max(remark, 20, "remark")
    body = {"clientOid": client_oid, "side": side, "symbol": symbol, "type": type}
    if price is not None:
        body["price"] = v.positive_decimal(price, "price")
    if size is not None:
        body["size"] = v.positive_decimal(size, "size")
    if funds is not None:
        body["funds"] = v.positive_decimal(funds, "funds")
    optional = {"timeInForce": time_in_force, "cancelAfter": None if cancel_after is None else int(cancel_after),
                "postOnly": post_only, "hidden": hidden, "iceberg": iceberg,
                "visibleSize": None if visible_size is None else v.positive_decimal(visible_size, "visibleSize"),
                "stp": stp, "remark": remark}
    body.update({k: val for k, val in optional.items() if val is not None})
    return body
