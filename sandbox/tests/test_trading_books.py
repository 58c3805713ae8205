"""The order books without a server: money is conserved, holds match open orders, fees and rebates
follow the rates held in one place."""
from __future__ import annotations

import random
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.trading_errors import TradingError
from sandbox.trading_fills import Fill
from sandbox.trading_futures import FuturesBook, parse_futures_order
from sandbox.trading_markets import FEE_RATES, initial_mark_prices
from sandbox.trading_spot import SpotBook, parse_spot_order
from sandbox.trading_wallet import InMemoryWallet

UID = "100000777"


def spot_setup(usdt="100000", btc="10"):
    wallet = InMemoryWallet()
    wallet.credit(UID, "TRADE", "USDT", Decimal(usdt))
    wallet.credit(UID, "TRADE", "BTC", Decimal(btc))
    fills: list[Fill] = []
    book = SpotBook(wallet, initial_mark_prices(), random.Random(1), fills.append)
    return wallet, book, fills


def futures_setup(usdt="100000"):
    wallet = InMemoryWallet()
    wallet.credit(UID, "CONTRACT", "USDT", Decimal(usdt))
    fills: list[Fill] = []
    book = FuturesBook(wallet, initial_mark_prices(), random.Random(1), fills.append)
    return wallet, book, fills


def test_spot_buy_then_sell_round_trip_costs_exactly_two_fees():
    wallet, book, fills = spot_setup()
    book.place(UID, parse_spot_order({"side": "buy", "symbol": "BTC-USDT", "type": "market", "size": "0.5"}),
               partner="p", now_ms=1)
    book.place(UID, parse_spot_order({"side": "sell", "symbol": "BTC-USDT", "type": "market", "size": "0.5"}),
               partner=None, now_ms=2)
    fee = Decimal("30000") * FEE_RATES[("SPOT", "taker")]
    assert wallet.available[(UID, "TRADE", "USDT")] == Decimal("100000") - 2 * fee
    assert wallet.available[(UID, "TRADE", "BTC")] == Decimal("10")
    assert [f.partner for f in fills] == ["p", None] and all(f.fee == fee for f in fills)


def test_spot_market_buy_by_funds_buys_whole_increments():
    wallet, book, _ = spot_setup()
    order = book.place(UID, parse_spot_order({"side": "buy", "symbol": "BTC-USDT", "type": "market",
                                              "funds": "100"}), partner=None, now_ms=1)
    assert order.deal_size == Decimal("0.00166666")          # 100 / 60000, down to 1e-8
    assert order.deal_funds <= Decimal("100")
    assert sum(wallet.held.values()) == 0


def test_spot_gtt_order_expires_and_releases_its_hold():
    wallet, book, _ = spot_setup()
    order = book.place(UID, parse_spot_order({"side": "buy", "symbol": "BTC-USDT", "type": "limit", "price": "50000",
                                              "size": "0.1", "timeInForce": "GTT", "cancelAfter": 60}),
                       partner=None, now_ms=1_000)
    assert wallet.held[(UID, "TRADE", "USDT")] > 0
    book.expire_due(60_999)
    assert order.active
    book.expire_due(61_000)
    assert not order.active and order.cancel_exist and wallet.held[(UID, "TRADE", "USDT")] == 0


def test_spot_cancel_after_needs_gtt_and_sdk_default_is_accepted():
    parse_spot_order({"side": "buy", "symbol": "BTC-USDT", "type": "limit", "price": "1", "size": "0.001",
                      "timeInForce": "GTC", "cancelAfter": -1, "postOnly": False, "hidden": False, "iceberg": False})
    with pytest.raises(TradingError) as e:
        parse_spot_order({"side": "buy", "symbol": "BTC-USDT", "type": "limit", "price": "1", "size": "0.001",
                          "cancelAfter": 10})
    assert e.value.code == "400100" and "cancelAfter" in e.value.msg


def test_spot_open_order_limit_per_symbol():
    wallet, book, _ = spot_setup(usdt="10000000")
    for _ in range(200):
        book.place(UID, parse_spot_order({"side": "buy", "symbol": "KCS-USDT", "type": "limit", "price": "1",
                                          "size": "1"}), partner=None, now_ms=1)
    with pytest.raises(TradingError) as e:
        book.place(UID, parse_spot_order({"side": "buy", "symbol": "KCS-USDT", "type": "limit", "price": "1",
                                          "size": "1"}), partner=None, now_ms=1)
    assert e.value.code == "200003"


def test_futures_close_order_closes_the_whole_position():
    wallet, book, _ = futures_setup()
    book.place(UID, parse_futures_order({"clientOid": "a", "side": "sell", "symbol": "ETHUSDTM", "type": "market",
                                         "size": 7, "leverage": 3}), partner=None, now_ms=1)
    assert book.positions[(UID, "ETHUSDTM")].qty == -7
    close = book.place(UID, parse_futures_order({"clientOid": "b", "symbol": "ETHUSDTM", "type": "market",
                                                 "closeOrder": True}), partner=None, now_ms=2)
    assert close.side == "buy" and close.size == 7 and book.positions[(UID, "ETHUSDTM")].qty == 0
    assert sum(wallet.held.values()) == 0
    with pytest.raises(TradingError) as e:
        book.place(UID, parse_futures_order({"clientOid": "c", "symbol": "ETHUSDTM", "type": "market",
                                             "closeOrder": True}), partner=None, now_ms=3)
    assert e.value.code == "300009"


