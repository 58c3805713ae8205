"""1,000 orders through the real worker while a fifth of KuCoin's answers fail (lost, refused at the
gateway, broken, rate-limited): the sandbox ends with exactly one order per clientOid, and the database agrees."""
import os
from decimal import Decimal as D

import pytest

from trading.models import Order
from trading.services.orders import order_place
from trading.tests.sandbox_orders import by_client_oid, state_of

pytestmark = pytest.mark.worker

ORDERS = int(os.environ.get("TRADING_FAULT_TEST_ORDERS", "1000"))
FAULTS = ("drop_after", "drop_before", "http_502", "malformed", "rate_limit")  # 4 % each: 20 % of requests
# Orders that do not stay open (KuCoin's open-order limits would stop a thousand resting ones).
MIX = [
    dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"),
         time_in_force="IOC"),
    dict(market="spot", symbol="BTC-USDT", side="sell", type="limit", price=D("90000"), size=D("0.0001"),
         time_in_force="FOK"),
    dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"), leverage=10,
         time_in_force="IOC"),
    dict(market="spot", symbol="KCS-USDT", side="buy", type="market", funds=D("1")),
]


def test_a_thousand_orders_with_a_fifth_of_answers_failing(kucoin_worker, customer_key, sandbox, settled):
    # KuCoin's "try again in" after a 429 is the window's reset: a short window keeps the test short.
    sandbox.set_quota("public", 2000, window_ms=200)
    for kind in FAULTS:
        sandbox.set_fault(kind, probability=0.2 / len(FAULTS))
    placed = [order_place(api_key=customer_key, **MIX[i % len(MIX)])[0] for i in range(ORDERS)]

    orders = settled(placed, timeout=600)
    sandbox.clear_faults()
    held = by_client_oid(sandbox.dump())
    assert {o.client_oid: len(held.get(o.client_oid, [])) for o in orders} == {o.client_oid: 1 for o in orders}
    for order in orders:
        at_kucoin = held[order.client_oid][0]
        assert order.kucoin_order_id == at_kucoin["id"]
        assert order.state == state_of(at_kucoin)
        assert order.verification == Order.Verification.TAGGED
    assert Order.objects.count() == ORDERS
