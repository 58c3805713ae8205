"""python -m sandbox: the first stdout line, serving, SIGTERM, --state save and load, start flags."""
import json
import signal

import requests

from sandbox.control_client import SandboxControl
from sandbox.testing import start_subprocess

from .test_state import broker_view


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0


def test_first_line_and_state_file_round_trip(tmp_path):
    state = tmp_path / "state.json"
    proc, first = start_subprocess("--seed", "7", "--state", str(state))
    try:
        assert set(first["urls"]) == {"spot", "futures", "broker", "oauth"}
        assert set(first["broker"]) >= {"uid", "api_key", "api_secret", "api_passphrase", "key_version", "broker_name",
                                        "partner", "broker_key", "futures_partner", "futures_broker_key"}
        assert first["broker"]["api_key"].startswith("sandbox")
        assert first["control"].endswith("/_sandbox")
        for url in (first["urls"]["spot"], first["urls"]["futures"]):
            assert requests.get(url + "/api/v1/timestamp", timeout=5).json()["code"] == "200000"
        ctl = SandboxControl(first["control"])
        uid = next(a["uid"] for a in ctl.dump()["accounts"]["accounts"] if a["broker_uid"])
        ctl.make_deposit(uid, "USDT", "123.45")
    finally:
        stop(proc)
    saved = json.loads(state.read_text())
    assert any(d["amount"] == "123.45" for d in saved["funding"]["deposits"])

    proc, first2 = start_subprocess("--seed", "7", "--state", str(state))
    try:
        assert first2["broker"] == first["broker"]
        deps = SandboxControl(first2["control"]).dump()["funding"]["deposits"]
        assert any(d["amount"] == "123.45" for d in deps)
    finally:
        stop(proc)


def test_same_seed_same_world_and_start_flags():
    p1, a = start_subprocess("--seed", "11")
    p2, b = start_subprocess("--seed", "11", "--fault", "http_503,count=1,path=/api/v1/timestamp",
                             "--quota", "public=3")
    try:
        assert a["broker"] == b["broker"]
        da, db = SandboxControl(a["control"]).dump(), SandboxControl(b["control"]).dump()
        assert broker_view(da) == broker_view(db)
        assert da["funding"] == db["funding"] and da["kyc"] == db["kyc"]
        r1 = requests.get(b["urls"]["spot"] + "/api/v1/timestamp", timeout=5)
        r2 = requests.get(b["urls"]["spot"] + "/api/v1/timestamp", timeout=5)
        assert (r1.status_code, r2.status_code) == (503, 200)
        assert r2.headers["gw-ratelimit-limit"] == "3"
    finally:
        stop(p1)
        stop(p2)
