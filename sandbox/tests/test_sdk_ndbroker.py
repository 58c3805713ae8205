"""The official SDK as the client: every ND broker operation and server time succeed, and the SDK's
response models parse every field (the SDK hides a failed parse as an empty object)."""
import base64
import uuid

import pytest
from kucoin_universal_sdk.generate.broker.ndbroker import (
    AddSubAccountApiReq, AddSubAccountReq, DeleteSubAccountApiReq, GetBrokerInfoReq, GetDepositDetailReq,
    GetDepositListReq, GetKycStatusListReq, GetKycStatusReq, GetRebaseReq, GetSubAccountApiReq, GetSubAccountReq,
    GetTransferHistoryReq, GetWithdrawDetailReq, ModifySubAccountApiReq, SubmitKycReq, TransferReq)
from kucoin_universal_sdk.model.common import RestError

from .sdk import fields, nd_api, sdk_client

PHOTO = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0sandbox-photo").decode()


@pytest.fixture
def api(sandbox):
    return nd_api(sandbox)


def test_server_time_spot_and_futures(sandbox):
    rest = sdk_client(sandbox).rest_service()
    spot = rest.get_spot_service().get_market_api().get_server_time()
    fut = rest.get_futures_service().get_market_api().get_server_time()
    now = sandbox.dump()["clock"]["nowMs"]
    assert abs(spot.data - now) < 60_000 and abs(fut.data - now) < 60_000
    assert spot.common_response.rate_limit.limit > 0


def test_broker_info(api, sandbox):
    r = api.get_broker_info(GetBrokerInfoReq(begin="20240101", end="20240601", trade_type="1"))
    d = fields(r, "accountSize", "level")
    subs = [a for a in sandbox.dump()["accounts"]["accounts"] if a["broker_uid"] == sandbox.broker["uid"]]
    assert d["accountSize"] == len(subs)


def test_sub_account_create_and_list(api, sandbox):
    created = api.add_sub_account(AddSubAccountReq(account_name="acme-sdk-0001"))
    d = fields(created, "accountName", "uid", "createdAt", "level")
    assert d["accountName"] == "acme-sdk-0001" and d["uid"].isdigit()
    page = api.get_sub_account(GetSubAccountReq())           # SDK sends currentPage=1&pageSize=20
    p = fields(page, "currentPage", "pageSize", "totalNum", "totalPage", "items")
    assert p["pageSize"] == 20 and p["totalNum"] >= 31 and len(p["items"]) == 20
    one = api.get_sub_account(GetSubAccountReq(uid=d["uid"]))
    assert [i.account_name for i in one.items] == ["acme-sdk-0001"]
    assert one.items[0].created_at == d["createdAt"] - d["createdAt"] % 1000
    dumped = {a["uid"]: a["name"] for a in sandbox.dump()["accounts"]["accounts"]}
    assert dumped[d["uid"]] == "acme-sdk-0001"


def test_api_key_lifecycle(api, sandbox):
    uid = api.add_sub_account(AddSubAccountReq(account_name="acme-sdk-keys")).uid
    added = api.add_sub_account_api(AddSubAccountApiReq(
        uid=uid, passphrase="sdk-pass-123", ip_whitelist=["192.0.2.10", "198.51.100.7"],
        permissions=[AddSubAccountApiReq.PermissionsEnum.GENERAL, AddSubAccountApiReq.PermissionsEnum.SPOT],
        label="desk-key-01"))
    a = fields(added, "uid", "label", "apiKey", "secretKey", "apiVersion", "permissions", "ipWhitelist", "createdAt")
    assert a["apiVersion"] == 3 and a["ipWhitelist"] == ["192.0.2.10", "198.51.100.7"]
    assert [p for p in a["permissions"]] == ["General", "Spot"]

    got = api.get_sub_account_api(GetSubAccountApiReq(uid=uid, api_key=added.api_key))
    assert len(got.data) == 1
    g = fields(got.data[0], "uid", "label", "apiKey", "apiVersion", "permissions", "ipWhitelist", "createdAt")
    assert g["ipWhitelist"] == ["192.**.10", "198.**.7"]          # masked, as KuCoin shows them
    assert "secretKey" not in g

    mod = api.modify_sub_account_api(ModifySubAccountApiReq(
        uid=uid, api_key=added.api_key, ip_whitelist=["203.0.113.5"],
        permissions=[ModifySubAccountApiReq.PermissionsEnum.GENERAL, ModifySubAccountApiReq.PermissionsEnum.FUTURES],
        label="desk-key-02"))
    m = fields(mod, "uid", "label", "apiKey", "apiVersion", "permissions", "ipWhitelist", "createdAt")
    assert m["label"] == "desk-key-02" and m["permissions"] == ["General", "Futures"]
    assert m["ipWhitelist"] == ["203.**.5"]

    deleted = api.delete_sub_account_api(DeleteSubAccountApiReq(uid=uid, api_key=added.api_key))
    assert deleted.data is True
    assert added.api_key not in {k["api_key"] for k in sandbox.dump()["accounts"]["keys"]}


