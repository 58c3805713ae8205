"""The control API over HTTP, on every host."""
import requests


def test_control_answers_on_every_host(sandbox):
    for url in sandbox.urls.values():
        info = requests.get(url + "/_sandbox/info", timeout=5).json()
        assert info["code"] == "200000" and info["data"]["broker"]["uid"] == sandbox.broker["uid"]


def test_reset_with_another_seed_changes_the_credentials(sandbox):
    first = dict(sandbox.broker)
    sandbox.reset(seed=99)
    assert sandbox.broker["api_key"] != first["api_key"]
    from sandbox.testing import TEST_SEED
    sandbox.reset(seed=TEST_SEED)
    assert sandbox.broker == first


def test_quota_defaults_and_bad_input(sandbox):
    sandbox.set_quota("spot", 10, 1000)
    assert sandbox.dump()["settings"]["quotas"]["spot"] == {"limit": 10, "windowMs": 1000}
    sandbox.default_quotas()
    assert sandbox.dump()["settings"]["quotas"]["spot"] == {"limit": 4000, "windowMs": 30000}
    r = requests.post(sandbox.control_url + "/quotas", json={"pool": "nope", "limit": 1}, timeout=5).json()
    assert r["code"] == "400100"


def test_advance_time_reports_the_new_clock(sandbox):
    before = sandbox.dump()["clock"]["nowMs"]
    out = sandbox.advance_time(86_400)
    assert out["offsetMs"] == 86_400_000 and out["nowMs"] >= before + 86_400_000


def test_deposit_to_an_unknown_uid_is_refused(sandbox):
    r = requests.post(sandbox.control_url + "/deposits", json={"uid": "1", "currency": "USDT", "amount": "1"},
                      timeout=5).json()
    assert r["code"] == "400100"


def test_unknown_control_path_is_404(sandbox):
    r = requests.post(sandbox.control_url + "/nothing", json={}, timeout=5)
    assert r.status_code == 404
