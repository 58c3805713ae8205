"""The official SDK reads a sub-account key's own balances (spot list, futures overview)."""
import json

from kucoin_universal_sdk.generate.account.account import GetFuturesAccountReq, GetSpotAccountListReq
from kucoin_universal_sdk.model.common import RestError
import pytest

from .kc import Kc
from .sdk import fields, sdk_client


def sub_key(sandbox, permissions):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": "sdk-acct-" + "-".join(permissions)}).json()["data"]["uid"]
    for account_type in ("MAIN", "TRADE"):
        kc.post("/api/v1/broker/nd/transfer", {"currency": "USDT", "amount": "40", "direction": "OUT",
                                               "accountType": "MAIN", "specialUid": uid,
                                               "specialAccountType": account_type, "clientOid": f"{uid}-{account_type}"})
    d = kc.post("/api/v1/broker/nd/account/apikey", {"uid": uid, "passphrase": "pass-12345", "ipWhitelist": [],
                                                      "permissions": permissions, "label": "sdk-acct"}).json()["data"]
    return uid, d


def test_spot_account_list_with_a_sub_key(sandbox):
    uid, d = sub_key(sandbox, ["general", "spot"])
    rest = sdk_client(sandbox, api_key=d["apiKey"], secret=d["secretKey"], passphrase="pass-12345").rest_service()
    api = rest.get_account_service().get_account_api()
    r = api.get_spot_account_list(GetSpotAccountListReq())
    rows = [fields(x, "id", "currency", "type", "balance", "available", "holds") for x in r.data]
    assert sorted((x["type"], x["currency"], x["balance"]) for x in rows) == [("main", "USDT", "40"), ("trade", "USDT", "40")]
    only_trade = api.get_spot_account_list(GetSpotAccountListReq(type=GetSpotAccountListReq.TypeEnum.TRADE))
    assert [x.type.value for x in only_trade.data] == ["trade"]


def test_futures_overview_needs_the_futures_permission(sandbox):
    _, d = sub_key(sandbox, ["general", "spot"])
    api = sdk_client(sandbox, api_key=d["apiKey"], secret=d["secretKey"], passphrase="pass-12345") \
        .rest_service().get_account_service().get_account_api()
    with pytest.raises(RestError) as e:
        api.get_futures_account(GetFuturesAccountReq(currency="USDT"))
    assert "400007" in str(e.value)
    _, d = sub_key(sandbox, ["general", "futures"])
    api = sdk_client(sandbox, api_key=d["apiKey"], secret=d["secretKey"], passphrase="pass-12345") \
        .rest_service().get_account_service().get_account_api()
    r = api.get_futures_account(GetFuturesAccountReq(currency="USDT"))
    fields(r, "accountEquity", "availableBalance", "currency", "maxWithdrawAmount")


def test_schema_enforcement_is_on(sandbox):
    # corrupt the state so that an answer would break the OpenAPI schema: the sandbox refuses to send it
    state = sandbox.dump()
    w = state["funding"]["withdrawals"][0]
    w["status"] = "LOST"
    sandbox.load(json.loads(json.dumps(state)))
    r = Kc.broker(sandbox).get("/api/v3/broker/nd/withdraw/detail", {"withdrawalId": w["id"]})
    assert r.status_code == 500 and "OpenAPI schema" in r.json()["msg"] and "status" in r.json()["msg"]
