"""client.account (deposit addresses, withdrawal quotas, V3 withdrawals, cancel, history) against the
project's sandbox over real HTTP: a sub-account's key for its deposit address, the broker's key
for withdrawals."""
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from kucoin import Credentials, Hosts, KuCoinClient, PartnerCredentials
from kucoin import errors
from kucoin.ratelimit import InProcessRateLimiter

pytest.importorskip("sandbox.testing")

TRX_ADDRESS = "TXsandboxPayee11111111111111111111"   # 34 characters of base58: a well-formed TRC20 address


def _client(sb, api_key, secret, passphrase, credential_id):
    b = sb.broker
    return KuCoinClient(Credentials(api_key, secret, passphrase, credential_id=credential_id), hosts=Hosts(**sb.urls),
                        spot_partner=PartnerCredentials(b["partner"], b["broker_key"], b["broker_name"]),
                        rate_limiter=InProcessRateLimiter())


@pytest.fixture
def broker(sandbox):
    b = sandbox.broker
    c = _client(sandbox, b["api_key"], b["api_secret"], b["api_passphrase"], "broker:1")
    yield c
    c.close()


@pytest.fixture
def customer(sandbox, broker):
    """A fresh sub-account and a client signed with its own key (General only, as ND keys are)."""
    sub = broker.broker.add_sub_account("acct-" + uuid.uuid4().hex[:10])
    key = broker.broker.add_api_key(sub.uid, "customer-pass-01", ["general"], "customer-key")
    c = _client(sandbox, key.api_key, key.secret_key, "customer-pass-01", f"apikey:{sub.uid}")
    yield sub, c
    c.close()


def _main_usdt(client):
    return {b.type: b for b in client.spot.get_balances(currency="USDT")}["main"]


def _payout_token():
    return "payout-" + uuid.uuid4().hex[:12]


# -- deposit addresses ---------------------------------------------------------------------------
def test_deposit_address_created_once_then_read(sandbox, customer):
    sub, c = customer
    assert c.account.get_deposit_addresses("USDT", chain="trx") == []
    a = c.account.create_deposit_address("usdt", "TRX", to="trade")
    assert (a.currency, a.chain_id, a.chain_name, a.to, a.memo) == ("USDT", "trx", "TRC20", "TRADE", "")
    assert a.address.startswith("T") and len(a.address) == 34
    with pytest.raises(errors.AlreadyExistsError) as e:
        c.account.create_deposit_address("USDT", "trx")
    assert e.value.code == "260000"
    [again] = c.account.get_deposit_addresses("USDT", chain="trx")
    assert (again.address, again.to, again.contract_address) == (a.address, "TRADE", again.raw["contractAddress"])
    assert c.account.ensure_deposit_address("USDT", "trx").address == a.address
    evm = c.account.ensure_deposit_address("USDT", "eth")
    assert evm.address.startswith("0x") and len(evm.address) == 42 and evm.to == "MAIN"
    assert {x.chain_id for x in c.account.get_deposit_addresses("USDT")} == {"trx", "eth"}


def test_memo_chain_address_carries_a_memo(sandbox, customer):
    _, c = customer
    a = c.account.create_deposit_address("TON", "ton")
    assert a.chain_name == "TON" and a.address.startswith("EQ") and a.memo.isdigit() and len(a.memo) == 10


def test_unknown_chain_is_900014(sandbox, customer):
    _, c = customer
    with pytest.raises(errors.BadRequestError) as e:
        c.account.create_deposit_address("BTC", "trx")
    assert e.value.code == "900014"
    with pytest.raises(errors.ValidationError):
        c.account.create_deposit_address("BTC", None)


