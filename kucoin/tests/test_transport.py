"""Transport behaviour against a local signature-checking server: what KuCoin would see,
error mapping, clock re-sync, retries, outcome-unknown, 429 waits and the call hook."""
import logging
import time

import pytest

from kucoin import errors
from kucoin.clock import FixedClock, ServerClock
from kucoin.ratelimit import InProcessRateLimiter

from .conftest import API_PASSPHRASE, API_SECRET, BROKER_KEY, FUT_PARTNER, PARTNER

SUB = "/api/v1/broker/nd/account"


def test_signed_get_reaches_server_with_exact_query(fake, make_client):
    seen = {}
    fake.route("GET", "/api/v1/broker/nd/account/apikey", fn=lambda r: seen.setdefault("q", r.query) and [])
    client = make_client()
    client.broker.get_api_keys("100000001", api_key="ab c!@#1")
    req = [r for r in fake.executed][-1]
    assert req.raw_query == "uid=100000001&apiKey=ab+c%21%40%231"  # encoded on the wire (spec vector 3)
    assert req.verified_partner  # the server checked KC-API-SIGN over the decoded query and the partner sign
    assert req.headers["KC-API-KEY-VERSION"] == "2"
    assert req.headers["Content-Type"] == "application/json"


def test_partner_per_host(fake, make_client):
    fake.route("GET", "/api/v1/orders/byClientOid", {"id": "1", "clientOid": "a1", "tags": ""})
    fake.route("GET", "/api/v1/hf/orders/client-order/a1", {"id": "2", "clientOid": "a1", "tags": None})
    client = make_client()
    client.futures.get_order_by_client_oid("a1")
    client.spot.get_order_by_client_oid("a1", "BTC-USDT")
    fut, spot = fake.executed[-2], fake.executed[-1]
    assert fut.headers["KC-API-PARTNER"] == FUT_PARTNER
    assert spot.headers["KC-API-PARTNER"] == PARTNER


def test_no_partner_no_broker_header(fake, make_client):
    fake.route("GET", "/api/v1/accounts", [])
    client = make_client(spot_partner=None, futures_partner=None)
    client.spot.get_balances()
    hdrs = fake.executed[-1].headers
    assert not [k for k in hdrs if k.upper().startswith(("KC-API-PARTNER", "KC-BROKER"))]


@pytest.mark.parametrize("code,status,cls", [
    ("400001", 400, errors.AuthenticationError),
    ("400003", 401, errors.AuthenticationError),
    ("400005", 401, errors.AuthenticationError),
    ("400006", 403, errors.AuthenticationError),
    ("400009", 400, errors.AuthenticationError),
    ("400200", 400, errors.PartnerSignatureError),
    ("400201", 400, errors.PartnerSignatureError),
    ("400100", 200, errors.BadRequestError),
    ("200004", 200, errors.BadRequestError),
    ("404000", 404, errors.NotFoundError),
    ("126043", 200, errors.NotFoundError),
    ("500000", 500, errors.ServerError),
])
def test_error_mapping(fake, make_client, code, status, cls):
    fake.faults = [("status", status, {"code": code, "msg": f"msg {code}"})] * 10
    client = make_client(max_get_retries=0)
    with pytest.raises(cls) as ei:
        client.broker.get_sub_accounts()
    e = ei.value
    assert (e.code, e.msg, e.http_status, e.endpoint) == (code, f"msg {code}", status, f"GET {SUB}")
    assert isinstance(e, errors.KuCoinError)


def test_error_mapping_unit():
    assert isinstance(errors.error_for("429000", "x", 429, "e"), errors.RateLimitError)
    assert isinstance(errors.error_for("400002", "x", 400, "e"), errors.InvalidTimestampError)
    assert isinstance(errors.error_for("400002", "x", 400, "e"), errors.AuthenticationError)
    assert isinstance(errors.error_for("503000", "x", 503, "e"), errors.ServerError)
    assert "code=400005" in str(errors.error_for("400005", "Invalid KC-API-SIGN", 401, "GET /x"))


def test_wrong_secret_is_authentication_error_without_secret_in_message(fake, make_client):
    from kucoin import Credentials
    bad = Credentials("TEST-APIKEY-0001", "WRONG-SECRET-xyz", API_PASSPHRASE)
    client = make_client(credentials=bad)
    with pytest.raises(errors.AuthenticationError) as ei:
        client.broker.get_sub_accounts()
    assert ei.value.code == "400004"
    text = str(ei.value) + repr(ei.value)
    assert "WRONG-SECRET-xyz" not in text and API_PASSPHRASE not in text


