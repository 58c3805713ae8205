"""State: seeded demo data, reset, dump/load, sub-account and KYC rules observable through the API."""
from .kc import Kc


def broker_view(d):
    """The broker's own part of a dump (accounts it owns, their keys, their balances)."""
    b = d["accounts"]["brokerUid"]
    mine = {a["uid"] for a in d["accounts"]["accounts"] if a["uid"] == b or a["broker_uid"] == b}
    return ([a for a in d["accounts"]["accounts"] if a["uid"] in mine],
            [k for k in d["accounts"]["keys"] if k["uid"] in mine],
            [r for r in d["balances"] if r["uid"] in mine])


def test_seed_looks_alive(sandbox):
    d = sandbox.dump()
    subs = [a for a in d["accounts"]["accounts"] if a["broker_uid"] == sandbox.broker["uid"]]
    assert len(subs) >= 30
    assert len({a["name"] for a in d["accounts"]["accounts"]}) == len(d["accounts"]["accounts"])
    assert len(d["accounts"]["keys"]) > len(subs) // 2
    assert len(d["funding"]["deposits"]) >= 50 and len(d["funding"]["withdrawals"]) >= 10
    assert {r["status"] for r in d["kyc"]} >= {"PASS"}


def test_reset_undoes_changes(sandbox):
    kc = Kc.broker(sandbox)
    before = sandbox.dump()
    kc.post("/api/v1/broker/nd/account", {"accountName": "reset-me-1"})
    assert broker_view(sandbox.dump()) != broker_view(before)
    sandbox.reset()
    after = sandbox.dump()
    assert broker_view(after) == broker_view(before)
    assert after["funding"] == before["funding"] and after["kyc"] == before["kyc"]


def test_dump_load_round_trip(sandbox):
    kc = Kc.broker(sandbox)
    kc.post("/api/v1/broker/nd/account", {"accountName": "persist-me-1"})
    saved = sandbox.dump()
    sandbox.reset()
    sandbox.load(saved)
    again = sandbox.dump()
    for k in ("accounts", "balances", "funding", "kyc"):
        assert again[k] == saved[k]
    # uids keep counting after a load: no reuse
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": "persist-me-2"}).json()["data"]["uid"]
    assert int(uid) > max(int(a["uid"]) for a in saved["accounts"]["accounts"])


def test_names_are_unique_exchange_wide(sandbox):
    kc = Kc.broker(sandbox)
    r = kc.post("/api/v1/broker/nd/account", {"accountName": "taken-elsewhere-002"}).json()
    assert r["code"] == "400100" and "exists" in r["msg"]


def test_sub_account_pages(sandbox):
    kc = Kc.broker(sandbox)
    p1 = kc.get("/api/v1/broker/nd/account", {"currentPage": 1, "pageSize": 7}).json()["data"]
    p2 = kc.get("/api/v1/broker/nd/account", {"currentPage": 2, "pageSize": 7}).json()["data"]
    assert p1["totalNum"] == p2["totalNum"] >= 30 and p1["totalPage"] == -(-p1["totalNum"] // 7)
    assert not {i["uid"] for i in p1["items"]} & {i["uid"] for i in p2["items"]}
    assert all(i["createdAt"] % 1000 == 0 for i in p1["items"])


def test_new_key_secret_is_shown_once_and_works(sandbox):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": "key-once-1"}).json()["data"]["uid"]
    d = kc.post("/api/v1/broker/nd/account/apikey", {"uid": uid, "passphrase": "pass-12345", "ipWhitelist": [],
                                                      "permissions": ["spot"], "label": "label-1"}).json()["data"]
    assert d["secretKey"] and d["permissions"] == ["General", "Spot"]
    listed = kc.get("/api/v1/broker/nd/account/apikey", {"uid": uid}).json()["data"]
    assert "secretKey" not in listed[0]
    sub = Kc(sandbox.urls["spot"], d["apiKey"], d["secretKey"], "pass-12345")
    assert sub.get("/api/v1/accounts").json()["code"] == "200000"
    kc.delete("/api/v1/broker/nd/account/apikey", {"uid": uid, "apiKey": d["apiKey"]})
    assert sub.get("/api/v1/accounts").json()["code"] == "400003"


def test_kyc_reject_path(sandbox):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": "kyc-reject-1"}).json()["data"]["uid"]
    photo = "aGVsbG8="
    body = {"clientUid": uid, "firstName": "A", "lastName": "B", "issueCountry": "DE", "birthDate": "1990-01-01",
            "identityType": "idcard", "identityNumber": "ID-REJECT-1", "expireDate": "2099-01-01",
            "frontPhoto": photo, "backendPhoto": photo, "facePhoto": photo}
    assert kc.post("/api/kyc/ndBroker/proxyClient/submit", body).json() == {"code": "200000", "data": None}
    again = kc.post("/api/kyc/ndBroker/proxyClient/submit", body).json()
    assert again["code"] == "400100"                     # already under review
    sandbox.advance_time(61)
    st = kc.get("/api/kyc/ndBroker/proxyClient/status/list", {"clientUids": uid}).json()["data"][0]
    assert st["status"] == "REJECT" and st["rejectReason"]
    # a rejected customer may submit again
    assert kc.post("/api/kyc/ndBroker/proxyClient/submit", {**body, "identityNumber": "ID-2"}).json()["code"] == "200000"
    missing_back = {**body, "backendPhoto": None, "identityNumber": "ID-3"}
    uid2 = kc.post("/api/v1/broker/nd/account", {"accountName": "kyc-reject-2"}).json()["data"]["uid"]
    r = kc.post("/api/kyc/ndBroker/proxyClient/submit", {**missing_back, "clientUid": uid2}).json()
    assert r["code"] == "400100" and "backendPhoto" in r["msg"]


def test_never_submitted_kyc_is_none(sandbox):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": "kyc-none-1"}).json()["data"]["uid"]
    st = kc.get("/api/kyc/ndBroker/proxyClient/status/list", {"clientUids": uid}).json()["data"]
    assert st == [{"clientUid": int(uid), "status": "NONE", "rejectReason": None}]


def test_a_reset_after_midnight_seeds_history_up_to_the_new_yesterday(monkeypatch):
    """A test session outlives a UTC day: the world reset for a test after midnight has its seeded trading (and
    so its rebates) up to the day before, as a client asking for "yesterday" expects."""
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    import sandbox.world as world_module

    def accrual_days(world) -> list[str]:
        return sorted({row["date"] for row in world.dump()["rebates"]["accruals"]})

    first_day = datetime(2026, 11, 24, 23, 50, tzinfo=timezone.utc)
    monkeypatch.setattr(world_module, "time", SimpleNamespace(time=lambda: first_day.timestamp()))
    world = world_module.World()
    assert accrual_days(world)[-1] == "2026-11-23"

    after_midnight = first_day + timedelta(minutes=20)
    monkeypatch.setattr(world_module, "time", SimpleNamespace(time=lambda: after_midnight.timestamp()))
    world.reset()
    assert accrual_days(world)[-1] == "2026-11-24"
