"""Requests are checked against KuCoin's OpenAPI request schemas: 400100 naming the field.
Answers are checked against the response schemas (the fixture turns a mismatch into a 500)."""
import requests

from sandbox.schemacheck import check

from .kc import Kc


def test_unknown_body_field_is_named(sandbox):
    r = Kc.broker(sandbox).post("/api/v1/broker/nd/account", {"accountName": "valid-name-1", "colour": "red"}).json()
    assert r["code"] == "400100" and "colour" in r["msg"]


def test_ill_typed_body_field_is_named(sandbox):
    r = Kc.broker(sandbox).post("/api/v1/broker/nd/account", {"accountName": 12345}).json()
    assert r["code"] == "400100" and "accountName" in r["msg"]
    uid = sandbox.dump()["accounts"]["accounts"][1]["uid"]
    r = Kc.broker(sandbox).post("/api/v1/broker/nd/account/apikey", {
        "uid": uid, "passphrase": "pass-12345", "ipWhitelist": "127.0.0.1", "permissions": ["spot"],
        "label": "label-1"}).json()
    assert r["code"] == "400100" and "ipWhitelist" in r["msg"]


def test_missing_required_field_and_enum(sandbox):
    r = Kc.broker(sandbox).get("/api/v1/broker/nd/info", {"begin": "20240101", "end": "20240301"}).json()
    assert r["code"] == "400100" and "tradeType" in r["msg"]
    r = Kc.broker(sandbox).get("/api/v1/broker/nd/info", {"begin": "20240101", "end": "20240301", "tradeType": "3"}).json()
    assert r["code"] == "400100" and "tradeType" in r["msg"]


def test_query_types_and_bounds(sandbox):
    kc = Kc.broker(sandbox)
    r = kc.get("/api/v1/broker/nd/account", {"currentPage": "one"}).json()
    assert r["code"] == "400100" and "currentPage" in r["msg"]
    r = kc.get("/api/v1/broker/nd/account", {"pageSize": 101}).json()
    assert r["code"] == "400100" and "pageSize" in r["msg"]
    r = kc.get("/api/v1/broker/nd/account", {"flavour": "x"}).json()
    assert r["code"] == "400100" and "flavour" in r["msg"]


def test_business_rules(sandbox):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": "rules-sub-1"}).json()["data"]["uid"]
    assert kc.post("/api/v1/broker/nd/account", {"accountName": "rules-sub-1"}).json()["code"] == "400100"
    base = {"uid": uid, "passphrase": "pass-12345", "ipWhitelist": [], "permissions": ["General"], "label": "label-1"}
    for bad in ({"label": "abc"}, {"passphrase": "short"}, {"ipWhitelist": ["300.1.1.1"]},
                {"ipWhitelist": [f"10.0.0.{i}" for i in range(21)]}, {"permissions": ["withdraw"]}):
        r = kc.post("/api/v1/broker/nd/account/apikey", {**base, **bad}).json()
        assert r["code"] == "400100", bad
    ok = kc.post("/api/v1/broker/nd/account/apikey", {**base, "permissions": ["GENERAL", "Futures", "Earn"]}).json()
    assert ok["code"] == "200000" and ok["data"]["permissions"] == ["General", "Futures"]
    r = kc.get("/api/v1/broker/nd/info", {"begin": "20240101", "end": "20240901", "tradeType": "1"}).json()
    assert r["code"] == "400100" and "6 months" in r["msg"]


def test_non_json_body_and_media_type(sandbox):
    kc = Kc.broker(sandbox)
    import time as _t
    ts = str(int(_t.time() * 1000))
    h = kc.headers("POST", "/api/v1/broker/nd/account", "{not json", ts=ts)
    r = requests.post(sandbox.urls["broker"] + "/api/v1/broker/nd/account", data=b"{not json", headers=h, timeout=5)
    assert r.json()["code"] == "400100"
    h = kc.headers("POST", "/api/v1/broker/nd/account", "accountName=x", ts=ts)
    h["Content-Type"] = "text/plain"
    r = requests.post(sandbox.urls["broker"] + "/api/v1/broker/nd/account", data=b"accountName=x", headers=h, timeout=5)
    assert r.status_code == 415 and r.json()["code"] == "415000"


def test_response_checker_catches_an_off_schema_answer():
    schema = {"type": "object", "properties": {"code": {"type": "string"},
                                               "data": {"type": "object", "properties": {"uid": {"type": "string"}},
                                                        "required": ["uid"]}}}
    assert check(schema, {"code": "200000", "data": {"uid": "1"}}) is None
    assert "uid" in check(schema, {"code": "200000", "data": {"uid": 1}})
    assert check(schema, {"code": "200000", "data": {}}) is not None


def test_seeded_answers_validate(sandbox):
    # every route answer goes through the schema check in the fixture; walk the seeded data
    kc = Kc.broker(sandbox)
    page = kc.get("/api/v1/broker/nd/account", {"pageSize": 100}).json()
    assert page["code"] == "200000"
    for item in page["data"]["items"]:
        r = kc.get("/api/v1/broker/nd/account/apikey", {"uid": item["uid"]})
        assert r.status_code == 200 and r.json()["code"] == "200000", r.text
    deps = kc.get("/api/v1/asset/ndbroker/deposit/list")
    assert deps.status_code == 200 and deps.json()["code"] == "200000"
    for w in sandbox.dump()["funding"]["withdrawals"]:
        r = kc.get("/api/v3/broker/nd/withdraw/detail", {"withdrawalId": w["id"]})
        assert r.status_code == 200, r.text
    uids = ",".join(i["uid"] for i in page["data"]["items"])
    r = kc.get("/api/kyc/ndBroker/proxyClient/status/list", {"clientUids": uids})
    assert r.status_code == 200 and len(r.json()["data"]) == len(page["data"]["items"])
