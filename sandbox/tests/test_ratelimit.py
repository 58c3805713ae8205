"""Weighted rate limits per account and pool, gw-ratelimit-* headers, 429000 past the quota."""
import requests

from .kc import Kc

INFO = "/api/v1/broker/nd/info"
Q = {"begin": "20240101", "end": "20240301", "tradeType": "1"}


def test_quota_weight_headers_and_reset(sandbox):
    sandbox.set_quota("broker", 5, 30_000)
    kc = Kc.broker(sandbox)
    r1 = kc.get(INFO, Q)                               # weight 2 (OpenAPI metadata)
    assert r1.json()["code"] == "200000"
    assert (r1.headers["gw-ratelimit-limit"], r1.headers["gw-ratelimit-remaining"]) == ("5", "3")
    assert 0 < int(r1.headers["gw-ratelimit-reset"]) <= 30_000
    r2 = kc.get(INFO, Q)
    assert r2.headers["gw-ratelimit-remaining"] == "1"
    r3 = kc.get(INFO, Q)
    assert r3.status_code == 429 and r3.json()["code"] == "429000"
    assert r3.headers["gw-ratelimit-remaining"] == "1"
    # a weight-1 call still fits
    assert kc.get("/api/v3/broker/nd/withdraw/detail", {"withdrawalId": "x"}).headers["gw-ratelimit-remaining"] == "0"
    sandbox.advance_time(31)                            # the window ends on the sandbox clock
    assert kc.get(INFO, Q).json()["code"] == "200000"


def test_pools_and_accounts_are_counted_separately(sandbox):
    sandbox.set_quota("broker", 2)
    kc = Kc.broker(sandbox)
    assert kc.get(INFO, Q).json()["code"] == "200000"
    assert kc.get(INFO, Q).status_code == 429
    # the public pool (server time) is another pool, counted per IP
    r = requests.get(sandbox.urls["spot"] + "/api/v1/timestamp", timeout=5)
    assert r.status_code == 200 and r.headers["gw-ratelimit-limit"] == "2000"


def test_errors_carry_the_headers_too(sandbox):
    r = requests.get(sandbox.urls["broker"] + INFO, params=Q, timeout=5)
    assert r.json()["code"] == "400001"
    assert {"gw-ratelimit-limit", "gw-ratelimit-remaining", "gw-ratelimit-reset"} <= set(r.headers)


def test_each_account_has_its_own_quota(sandbox):
    from .test_auth import make_sub_key
    _, sub = make_sub_key(sandbox)
    sandbox.set_quota("management", 5)            # GET /api/v1/accounts: Management pool, weight 5
    broker_spot = Kc.broker(sandbox, family="spot")
    assert broker_spot.get("/api/v1/accounts").json()["code"] == "200000"
    assert broker_spot.get("/api/v1/accounts").status_code == 429
    r = sub.get("/api/v1/accounts")
    assert r.json()["code"] == "200000" and r.headers["gw-ratelimit-remaining"] == "0"
