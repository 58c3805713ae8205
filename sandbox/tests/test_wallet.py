"""The wallet section and its routes (deposit addresses, withdrawals) seen from a raw signed client:
OpenAPI coverage, state in the dump, faults, deposits linked to an address, control calls."""
import json

import pytest
import requests

from sandbox.routes import all_routes
from sandbox.wallet_chains import CHAINS, deposit_address, valid_address

from .kc import Kc

WITHDRAW = "/api/v3/withdrawals"
TRX_ADDRESS = "TXsandboxPayee11111111111111111111"


def spot(sandbox):
    return Kc.broker(sandbox, family="spot")


def withdraw_body(**changes):
    return {"currency": "USDT", "chain": "trx", "amount": "15", "toAddress": TRX_ADDRESS,
            "withdrawType": "ADDRESS", **changes}


def sub_client(sandbox, name):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": name}).json()["data"]["uid"]
    d = kc.post("/api/v1/broker/nd/account/apikey", {"uid": uid, "passphrase": "pass-12345", "ipWhitelist": [],
                                                      "permissions": ["general"], "label": "wallet-key"}).json()["data"]
    b = sandbox.broker
    return uid, Kc(sandbox.urls["spot"], d["apiKey"], d["secretKey"], "pass-12345", partner=b["partner"],
                   broker_key=b["broker_key"], broker_name=b["broker_name"])


def test_wallet_routes_have_their_openapi_operation_and_weights(sandbox):
    routes = {(r.method, r.template): r for r in all_routes() if r.handler.__module__ == "sandbox.wallet_routes"
              and not r.template.startswith("/_")}
    assert len(routes) == 7
    assert [k for k, r in routes.items() if r.spec is None or r.response_schema is None] == []
    weights = {k: (r.pool, r.weight) for k, r in routes.items()}
    assert weights[("POST", "/api/v3/deposit-address/create")] == ("management", 20)
    assert weights[("GET", "/api/v3/deposit-addresses")] == ("management", 5)
    assert weights[("POST", WITHDRAW)] == ("management", 5)
    assert weights[("DELETE", "/api/v1/withdrawals/{withdrawalId}")] == ("management", 20)
    assert routes[("POST", WITHDRAW)].permission == "Withdrawal"


def test_made_up_addresses_have_the_chain_format_and_are_stable():
    for chain_id, chain in CHAINS.items():
        address, memo = deposit_address(4242, "100000007", "USDT", chain_id)
        assert valid_address(chain, address), (chain_id, address)
        assert bool(memo) == chain.needs_memo
        assert deposit_address(4242, "100000007", "USDT", chain_id) == (address, memo)
    assert deposit_address(4242, "100000007", "USDT", "eth") != deposit_address(4242, "100000008", "USDT", "eth")


def test_drop_after_leaves_exactly_one_withdrawal(sandbox):
    sandbox.set_fault("drop_after", count=1, path=WITHDRAW)
    with pytest.raises(requests.ConnectionError):
        spot(sandbox).post(WITHDRAW, withdraw_body(remark="drop-after-w1"))
    mine = [w for w in sandbox.dump()["wallet"]["withdrawals"] if w["remark"] == "drop-after-w1"]
    assert len(mine) == 1 and mine[0]["status"] == "PROCESSING"
    listed = spot(sandbox).get("/api/v1/withdrawals", {"currency": "USDT", "startAt": mine[0]["createdAt"]}).json()
    assert [i["id"] for i in listed["data"]["items"] if i["remark"] == "drop-after-w1"] == [mine[0]["id"]]