def test_deposit_to_the_address_is_credited_to_its_account(sandbox, broker, customer):
    sub, c = customer
    a = c.account.create_deposit_address("USDT", "trx", to="trade")
    before = {b.type: b.balance for b in c.spot.get_balances(currency="USDT")}
    d = sandbox.make_deposit(None, "USDT", "75.5", address=a.address)     # no uid: the address says whose
    assert (d["uid"], d["address"], d["chain"], d["status"]) == (int(sub.uid), a.address, "trx", "SUCCESS")
    after = {b.type: b.balance for b in c.spot.get_balances(currency="USDT")}
    assert after["trade"] == before.get("trade", Decimal(0)) + Decimal("75.5")
    listed = [x for x in broker.broker.get_deposits(currency="USDT") if x.hash == d["hash"]]
    assert [(x.uid, x.address, x.amount) for x in listed] == [(sub.uid, a.address, Decimal("75.5"))]


# -- quotas --------------------------------------------------------------------------------------
def test_withdrawal_quotas_are_typed(sandbox, broker):
    q = broker.account.get_withdrawal_quotas("USDT", "trx")
    assert (q.currency, q.chain, q.is_withdraw_enabled, q.precision) == ("USDT", "TRC20", True, 6)
    assert q.min_size == Decimal(10) and q.min_fee == Decimal(1) and q.inner_min_fee == 0
    assert q.remain_amount == Decimal(100000) and q.available_amount == Decimal(100000)
    assert q.refusal_for(Decimal("5")) == "the minimum withdrawal is 10 USDT"
    assert "decimal places" in q.refusal_for(Decimal("10.0000001"))
    assert q.refusal_for(Decimal("100")) is None
    off = broker.account.get_withdrawal_quotas("ETH", "arbitrum")
    assert not off.is_withdraw_enabled and "disabled" in off.refusal_for(Decimal(1))


# -- withdrawals ---------------------------------------------------------------------------------
def test_withdrawal_runs_with_the_clock(sandbox, broker):
    main_before = _main_usdt(broker)
    token = _payout_token()
    wid = broker.account.withdraw("USDT", "trx", TRX_ADDRESS, Decimal("100.50"), remark=token)
    r = broker.account.get_withdrawal(wid)
    assert (r.status, r.cancel_type, r.amount, r.fee, r.chain, r.chain_name, r.remark, r.uid) == (
        "PROCESSING", "CANCELABLE", Decimal("100.5"), Decimal(1), "trx", "TRC20", token, sandbox.broker["uid"])
    held = _main_usdt(broker)
    assert held.holds == main_before.holds + Decimal("101.5") and held.balance == main_before.balance
    assert broker.account.get_withdrawal_quotas("USDT", "trx").remain_amount == Decimal("99899.5")
    sandbox.advance_time(61)
    assert broker.account.get_withdrawal(wid).status == "WALLET_PROCESSING"
    sandbox.advance_time(60)
    done = broker.account.get_withdrawal(wid)
    assert done.status == "SUCCESS" and done.is_final and done.wallet_tx_id and done.cancel_type == "NON_CANCELABLE"
    after = _main_usdt(broker)
    assert after.balance == main_before.balance - Decimal("101.5") and after.holds == main_before.holds
    page = broker.account.get_withdrawals("USDT", status="SUCCESS", page_size=10)
    assert page.items[0].id == wid and page.items[0].remark == token


def test_fee_out_of_the_amount(sandbox, broker):
    before = _main_usdt(broker)
    wid = broker.account.withdraw("USDT", "trx", TRX_ADDRESS, "50", fee_deduct_type="INTERNAL")
    assert _main_usdt(broker).holds == before.holds + Decimal(50)
    sandbox.set_withdrawal_status(wid, "SUCCESS")
    assert _main_usdt(broker).balance == before.balance - Decimal(50)


