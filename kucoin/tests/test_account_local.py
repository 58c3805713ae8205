"""client.account over real HTTP against the local signature-checking server: what KuCoin receives
(method, path, query, exact body) and what the caller gets back (typed, Decimal, UTC)."""
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from kucoin import weights as w
from kucoin.errors import AlreadyExistsError, ValidationError

ADDRESS = {"address": "0x5a0d0000000000000000000000000000000000aa", "memo": "", "chainId": "eth", "to": "MAIN",
           "expirationDate": 0, "currency": "USDT", "contractAddress": "0x5a0d000000000000000000000000000000000001",
           "chainName": "ERC20"}
RECORD = {"id": "67e6515f7960ba0007b42025", "uid": 100000001, "currency": "USDT", "chainId": "trx",
          "chainName": "TRC20", "currencyName": "USDT", "status": "PROCESSING", "failureReason": "",
          "failureReasonMsg": None, "address": "TXsandboxPayee11111111111111111111", "memo": "", "isInner": False,
          "amount": "3.00000000", "fee": "1.00000000", "walletTxId": None, "addressRemark": None,
          "remark": "payout-0001", "createdAt": 1743147359000, "cancelType": "CANCELABLE", "taxes": None,
          "taxDescription": None, "returnStatus": "NOT_RETURN", "returnAmount": None, "returnCurrency": "USDT"}


def last(fake, method, path):
    return [r for r in fake.executed if r.path == path and r.method == method][-1]


@pytest.fixture
def client(make_client):
    c = make_client()
    c.sync_clock()
    return c


def test_weights_from_the_openapi_files():
    got = {(e.method, e.path): (e.family, e.pool, e.weight) for e in w.ALL_ENDPOINTS if e.name.split()[1].startswith(
        ("/api/v3/deposit", "/api/v1/withdrawals", "/api/v3/withdrawals"))}
    assert got == {
        ("POST", "/api/v3/deposit-address/create"): ("spot", "management", 20),
        ("GET", "/api/v3/deposit-addresses"): ("spot", "management", 5),
        ("GET", "/api/v1/withdrawals/quotas"): ("spot", "management", 20),
        ("POST", "/api/v3/withdrawals"): ("spot", "management", 5),
        ("DELETE", "/api/v1/withdrawals/{withdrawalId}"): ("spot", "management", 20),
        ("GET", "/api/v1/withdrawals/{withdrawalId}"): ("spot", "management", 20),
        ("GET", "/api/v1/withdrawals"): ("spot", "management", 20)}


def test_deposit_address_calls(fake, client):
    fake.route("POST", "/api/v3/deposit-address/create", {k: v for k, v in ADDRESS.items() if k != "contractAddress"})
    a = client.account.create_deposit_address("usdt", "ETH", to="MAIN")
    assert last(fake, "POST", "/api/v3/deposit-address/create").body == \
        b'{"currency":"USDT","chain":"eth","to":"main"}'
    assert (a.address, a.chain_id, a.chain_name, a.to, a.contract_address) == (
        ADDRESS["address"], "eth", "ERC20", "MAIN", None)
    fake.route("GET", "/api/v3/deposit-addresses", [ADDRESS])
    [g] = client.account.get_deposit_addresses("USDT", chain="eth")
    assert g.contract_address == ADDRESS["contractAddress"]
    assert last(fake, "GET", "/api/v3/deposit-addresses").query == [("currency", "USDT"), ("chain", "eth")]
    # signed with partner headers on the spot host, as every spot call of a tagged client
    assert "KC-API-PARTNER-SIGN" in last(fake, "GET", "/api/v3/deposit-addresses").headers
    with pytest.raises(ValidationError):
        client.account.create_deposit_address("USDT", "eth", to="futures")


def test_ensure_reads_after_already_exists(fake, client):
    answers = iter([[], [ADDRESS]])
    fake.route("GET", "/api/v3/deposit-addresses", fn=lambda req: next(answers))
    fake.route("POST", "/api/v3/deposit-address/create",
               fn=lambda req: (200, {"code": "260000", "msg": "Deposit address already exists."}))
    assert client.account.ensure_deposit_address("USDT", "eth").address == ADDRESS["address"]
    with pytest.raises(AlreadyExistsError):
        client.account.create_deposit_address("USDT", "eth")


