"""Reading the sandbox's orders from its state dump, the way the tests compare it with the database."""
from __future__ import annotations


def spot_orders(dump: dict) -> list[dict]:
    return dump["trading"]["spotOrders"]


def futures_orders(dump: dict) -> list[dict]:
    return dump["trading"]["futures"]["orders"]


def orders_with(dump: dict, client_oid: str) -> list[dict]:
    return [o for o in spot_orders(dump) + futures_orders(dump) if o["client_oid"] == client_oid]


def by_client_oid(dump: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for o in spot_orders(dump) + futures_orders(dump):
        out.setdefault(o["client_oid"], []).append(o)
    return out


def state_of(order: dict) -> str:
    """open / filled / cancelled, as the back-office names KuCoin's order status."""
    if order["active"]:
        return "open"
    return "cancelled" if order["cancel_exist"] else "filled"