def test_transfer_and_its_detail(api, sandbox):
    sub = api.add_sub_account(AddSubAccountReq(account_name="acme-sdk-xfer")).uid
    t = api.transfer(TransferReq(currency="USDT", amount="25.5", direction=TransferReq.DirectionEnum.OUT,
                                 account_type=TransferReq.AccountTypeEnum.MAIN, special_uid=sub,
                                 special_account_type=TransferReq.SpecialAccountTypeEnum.TRADE,
                                 client_oid=str(uuid.uuid4())))
    assert fields(t, "orderId")
    h = api.get_transfer_history(GetTransferHistoryReq(order_id=t.order_id))
    d = fields(h, "orderId", "currency", "amount", "fromUid", "fromAccountType", "fromAccountTag", "toUid",
               "toAccountType", "toAccountTag", "status", "createdAt")
    assert (d["amount"], d["fromUid"], d["toUid"], d["toAccountType"], d["status"]) == \
        ("25.5", int(sandbox.broker["uid"]), int(sub), "TRADE", "SUCCESS")
    bal = {(r["uid"], r["accountType"], r["currency"]): r["balance"] for r in sandbox.dump()["balances"]}
    assert bal[(sub, "TRADE", "USDT")] == "25.5"


def test_deposits_and_withdrawal(api, sandbox):
    deps = api.get_deposit_list(GetDepositListReq())            # SDK sends limit=1000
    assert len(deps.data) > 10
    d0 = fields(deps.data[0], "uid", "hash", "address", "memo", "amount", "fee", "currency", "isInner",
                "walletTxId", "status", "remark", "chain", "createdAt", "updatedAt")
    detail = api.get_deposit_detail(GetDepositDetailReq(currency=d0["currency"], hash=d0["hash"]))
    dd = fields(detail, "chain", "hash", "walletTxId", "uid", "updatedAt", "amount", "memo", "fee", "address",
                "remark", "isInner", "currency", "status", "createdAt")
    assert dd["amount"] == d0["amount"]
    wid = sandbox.dump()["funding"]["withdrawals"][0]["id"]
    w = api.get_withdraw_detail(GetWithdrawDetailReq(withdrawal_id=wid))
    fields(w, "id", "chain", "walletTxId", "uid", "updatedAt", "amount", "memo", "fee", "address", "remark",
           "isInner", "currency", "status", "createdAt")


def test_kyc_submit_status_and_page(api, sandbox):
    uid = api.add_sub_account(AddSubAccountReq(account_name="acme-sdk-kyc")).uid
    r = api.submit_kyc(SubmitKycReq(client_uid=uid, first_name="Sand", last_name="Box", issue_country="JP",
                                    birth_date="1990-01-02", identity_type=SubmitKycReq.IdentityTypeEnum.PASSPORT,
                                    identity_number="P1234567", expire_date="2099-01-01", front_photo=PHOTO,
                                    face_photo=PHOTO))
    assert r.common_response.code == "200000"
    st = api.get_kyc_status(GetKycStatusReq(client_uids=uid))
    s = fields(st.data[0], "clientUid", "status")
    assert s == {"clientUid": int(uid), "status": "PROCESS", "rejectReason": None} or s["status"] == "PROCESS"
    sandbox.advance_time(120)
    st = api.get_kyc_status(GetKycStatusReq(client_uids=uid))
    assert st.data[0].status.value == "PASS"
    page = api.get_kyc_status_list(GetKycStatusListReq())      # SDK sends pageNumber=1&pageSize=100
    p = fields(page, "currentPage", "pageSize", "totalNum", "totalPage", "items")
    assert p["pageSize"] == 100 and int(uid) in [i.client_uid for i in page.items]


def test_rebate_download_link(api, sandbox):
    if not any(r.template == "/api/v1/broker/nd/rebase/download"
               for r in sandbox.server.app.router.exact.values()):
        pytest.skip("rebate download not registered (rebates.py)")
    r = api.get_rebase(GetRebaseReq(begin="20240101", end="20240131", trade_type=GetRebaseReq.TradeTypeEnum.T_1))
    assert fields(r, "url")["url"].startswith("http")


def test_sdk_sees_kucoin_errors(api):
    with pytest.raises(RestError) as e:
        api.add_sub_account(AddSubAccountReq(account_name="taken-elsewhere-001"))
    assert e.value.get_common_response().code == "400100"
