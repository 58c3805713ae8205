"""The official SDK as the client of the wallet endpoints: V3 deposit addresses with a sub-account's
key, quotas / V3 withdraw / cancel / history with the broker's key. Every answer is checked for
parsed fields, since the SDK turns a failed parse into an empty object."""
from kucoin_universal_sdk.generate.account.deposit import AddDepositAddressV3Req, GetDepositAddressV3Req
from kucoin_universal_sdk.generate.account.withdrawal import (CancelWithdrawalReq, GetWithdrawalHistoryByIdReq,
                                                             GetWithdrawalHistoryReq, GetWithdrawalQuotasReq,
                                                             WithdrawalV3Req)
from kucoin_universal_sdk.model.common import RestError
import pytest

from .kc import Kc
from .sdk import fields, sdk_client

TRX_ADDRESS = "TXsandboxPayee11111111111111111111"


def _account_service(sandbox, **kw):
    return sdk_client(sandbox, **kw).rest_service().get_account_service()


def _sub_key(sandbox, name):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": name}).json()["data"]["uid"]
    d = kc.post("/api/v1/broker/nd/account/apikey", {"uid": uid, "passphrase": "pass-12345", "ipWhitelist": [],
                                                      "permissions": ["general"], "label": "sdk-wallet"}).json()["data"]
    return uid, dict(api_key=d["apiKey"], secret=d["secretKey"], passphrase="pass-12345")


def test_deposit_address_v3_with_a_sub_account_key(sandbox):
    uid, key = _sub_key(sandbox, "sdk-wallet-deposit")
    api = _account_service(sandbox, **key).get_deposit_api()
    assert api.get_deposit_address_v3(GetDepositAddressV3Req(currency="USDT", chain="trx")).data == []
    made = api.add_deposit_address_v3(AddDepositAddressV3Req(currency="USDT", chain="trx",
                                                            to=AddDepositAddressV3Req.ToEnum.TRADE))
    m = fields(made, "address", "memo", "chainId", "to", "expirationDate", "currency", "chainName")
    assert (m["chainId"], m["to"], m["chainName"]) == ("trx", "TRADE", "TRC20")
    with pytest.raises(RestError) as e:
        api.add_deposit_address_v3(AddDepositAddressV3Req(currency="USDT", chain="trx"))
    assert "260000" in str(e.value)
    got = api.get_deposit_address_v3(GetDepositAddressV3Req(currency="USDT"))
    [g] = [fields(x, "address", "chainId", "to", "currency", "contractAddress", "chainName") for x in got.data]
    assert (g["address"], g["to"]) == (m["address"], "TRADE")
    ton = fields(api.add_deposit_address_v3(AddDepositAddressV3Req(currency="TON", chain="ton")), "address", "memo")
    assert ton["memo"].isdigit()
    deposit = sandbox.make_deposit(None, "USDT", "12", address=m["address"])
    assert deposit["uid"] == int(uid)
    assert {r["accountType"]: r["balance"] for r in sandbox.dump()["balances"]
            if r["uid"] == uid and r["currency"] == "USDT"}.get("TRADE") == "12"


