"""Every endpoint against the project's sandbox (an offline KuCoin that checks signatures,
partner signatures and request schemas as KuCoin does) over real HTTP."""
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
import requests

from kucoin import Credentials, Hosts, KuCoinClient, PartnerCredentials
from kucoin import errors
from kucoin.oauth import OAuthClient
from kucoin.ratelimit import InProcessRateLimiter
from kucoin.rebate_file import read_rebate_file

pytest.importorskip("sandbox.testing")


def _hosts(sb):
    return Hosts(**sb.urls)


def _partners(sb):
    b = sb.broker
    return (PartnerCredentials(b["partner"], b["broker_key"], b["broker_name"]),
            PartnerCredentials(b["futures_partner"], b["futures_broker_key"], b["broker_name"]))


@pytest.fixture
def records():
    return []


@pytest.fixture
def broker_client(sandbox, records):
    b = sandbox.broker
    spot_p, fut_p = _partners(sandbox)
    creds = Credentials(b["api_key"], b["api_secret"], b["api_passphrase"], key_version="2",
                        credential_id="broker:1")
    c = KuCoinClient(creds, hosts=_hosts(sandbox), spot_partner=spot_p, futures_partner=fut_p,
                     rate_limiter=InProcessRateLimiter(), on_request=records.append)
    yield c
    c.close()


def _name():
    return "kc-test-" + uuid.uuid4().hex[:10]


@pytest.fixture
def sub_trader(sandbox, broker_client):
    """A fresh sub-account with a spot+futures key, funded with USDT, and a client for it."""
    sub = broker_client.broker.add_sub_account(_name())
    key = broker_client.broker.add_api_key(sub.uid, "trader-pass-01", ["general", "spot", "futures"], "trader-key")
    broker_client.broker.transfer(currency="USDT", amount="500", direction="OUT", account_type="MAIN",
                                  special_uid=sub.uid, special_account_type="TRADE", client_oid=uuid.uuid4().hex)
    with sandbox.world.lock:  # setup only: ND transfers cannot reach the futures account
        sandbox.world.balances.credit(sub.uid, "CONTRACT", "USDT", Decimal("1000"))
    spot_p, fut_p = _partners(sandbox)
    creds = Credentials(key.api_key, key.secret_key, "trader-pass-01", credential_id=f"apikey:{sub.uid}")
    c = KuCoinClient(creds, hosts=_hosts(sandbox), spot_partner=spot_p, futures_partner=fut_p)
    yield sub, c
    c.close()


