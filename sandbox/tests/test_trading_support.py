"""Helpers shared by the trading, rebate and OAuth tests (no tests here).

A "trader" is a fresh sub-account of the seeded broker with one API key and some funds, made through
the World directly: that is set-up, not the thing under test (the ND endpoints have their own tests).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from .kc import Kc

_counter = itertools.count(1)


@dataclass
class Trader:
    uid: str
    api_key: str
    secret: str
    passphrase: str


def new_trader(sandbox, *, permissions=("General", "Spot", "Futures"),
               funds=(("TRADE", "USDT", "10000"), ("TRADE", "BTC", "1"), ("CONTRACT", "USDT", "10000"))) -> Trader:
    world = sandbox.world
    with world.lock:
        accounts = world.accounts
        n = next(_counter)
        account = accounts.add_account(f"trading-test-{n:05d}", broker_uid=accounts.broker_uid)
        key = accounts.add_key(account.uid, passphrase=f"test-pass-{n:05d}", permissions=list(permissions),
                               ip_whitelist=[], label=f"trading test {n}")
        for account_type, currency, amount in funds:
            world.balances.credit(account.uid, account_type, currency, Decimal(amount))
    return Trader(account.uid, key.api_key, key.secret, key.passphrase)


def client(sandbox, trader: Trader, family: str, *, tagged: bool = True, verify: bool = True,
           wrong_partner_sign: bool = False) -> Kc:
    """A signed client for `family` with (or without) the broker's partner headers for that product."""
    b = sandbox.broker
    prefix = "futures_" if family == "futures" else ""
    kc = Kc(sandbox.urls[family], trader.api_key, trader.secret, trader.passphrase,
            partner=b[prefix + "partner"] if tagged else None,
            broker_key=("not-the-broker-key" if wrong_partner_sign else b[prefix + "broker_key"]) if tagged else None,
            broker_name=b["broker_name"] if tagged else None, verify=verify)
    return kc


def balance(sandbox, uid: str, account_type: str, currency: str) -> dict:
    """One balance row from the state dump: {"balance", "available", "holds"} as Decimals."""
    for row in sandbox.dump()["balances"]:
        if row["uid"] == uid and row["accountType"] == account_type and row["currency"] == currency:
            return {k: Decimal(row[k]) for k in ("balance", "available", "holds")}
    return {"balance": Decimal(0), "available": Decimal(0), "holds": Decimal(0)}


def ok(response) -> object:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == "200000", body
    return body["data"]


def refused(response, code: str, http_status: int = 200) -> str:
    assert response.status_code == http_status, response.text
    body = response.json()
    assert body["code"] == code, body
    return body["msg"]
