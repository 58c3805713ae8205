"""A key's own balances: GET /api/v1/accounts (spot host) and GET /api/v1/account-overview (futures host).

KuCoin's account ids are per (account, currency); here they are derived from (uid, type, currency)
so they stay the same across resets and dumps.
"""
from __future__ import annotations

import hashlib

from .errors import param_error
from .money import fmt
from .routes import route

TYPE_NAMES = {"MAIN": "main", "TRADE": "trade"}     # what GET /api/v1/accounts shows (OpenAPI enum)


def account_id(uid: str, account_type: str, currency: str) -> str:
    return hashlib.sha256(f"{uid}:{account_type}:{currency}".encode()).hexdigest()[:24]


@route("spot", "GET", "/api/v1/accounts", permission="General")
def accounts(req, world):
    want_type = req.args.get("type")
    want_cur = (req.args.get("currency") or "").upper()
    out = []
    for account_type, currency, balance, holds in world.balances.of(req.uid):
        name = TYPE_NAMES.get(account_type)
        if name is None or (want_type and name != want_type) or (want_cur and currency != want_cur):
            continue
        out.append({"id": account_id(req.uid, account_type, currency), "currency": currency, "type": name,
                    "balance": fmt(balance), "available": fmt(balance - holds), "holds": fmt(holds)})
    return out


@route("futures", "GET", "/api/v1/account-overview", permission="Futures")
def account_overview(req, world):
    currency = (req.args.get("currency") or "XBT").upper()
    if not currency.isalnum():
        raise param_error("currency is invalid")
    lookup = "BTC" if currency == "XBT" else currency
    balance, available, holds = world.balances.get(req.uid, "CONTRACT", lookup)
    # numbers, not strings, in this answer (OpenAPI schema); the futures account has no PNL here
    to_num = lambda d: float(d) if d != d.to_integral_value() else int(d)   # noqa: E731
    return {"accountEquity": to_num(balance), "unrealisedPNL": 0, "marginBalance": to_num(balance),
            "positionMargin": 0, "orderMargin": to_num(holds), "frozenFunds": 0,
            "availableBalance": to_num(available), "currency": currency, "riskRatio": 0,
            "maxWithdrawAmount": to_num(available)}