def test_broker_info_and_sub_accounts(sandbox, broker_client, records):
    info = broker_client.broker.get_info(date.today() - timedelta(days=30), date.today())
    before = info.account_size
    sub = broker_client.broker.add_sub_account(_name())
    assert broker_client.broker.get_info(date.today() - timedelta(days=30), date.today()).account_size == before + 1
    first = broker_client.broker.get_sub_accounts(page=1, page_size=7)
    everything = list(broker_client.broker.iter_sub_accounts(page_size=7))
    assert len(everything) == first.total_num and len({s.uid for s in everything}) == first.total_num
    assert first.total_page == -(-first.total_num // 7)
    assert sub.uid in {s.uid for s in everything}
    assert broker_client.broker.get_sub_account(sub.uid).account_name == sub.account_name
    assert broker_client.broker.find_sub_account_by_name(sub.account_name).uid == sub.uid
    assert broker_client.broker.find_sub_account_by_name("no-such-" + sub.account_name) is None
    assert all(r.credential_id == "broker:1" for r in records)


def test_api_key_lifecycle(sandbox, broker_client):
    sub = broker_client.broker.add_sub_account(_name())
    key = broker_client.broker.add_api_key(sub.uid, "a-pass-phrase", ["general", "spot"], "desk-key-01",
                                           ["192.0.2.10"])
    assert key.secret_key and key.api_key and key.permissions == ("General", "Spot")
    [listed] = broker_client.broker.get_api_keys(sub.uid, api_key=key.api_key)
    assert listed.secret_key is None and listed.label == "desk-key-01"
    changed = broker_client.broker.modify_api_key(sub.uid, key.api_key, ["general", "futures"], "desk-key-02",
                                                  ["192.0.2.11"])
    assert changed.label == "desk-key-02" and set(changed.permissions) == {"General", "Futures"}
    assert broker_client.broker.delete_api_key(sub.uid, key.api_key) is True
    assert broker_client.broker.get_api_keys(sub.uid) == []


def test_transfer_deposit_withdrawal(sandbox, broker_client):
    sub = broker_client.broker.add_sub_account(_name())
    oid = broker_client.broker.transfer(currency="USDT", amount=Decimal("25.5"), direction="OUT",
                                        account_type="MAIN", special_uid=sub.uid, special_account_type="MAIN",
                                        client_oid=uuid.uuid4().hex)
    t = broker_client.broker.get_transfer(oid)
    assert (t.amount, t.to_uid, t.status, t.currency) == (Decimal("25.5"), sub.uid, "SUCCESS", "USDT")

    sandbox.make_deposit(sub.uid, "USDT", "12.34", chain="trx")
    deps = [d for d in broker_client.broker.get_deposits(currency="USDT") if d.uid == sub.uid]
    assert [d.amount for d in deps] == [Decimal("12.34")]
    one = broker_client.broker.get_deposit("USDT", deps[0].hash)
    assert one.amount == Decimal("12.34") and one.uid == sub.uid
    all_deps = list(broker_client.broker.iter_deposits(limit=5))
    assert len(all_deps) == len({(d.hash, d.uid) for d in all_deps}) >= 5

    wid = next(iter(w["id"] for w in sandbox.dump()["funding"]["withdrawals"]))
    w = broker_client.broker.get_withdrawal(wid)
    assert w.id == wid and isinstance(w.amount, Decimal)
    with pytest.raises(errors.BadRequestError):
        broker_client.broker.get_withdrawal("no-such-withdrawal")


def test_rebate_file_download_and_stream(sandbox, broker_client):
    end = date.today() - timedelta(days=1)
    url = broker_client.broker.get_rebate_download_url(end - timedelta(days=10), end, trade_type="spot")
    with requests.get(url, stream=True, timeout=10) as resp:
        resp.raise_for_status()
        rows = list(read_rebate_file(resp.iter_content(chunk_size=4096)))
    assert rows, "the sandbox's file should have rows for 10 days of seeded trading"
    assert all(isinstance(r.rebate_amount, Decimal) for r in rows)
    assert all(end - timedelta(days=10) <= r.date <= end for r in rows)


def test_kyc(sandbox, broker_client):
    sub = broker_client.broker.add_sub_account(_name())
    photo = "data:image/png;base64,iVBORw0KGgo="
    broker_client.broker.submit_kyc(client_uid=sub.uid, first_name="Ann", last_name="Lee", issue_country="JP",
                                    birth_date=date(1990, 1, 2), identity_type="passport",
                                    identity_number="P1234567", expire_date="2099-01-01", front_photo=photo,
                                    backend_photo=None, face_photo=photo)
    [s] = broker_client.broker.get_kyc_status([sub.uid])
    assert s.client_uid == sub.uid and s.status in ("PROCESS", "PASS", "REJECT")
    page = broker_client.broker.get_kyc_status_page(page=1, page_size=5)
    assert len(list(broker_client.broker.iter_kyc_statuses(page_size=5))) == page.total_num


def test_spot_order_is_tagged(sandbox, sub_trader):
    sub, c = sub_trader
    oid = "s-" + uuid.uuid4().hex[:20]
    ref = c.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid=oid, price="1000",
                             size="0.001")
    o = c.spot.get_order(ref.order_id, "BTC-USDT")
    assert o.client_oid == oid and o.price == Decimal("1000") and o.size == Decimal("0.001")
    assert o.is_tagged and sandbox.broker["partner"] in o.tags
    assert c.spot.get_order_by_client_oid(oid, "BTC-USDT").id == ref.order_id
    usdt = [b for b in c.spot.get_balances(currency="USDT") if b.type == "trade"]
    assert usdt and usdt[0].holds >= Decimal("1")
    c.spot.cancel_order(ref.order_id, "BTC-USDT")
    oid2 = "s-" + uuid.uuid4().hex[:20]
    c.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid=oid2, price="1000", size="0.001")
    assert c.spot.cancel_order_by_client_oid(oid2, "BTC-USDT") == oid2


