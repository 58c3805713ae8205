"""Orders of every type, spot and futures, placed through the real worker against the sandbox: KuCoin holds
exactly the order the back-office recorded, with its broker tag, and the verification records it."""
from decimal import Decimal as D

import pytest

from brokeroffice.models import Job
from trading.models import Order
from trading.services.orders import order_place
from trading.tests.sandbox_orders import by_client_oid, orders_with, state_of

pytestmark = pytest.mark.worker

SPOT = [
    # (what, parameters, state KuCoin leaves it in)
    ("limit GTC", dict(symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001")), "open"),
    ("limit GTT", dict(symbol="BTC-USDT", side="buy", type="limit", price=D("30000.5"), size=D("0.001"),
                       time_in_force="GTT", cancel_after=3600), "open"),
    ("limit IOC", dict(symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"),
                       time_in_force="IOC"), "cancelled"),
    ("limit FOK", dict(symbol="BTC-USDT", side="sell", type="limit", price=D("90000"), size=D("0.001"),
                       time_in_force="FOK"), "cancelled"),
    ("post-only", dict(symbol="BTC-USDT", side="buy", type="limit", price=D("31000"), size=D("0.001"),
                       post_only=True), "open"),
    ("hidden", dict(symbol="ETH-USDT", side="buy", type="limit", price=D("1500"), size=D("0.01"), hidden=True), "open"),
    ("iceberg", dict(symbol="ETH-USDT", side="buy", type="limit", price=D("1500.5"), size=D("0.02"), iceberg=True,
                     visible_size=D("0.01")), "open"),
    ("market by size", dict(symbol="BTC-USDT", side="buy", type="market", size=D("0.0001")), "filled"),
    ("market by funds", dict(symbol="KCS-USDT", side="buy", type="market", funds=D("10")), "filled"),
    ("stp and remark", dict(symbol="BTC-USDT", side="buy", type="limit", price=D("32000"), size=D("0.001"),
                            stp="DC", remark="desk note"), "open"),
    ("crossing limit", dict(symbol="BTC-USDT", side="sell", type="limit", price=D("59000"), size=D("0.001")),
     "filled"),
]

FUTURES = [
    ("limit by lots", dict(symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"), leverage=10),
     "open"),
    ("limit by qty", dict(symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), qty=D("0.002"), leverage=10),
     "open"),
    ("limit by valueQty", dict(symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), value_qty=D("60"),
                               leverage=10), "open"),
    ("market", dict(symbol="XBTUSDTM", side="buy", type="market", size=D("1"), leverage=10), "filled"),
    ("limit IOC", dict(symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"), leverage=10,
                       time_in_force="IOC"), "cancelled"),
    ("post-only", dict(symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"), leverage=10,
                       post_only=True), "open"),
    ("hidden", dict(symbol="ETHUSDTM", side="buy", type="limit", price=D("1500"), size=D("1"), leverage=10,
                    hidden=True), "open"),
    ("iceberg", dict(symbol="ETHUSDTM", side="buy", type="limit", price=D("1500"), size=D("2"), leverage=10,
                     iceberg=True, visible_size=D("1")), "open"),
    ("stop limit", dict(symbol="XBTUSDTM", side="buy", type="limit", price=D("39000"), size=D("1"), leverage=10,
                        stop="down", stop_price=D("40000"), stop_price_type="MP"), "open"),
    ("stop market", dict(symbol="SOLUSDTM", side="buy", type="market", size=D("1"), leverage=10, stop="up",
                         stop_price=D("300"), stop_price_type="TP"), "open"),
    ("cross margin", dict(symbol="SOLUSDTM", side="buy", type="limit", price=D("100"), size=D("1"), leverage=5,
                          margin_mode="CROSS"), "open"),
    ("force hold, stp, remark", dict(symbol="SOLUSDTM", side="buy", type="limit", price=D("100.5"), size=D("1"),
                                     leverage=5, force_hold=True, stp="CN", remark="desk note"), "open"),
]


def _place_all(key, cases, market):
    return [(what, expected, order_place(api_key=key, market=market, **params)) for what, params, expected in cases]


@pytest.mark.parametrize("market,cases", [("spot", SPOT), ("futures", FUTURES)])
def test_every_order_type_is_placed_once_tagged_and_verified(kucoin_worker, customer_key, sandbox, settled, finished,
                                                             market, cases):
    placed = _place_all(customer_key, cases, market)
    for _, _, (order, job) in placed:
        assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    settled([order for _, _, (order, _) in placed])

    dump = sandbox.dump()
    partner = sandbox.broker["partner"] if market == "spot" else (sandbox.broker.get("futures_partner")
                                                                 or sandbox.broker["partner"])
    for what, expected, (order, _) in placed:
        order.refresh_from_db()
        at_kucoin = orders_with(dump, order.client_oid)
        assert len(at_kucoin) == 1, what
        assert order.kucoin_order_id == at_kucoin[0]["id"], what
        assert order.state == state_of(at_kucoin[0]) == expected, what
        assert at_kucoin[0]["tags"] == f"partner:{partner}", what
        assert order.verification == Order.Verification.TAGGED, what
        assert order.tags == at_kucoin[0]["tags"], what
        assert order.verified_at is not None, what


def test_a_futures_close_order_closes_the_position_and_a_reduce_only_order_rests(kucoin_worker, customer_key, sandbox,
                                                                               settled, finished):
    opening, job = order_place(api_key=customer_key, market="futures", symbol="ETHUSDTM", side="buy", type="market",
                               size=D("2"), leverage=10)
    assert finished(job).state == Job.State.SUCCEEDED
    reducing, job = order_place(api_key=customer_key, market="futures", symbol="ETHUSDTM", side="sell", type="limit",
                                price=D("9000"), size=D("1"), leverage=10, reduce_only=True)
    assert finished(job).state == Job.State.SUCCEEDED
    closing, job = order_place(api_key=customer_key, market="futures", symbol="ETHUSDTM", side="sell", type="market", leverage=10,
                               close_order=True)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    rows = {o.pk: o for o in settled([opening, reducing, closing])}
    dump = sandbox.dump()
    assert rows[opening.pk].state == "filled"
    assert rows[reducing.pk].state == state_of(orders_with(dump, reducing.client_oid)[0])
    assert rows[closing.pk].state == "filled"
    assert orders_with(dump, closing.client_oid)[0]["close_order"] is True
    assert all(o.verification == Order.Verification.TAGGED for o in rows.values())
    positions = [p for p in dump["trading"]["futures"]["positions"]
                 if p["uid"] == customer_key.sub_account.uid and p["symbol"] == "ETHUSDTM"]
    assert all(p["qty"] == 0 for p in positions)


def test_every_order_is_held_once_by_kucoin(kucoin_worker, customer_key, sandbox, settled, finished):
    """The same check from KuCoin's side: no clientOid of ours appears twice."""
    placed = _place_all(customer_key, SPOT[:3], "spot") + _place_all(customer_key, FUTURES[:3], "futures")
    for _, _, (order, job) in placed:
        finished(job)
    ours = {order.client_oid for _, _, (order, _) in placed}
    held = by_client_oid(sandbox.dump())
    assert {oid: len(held.get(oid, [])) for oid in ours} == {oid: 1 for oid in ours}
