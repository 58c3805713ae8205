"""Every fault kind does what it says; "drop after" leaves the action done in the dump."""
import time

import pytest
import requests

from .kc import Kc

XFER = "/api/v1/broker/nd/transfer"


def sub_uid(sandbox):
    return next(a["uid"] for a in sandbox.dump()["accounts"]["accounts"] if a["broker_uid"])


def body(uid, oid):
    return {"currency": "USDT", "amount": "7", "direction": "OUT", "accountType": "MAIN",
            "specialUid": uid, "specialAccountType": "TRADE", "clientOid": oid}


def transfers_with(sandbox, oid):
    return [t for t in sandbox.dump()["funding"]["transfers"] if t["clientOid"] == oid]


def test_drop_before_does_nothing(sandbox):
    uid = sub_uid(sandbox)
    sandbox.set_fault("drop_before", count=1)
    with pytest.raises(requests.ConnectionError):
        Kc.broker(sandbox).post(XFER, body(uid, "drop-before-1"))
    assert transfers_with(sandbox, "drop-before-1") == []
    # count=1: the retry goes through, exactly once
    assert Kc.broker(sandbox).post(XFER, body(uid, "drop-before-1")).json()["code"] == "200000"
    assert len(transfers_with(sandbox, "drop-before-1")) == 1


def test_drop_after_leaves_the_action_done(sandbox):
    uid = sub_uid(sandbox)
    sandbox.set_fault("drop_after", count=1, path=XFER)
    with pytest.raises(requests.ConnectionError):
        Kc.broker(sandbox).post(XFER, body(uid, "drop-after-1"))
    done = transfers_with(sandbox, "drop-after-1")
    assert len(done) == 1 and done[0]["amount"] == "7"
    # the client's safe retry (same clientOid) answers the same transfer and moves nothing more
    again = Kc.broker(sandbox).post(XFER, body(uid, "drop-after-1")).json()
    assert again["data"]["orderId"] == done[0]["orderId"]
    assert len(transfers_with(sandbox, "drop-after-1")) == 1


@pytest.mark.parametrize("kind,status,code", [("http_500", 500, "500000"), ("http_502", 502, "502000"),
                                              ("http_503", 503, "503000"), ("rate_limit", 429, "429000")])
def test_error_faults_answer_without_acting(sandbox, kind, status, code):
    uid = sub_uid(sandbox)
    sandbox.set_fault(kind, count=1)
    r = Kc.broker(sandbox).post(XFER, body(uid, f"err-{kind}"))
    assert r.status_code == status and r.json()["code"] == code
    assert "gw-ratelimit-remaining" in r.headers
    assert transfers_with(sandbox, f"err-{kind}") == []


def test_refuse_answers_the_code_asked_without_acting(sandbox):
    uid = sub_uid(sandbox)
    sandbox.set_fault("refuse", count=1, code="200004", msg="Balance insufficient!", path=XFER)
    r = Kc.broker(sandbox).post(XFER, body(uid, "refused-1"))
    assert r.status_code == 200 and r.json() == {"code": "200004", "msg": "Balance insufficient!"}
    assert transfers_with(sandbox, "refused-1") == []
    # Fired once: the next request is carried out.
    assert Kc.broker(sandbox).post(XFER, body(uid, "refused-2")).json()["code"] == "200000"
    assert len(transfers_with(sandbox, "refused-2")) == 1


def test_refuse_needs_a_code(sandbox):
    r = requests.post(sandbox.control_url + "/faults", json={"kind": "refuse"}, timeout=5)
    assert r.json()["code"] == "400100" and "code=" in r.json()["msg"]


def test_malformed_body_after_the_action(sandbox):
    uid = sub_uid(sandbox)
    sandbox.set_fault("malformed", count=1)
    r = Kc.broker(sandbox).post(XFER, body(uid, "malformed-1"))
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert len(transfers_with(sandbox, "malformed-1")) == 1


def test_latency_makes_a_short_client_timeout_expire(sandbox):
    sandbox.set_fault("latency", ms=1500, count=1)
    with pytest.raises(requests.Timeout):
        requests.get(sandbox.urls["spot"] + "/api/v1/timestamp", timeout=0.3)
    assert sandbox.faults()[0]["fired"] == 1


def test_clock_skew_moves_server_time_and_rejects_uncorrected_clients(sandbox):
    sandbox.set_fault("clock_skew", ms=30_000)
    server = requests.get(sandbox.urls["spot"] + "/api/v1/timestamp", timeout=5).json()["data"]
    offset = server - int(time.time() * 1000)
    assert offset >= 25_000
    q = {"begin": "20240101", "end": "20240301", "tradeType": "1"}
    kc = Kc.broker(sandbox)
    assert kc.get("/api/v1/broker/nd/info", q).json()["code"] == "400002"
    corrected = str(int(time.time() * 1000) + offset)
    assert kc.get("/api/v1/broker/nd/info", q, ts=corrected).json()["code"] == "200000"


def test_probability_is_reproducible_with_the_seed(sandbox):
    def pattern():
        sandbox.set_fault("http_503", probability=0.5, path="/api/v1/timestamp")
        out = [requests.get(sandbox.urls["spot"] + "/api/v1/timestamp", timeout=5).status_code for _ in range(24)]
        sandbox.clear_faults()
        return out
    first, second = pattern(), pattern()
    assert first == second
    assert set(first) == {200, 503}


def test_filters_limit_a_fault_to_matching_requests(sandbox):
    sandbox.set_fault("http_500", family="futures")
    assert requests.get(sandbox.urls["spot"] + "/api/v1/timestamp", timeout=5).status_code == 200
    assert requests.get(sandbox.urls["futures"] + "/api/v1/timestamp", timeout=5).status_code == 500
    sandbox.clear_faults("http_500")
    assert requests.get(sandbox.urls["futures"] + "/api/v1/timestamp", timeout=5).status_code == 200


def test_control_calls_are_never_faulted(sandbox):
    sandbox.set_fault("drop_before")
    assert "accounts" in sandbox.dump()


def test_unknown_fault_kind_is_refused(sandbox):
    r = requests.post(sandbox.control_url + "/faults", json={"kind": "meteor"}, timeout=5)
    assert r.json()["code"] == "400100"