def test_state_round_trips_and_resets(sandbox):
    seeded = sandbox.dump()["wallet"]
    assert len(seeded["withdrawals"]) == 6 and len(seeded["addresses"]) == 5
    wid = spot(sandbox).post(WITHDRAW, withdraw_body(remark="round-trip")).json()["data"]["withdrawalId"]
    state = json.loads(json.dumps(sandbox.dump()))
    sandbox.reset()
    assert sandbox.dump()["wallet"] == seeded
    sandbox.load(state)
    assert sandbox.dump()["wallet"] == state["wallet"]
    sandbox.advance_time(121)     # a loaded withdrawal keeps running
    got = spot(sandbox).get(f"/api/v1/withdrawals/{wid}").json()["data"]
    assert got["status"] == "SUCCESS"


def test_control_sets_a_status_and_refuses_a_final_one(sandbox):
    wid = spot(sandbox).post(WITHDRAW, withdraw_body()).json()["data"]["withdrawalId"]
    assert sandbox.set_withdrawal_status(wid, "FAILURE")["status"] == "FAILURE"
    with pytest.raises(Exception, match="already FAILURE"):
        sandbox.set_withdrawal_status(wid, "SUCCESS")


def test_someone_elses_withdrawal_is_invisible(sandbox):
    wid = spot(sandbox).post(WITHDRAW, withdraw_body()).json()["data"]["withdrawalId"]
    _, kc = sub_client(sandbox, "wallet-stranger")
    r = kc.get(f"/api/v1/withdrawals/{wid}").json()
    assert r["code"] == "400100" and "withdrawalId" in r["msg"]
    assert kc.get("/api/v1/withdrawals", {"currency": "USDT"}).json()["data"]["totalNum"] == 0


def test_memo_deposit_needs_the_right_memo_and_processing_credits_the_address_account(sandbox):
    uid, kc = sub_client(sandbox, "wallet-memo")
    a = kc.post("/api/v3/deposit-address/create", {"currency": "TON", "chain": "ton", "to": "trade"}).json()["data"]
    with pytest.raises(Exception, match="uid"):      # wrong memo: not this customer's, and no uid given
        sandbox.make_deposit(None, "TON", "3", address=a["address"], memo="1")
    d = sandbox.make_deposit(None, "TON", "3", address=a["address"], memo=a["memo"], status="PROCESSING")
    assert (d["uid"], d["memo"], d["chain"]) == (int(uid), a["memo"], "ton")
    sandbox.call("POST", "/deposits/status", {"hash": d["hash"], "status": "SUCCESS"})
    rows = {(r["accountType"], r["currency"]): r["balance"] for r in sandbox.dump()["balances"] if r["uid"] == uid}
    assert rows[("TRADE", "TON")] == "3"


def test_unknown_currency_lists_nothing_and_quota_default_chain(sandbox):
    _, kc = sub_client(sandbox, "wallet-none")
    assert kc.get("/api/v3/deposit-addresses", {"currency": "NOPE"}).json() == {"code": "200000", "data": []}
    q = spot(sandbox).get("/api/v1/withdrawals/quotas", {"currency": "BTC"}).json()["data"]   # one chain: no chain needed
    assert q["chain"] == "BTC"


def test_uid_withdrawal_is_inner_and_credits_the_payee(sandbox):
    payee, _ = sub_client(sandbox, "wallet-payee")
    wid = spot(sandbox).post(WITHDRAW, withdraw_body(toAddress=payee, withdrawType="UID", amount="12")).json()
    wid = wid["data"]["withdrawalId"]
    sandbox.set_withdrawal_status(wid, "SUCCESS")
    got = spot(sandbox).get(f"/api/v1/withdrawals/{wid}").json()["data"]
    assert (got["isInner"], got["fee"], got["walletTxId"]) == (True, "0", None)
    rows = {(r["accountType"], r["currency"]): r["balance"] for r in sandbox.dump()["balances"] if r["uid"] == payee}
    assert rows[("MAIN", "USDT")] == "12"
    bad = spot(sandbox).post(WITHDRAW, withdraw_body(toAddress="999999999", withdrawType="UID")).json()
    assert bad["code"] == "400100" and "Incorrect withdrawal address" in bad["msg"]