def test_cancel_only_while_processing(sandbox, broker):
    before = _main_usdt(broker)
    wid = broker.account.withdraw("USDT", "trx", TRX_ADDRESS, "20", remark=_payout_token())
    broker.account.cancel_withdrawal(wid)
    r = broker.account.get_withdrawal(wid)
    assert (r.status, r.failure_reason, r.cancel_type) == ("FAILURE", "CANCELLED", "NON_CANCELABLE")
    assert _main_usdt(broker).holds == before.holds and _main_usdt(broker).balance == before.balance
    with pytest.raises(errors.BadRequestError) as e:
        broker.account.cancel_withdrawal(wid)
    assert e.value.code == "400100" and "PROCESSING" in e.value.msg
    later = broker.account.withdraw("USDT", "trx", TRX_ADDRESS, "20")
    sandbox.advance_time(61)
    with pytest.raises(errors.BadRequestError) as e:
        broker.account.cancel_withdrawal(later)
    assert "WALLET_PROCESSING" in e.value.msg


def test_fail_switch_releases_the_funds(sandbox, broker):
    before = _main_usdt(broker)
    wid = broker.account.withdraw("USDT", "trx", TRX_ADDRESS, "30", remark="SANDBOX-FAIL " + _payout_token())
    sandbox.advance_time(121)
    r = broker.account.get_withdrawal(wid)
    assert (r.status, r.failure_reason, r.wallet_tx_id) == ("FAILURE", "WALLET_REJECTED", None)
    assert _main_usdt(broker).balance == before.balance and _main_usdt(broker).holds == before.holds


@pytest.mark.parametrize("kwargs, code, words", [
    (dict(currency="USDT", chain="trx", address="TXsandbox0OIl", amount="20"), "400100", "address"),
    (dict(currency="USDT", chain="eth", address=TRX_ADDRESS, amount="20"), "400100", "address"),
    (dict(currency="XRP", chain="xrp", address="rSandboxPayee111111111111111111111", amount="30"), "400100", "memo"),
    (dict(currency="USDT", chain="trx", address=TRX_ADDRESS, amount="9.99"), "400100", "minimum"),
    (dict(currency="USDT", chain="trx", address=TRX_ADDRESS, amount="10.1234567"), "400100", "precision"),
    (dict(currency="USDT", chain="trx", address=TRX_ADDRESS, amount="150000"), "400100", "quota"),
    (dict(currency="XRP", chain="xrp", address="rSandboxPayee111111111111111111111", amount="30", memo="12345"),
     "200004", "Balance"),
    (dict(currency="ETH", chain="arbitrum", address="0x" + "ab" * 20, amount="1"), "400100", "suspended"),
    (dict(currency="BTC", chain="eth", address="0x" + "ab" * 20, amount="1"), "900014", "chainId"),
])
def test_refusals(sandbox, broker, kwargs, code, words):
    before = sandbox.dump()["wallet"]["withdrawals"]
    with pytest.raises(errors.BadRequestError) as e:
        broker.account.withdraw(**kwargs)
    assert e.value.code == code and words.lower() in e.value.msg.lower()
    assert sandbox.dump()["wallet"]["withdrawals"] == before


def test_sub_accounts_cannot_withdraw(sandbox, customer):
    _, c = customer
    with pytest.raises(errors.AuthenticationError) as e:
        c.account.withdraw("USDT", "trx", TRX_ADDRESS, "20")
    assert e.value.code == "400007"


def test_withdraw_after_a_dropped_answer_is_found_once(sandbox, broker):
    token = _payout_token()
    sent_at = datetime.now(timezone.utc)
    sandbox.set_fault("drop_after", count=1, path="/api/v3/withdrawals", method="POST")
    with pytest.raises(errors.OutcomeUnknownError):
        broker.account.withdraw("USDT", "trx", TRX_ADDRESS, "42", remark=token)
    in_dump = [w for w in sandbox.dump()["wallet"]["withdrawals"] if w["remark"] == token]
    assert len(in_dump) == 1
    found = broker.account.find_withdrawals("USDT", since=sent_at, remark=token)
    assert [(f.id, f.amount, f.address) for f in found] == [(in_dump[0]["id"], Decimal(42), TRX_ADDRESS)]
    assert broker.account.find_withdrawals("USDT", since=sent_at, remark=_payout_token()) == []
    assert len(broker.account.find_withdrawals("USDT", since=sent_at, address=TRX_ADDRESS, amount="42")) == 1