def test_clock_offset_learnt_and_400002_resyncs_and_retries_once(fake, make_client):
    fake.route("GET", SUB, {"currentPage": 1, "pageSize": 20, "totalNum": 0, "totalPage": 0, "items": []})
    fake.skew_ms = 60_000  # KuCoin is a minute ahead: unsynced timestamps would be refused
    client = make_client()
    client.broker.get_sub_accounts()  # syncs first, so the signed call is accepted
    assert abs(client.transport.clock.offset_ms - 60_000) < 2000
    # KuCoin's clock jumps: the next signed call gets 400002, the client re-syncs and retries once.
    fake.skew_ms = -45_000
    n_before = len(fake.received)
    client.broker.get_sub_accounts()
    paths = [r.path for r in fake.received[n_before:]]
    assert paths == [SUB, "/api/v1/timestamp", SUB]
    assert abs(client.transport.clock.offset_ms + 45_000) < 2000


def test_400002_twice_raises(fake, make_client):
    fake.route("GET", SUB, {"items": []})
    client = make_client(clock=FixedClock(1_000_000_000_000))  # a clock that cannot be fixed
    with pytest.raises(errors.InvalidTimestampError):
        client.broker.get_sub_accounts()
    assert len([r for r in fake.received if r.path == SUB]) == 2


def test_get_retries_5xx_then_succeeds(fake, make_client, records):
    fake.route("GET", SUB, {"currentPage": 1, "pageSize": 20, "totalNum": 0, "totalPage": 0, "items": []})
    client = make_client(clock=ServerClock(), max_get_retries=4)
    client.sync_clock()
    fake.faults = [("status", 502, {"code": "500000", "msg": "bad gateway"}), ("raw", 200, b"<html>oops"),
                   ("drop_before",), ("raw", 400, b'{"code": "4001')]
    client.broker.get_sub_accounts()
    calls = [r for r in records if r.path == SUB]
    # An unreadable 400 (a body cut on the way) holds no refusal of KuCoin's: it is read again, as a 5xx is.
    assert [(r.http_status, r.error) for r in calls] == [
        (502, "ServerError"), (200, "ServerError"), (None, "ServiceUnavailableError"), (400, "ServerError"),
        (200, None)]


def test_get_retries_are_bounded(fake, make_client):
    fake.route("GET", SUB, {"items": []})
    client = make_client(max_get_retries=2)
    client.sync_clock()
    fake.faults = [("status", 503, {"code": "500000", "msg": "down"})] * 10
    with pytest.raises(errors.ServerError):
        client.broker.get_sub_accounts()
    assert len([r for r in fake.received if r.path == SUB]) == 3


def test_post_timeout_is_outcome_unknown_and_not_resent(fake, make_client):
    fake.route("POST", "/api/v1/broker/nd/transfer", {"orderId": "T1"})
    client = make_client(timeout=(2, 0.3))
    client.sync_clock()
    fake.faults = [("sleep", 1.0)]
    with pytest.raises(errors.OutcomeUnknownError) as ei:
        client.broker.transfer(currency="USDT", amount="1", direction="OUT", account_type="MAIN",
                               special_uid="100000001", special_account_type="MAIN", client_oid="oid-1")
    assert ei.value.endpoint == "POST /api/v1/broker/nd/transfer"
    time.sleep(1.0)  # let the slow server finish
    assert len([r for r in fake.received if r.path == "/api/v1/broker/nd/transfer"]) == 1


def test_post_dropped_after_execution_is_outcome_unknown(fake, make_client):
    fake.route("POST", "/api/v1/hf/orders", {"orderId": "O1", "clientOid": "c1"})
    client = make_client()
    client.sync_clock()
    fake.faults = [("drop_after",)]
    with pytest.raises(errors.OutcomeUnknownError):
        client.spot.place_order(symbol="BTC-USDT", side="buy", type="limit", client_oid="c1", price="1", size="1")
    assert len([r for r in fake.executed if r.path == "/api/v1/hf/orders"]) == 1  # executed once, never resent


def test_post_5xx_is_outcome_unknown(fake, make_client):
    fake.route("POST", "/api/v1/orders", {"orderId": "F1"})
    client = make_client()
    client.sync_clock()
    fake.faults = [("status", 500, {"code": "500000", "msg": "internal"})]
    with pytest.raises(errors.OutcomeUnknownError) as ei:
        client.futures.place_order(client_oid="f1", symbol="XBTUSDTM", side="buy", leverage=1, price="1", size=1)
    assert ei.value.code == "500000" and ei.value.http_status == 500
    assert len([r for r in fake.received if r.path == "/api/v1/orders"]) == 1


def test_post_connection_refused_is_unavailable_not_unknown(creds):
    import socket
    from kucoin import Hosts, KuCoinClient
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    url = f"http://127.0.0.1:{port}"
    client = KuCoinClient(creds, hosts=Hosts(spot=url, futures=url, broker=url, oauth=url),
                          clock=FixedClock(int(time.time() * 1000)))
    with pytest.raises(errors.ServiceUnavailableError):
        client.broker.add_sub_account("acme-0001")