def test_futures_qty_and_value_qty_become_lots():
    _, book, _ = futures_setup()
    by_qty = book.place(UID, parse_futures_order({"clientOid": "q", "side": "buy", "symbol": "XBTUSDTM",
                                                  "price": "50000", "qty": "0.005", "leverage": 1}),
                        partner=None, now_ms=1)
    by_value = book.place(UID, parse_futures_order({"clientOid": "v", "side": "buy", "symbol": "XBTUSDTM",
                                                    "price": "50000", "valueQty": "175", "leverage": 1}),
                          partner=None, now_ms=1)
    assert by_qty.size == 5 and by_value.size == 3


# -- conservation under random trading ---------------------------------------------------------

spot_action = st.one_of(
    st.tuples(st.just("limit"), st.sampled_from(["buy", "sell"]), st.integers(55_000, 65_000),
              st.integers(1, 500)),
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), st.just(0), st.integers(1, 500)),
    st.tuples(st.just("mark"), st.just(""), st.integers(50_000, 70_000), st.just(0)),
    st.tuples(st.just("cancel"), st.just(""), st.integers(0, 50), st.just(0)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spot_action, max_size=40))
def test_spot_money_is_conserved_and_holds_match_open_orders(actions):
    wallet, book, fills = spot_setup(usdt="50000", btc="1")
    for kind, side, price, size in actions:
        try:
            if kind in ("limit", "market"):
                body = {"side": side, "symbol": "BTC-USDT", "type": kind, "size": str(Decimal(size) / 1000)}
                if kind == "limit":
                    body["price"] = str(price)
                book.place(UID, parse_spot_order(body), partner="p", now_ms=1)
            elif kind == "mark":
                book.marks["BTC-USDT"] = Decimal(price)
                book.on_mark_price("BTC-USDT", 2)
            else:
                open_orders = book.open_orders(UID)
                if open_orders:
                    book.cancel(UID, symbol="BTC-USDT", now_ms=3, order_id=open_orders[price % len(open_orders)].id)
        except TradingError as e:
            assert e.code == "200004"
    usdt = wallet.available[(UID, "TRADE", "USDT")] + wallet.held[(UID, "TRADE", "USDT")]
    btc = wallet.available[(UID, "TRADE", "BTC")] + wallet.held[(UID, "TRADE", "BTC")]
    bought = sum((o.deal_size for o in book.orders.values() if o.side == "buy"), Decimal(0))
    sold = sum((o.deal_size for o in book.orders.values() if o.side == "sell"), Decimal(0))
    paid = sum((o.deal_funds for o in book.orders.values() if o.side == "buy"), Decimal(0))
    got = sum((o.deal_funds for o in book.orders.values() if o.side == "sell"), Decimal(0))
    fees = sum((f.fee for f in fills), Decimal(0))
    assert btc == 1 + bought - sold
    assert usdt == 50000 - paid + got - fees
    for ccy in ("USDT", "BTC"):
        open_held = sum((o.held for o in book.orders.values() if o.active and o.held_currency == ccy), Decimal(0))
        assert wallet.held[(UID, "TRADE", ccy)] == open_held
        assert wallet.available[(UID, "TRADE", ccy)] >= 0


futures_action = st.one_of(
    st.tuples(st.just("limit"), st.sampled_from(["buy", "sell"]), st.integers(550, 650), st.integers(1, 30),
              st.booleans()),
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), st.just(0), st.integers(1, 30), st.booleans()),
    st.tuples(st.just("mark"), st.just(""), st.integers(500, 700), st.just(0), st.just(False)),
    st.tuples(st.just("cancel"), st.just(""), st.integers(0, 50), st.just(0), st.just(False)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(futures_action, max_size=40))
def test_futures_holds_equal_open_order_holds_plus_position_margin(actions):
    wallet, book, fills = futures_setup(usdt="20000")
    for kind, side, price, lots, reduce_only in actions:
        try:
            if kind in ("limit", "market"):
                body = {"clientOid": uuid.uuid4().hex, "side": side, "symbol": "XBTUSDTM", "type": kind,
                        "size": lots, "leverage": 5, "reduceOnly": reduce_only}
                if kind == "limit":
                    body["price"] = str(price * 100)
                book.place(UID, parse_futures_order(body), partner="p", now_ms=1)
            elif kind == "mark":
                book.marks["XBTUSDTM"] = Decimal(price * 100)
                book.on_mark_price("XBTUSDTM", 2)
            else:
                open_orders = book.active_orders(UID)
                if open_orders:
                    book.cancel(UID, now_ms=3, order_id=open_orders[price % len(open_orders)].id)
        except TradingError as e:
            assert e.code == "300003"
    key = (UID, "CONTRACT", "USDT")
    position = book.positions.get((UID, "XBTUSDTM"))
    margin = position.margin if position else Decimal(0)
    open_held = sum((o.held for o in book.orders.values() if o.active), Decimal(0))
    assert wallet.held[key] == open_held + margin
    assert wallet.available[key] >= 0
    # the position is the sum of what filled
    net = sum(((1 if o.side == "buy" else -1) * o.deal_size for o in book.orders.values()), 0)
    assert (position.qty if position else 0) == net
