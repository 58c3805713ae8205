"""Every endpoint over real HTTP against the local signature-checking server: what KuCoin
receives (method, path, query, body) and what the caller gets back (typed, Decimal, UTC)."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from kucoin.errors import ValidationError


def last(fake, path):
    return [r for r in fake.executed if r.path == path][-1]


@pytest.fixture
def client(make_client):
    c = make_client()
    c.sync_clock()
    return c


def test_broker_info(fake, client):
    fake.route("GET", "/api/v1/broker/nd/info", {"accountSize": 12, "maxAccountSize": None, "level": 0})
    info = client.broker.get_info(date(2024, 5, 10), "20240610", trade_type="futures")
    assert (info.account_size, info.max_account_size, info.level) == (12, None, 0)
    assert last(fake, "/api/v1/broker/nd/info").query == [("begin", "20240510"), ("end", "20240610"),
                                                          ("tradeType", "2")]


def test_add_and_page_sub_accounts(fake, client):
    fake.route("POST", "/api/v1/broker/nd/account",
               {"accountName": "acme-cust-0001", "uid": "100000001", "createdAt": 1718000000123, "level": 0})
    sub = client.broker.add_sub_account("acme-cust-0001")
    assert last(fake, "/api/v1/broker/nd/account").body == b'{"accountName":"acme-cust-0001"}'
    assert sub.uid == "100000001" and sub.created_at == datetime(2024, 6, 10, 6, 13, 20, 123000, tzinfo=timezone.utc)

    accounts = [{"accountName": f"acme-{i}", "uid": str(100 + i), "createdAt": 1718000000000, "level": 0}
                for i in range(5)]

    def page(req):
        q = dict(req.query)
        n, size = int(q["currentPage"]), int(q["pageSize"])
        return {"currentPage": n, "pageSize": size, "totalNum": 5, "totalPage": -(-5 // size),
                "items": accounts[(n - 1) * size:n * size]}

    fake.route("GET", "/api/v1/broker/nd/account", fn=page)
    p1 = client.broker.get_sub_accounts(page=1, page_size=2)
    assert (p1.total_num, p1.total_page, [s.uid for s in p1.items]) == (5, 3, ["100", "101"])
    assert [s.account_name for s in client.broker.iter_sub_accounts(page_size=2)] == [f"acme-{i}" for i in range(5)]
    with pytest.raises(ValidationError):
        client.broker.get_sub_accounts(page_size=101)


def test_api_key_lifecycle(fake, client):
    created = {"uid": "100000001", "label": "desk-key-01", "apiKey": "65aa00000000000000000001",
               "secretKey": "00000000-0000-4000-8000-000000000001", "apiVersion": 3,
               "permissions": ["General", "Spot"], "ipWhitelist": ["192.0.2.10"], "createdAt": 1718000001000}
    fake.route("POST", "/api/v1/broker/nd/account/apikey", created)
    key = client.broker.add_api_key("100000001", "pass-phrase-1", ["General", "spot"], "desk-key-01",
                                    ["192.0.2.10"])
    assert last(fake, "/api/v1/broker/nd/account/apikey").json() == {
        "uid": "100000001", "passphrase": "pass-phrase-1", "ipWhitelist": ["192.0.2.10"],
        "permissions": ["general", "spot"], "label": "desk-key-01"}
    assert key.secret_key == created["secretKey"] and created["secretKey"] not in repr(key)
    assert key.permissions == ("General", "Spot") and key.api_version == 3

    listed = dict(created, ipWhitelist=["192.**.10"])
    listed.pop("secretKey")
    fake.route("GET", "/api/v1/broker/nd/account/apikey", [listed])
    [k] = client.broker.get_api_keys("100000001", api_key="65aa00000000000000000001")
    assert k.ip_whitelist == ("192.**.10",) and k.secret_key is None

    fake.route("POST", "/api/v1/broker/nd/account/update-apikey", dict(listed, label="desk-key-02"))
    k2 = client.broker.modify_api_key("100000001", "65aa00000000000000000001", ["general"], "desk-key-02", [])
    assert k2.label == "desk-key-02"
    assert last(fake, "/api/v1/broker/nd/account/update-apikey").json()["permissions"] == ["general"]

    fake.route("DELETE", "/api/v1/broker/nd/account/apikey", True)
    assert client.broker.delete_api_key("100000001", "65aa00000000000000000001") is True
    d = last(fake, "/api/v1/broker/nd/account/apikey")
    assert d.method == "DELETE" and d.body == b"" and d.query == [("uid", "100000001"),
                                                                   ("apiKey", "65aa00000000000000000001")]


def test_transfer_and_detail(fake, client):
    fake.route("POST", "/api/v1/broker/nd/transfer", {"orderId": "66ab00000000000000000001"})
    oid = client.broker.transfer(currency="USDT", amount=Decimal("25.500000000000000000"), direction="OUT",
                                 account_type="MAIN",
                                 special_uid="100000001", special_account_type="TRADE", client_oid="t-0001")
    assert oid == "66ab00000000000000000001"
    assert last(fake, "/api/v1/broker/nd/transfer").json() == {
        "currency": "USDT", "amount": "25.5", "direction": "OUT", "accountType": "MAIN",
        "specialUid": "100000001", "specialAccountType": "TRADE", "clientOid": "t-0001"}
    fake.route("GET", "/api/v3/broker/nd/transfer/detail", {
        "orderId": oid, "currency": "USDT", "amount": "25.5", "fromUid": 100000000, "fromAccountType": "MAIN",
        "fromAccountTag": "DEFAULT", "toUid": 100000001, "toAccountType": "TRADE", "toAccountTag": "DEFAULT",
        "status": "SUCCESS", "reason": None, "createdAt": 1718000002000})
    t = client.broker.get_transfer(oid)
    assert (t.amount, t.from_uid, t.to_uid, t.status) == (Decimal("25.5"), "100000000", "100000001", "SUCCESS")
    with pytest.raises(ValidationError):
        client.broker.transfer(currency="USDT", amount="-1", direction="OUT", account_type="MAIN",
                               special_uid="1", special_account_type="TRADE", client_oid="x")


DEPOSIT = {"uid": 100000001, "hash": "0xabc", "address": "addr", "memo": "", "amount": "10.5", "fee": "0",
           "currency": "USDT", "isInner": False, "walletTxId": "w1", "status": "SUCCESS", "remark": "",
           "chain": "trx", "createdAt": 1718000000000, "updatedAt": 1718000001000}


def test_deposits(fake, client):
    fake.route("GET", "/api/v1/asset/ndbroker/deposit/list", [DEPOSIT])
    [d] = client.broker.get_deposits(currency="USDT", start=datetime(2024, 6, 1, tzinfo=timezone.utc))
    assert d.amount == Decimal("10.5") and d.uid == "100000001"
    assert last(fake, "/api/v1/asset/ndbroker/deposit/list").query == [
        ("currency", "USDT"), ("startTimestamp", "1717200000000"), ("limit", "1000")]
    fake.route("GET", "/api/v3/broker/nd/deposit/detail", DEPOSIT)
    assert client.broker.get_deposit("USDT", "0xabc").hash == "0xabc"
    assert last(fake, "/api/v3/broker/nd/deposit/detail").query == [("currency", "USDT"), ("hash", "0xabc")]


def test_iter_deposits_walks_back_in_time(fake, client):
    rows = [dict(DEPOSIT, hash=f"h{i}", createdAt=1718000000000 - i * 1000) for i in range(5)]

    def answer(req):
        q = dict(req.query)
        end = int(q.get("endTimestamp", 10 ** 14))
        return [r for r in rows if r["createdAt"] <= end][: int(q["limit"])]

    fake.route("GET", "/api/v1/asset/ndbroker/deposit/list", fn=answer)
    assert [d.hash for d in client.broker.iter_deposits(limit=2)] == [f"h{i}" for i in range(5)]


def test_withdrawal_detail(fake, client):
    fake.route("GET", "/api/v3/broker/nd/withdraw/detail", dict(DEPOSIT, id="wd1", status="REVIEW"))
    w = client.broker.get_withdrawal("wd1")
    assert (w.id, w.status, w.amount) == ("wd1", "REVIEW", Decimal("10.5"))


def test_rebate_url_and_six_month_rule(fake, client):
    fake.route("GET", "/api/v1/broker/nd/rebase/download", {"url": "https://files.example/x_file.csv"})
    assert client.broker.get_rebate_download_url("20240101", "20240701") == "https://files.example/x_file.csv"
    with pytest.raises(ValidationError, match="6 months"):
        client.broker.get_rebate_download_url("20240101", "20240702")
    with pytest.raises(ValidationError):
        client.broker.get_info("20240201", "20240101")


def test_kyc(fake, client):
    fake.route("POST", "/api/kyc/ndBroker/proxyClient/submit", None)
    client.broker.submit_kyc(client_uid="100000001", first_name="Ann", last_name="Lee", issue_country="JP",
                             birth_date=date(1990, 1, 2), identity_type="passport", identity_number="P123",
                             expire_date="2099-01-01", front_photo="data:image/jpeg;base64,AAAA",
                             backend_photo=None, face_photo="data:image/jpeg;base64,BBBB")
    body = last(fake, "/api/kyc/ndBroker/proxyClient/submit").json()
    assert body["birthDate"] == "1990-01-02" and "backendPhoto" not in body and body["identityType"] == "passport"
    fake.route("GET", "/api/kyc/ndBroker/proxyClient/status/list",
               [{"clientUid": 100000001, "status": "PASS", "rejectReason": None}])
    [s] = client.broker.get_kyc_status(["100000001", "100000002"])
    assert (s.client_uid, s.status) == ("100000001", "PASS")
    assert last(fake, "/api/kyc/ndBroker/proxyClient/status/list").query == [("clientUids", "100000001,100000002")]
    fake.route("GET", "/api/kyc/ndBroker/proxyClient/status/page",
               {"currentPage": 1, "pageSize": 100, "totalNum": 1, "totalPage": 1,
                "items": [{"clientUid": 1, "status": "REJECT", "rejectReason": "frontPhoto:blurred"}]})
    assert [k.reject_reason for k in client.broker.iter_kyc_statuses()] == ["frontPhoto:blurred"]
    with pytest.raises(ValidationError):
        client.broker.submit_kyc(client_uid="1", first_name="A", last_name="B", issue_country="JP",
                                 birth_date="1990-01-01", identity_type="idcard", identity_number="1",
                                 expire_date="2099-01-01", front_photo="x", backend_photo=None, face_photo="y")


SPOT_ORDER = {"id": "66ac00000000000000000001", "clientOid": "c-1", "symbol": "BTC-USDT", "opType": "DEAL",
              "type": "limit", "side": "buy", "price": "30000", "size": "0.0001", "funds": "3", "dealSize": "0",
              "dealFunds": "0", "remainSize": "0.0001", "remainFunds": "3", "cancelledSize": "0",
              "cancelledFunds": "0", "fee": "0", "feeCurrency": "USDT", "stp": None, "timeInForce": "GTC",
              "postOnly": False, "hidden": False, "iceberg": False, "visibleSize": "0", "cancelAfter": 0,
              "channel": "API", "remark": None, "tags": "partner:TESTPARTNER", "cancelExist": False,
              "tradeType": "TRADE", "inOrderBook": True, "active": True, "tax": "0", "createdAt": 1718000003000,
              "lastUpdatedAt": 1718000003010}


def test_spot_orders(fake, client):
    fake.route("POST", "/api/v1/hf/orders", {"orderId": "66ac00000000000000000001", "clientOid": "c-1"})
    ref = client.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid="c-1",
                                  price=Decimal("30000"), size="0.0001", post_only=True)
    sent = last(fake, "/api/v1/hf/orders")
    assert sent.json() == {"clientOid": "c-1", "side": "buy", "symbol": "BTC-USDT", "type": "limit",
                           "price": "30000", "size": "0.0001", "postOnly": True}
    assert sent.verified_partner  # broker headers accepted: KuCoin would tag this order
    assert ref.order_id == "66ac00000000000000000001"

    fake.route("GET", "/api/v1/hf/orders/66ac00000000000000000001", SPOT_ORDER)
    o = client.spot.get_order("66ac00000000000000000001", "BTC-USDT")
    assert o.is_tagged and o.tags == "partner:TESTPARTNER" and o.price == Decimal("30000") and o.active
    fake.route("GET", "/api/v1/hf/orders/client-order/c-1", dict(SPOT_ORDER, tags=None))
    assert client.spot.get_order_by_client_oid("c-1", "BTC-USDT").is_tagged is False
    assert last(fake, "/api/v1/hf/orders/client-order/c-1").query == [("symbol", "BTC-USDT")]

    fake.route("DELETE", "/api/v1/hf/orders/66ac00000000000000000001", {"orderId": "66ac00000000000000000001"})
    assert client.spot.cancel_order("66ac00000000000000000001", "BTC-USDT") == "66ac00000000000000000001"
    fake.route("DELETE", "/api/v1/hf/orders/client-order/c-1", {"clientOid": "c-1"})
    assert client.spot.cancel_order_by_client_oid("c-1", "BTC-USDT") == "c-1"

    fake.route("GET", "/api/v1/accounts", [{"id": "1", "currency": "USDT", "type": "trade", "balance": "26.6",
                                            "available": "20", "holds": "6.6"}])
    [b] = client.spot.get_balances(currency="USDT")
    assert (b.balance, b.available, b.holds) == (Decimal("26.6"), Decimal("20"), Decimal("6.6"))


FUT_ORDER = {"id": "239000000000000001", "symbol": "XBTUSDTM", "type": "limit", "side": "buy", "price": "0.1",
             "size": 1, "value": "0.0001", "dealValue": "0", "dealSize": 0, "stp": "", "stop": "",
             "stopPriceType": "", "stopTriggered": False, "stopPrice": None, "timeInForce": "GTC",
             "postOnly": False, "hidden": False, "iceberg": False, "leverage": "3", "forceHold": False,
             "closeOrder": False, "visibleSize": 0, "clientOid": "f-1", "remark": None, "tags": "partner:FUT",
             "isActive": True, "cancelExist": False, "createdAt": 1727692804813, "updatedAt": 1727692804813,
             "endAt": None, "orderTime": 1727692804808418000, "settleCurrency": "USDT", "marginMode": "ISOLATED",
             "avgDealPrice": "0", "filledSize": 0, "filledValue": "0", "status": "open", "reduceOnly": False}


def test_futures_orders(fake, client):
    fake.route("POST", "/api/v1/orders", {"orderId": "239000000000000001", "clientOid": "f-1"})
    client.futures.place_order(client_oid="f-1", symbol="XBTUSDTM", side="buy", leverage=3, price="0.1", size=1,
                               margin_mode="ISOLATED", time_in_force="GTC", reduce_only=False, remark="hi",
                               stop="down", stop_price="0.09", stop_price_type="MP", stp="CN")
    sent = last(fake, "/api/v1/orders")
    assert sent.json() == {"clientOid": "f-1", "side": "buy", "symbol": "XBTUSDTM", "leverage": 3, "type": "limit",
                           "price": "0.1", "size": 1, "marginMode": "ISOLATED", "timeInForce": "GTC",
                           "reduceOnly": False, "stop": "down", "stopPrice": "0.09", "stopPriceType": "MP",
                           "remark": "hi", "stp": "CN"}
    assert sent.headers["KC-API-PARTNER"] == "TESTFUTPARTNER" and sent.verified_partner

    client.futures.place_order(client_oid="f-2", symbol="XBTUSDTM", side="sell", leverage=1, type="market",
                               value_qty="100.5")
    assert last(fake, "/api/v1/orders").json() == {"clientOid": "f-2", "side": "sell", "symbol": "XBTUSDTM",
                                                   "leverage": 1, "type": "market", "valueQty": "100.5"}

    fake.route("GET", "/api/v1/orders/239000000000000001", FUT_ORDER)
    o = client.futures.get_order("239000000000000001")
    assert o.size == 1 and o.leverage == Decimal(3) and o.is_tagged and o.order_time.year == 2024
    fake.route("GET", "/api/v1/orders/byClientOid", dict(FUT_ORDER, tags=""))
    assert client.futures.get_order_by_client_oid("f-1").is_tagged is False
    assert last(fake, "/api/v1/orders/byClientOid").query == [("clientOid", "f-1")]

    fake.route("DELETE", "/api/v1/orders/239000000000000001", {"cancelledOrderIds": ["239000000000000001"]})
    assert client.futures.cancel_order("239000000000000001") == ["239000000000000001"]
    fake.route("DELETE", "/api/v1/orders/client-order/f-1", {"clientOid": "f-1"})
    assert client.futures.cancel_order_by_client_oid("f-1", "XBTUSDTM") == "f-1"

    fake.route("GET", "/api/v1/orders", {"currentPage": 1, "pageSize": 1, "totalNum": 37, "totalPage": 37,
                                         "items": [FUT_ORDER]})
    fake.route("GET", "/api/v1/stopOrders", {"currentPage": 1, "pageSize": 1, "totalNum": 4, "totalPage": 4,
                                             "items": []})
    counts = client.futures.open_order_counts("XBTUSDTM")
    assert (counts.limit_orders, counts.stop_orders) == (37, 4)
    assert ("status", "active") in last(fake, "/api/v1/orders").query


def test_server_time(fake, make_client):
    client = make_client()
    fake.skew_ms = 0
    t = client.server_time()
    assert t.tzinfo is not None and abs((datetime.now(timezone.utc) - t).total_seconds()) < 5
