"""Transfers (clientOid idempotence), deposits (history and the control call), withdrawals."""
from decimal import Decimal

from .kc import Kc

XFER = "/api/v1/broker/nd/transfer"


def balance(sandbox, uid, account_type, currency):
    for r in sandbox.dump()["balances"]:
        if (r["uid"], r["accountType"], r["currency"]) == (uid, account_type, currency):
            return Decimal(r["balance"])
    return Decimal(0)


def new_sub(kc, name):
    return kc.post("/api/v1/broker/nd/account", {"accountName": name}).json()["data"]["uid"]


def xfer_body(uid, amount="10", oid="oid-1", direction="OUT", account_type="MAIN", special="TRADE"):
    return {"currency": "USDT", "amount": amount, "direction": direction, "accountType": account_type,
            "specialUid": uid, "specialAccountType": special, "clientOid": oid}


def test_same_client_oid_moves_money_once(sandbox):
    kc = Kc.broker(sandbox)
    uid = new_sub(kc, "fund-idem-1")
    broker = sandbox.broker["uid"]
    before = balance(sandbox, broker, "MAIN", "USDT")
    r1 = kc.post(XFER, xfer_body(uid, "100", "same-oid")).json()
    r2 = kc.post(XFER, xfer_body(uid, "100", "same-oid")).json()
    assert r1["code"] == r2["code"] == "200000"
    assert r1["data"]["orderId"] == r2["data"]["orderId"]
    assert balance(sandbox, uid, "TRADE", "USDT") == Decimal("100")
    assert balance(sandbox, broker, "MAIN", "USDT") == before - 100
    transfers = [t for t in sandbox.dump()["funding"]["transfers"] if t["clientOid"] == "same-oid"]
    assert len(transfers) == 1


def test_same_client_oid_with_other_parameters_is_refused(sandbox):
    kc = Kc.broker(sandbox)
    uid = new_sub(kc, "fund-idem-2")
    kc.post(XFER, xfer_body(uid, "5", "oid-x"))
    r = kc.post(XFER, xfer_body(uid, "6", "oid-x")).json()
    assert r["code"] == "400100" and "clientOid" in r["msg"]
    assert balance(sandbox, uid, "TRADE", "USDT") == Decimal("5")


def test_transfer_in_and_insufficient_balance(sandbox):
    kc = Kc.broker(sandbox)
    uid = new_sub(kc, "fund-in-1")
    kc.post(XFER, xfer_body(uid, "30", "o1"))
    back = kc.post(XFER, xfer_body(uid, "12.25", "o2", direction="IN", account_type="TRADE")).json()
    assert back["code"] == "200000"
    assert balance(sandbox, uid, "TRADE", "USDT") == Decimal("17.75")
    short = kc.post(XFER, xfer_body(uid, "1000", "o3", direction="IN")).json()
    assert short["code"] == "200004"
    assert balance(sandbox, uid, "TRADE", "USDT") == Decimal("17.75")
    detail = kc.get("/api/v3/broker/nd/transfer/detail", {"orderId": back["data"]["orderId"]}).json()["data"]
    assert (detail["fromUid"], detail["fromAccountType"], detail["toUid"], detail["toAccountType"]) == \
        (int(uid), "TRADE", int(sandbox.broker["uid"]), "TRADE")


def test_transfer_to_a_stranger_or_with_bad_amount_is_400100(sandbox):
    kc = Kc.broker(sandbox)
    uid = new_sub(kc, "fund-bad-1")
    assert kc.post(XFER, xfer_body("999999999", "1", "s1")).json()["code"] == "400100"
    for amount in ("-1", "0", "abc", "1.123456789"):
        r = kc.post(XFER, xfer_body(uid, amount, "s-" + amount)).json()
        assert r["code"] == "400100", amount
    r = kc.post(XFER, xfer_body(uid, "1", "s2", special="CONTRACT")).json()
    assert r["code"] == "400100" and "specialAccountType" in r["msg"]


def test_control_deposit_arrives_and_is_listed(sandbox):
    kc = Kc.broker(sandbox)
    uid = new_sub(kc, "fund-dep-1")
    d = sandbox.make_deposit(uid, "USDT", "250.5", chain="trx", address="TSandboxAddress000000000000000001")
    assert balance(sandbox, uid, "MAIN", "USDT") == Decimal("250.5")
    listed = kc.get("/api/v1/asset/ndbroker/deposit/list", {"currency": "USDT", "limit": 5}).json()["data"]
    assert listed[0]["hash"] == d["hash"] and listed[0]["uid"] == int(uid) and listed[0]["amount"] == "250.5"
    assert len(listed) == 5
    detail = kc.get("/api/v3/broker/nd/deposit/detail", {"currency": "USDT", "hash": d["hash"]}).json()["data"]
    assert (detail["address"], detail["chain"], detail["status"]) == ("TSandboxAddress000000000000000001", "trx", "SUCCESS")


def test_processing_deposit_credits_when_it_succeeds(sandbox):
    kc = Kc.broker(sandbox)
    uid = new_sub(kc, "fund-dep-2")
    d = sandbox.make_deposit(uid, "BTC", "0.5", status="PROCESSING")
    assert balance(sandbox, uid, "MAIN", "BTC") == 0
    sandbox.call("POST", "/deposits/status", {"hash": d["hash"], "status": "SUCCESS"})
    assert balance(sandbox, uid, "MAIN", "BTC") == Decimal("0.5")


def test_deposit_list_filters(sandbox):
    kc = Kc.broker(sandbox)
    all_ = kc.get("/api/v1/asset/ndbroker/deposit/list").json()["data"]
    assert all_ == sorted(all_, key=lambda d: d["createdAt"], reverse=True)
    mid = all_[len(all_) // 2]["createdAt"]
    newer = kc.get("/api/v1/asset/ndbroker/deposit/list", {"startTimestamp": mid}).json()["data"]
    assert newer and all(d["createdAt"] >= mid for d in newer)
    ok = kc.get("/api/v1/asset/ndbroker/deposit/list", {"status": "SUCCESS"}).json()["data"]
    assert ok and {d["status"] for d in ok} == {"SUCCESS"}


def test_withdrawal_detail_and_unknown_id(sandbox):
    kc = Kc.broker(sandbox)
    w = sandbox.dump()["funding"]["withdrawals"][0]
    r = kc.get("/api/v3/broker/nd/withdraw/detail", {"withdrawalId": w["id"]}).json()
    assert r["data"]["amount"] == w["amount"] and r["data"]["status"] == w["status"]
    assert kc.get("/api/v3/broker/nd/withdraw/detail", {"withdrawalId": "nope"}).json()["code"] == "400100"