def test_spot_order_without_partner_is_untagged(sandbox, sub_trader):
    sub, tagged = sub_trader
    plain = KuCoinClient(tagged.transport.credentials, hosts=_hosts(sandbox))
    oid = "u-" + uuid.uuid4().hex[:20]
    ref = plain.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid=oid, price="1000",
                                 size="0.001")
    assert plain.spot.get_order(ref.order_id, "BTC-USDT").is_tagged is False


def test_futures_order_is_tagged_and_counted(sandbox, sub_trader):
    sub, c = sub_trader
    before = c.futures.open_order_counts("XBTUSDTM")
    oid = "f-" + uuid.uuid4().hex[:20]
    ref = c.futures.place_order(client_oid=oid, symbol="XBTUSDTM", side="buy", leverage=5, price="1000", size=1,
                                margin_mode="ISOLATED", time_in_force="GTC", remark="kucoin client test")
    o = c.futures.get_order(ref.order_id)
    assert (o.client_oid, o.size, o.price, o.status) == (oid, 1, Decimal("1000"), "open")
    assert o.is_tagged
    assert c.futures.get_order_by_client_oid(oid).id == ref.order_id
    stop_oid = "g-" + uuid.uuid4().hex[:20]
    c.futures.place_order(client_oid=stop_oid, symbol="XBTUSDTM", side="buy", leverage=5, price="900", size=1,
                          stop="up", stop_price="1000000", stop_price_type="MP")
    after = c.futures.open_order_counts("XBTUSDTM")
    assert (after.limit_orders, after.stop_orders) == (before.limit_orders + 1, before.stop_orders + 1)
    assert ref.order_id in c.futures.cancel_order(ref.order_id)
    assert c.futures.cancel_order_by_client_oid(stop_oid, "XBTUSDTM") == stop_oid
    assert c.futures.open_order_counts("XBTUSDTM") == before


def test_server_time_and_clock_skew_resync(sandbox, broker_client, records):
    assert broker_client.server_time().year >= 2024
    broker_client.broker.get_sub_accounts(page_size=1)
    sandbox.set_fault("clock_skew", ms=60_000)  # KuCoin's clock is now a minute ahead, for every request
    broker_client.broker.get_sub_accounts(page_size=1)
    tail = [(r.path, r.code) for r in records[-3:]]
    assert tail == [("/api/v1/broker/nd/account", "400002"), ("/api/v1/timestamp", "200000"),
                    ("/api/v1/broker/nd/account", "200000")]
    assert abs(broker_client.transport.clock.offset_ms - 60_000) < 2_000
    n = len(records)
    broker_client.broker.get_sub_accounts(page_size=1)  # the learnt offset is applied from now on
    assert [(r.path, r.code) for r in records[n:]] == [("/api/v1/broker/nd/account", "200000")]


def test_rate_limit_fault_waits_and_retries(sandbox, broker_client, records):
    # The sandbox answers a rate_limit fault with the public pool's headers: a short window there
    # keeps KuCoin's announced reset (and so our wait) short.
    sandbox.set_quota("public", 2000, window_ms=800)
    broker_client.broker.get_sub_accounts(page_size=1)
    sandbox.set_fault("rate_limit", count=1, path="/api/v1/broker/nd/account")
    broker_client.broker.get_sub_accounts(page_size=1)
    assert [r.code for r in records[-2:]] == ["429000", "200000"]


def test_quota_learnt_from_headers_keeps_client_under_it(sandbox, broker_client, records):
    # KuCoin's windows are 30 s; here both sides use 700 ms so that the test runs quickly.
    sandbox.set_quota("broker", 6, window_ms=700)  # weight 2 per call: three calls per window
    broker_client.transport.rate_limiter = InProcessRateLimiter(window_ms=700)
    for _ in range(10):
        broker_client.broker.get_sub_accounts(page_size=1)
    codes = [r.code for r in records if r.path == "/api/v1/broker/nd/account"]
    # The quota (6) was learnt from the first answer's gw-ratelimit-* headers (our default is 2000):
    # the client then waited on its own and KuCoin never had to refuse a call.
    assert codes == ["200000"] * 10


def test_server_errors_and_malformed_on_get_are_retried(sandbox, broker_client, records):
    broker_client.broker.get_sub_accounts(page_size=1)
    sandbox.set_fault("http_503", count=1, path="/api/v1/broker/nd/account")
    sandbox.set_fault("malformed", count=1, path="/api/v1/broker/nd/account")
    broker_client.transport.backoff_base_s = 0.01
    broker_client.broker.get_sub_accounts(page_size=1)
    assert [r.error for r in records[-3:]][-1] is None
    assert any(r.http_status == 503 for r in records[-3:])


