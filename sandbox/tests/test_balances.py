"""The balance primitives that the trading part builds on: exact Decimal, holds, shortfalls."""
from decimal import Decimal

import pytest

from sandbox.balances import InsufficientFunds


def test_hold_unhold_spend_and_shortfall(sandbox):
    w = sandbox.world
    with w.lock:
        b = w.balances
        b.credit("900000001", "TRADE", "usdt", Decimal("100"))
        b.hold("900000001", "TRADE", "USDT", Decimal("30"))
        assert b.get("900000001", "TRADE", "USDT") == (Decimal("100"), Decimal("70"), Decimal("30"))
        with pytest.raises(InsufficientFunds) as e:
            b.debit("900000001", "TRADE", "USDT", Decimal("70.01"))
        assert e.value.code == "200004" and e.value.available == Decimal("70")
        b.spend_held("900000001", "TRADE", "USDT", Decimal("10"))
        b.unhold("900000001", "TRADE", "USDT", Decimal("20"))
        assert b.get("900000001", "TRADE", "USDT") == (Decimal("90"), Decimal("90"), Decimal("0"))
    rows = [r for r in sandbox.dump()["balances"] if r["uid"] == "900000001"]
    assert rows == [{"uid": "900000001", "accountType": "TRADE", "currency": "USDT", "balance": "90", "holds": "0",
                     "available": "90"}]


def test_ledger_sums_never_round(sandbox):
    third = Decimal(1) / Decimal(3)                  # 28 significant digits
    with sandbox.world.lock:
        b = sandbox.world.balances
        b.credit("900000002", "CONTRACT", "USDT", Decimal("1000"))
        for _ in range(3):
            b.hold("900000002", "CONTRACT", "USDT", third)
        _, available, holds = b.get("900000002", "CONTRACT", "USDT")
        assert holds == Decimal("0." + "9" * 28)          # exactly three times the held amount
        assert available + holds == Decimal("1000")