def test_quotas_withdraw_history_and_cancel(sandbox):
    api = _account_service(sandbox).get_withdrawal_api()
    q = fields(api.get_withdrawal_quotas(GetWithdrawalQuotasReq(currency="USDT", chain="trx")),
               "currency", "limitBTCAmount", "usedBTCAmount", "quotaCurrency", "limitQuotaCurrencyAmount",
               "usedQuotaCurrencyAmount", "remainAmount", "availableAmount", "withdrawMinFee", "innerWithdrawMinFee",
               "withdrawMinSize", "isWithdrawEnabled", "precision", "chain", "lockedAmount")
    assert (q["chain"], q["withdrawMinSize"], q["isWithdrawEnabled"]) == ("TRC20", "10", True)
    req = WithdrawalV3Req(currency="USDT", chain="trx", amount="25", to_address=TRX_ADDRESS, remark="sdk-payout-1",
                          withdraw_type=WithdrawalV3Req.WithdrawTypeEnum.ADDRESS)
    wid = fields(api.withdrawal_v3(req), "withdrawalId")["withdrawalId"]
    one = fields(api.get_withdrawal_history_by_id(GetWithdrawalHistoryByIdReq(withdrawal_id=wid)),
                 "id", "uid", "currency", "chainId", "chainName", "currencyName", "status", "failureReason",
                 "address", "memo", "isInner", "amount", "fee", "remark", "createdAt", "cancelType", "returnStatus",
                 "returnCurrency")
    assert (one["status"], one["cancelType"], one["uid"]) == ("PROCESSING", "CANCELABLE", int(sandbox.broker["uid"]))
    page = api.get_withdrawal_history(GetWithdrawalHistoryReq(
        currency="USDT", status=GetWithdrawalHistoryReq.StatusEnum.PROCESSING, page_size=10))
    fields(page, "currentPage", "pageSize", "totalNum", "totalPage", "items")
    item = fields(page.items[0], "id", "currency", "chain", "status", "address", "isInner", "amount", "fee",
                  "createdAt", "updatedAt", "remark")
    assert (item["id"], item["remark"]) == (wid, "sdk-payout-1")
    api.cancel_withdrawal(CancelWithdrawalReq(withdrawal_id=wid))
    after = fields(api.get_withdrawal_history_by_id(GetWithdrawalHistoryByIdReq(withdrawal_id=wid)), "status")
    assert after["status"] == "FAILURE"
    with pytest.raises(RestError) as e:
        api.cancel_withdrawal(CancelWithdrawalReq(withdrawal_id=wid))
    assert "400100" in str(e.value)


def test_status_advances_with_the_clock(sandbox):
    api = _account_service(sandbox).get_withdrawal_api()
    wid = api.withdrawal_v3(WithdrawalV3Req(currency="BTC", chain="btc", amount="0.01",
                                            to_address="bc1qsandpayee00000000000000000000000000000",
                                            withdraw_type=WithdrawalV3Req.WithdrawTypeEnum.ADDRESS)).withdrawal_id

    def by_id():
        d = fields(api.get_withdrawal_history_by_id(GetWithdrawalHistoryByIdReq(withdrawal_id=wid)),
                   "status", "cancelType")
        return d["status"], d["cancelType"]

    assert by_id() == ("PROCESSING", "CANCELABLE")
    sandbox.advance_time(61)
    assert by_id() == ("WALLET_PROCESSING", "NON_CANCELABLE")
    sandbox.advance_time(60)
    done = fields(api.get_withdrawal_history_by_id(GetWithdrawalHistoryByIdReq(withdrawal_id=wid)),
                  "status", "walletTxId")
    assert done["status"] == "SUCCESS"


@pytest.mark.parametrize("changes, code", [
    (dict(to_address="0xnot-an-address"), "400100"),
    (dict(currency="XRP", chain="xrp", to_address="rSandboxPayee111111111111111111111", amount="30"), "400100"),
    (dict(amount="1"), "400100"),
    (dict(amount="200000"), "400100"),
    (dict(currency="TON", chain="ton", to_address="EQ" + "A" * 46, memo="7", amount="2"), "200004"),
])
def test_refusals(sandbox, changes, code):
    api = _account_service(sandbox).get_withdrawal_api()
    base = dict(currency="USDT", chain="trx", amount="25", to_address=TRX_ADDRESS,
                withdraw_type=WithdrawalV3Req.WithdrawTypeEnum.ADDRESS)
    with pytest.raises(RestError) as e:
        api.withdrawal_v3(WithdrawalV3Req(**{**base, **changes}))
    assert code in str(e.value)


def test_a_sub_account_key_cannot_withdraw(sandbox):
    _, key = _sub_key(sandbox, "sdk-wallet-nowithdraw")
    api = _account_service(sandbox, **key).get_withdrawal_api()
    with pytest.raises(RestError) as e:
        api.withdrawal_v3(WithdrawalV3Req(currency="USDT", chain="trx", amount="25", to_address=TRX_ADDRESS,
                                          withdraw_type=WithdrawalV3Req.WithdrawTypeEnum.ADDRESS))
    assert "400007" in str(e.value)
