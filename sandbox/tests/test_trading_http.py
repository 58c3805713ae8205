"""Spot and futures orders over HTTP with our own signed client: tags, rejections, fills, fees,
balances and the rebate they earn."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sandbox.rebates import REBATE_RATIOS
from sandbox.trading_markets import FEE_RATES

from .test_trading_support import balance, client, new_trader, ok, refused


def spot_limit(symbol="BTC-USDT", side="buy", price="50000", size="0.001", **extra):
    return {"clientOid": uuid.uuid4().hex, "side": side, "symbol": symbol, "type": "limit", "price": price,
            "size": size, **extra}


def futures_limit(symbol="XBTUSDTM", side="buy", price="55000", size=1, leverage=5, **extra):
    return {"clientOid": uuid.uuid4().hex, "side": side, "symbol": symbol, "type": "limit", "price": price,
            "size": size, "leverage": leverage, **extra}


def accruals(sandbox, uid):
    return [r for r in sandbox.dump()["rebates"]["accruals"] if r["uid"] == uid]


# -- tags ------------------------------------------------------------------------------------

def test_spot_order_with_partner_headers_is_tagged(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot")
    placed = ok(kc.post("/api/v1/hf/orders", spot_limit()))
    got = ok(kc.get(f"/api/v1/hf/orders/{placed['orderId']}", {"symbol": "BTC-USDT"}))
    assert got["tags"] == f"partner:{sandbox.broker['partner']}"
    # the old path shows the same tag
    old = ok(kc.get(f"/api/v1/orders/{placed['orderId']}"))
    assert old["tags"] == got["tags"] and old["isActive"] is True and old["stp"] == ""


def test_spot_order_with_wrong_partner_sign_without_verify_is_untagged(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot", wrong_partner_sign=True, verify=False)
    placed = ok(kc.post("/api/v1/hf/orders", spot_limit()))
    got = ok(kc.get(f"/api/v1/hf/orders/{placed['orderId']}", {"symbol": "BTC-USDT"}))
    assert got["tags"] is None


def test_spot_order_with_wrong_partner_sign_and_verify_is_refused_and_not_placed(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot", wrong_partner_sign=True, verify=True)
    body = spot_limit()
    refused(kc.post("/api/v1/hf/orders", body), "400201", 400)
    plain = client(sandbox, trader, "spot", tagged=False)
    refused(plain.get(f"/api/v1/hf/orders/client-order/{body['clientOid']}", {"symbol": "BTC-USDT"}), "126043")


def test_user_tags_show_when_untagged_and_partner_tag_wins(sandbox):
    trader = new_trader(sandbox)
    untagged = ok(client(sandbox, trader, "spot", tagged=False).post(
        "/api/v1/hf/orders", spot_limit(tags="my-label")))
    tagged = ok(client(sandbox, trader, "spot").post("/api/v1/hf/orders", spot_limit(tags="my-label")))
    kc = client(sandbox, trader, "spot")
    assert ok(kc.get(f"/api/v1/hf/orders/{untagged['orderId']}", {"symbol": "BTC-USDT"}))["tags"] == "my-label"
    assert ok(kc.get(f"/api/v1/hf/orders/{tagged['orderId']}", {"symbol": "BTC-USDT"}))["tags"] == \
        f"partner:{sandbox.broker['partner']}"


def test_futures_tag_needs_the_futures_partner_credentials(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "futures")
    placed = ok(kc.post("/api/v1/orders", futures_limit()))
    got = ok(kc.get(f"/api/v1/orders/{placed['orderId']}"))
    assert got["tags"] == f"partner:{sandbox.broker['futures_partner']}"
    # spot partner credentials on the futures host, no VERIFY: accepted, not attributed
    b = sandbox.broker
    from .kc import Kc
    spot_creds = Kc(sandbox.urls["futures"], trader.api_key, trader.secret, trader.passphrase,
                    partner=b["partner"], broker_key=b["broker_key"], broker_name=b["broker_name"], verify=False)
    other = ok(spot_creds.post("/api/v1/orders", futures_limit()))
    assert ok(kc.get(f"/api/v1/orders/{other['orderId']}"))["tags"] == ""


def test_futures_wrong_partner_sign_with_verify_is_400201(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "futures", wrong_partner_sign=True, verify=True)
    refused(kc.post("/api/v1/orders", futures_limit()), "400201", 400)


# -- permissions and validation ----------------------------------------------------------------

def test_placing_needs_the_trade_permission(sandbox):
    reader = new_trader(sandbox, permissions=("General",))
    refused(client(sandbox, reader, "spot").post("/api/v1/hf/orders", spot_limit()), "400007", 403)
    refused(client(sandbox, reader, "futures").post("/api/v1/orders", futures_limit()), "400007", 403)
    spot_only = new_trader(sandbox, permissions=("General", "Spot"))
    ok(client(sandbox, spot_only, "spot").post("/api/v1/hf/orders", spot_limit()))
    refused(client(sandbox, spot_only, "futures").post("/api/v1/orders", futures_limit()), "400007", 403)


def test_spot_validation_names_the_field(sandbox):
    kc = client(sandbox, new_trader(sandbox), "spot")
    body = spot_limit()
    del body["price"]
    assert "price" in refused(kc.post("/api/v1/hf/orders", body), "400100")
    assert "size" in refused(kc.post("/api/v1/hf/orders", spot_limit(size="abc")), "400100")
    assert "price" in refused(kc.post("/api/v1/hf/orders", spot_limit(price="50000.05")), "400100")
    assert "postOnly" in refused(kc.post("/api/v1/hf/orders", spot_limit(postOnly=True, timeInForce="IOC")), "400100")
    assert "clientOid" in refused(kc.post("/api/v1/hf/orders", spot_limit(clientOid="x" * 41)), "400100")
    assert "bogus" in refused(kc.post("/api/v1/hf/orders", spot_limit(bogus=1)), "400100")
    market = {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "BTC-USDT", "type": "market",
              "size": "0.001", "funds": "10"}
    assert "size" in refused(kc.post("/api/v1/hf/orders", market), "400100")
    refused(kc.post("/api/v1/hf/orders", spot_limit(symbol="NOPE-USDT")), "900001")


def test_futures_validation_names_the_field(sandbox):
    kc = client(sandbox, new_trader(sandbox), "futures")
    assert "size" in refused(kc.post("/api/v1/orders", futures_limit(qty="0.001")), "400100")
    assert "size" in refused(kc.post("/api/v1/orders", futures_limit(size="1")), "400100")
    body = futures_limit()
    del body["clientOid"]
    assert "clientOid" in refused(kc.post("/api/v1/orders", body), "400100")
    assert "stopPrice" in refused(kc.post("/api/v1/orders", futures_limit(stop="down")), "400100")
    assert "postOnly" in refused(kc.post("/api/v1/orders", futures_limit(postOnly=True, hidden=True)), "400100")
    assert "stp" in refused(kc.post("/api/v1/orders", futures_limit(stp="DC")), "400100")
    assert "leverage" in refused(kc.post("/api/v1/orders", futures_limit(leverage=500)), "400100")
    refused(kc.post("/api/v1/orders", futures_limit(symbol="NOPEUSDTM")), "100003")


def test_duplicate_client_oid(sandbox):
    trader = new_trader(sandbox)
    spot = client(sandbox, trader, "spot")
    body = spot_limit()
    ok(spot.post("/api/v1/hf/orders", body))
    refused(spot.post("/api/v1/hf/orders", body), "126044")
    futures = client(sandbox, trader, "futures")
    fbody = futures_limit()
    ok(futures.post("/api/v1/orders", fbody))
    assert "clientOidDuplicated" in refused(futures.post("/api/v1/orders", fbody), "400100")


def test_insufficient_balance(sandbox):
    trader = new_trader(sandbox, funds=(("TRADE", "USDT", "10"), ("CONTRACT", "USDT", "5")))
    refused(client(sandbox, trader, "spot").post("/api/v1/hf/orders", spot_limit(size="0.01")), "200004")
    refused(client(sandbox, trader, "futures").post("/api/v1/orders", futures_limit(size=10, leverage=1)), "300003")
    assert balance(sandbox, trader.uid, "TRADE", "USDT")["holds"] == 0


# -- open-order limits ---------------------------------------------------------------------------

def test_futures_open_limit_order_limit_is_100_per_contract(sandbox):
    trader = new_trader(sandbox, funds=(("CONTRACT", "USDT", "100000"),))
    kc = client(sandbox, trader, "futures")
    for _ in range(100):
        ok(kc.post("/api/v1/orders", futures_limit(price="40000")))
    msg = refused(kc.post("/api/v1/orders", futures_limit(price="40000")), "300001")
    assert "limit: 100" in msg
    # another contract has its own count
    ok(kc.post("/api/v1/orders", futures_limit(symbol="ETHUSDTM", price="2000")))
    # the back-office counts them with the order list
    listed = ok(kc.get("/api/v1/orders", {"status": "active", "symbol": "XBTUSDTM", "pageSize": "10"}))
    assert listed["totalNum"] == 100 and len(listed["items"]) == 10


def test_futures_open_stop_order_limit_is_200_per_contract(sandbox):
    trader = new_trader(sandbox, funds=(("CONTRACT", "USDT", "100"),))
    kc = client(sandbox, trader, "futures")
    for _ in range(200):
        ok(kc.post("/api/v1/orders", futures_limit(price="40000", stop="down", stopPrice="45000",
                                                   stopPriceType="MP")))
    msg = refused(kc.post("/api/v1/orders", futures_limit(price="40000", stop="down", stopPrice="45000",
                                                          stopPriceType="MP")), "300004")
    assert "limit: 200" in msg
    stops = ok(kc.get("/api/v1/stopOrders", {"symbol": "XBTUSDTM"}))
    assert stops["totalNum"] == 200
    assert ok(kc.get("/api/v1/orders", {"status": "active", "symbol": "XBTUSDTM"}))["totalNum"] == 0


# -- matching, fees, balances, rebates -----------------------------------------------------------

def test_spot_mark_move_fills_resting_buy_charges_fee_and_accrues_rebate(sandbox):
    trader = new_trader(sandbox, funds=(("TRADE", "USDT", "1000"),))
    kc = client(sandbox, trader, "spot")
    placed = ok(kc.post("/api/v1/hf/orders", spot_limit(price="50000", size="0.01")))
    held = balance(sandbox, trader.uid, "TRADE", "USDT")
    assert held["holds"] == Decimal("500") * (1 + FEE_RATES[("SPOT", "taker")])
    sandbox.set_mark_price("BTC-USDT", "55000")     # not crossed yet
    assert ok(kc.get(f"/api/v1/hf/orders/{placed['orderId']}", {"symbol": "BTC-USDT"}))["active"] is True
    sandbox.set_mark_price("BTC-USDT", "49990")
    got = ok(kc.get(f"/api/v1/hf/orders/{placed['orderId']}", {"symbol": "BTC-USDT"}))
    fee = Decimal("500") * FEE_RATES[("SPOT", "maker")]
    assert got["active"] is False and got["dealSize"] == "0.01" and got["dealFunds"] == "500"
    assert Decimal(got["fee"]) == fee
    usdt = balance(sandbox, trader.uid, "TRADE", "USDT")
    assert usdt["holds"] == 0 and usdt["balance"] == Decimal("1000") - 500 - fee
    assert balance(sandbox, trader.uid, "TRADE", "BTC")["balance"] == Decimal("0.01")
    [row] = accruals(sandbox, trader.uid)
    assert row["tradeType"] == "SPOT" and Decimal(row["fee"]) == fee and Decimal(row["volume"]) == 500
    assert Decimal(row["rebateAmount"]) == fee * REBATE_RATIOS["SPOT"]


def test_untagged_fills_earn_no_rebate(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot", tagged=False)
    ok(kc.post("/api/v1/hf/orders", {"side": "buy", "symbol": "BTC-USDT", "type": "market", "funds": "100"}))
    assert accruals(sandbox, trader.uid) == []
    assert balance(sandbox, trader.uid, "TRADE", "BTC")["balance"] > 1


def test_spot_post_only_that_would_cross_is_cancelled(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot")
    placed = ok(kc.post("/api/v1/hf/orders", spot_limit(price="61000", postOnly=True)))
    got = ok(kc.get(f"/api/v1/hf/orders/{placed['orderId']}", {"symbol": "BTC-USDT"}))
    assert got["active"] is False and got["cancelExist"] is True and got["dealSize"] == "0"
    assert got["cancelledSize"] == "0.001"
    assert balance(sandbox, trader.uid, "TRADE", "USDT")["holds"] == 0


def test_spot_cancel_by_client_oid_releases_the_hold(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot")
    body = spot_limit()
    ok(kc.post("/api/v1/hf/orders", body))
    assert balance(sandbox, trader.uid, "TRADE", "USDT")["holds"] > 0
    assert ok(kc.delete(f"/api/v1/hf/orders/client-order/{body['clientOid']}", {"symbol": "BTC-USDT"})) == \
        {"clientOid": body["clientOid"]}
    assert balance(sandbox, trader.uid, "TRADE", "USDT")["holds"] == 0
    refused(kc.delete(f"/api/v1/hf/orders/client-order/{body['clientOid']}", {"symbol": "BTC-USDT"}), "126043")


def test_futures_market_open_and_close_moves_margin_fee_and_pnl(sandbox):
    trader = new_trader(sandbox, funds=(("CONTRACT", "USDT", "1000"),))
    kc = client(sandbox, trader, "futures")
    taker = FEE_RATES[("FUTURES", "taker")]
    opened = ok(kc.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "XBTUSDTM",
                                           "type": "market", "size": 10, "leverage": 10}))
    got = ok(kc.get(f"/api/v1/orders/{opened['orderId']}"))
    assert got["status"] == "done" and got["dealSize"] == 10 and got["dealValue"] == "600"
    assert got["avgDealPrice"] == "60000"
    after_open = balance(sandbox, trader.uid, "CONTRACT", "USDT")
    assert after_open["holds"] == Decimal("60")                       # margin 600 / 10
    assert after_open["balance"] == 1000 - 600 * taker
    sandbox.set_mark_price("XBTUSDTM", "61000")
    closed = ok(kc.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "sell", "symbol": "XBTUSDTM",
                                           "type": "market", "size": 10, "leverage": 10, "reduceOnly": True}))
    assert ok(kc.get(f"/api/v1/orders/{closed['orderId']}"))["dealValue"] == "610"
    final = balance(sandbox, trader.uid, "CONTRACT", "USDT")
    assert final["holds"] == 0
    assert final["balance"] == 1000 - 600 * taker - 610 * taker + 10   # +10 USDT profit
    rows = accruals(sandbox, trader.uid)
    assert [r["tradeType"] for r in rows] == ["FUTURES"]
    assert Decimal(rows[0]["fee"]) == (600 + 610) * taker
    assert Decimal(rows[0]["rebateAmount"]) == (600 + 610) * taker * REBATE_RATIOS["FUTURES"]


def test_futures_resting_limit_fills_when_mark_crosses_and_stop_triggers(sandbox):
    trader = new_trader(sandbox, funds=(("CONTRACT", "USDT", "1000"),))
    kc = client(sandbox, trader, "futures")
    resting = ok(kc.post("/api/v1/orders", futures_limit(side="sell", price="62000", size=2, leverage=2)))
    stop = ok(kc.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "XBTUSDTM",
                                         "type": "market", "size": 1, "leverage": 2, "stop": "up",
                                         "stopPrice": "61500", "stopPriceType": "MP"}))
    assert ok(kc.get(f"/api/v1/orders/{stop['orderId']}"))["stopTriggered"] is False
    sandbox.set_mark_price("XBTUSDTM", "62000")
    sold = ok(kc.get(f"/api/v1/orders/{resting['orderId']}"))
    assert sold["status"] == "done" and sold["dealSize"] == 2 and sold["avgDealPrice"] == "62000"
    triggered = ok(kc.get(f"/api/v1/orders/{stop['orderId']}"))
    assert triggered["stopTriggered"] is True and triggered["status"] == "done" and triggered["dealSize"] == 1
    stats = ok(kc.get("/api/v1/openOrderStatistics", {"symbol": "XBTUSDTM"}))
    assert stats["openOrderBuySize"] == 0 and stats["openOrderSellSize"] == 0


def test_futures_cancel_by_id_and_client_oid(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "futures")
    a = ok(kc.post("/api/v1/orders", futures_limit()))
    body = futures_limit()
    ok(kc.post("/api/v1/orders", body))
    assert ok(kc.delete(f"/api/v1/orders/{a['orderId']}")) == {"cancelledOrderIds": [a["orderId"]]}
    assert ok(kc.delete(f"/api/v1/orders/client-order/{body['clientOid']}", {"symbol": "XBTUSDTM"})) == \
        {"clientOid": body["clientOid"]}
    refused(kc.delete(f"/api/v1/orders/{a['orderId']}"), "100004")
    refused(kc.get("/api/v1/orders/999999999999999999"), "100001")
    assert balance(sandbox, trader.uid, "CONTRACT", "USDT")["holds"] == 0
    got = ok(kc.get("/api/v1/orders/byClientOid", {"clientOid": body["clientOid"]}))
    assert got["status"] == "done" and got["cancelExist"] is True and got["endAt"] is not None


def test_other_users_orders_are_invisible(sandbox):
    alice, bob = new_trader(sandbox), new_trader(sandbox)
    placed = ok(client(sandbox, alice, "spot").post("/api/v1/hf/orders", spot_limit()))
    refused(client(sandbox, bob, "spot").get(f"/api/v1/hf/orders/{placed['orderId']}", {"symbol": "BTC-USDT"}),
            "126043")


# -- the other order endpoints answer inside KuCoin's schemas (the fixture checks every answer) ---

def test_secondary_spot_endpoints(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot")
    old = ok(kc.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "BTC-USDT",
                                        "price": "50000", "size": "0.001"}))
    assert set(old) == {"orderId"}
    got = ok(kc.get(f"/api/v1/orders/{old['orderId']}"))
    assert got["type"] == "limit" and got["isActive"] is True
    assert ok(kc.get(f"/api/v1/order/client-order/{got['clientOid']}"))["id"] == old["orderId"]
    test = ok(kc.post("/api/v1/hf/orders/test", spot_limit()))
    refused(kc.get(f"/api/v1/hf/orders/{test['orderId']}", {"symbol": "BTC-USDT"}), "126043")
    sync = ok(kc.post("/api/v1/hf/orders/sync", {"side": "sell", "symbol": "BTC-USDT", "type": "market",
                                                 "size": "0.01"}))
    assert sync["status"] == "done" and sync["dealSize"] == "0.01"
    active = ok(kc.get("/api/v1/hf/orders/active", {"symbol": "BTC-USDT"}))
    assert [o["id"] for o in active] == [old["orderId"]]
    assert "tradeType" in refused(kc.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "buy",
                                                             "symbol": "BTC-USDT", "price": "50000",
                                                             "size": "0.001", "tradeType": "MARGIN_TRADE"}),
                                  "400100")


def test_secondary_futures_endpoints(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "futures")
    ok(kc.post("/api/v1/orders", futures_limit(price="50000", size=3)))
    ok(kc.post("/api/v1/orders", futures_limit(side="sell", price="70000", size=2, leverage=2)))
    stats = ok(kc.get("/api/v1/openOrderStatistics", {"symbol": "XBTUSDTM"}))
    assert stats == {"openOrderBuySize": 3, "openOrderSellSize": 2, "openOrderBuyCost": "30",
                     "openOrderSellCost": "70", "settleCurrency": "USDT"}
    ok(kc.post("/api/v1/orders", futures_limit(price="40000", stop="down", stopPrice="45000", stopPriceType="TP")))
    stops = ok(kc.get("/api/v1/stopOrders", {"symbol": "XBTUSDTM"}))
    assert stops["totalNum"] == 1 and stops["items"][0]["stopPrice"] == "45000"
    tested = ok(kc.post("/api/v1/orders/test", futures_limit()))
    refused(kc.get(f"/api/v1/orders/{tested['orderId']}"), "100001")
    done = ok(kc.get("/api/v1/orders", {"status": "done"}))
    assert done["totalNum"] == 0


def test_seeded_history_is_the_same_after_every_reset(sandbox):
    first = sandbox.dump()
    trader = new_trader(sandbox)
    ok(client(sandbox, trader, "spot").post("/api/v1/hf/orders", spot_limit()))
    sandbox.reset()
    again = sandbox.dump()
    for section in ("trading", "rebates", "oauth"):
        assert again[section] == first[section]
    spot = first["trading"]["spotOrders"]
    assert len(spot) > 300 and all(not o["active"] for o in spot)
    assert len({o["uid"] for o in spot}) >= 10


def test_state_round_trip_keeps_orders_positions_and_accruals(sandbox):
    trader = new_trader(sandbox)
    spot = client(sandbox, trader, "spot")
    futures = client(sandbox, trader, "futures")
    resting = ok(spot.post("/api/v1/hf/orders", spot_limit()))
    ok(futures.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "XBTUSDTM",
                                       "type": "market", "size": 3, "leverage": 3}))
    saved = sandbox.dump()
    sandbox.reset()
    sandbox.load(saved)
    again = sandbox.dump()
    for section in ("trading", "rebates", "oauth", "balances"):
        assert again[section] == saved[section]
    # the loaded world goes on: the resting order fills, new ids do not clash with old ones
    sandbox.set_mark_price("BTC-USDT", "49000")
    assert ok(spot.get(f"/api/v1/hf/orders/{resting['orderId']}", {"symbol": "BTC-USDT"}))["active"] is False
    newer = ok(spot.post("/api/v1/hf/orders", spot_limit()))
    assert newer["orderId"] not in {o["id"] for o in saved["trading"]["spotOrders"]}


def test_spot_ioc_that_does_not_cross_is_cancelled_and_gtt_expires_with_the_clock(sandbox):
    trader = new_trader(sandbox)
    kc = client(sandbox, trader, "spot")
    ioc = ok(kc.post("/api/v1/hf/orders", spot_limit(timeInForce="IOC")))
    got = ok(kc.get(f"/api/v1/hf/orders/{ioc['orderId']}", {"symbol": "BTC-USDT"}))
    assert got["active"] is False and got["cancelExist"] is True and got["dealSize"] == "0"
    gtt = ok(kc.post("/api/v1/hf/orders", spot_limit(timeInForce="GTT", cancelAfter=600)))
    assert ok(kc.get(f"/api/v1/hf/orders/{gtt['orderId']}", {"symbol": "BTC-USDT"}))["cancelAfter"] == 600
    sandbox.advance_time(601)
    got = ok(kc.get(f"/api/v1/hf/orders/{gtt['orderId']}", {"symbol": "BTC-USDT"}))
    assert got["active"] is False and got["cancelExist"] is True
    assert balance(sandbox, trader.uid, "TRADE", "USDT")["holds"] == 0


def test_spot_money_fields_must_be_strings(sandbox):
    kc = client(sandbox, new_trader(sandbox), "spot")
    assert "price" in refused(kc.post("/api/v1/hf/orders", spot_limit(price=50000)), "400100")
    assert "postOnly" in refused(kc.post("/api/v1/hf/orders", spot_limit(postOnly="true")), "400100")