def test_429_waits_for_reset_then_retries(fake, make_client, records):
    fake.route("GET", SUB, {"currentPage": 1, "pageSize": 20, "totalNum": 0, "totalPage": 0, "items": []})
    now = [10_000_000]
    slept = []

    def sleep(seconds):  # the limiter's clock moves only when it sleeps: we see what it waited for
        slept.append((seconds, len(fake.received)))
        now[0] += int(seconds * 1000) + 1

    limiter = InProcessRateLimiter(clock_ms=lambda: now[0], sleep=sleep)
    client = make_client(rate_limiter=limiter)
    client.sync_clock()
    fake.faults = [("status", 429, {"code": "429000", "msg": "Too Many Requests"},
                    {"gw-ratelimit-limit": 2000, "gw-ratelimit-remaining": 0, "gw-ratelimit-reset": 400})]
    sent_before = len(fake.received)
    client.broker.get_sub_accounts()
    calls = [r for r in records if r.path == SUB]
    assert [(r.http_status, r.code) for r in calls] == [(429, "429000"), (200, "200000")]
    # The retry waited for KuCoin's reset (400 ms) and was sent only after that wait.
    assert sum(s for s, _ in slept) >= 0.4
    assert all(n == sent_before + 1 for _, n in slept)


def test_429_on_post_with_no_retries_left_raises_rate_limit(fake, make_client):
    fake.route("POST", SUB, {"uid": "1"})
    client = make_client(max_get_retries=0)
    client.sync_clock()
    fake.faults = [("status", 429, {"code": "429000", "msg": "Too Many Requests"},
                    {"gw-ratelimit-limit": 2000, "gw-ratelimit-remaining": 0, "gw-ratelimit-reset": 50})]
    with pytest.raises(errors.RateLimitError) as ei:
        client.broker.add_sub_account("acme-0002")
    assert ei.value.reset_ms == 50
    assert fake.executed == []


def test_rate_headers_teach_the_limiter(fake, make_client):
    fake.route("GET", SUB, {"items": []})
    fake.rate_headers = (100, 0, 60_000)  # KuCoin says: nothing left for a minute
    limiter = InProcessRateLimiter(max_wait_s=0.1)
    client = make_client(rate_limiter=limiter)
    client.sync_clock()
    client.broker.get_sub_accounts()
    n = len(fake.received)
    with pytest.raises(errors.BudgetWaitExceeded):
        client.broker.get_sub_accounts()
    assert len(fake.received) == n  # refused locally, nothing sent


def test_hook_gets_every_call_and_no_secret(fake, make_client, records, caplog):
    fake.route("GET", SUB, {"items": []})
    caplog.set_level(logging.DEBUG)
    client = make_client()
    client.broker.get_sub_accounts(page=2, page_size=5)
    rec = records[-1]
    assert (rec.method, rec.family, rec.path, rec.query, rec.weight, rec.http_status, rec.code,
            rec.credential_id, rec.error) == ("GET", "broker", SUB, "currentPage=2&pageSize=5", 2, 200, "200000",
                                              "broker:1", None)
    assert rec.latency_ms >= 0
    assert records[0].path == "/api/v1/timestamp"  # the clock sync is logged too
    dump = repr(records) + caplog.text
    for secret in (API_SECRET, API_PASSPHRASE, BROKER_KEY):
        assert secret not in dump


def test_hook_failure_never_breaks_the_call(fake, make_client):
    fake.route("GET", SUB, {"currentPage": 1, "pageSize": 20, "totalNum": 0, "totalPage": 0, "items": []})

    def broken(record):
        raise RuntimeError("log database down")

    client = make_client(on_request=broken)
    assert client.broker.get_sub_accounts().items == []


def test_money_is_decimal_even_for_json_numbers(fake, make_client):
    from decimal import Decimal
    fake.route("GET", "/api/v1/accounts", fn=lambda r: None)
    fake.faults = [("raw", 200, b'{"code":"200000","data":[{"id":"1","currency":"USDT","type":"trade",'
                                b'"balance":0.1,"available":"0.1","holds":0}]}')]
    client = make_client(clock=FixedClock(int(time.time() * 1000)))
    [b] = client.spot.get_balances()
    assert b.balance == Decimal("0.1") and b.available == Decimal("0.1") and b.holds == Decimal(0)
    assert isinstance(b.balance, Decimal)


def test_one_session_reused(fake, make_client):
    fake.route("GET", SUB, {"items": []})
    client = make_client()
    s = client.transport.session
    client.broker.get_sub_accounts()
    client.broker.get_sub_accounts()
    assert client.transport.session is s


def test_client_and_transport_reprs_hold_no_secret(make_client):
    client = make_client()
    text = repr(client) + repr(client.transport) + repr(client.transport.signer("broker"))
    for secret in (API_SECRET, API_PASSPHRASE, BROKER_KEY):
        assert secret not in text