def test_withdraw_body_and_checks(fake, client):
    fake.route("POST", "/api/v3/withdrawals", {"withdrawalId": "670deec84d64da0007d7c946"})
    wid = client.account.withdraw("USDT", "TRX", "TXsandboxPayee11111111111111111111", Decimal("3.000000"),
                                  remark="payout-0001", fee_deduct_type="INTERNAL")
    assert wid == "670deec84d64da0007d7c946"
    assert last(fake, "POST", "/api/v3/withdrawals").body == (
        b'{"currency":"USDT","chain":"trx","amount":"3","isInner":false,"remark":"payout-0001",'
        b'"feeDeductType":"INTERNAL","toAddress":"TXsandboxPayee11111111111111111111","withdrawType":"ADDRESS"}')
    client.account.withdraw("XRP", "xrp", "rSandboxPayee111111111111111111111", "25", memo="12345", is_inner=True)
    assert last(fake, "POST", "/api/v3/withdrawals").json()["memo"] == "12345"
    for bad in (dict(amount="0"), dict(amount=1.5), dict(chain=None), dict(address=" "), dict(withdraw_type="IBAN"),
                dict(fee_deduct_type="BOTH"), dict(memo=" 1")):
        args = {**dict(currency="USDT", chain="trx", address="TXsandboxPayee11111111111111111111", amount="3"), **bad}
        with pytest.raises(ValidationError):
            client.account.withdraw(**args)
    assert len([r for r in fake.executed if r.path == "/api/v3/withdrawals"]) == 2


def test_quota_record_cancel_and_history(fake, client):
    fake.route("GET", "/api/v1/withdrawals/quotas", {
        "currency": "USDT", "limitBTCAmount": "1.66666666", "usedBTCAmount": "0", "quotaCurrency": "USDT",
        "limitQuotaCurrencyAmount": "100000", "usedQuotaCurrencyAmount": "0", "remainAmount": "100000",
        "availableAmount": "2500", "withdrawMinFee": "1", "innerWithdrawMinFee": "0", "withdrawMinSize": "10",
        "isWithdrawEnabled": True, "precision": 6, "chain": "TRC20", "reason": None, "lockedAmount": "0"})
    q = client.account.get_withdrawal_quotas("USDT", "trx")
    assert (q.available_amount, q.min_size, q.precision, q.chain) == (Decimal(2500), Decimal(10), 6, "TRC20")
    assert q.refusal_for(Decimal(3000)) == "only 2500 USDT is available to withdraw"
    fake.route("GET", f"/api/v1/withdrawals/{RECORD['id']}", RECORD)
    r = client.account.get_withdrawal(RECORD["id"])
    assert (r.uid, r.amount, r.fee, r.chain, r.cancel_type, r.wallet_tx_id, r.is_final) == (
        "100000001", Decimal(3), Decimal(1), "trx", "CANCELABLE", None, False)
    assert r.created_at == datetime(2025, 3, 28, 7, 35, 59, tzinfo=timezone.utc)
    fake.route("DELETE", f"/api/v1/withdrawals/{RECORD['id']}", None)
    assert client.account.cancel_withdrawal(RECORD["id"]) is None
    item = {k: RECORD[k] for k in ("id", "currency", "status", "address", "memo", "isInner", "amount", "fee",
                                   "walletTxId", "createdAt", "remark")}
    fake.route("GET", "/api/v1/withdrawals", {"currentPage": 1, "pageSize": 10, "totalNum": 1, "totalPage": 1,
                                              "items": [dict(item, chain="trx", updatedAt=1743147360000)]})
    found = client.account.find_withdrawals("USDT", since=datetime(2025, 3, 28, 7, 36, tzinfo=timezone.utc),
                                            remark="payout-0001", amount="3")
    assert [f.id for f in found] == [RECORD["id"]]
    assert last(fake, "GET", "/api/v1/withdrawals").query == [
        ("currency", "USDT"), ("startAt", "1743147060000"), ("currentPage", "1"), ("pageSize", "100")]
    assert client.account.find_withdrawals("USDT", since=datetime(2025, 3, 28, tzinfo=timezone.utc),
                                           remark="another") == []
    with pytest.raises(ValidationError):
        client.account.find_withdrawals("USDT", since=datetime(2025, 3, 28), remark="x")
    with pytest.raises(ValidationError):
        client.account.get_withdrawals("USDT", page_size=5)
