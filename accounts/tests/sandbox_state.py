"""Reading the sandbox's state dump the way the tests compare it with the database."""
from __future__ import annotations

from decimal import Decimal


def sub_accounts(dump: dict) -> dict[str, str]:
    """uid → name of every sub-account the broker has at KuCoin."""
    broker_uid = dump["accounts"]["brokerUid"]
    return {a["uid"]: a["name"] for a in dump["accounts"]["accounts"] if a["broker_uid"] == broker_uid}


def keys_of(dump: dict, uid: str) -> dict[str, dict]:
    return {k["api_key"]: k for k in dump["accounts"]["keys"] if k["uid"] == uid}


def balance(dump: dict, uid: str, account_type: str, currency: str) -> Decimal:
    for row in dump["balances"]:
        if row["uid"] == uid and row["accountType"].upper() == account_type.upper() and row["currency"] == currency:
            return Decimal(row["balance"])
    return Decimal(0)


def transfers_with(dump: dict, client_oid: str) -> list[dict]:
    return [t for t in dump["funding"]["transfers"] if t["clientOid"] == client_oid]