def test_post_dropped_after_action_is_outcome_unknown_then_found_by_client_oid(sandbox, sub_trader):
    sub, c = sub_trader
    c.sync_clock()
    oid = "d-" + uuid.uuid4().hex[:20]
    sandbox.set_fault("drop_after", count=1, path="/api/v1/hf/orders", method="POST")
    with pytest.raises(errors.OutcomeUnknownError):
        c.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid=oid, price="1000", size="0.001")
    # The caller checks by clientOid before trying again: the order exists exactly once.
    assert c.spot.get_order_by_client_oid(oid, "BTC-USDT").client_oid == oid


def test_post_dropped_before_is_not_executed(sandbox, sub_trader):
    sub, c = sub_trader
    c.sync_clock()
    oid = "e-" + uuid.uuid4().hex[:20]
    sandbox.set_fault("drop_before", count=1, path="/api/v1/hf/orders", method="POST")
    with pytest.raises(errors.OutcomeUnknownError):
        c.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid=oid, price="1000", size="0.001")
    with pytest.raises(errors.BadRequestError):
        c.spot.get_order_by_client_oid(oid, "BTC-USDT")


def test_wrong_partner_key_is_partner_error(sandbox):
    b = sandbox.broker
    bad = PartnerCredentials(b["partner"], "not-the-broker-key", b["broker_name"])
    c = KuCoinClient(Credentials(b["api_key"], b["api_secret"], b["api_passphrase"]), hosts=_hosts(sandbox),
                     spot_partner=bad)
    with pytest.raises(errors.PartnerSignatureError) as ei:
        c.broker.get_sub_accounts()
    assert ei.value.code == "400201" and "not-the-broker-key" not in str(ei.value)


def test_oauth_fast_api_flow(sandbox):
    o = sandbox.oauth
    client = OAuthClient(sandbox.urls["oauth"], o["client_id"], o["client_secret"])
    login = client.authorize_url(o["redirect_uri"], state="user-42")
    assert f"redirect_uri={o['redirect_uri']}&" in login
    assert requests.get(login, timeout=10).status_code == 200  # the login page
    customer = o["customers"][0]
    resp = requests.post(sandbox.urls["oauth"] + "/oauth", allow_redirects=False, timeout=10, data={
        "response_type": "code", "client_id": o["client_id"], "redirect_uri": o["redirect_uri"],
        "scope": "OAUTH_CREATE_API", "state": "user-42", "username": customer["username"],
        "password": customer["password"]})
    assert resp.status_code == 302
    code = re.search(r"[?&]code=([^&]+)", resp.headers["Location"]).group(1)
    tokens = client.exchange_code(code, o["redirect_uri"])
    refreshed = client.refresh(tokens.refresh_token)
    with pytest.raises(errors.TokenExpiredError):
        client.create_api_key(tokens.access_token)  # rotated away by the refresh
    key = client.create_api_key(refreshed.access_token, body={"apiName": "broker-desk-1"})
    with pytest.raises(errors.DuplicateApiNameError):
        client.create_api_key(refreshed.access_token, body={"apiName": "broker-desk-1"})
    with pytest.raises(errors.TooManyApiKeysError):
        for i in range(50):
            client.create_api_key(refreshed.access_token, body={"apiName": f"broker-desk-x{i}"})
    # The new key works for ordinary signed calls.
    user = KuCoinClient(Credentials(key.api_key, key.secret, key.passphrase), hosts=_hosts(sandbox))
    assert isinstance(user.spot.get_balances(), list)
    with pytest.raises(errors.OAuthError):
        client.exchange_code(code, o["redirect_uri"])  # codes are single use


def test_each_call_record_carries_its_pool_and_the_quota_kucoin_reported(sandbox, broker_client, records):
    broker_client.broker.get_sub_accounts(page=1, page_size=5)
    broker_client.broker.get_sub_accounts(page=1, page_size=5)
    first, second = records[-2:]
    assert first.pool == second.pool == "broker"
    assert first.quota_limit == second.quota_limit > 0
    assert second.quota_remaining == first.quota_remaining - second.weight
