"""Reading the sandbox's rebate ledger the way the tests compare it with the database."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

TYPES = {"SPOT": "spot", "FUTURES": "futures"}


def earned(dump: dict, *, begin: date | None = None, end: date | None = None) -> dict[tuple, Decimal]:
    """(day, uid, trade type, currency) → what the broker earned, as the sandbox's ledger says."""
    out: dict[tuple, Decimal] = defaultdict(Decimal)
    broker_uid = dump["accounts"]["brokerUid"]
    for row in dump["rebates"]["accruals"]:
        day = date.fromisoformat(row["date"])
        if row["brokerUid"] != broker_uid or (begin and day < begin) or (end and day > end):
            continue
        out[(day, row["uid"], TYPES[row["tradeType"]], row["rebateCurrency"])] += Decimal(row["rebateAmount"])
    return dict(out)


def days(dump: dict) -> list[date]:
    return sorted({date.fromisoformat(r["date"]) for r in dump["rebates"]["accruals"]})
