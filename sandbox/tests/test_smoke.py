"""The framework end to end: server time on both hosts, envelope, headers, a signed call, 404."""
import requests

from .kc import Kc


def test_server_time_on_spot_and_futures(sandbox):
    for fam in ("spot", "futures"):
        r = requests.get(sandbox.urls[fam] + "/api/v1/timestamp", timeout=5)
        assert r.status_code == 200
        body = r.json()
        assert body["code"] == "200000" and isinstance(body["data"], int)
        assert abs(body["data"] - sandbox.dump()["clock"]["nowMs"]) < 60_000
        for h in ("gw-ratelimit-limit", "gw-ratelimit-remaining", "gw-ratelimit-reset"):
            assert int(r.headers[h]) >= 0


def test_advance_time_moves_server_time(sandbox):
    before = requests.get(sandbox.urls["spot"] + "/api/v1/timestamp", timeout=5).json()["data"]
    sandbox.advance_time(3600)
    after = requests.get(sandbox.urls["spot"] + "/api/v1/timestamp", timeout=5).json()["data"]
    assert after - before >= 3600_000


def test_unknown_path_is_404000(sandbox):
    r = requests.get(sandbox.urls["spot"] + "/api/v1/nothing-here", timeout=5)
    assert r.status_code == 404 and r.json()["code"] == "404000"


def test_signed_call_with_broker_key(sandbox):
    r = Kc.broker(sandbox).get("/api/v1/broker/nd/info", {"begin": "20240101", "end": "20240301", "tradeType": "1"})
    assert r.status_code == 200, r.text
    assert r.json()["code"] == "200000"
