"""Authentication as KuCoin does it (kucoin-api.md 2.7): each failure gives its code and status."""
import time

import pytest
import requests

from sandbox.auth import b64_hmac, decoded_query

from .kc import Kc

INFO = "/api/v1/broker/nd/info"
INFO_Q = {"begin": "20240101", "end": "20240301", "tradeType": "1"}


def code(r):
    return r.status_code, r.json()["code"]


def make_sub_key(sandbox, permissions=("general", "spot"), ip_whitelist=()):
    kc = Kc.broker(sandbox)
    uid = kc.post("/api/v1/broker/nd/account", {"accountName": f"auth-{int(time.time() * 1e6) % 10**9}"}).json()["data"]["uid"]
    r = kc.post("/api/v1/broker/nd/account/apikey", {"uid": uid, "passphrase": "sub-pass-123",
                                                      "ipWhitelist": list(ip_whitelist),
                                                      "permissions": list(permissions), "label": "auth test"})
    d = r.json()["data"]
    return uid, Kc(sandbox.urls["spot"], d["apiKey"], d["secretKey"], "sub-pass-123")


def test_spec_vectors():
    # kucoin-api.md 2.6, vectors 1 and 3, and the derived passphrase / partner signature
    secret = "TEST-SECRET-not-a-real-secret"
    assert b64_hmac(secret, "test-passphrase-1") == "4vlxtzWSgZrS95H/icRFpV4mVTFsj3XmfGXJWZ3gPoM="
    assert b64_hmac("TEST-BROKERKEY-not-real", "1718000000250TESTPARTNERTEST-APIKEY-0001") == \
        "CULpaKxbBOSIRRtF2PCyk17x8WvDXItzfHgDTCyIAI0="
    pre1 = "1718000000250GET/api/v1/broker/nd/account/apikey?" + decoded_query("uid=100000001&apiKey=TEST-SUBKEY-0001")
    assert b64_hmac(secret, pre1) == "NWZ6prIEqpZvJ7JenBgyStLdZmgWVGoBe0SR++hbs9A="
    pre3 = "1718000000250GET/api/v1/broker/nd/account/apikey?" + decoded_query("uid=100000001&apiKey=ab+c%21%40%231")
    assert b64_hmac(secret, pre3) == "6m/lJEmC8h7gzl/xe0JGlhs+xQUklc9TJu76tcKOh44="


def test_missing_header_is_400001(sandbox):
    r = requests.get(sandbox.urls["broker"] + INFO, params=INFO_Q, timeout=5)
    assert code(r) == (400, "400001")


def test_stale_timestamp_is_400002(sandbox):
    stale = str(int(time.time() * 1000) - 6000)
    assert code(Kc.broker(sandbox).get(INFO, INFO_Q, ts=stale)) == (400, "400002")
    assert code(Kc.broker(sandbox).get(INFO, INFO_Q, ts="not-a-number")) == (400, "400002")


def test_unknown_key_is_400003(sandbox):
    kc = Kc.broker(sandbox)
    kc.api_key = "sandbox-no-such-key-0000"
    assert code(kc.get(INFO, INFO_Q)) == (401, "400003")


def test_wrong_passphrase_is_400004(sandbox):
    assert code(Kc.broker(sandbox).get(INFO, INFO_Q, passphrase="wrong-pass")) == (401, "400004")


def test_bad_key_version_is_400009(sandbox):
    assert code(Kc.broker(sandbox).get(INFO, INFO_Q, version="7")) == (400, "400009")


def test_key_version_2_is_accepted(sandbox):
    assert code(Kc.broker(sandbox).get(INFO, INFO_Q, version="2")) == (200, "200000")


def test_wrong_secret_is_400005(sandbox):
    # passphrase signed with the right secret, request signed with a wrong one
    kc = Kc.broker(sandbox)
    good_pass = b64_hmac(kc.secret, kc.passphrase)
    ts = str(int(time.time() * 1000))
    h = kc.headers("GET", INFO + "?begin=20240101&end=20240301&tradeType=1", "", ts=ts, secret="wrong-secret")
    h["KC-API-PASSPHRASE"] = good_pass
    r = requests.get(sandbox.urls["broker"] + INFO, params=INFO_Q, headers=h, timeout=5)
    assert code(r) == (401, "400005")


def test_signature_covers_the_decoded_query_in_wire_order(sandbox):
    kc = Kc.broker(sandbox)
    # values URL-encoded on the wire, signed decoded (2.3): a clientUids list with a comma
    uid = sandbox.dump()["accounts"]["accounts"][1]["uid"]
    raw = f"clientUids={uid}%2C{uid}"
    ts = str(int(time.time() * 1000))
    path = "/api/kyc/ndBroker/proxyClient/status/list"
    h = kc.headers("GET", f"{path}?clientUids={uid},{uid}", "", ts=ts)
    r = requests.get(f"{sandbox.urls['broker']}{path}?{raw}", headers=h, timeout=5)
    assert code(r) == (200, "200000") and len(r.json()["data"]) == 2
    # the same parameters signed in another order than sent: refused
    h = kc.headers("GET", INFO + "?end=20240301&begin=20240101&tradeType=1", "", ts=ts)
    r = requests.get(sandbox.urls["broker"] + INFO + "?begin=20240101&end=20240301&tradeType=1", headers=h, timeout=5)
    assert code(r) == (401, "400005")


def test_body_is_signed(sandbox):
    kc = Kc.broker(sandbox)
    ts = str(int(time.time() * 1000))
    h = kc.headers("POST", "/api/v1/broker/nd/account", '{"accountName":"signed-name-1"}', ts=ts)
    r = requests.post(sandbox.urls["broker"] + "/api/v1/broker/nd/account", data=b'{"accountName":"other-name-2"}',
                      headers=h, timeout=5)
    assert code(r) == (401, "400005")
    assert "other-name-2" not in [a["name"] for a in sandbox.dump()["accounts"]["accounts"]]


def test_ip_whitelist_is_400006(sandbox):
    _, sub = make_sub_key(sandbox, ip_whitelist=["203.0.113.77"])
    r = sub.get("/api/v1/accounts")
    assert code(r) == (403, "400006")
    assert "127.0.0.1" in r.json()["msg"]
    _, open_key = make_sub_key(sandbox, ip_whitelist=["127.0.0.1"])
    assert code(open_key.get("/api/v1/accounts")) == (200, "200000")


def test_missing_permission_is_400007(sandbox):
    _, sub = make_sub_key(sandbox, permissions=["spot"])
    # ND broker calls need a broker's own key: a sub-account key is refused
    sub.base_url = sandbox.urls["broker"]
    assert code(sub.get(INFO, INFO_Q)) == (403, "400007")


def test_sub_key_reads_its_own_balances(sandbox):
    uid, sub = make_sub_key(sandbox)
    kc = Kc.broker(sandbox)
    kc.post("/api/v1/broker/nd/transfer", {"currency": "USDT", "amount": "12.5", "direction": "OUT",
                                           "accountType": "MAIN", "specialUid": uid,
                                           "specialAccountType": "TRADE", "clientOid": "auth-bal-1"})
    r = sub.get("/api/v1/accounts", {"type": "trade"})
    assert code(r) == (200, "200000")
    assert [(a["currency"], a["type"], a["balance"], a["available"], a["holds"]) for a in r.json()["data"]] == \
        [("USDT", "trade", "12.5", "12.5", "0")]


class TestPartner:
    def test_right_partner_sign_with_verify(self, sandbox):
        assert code(Kc.broker(sandbox).get(INFO, INFO_Q)) == (200, "200000")

    def test_wrong_partner_sign_with_verify_is_400201(self, sandbox):
        r = Kc.broker(sandbox).get(INFO, INFO_Q, partner_sign="AAAA" + "=" * 40)
        assert r.json() == {"code": "400201", "msg": "Invalid KC-API-PARTNER-SIGN"}

    def test_wrong_partner_sign_without_verify_goes_through(self, sandbox):
        r = Kc.broker(sandbox).get(INFO, INFO_Q, partner_sign="AAAA" + "=" * 40, verify=False)
        assert code(r) == (200, "200000")

    def test_partner_sign_made_with_another_broker_key_is_400201(self, sandbox):
        kc = Kc.broker(sandbox)
        kc.broker_key = "sandbox-not-the-broker-key"
        assert code(kc.get(INFO, INFO_Q))[1] == "400201"

    def test_unknown_partner_with_verify_is_400200(self, sandbox):
        kc = Kc.broker(sandbox)
        kc.partner = "sandbox-no-such-partner"
        assert code(kc.get(INFO, INFO_Q))[1] == "400200"

    def test_futures_credentials_are_not_valid_on_the_broker_host(self, sandbox):
        b = sandbox.broker
        kc = Kc.broker(sandbox)
        kc.partner, kc.broker_key = b["futures_partner"], b["futures_broker_key"]
        assert code(kc.get(INFO, INFO_Q))[1] == "400200"
        assert code(kc.get(INFO, INFO_Q, verify=False)) == (200, "200000")

    @pytest.mark.parametrize("value", ["TRUE", "True"])
    def test_verify_is_read_case_insensitively(self, sandbox, value):
        kc = Kc.broker(sandbox)
        ts = str(int(time.time() * 1000))
        h = kc.headers("GET", INFO + "?begin=20240101&end=20240301&tradeType=1", "", ts=ts, partner_sign="bad")
        h["KC-API-PARTNER-VERIFY"] = value
        r = requests.get(sandbox.urls["broker"] + INFO, params=INFO_Q, headers=h, timeout=5)
        assert r.json()["code"] == "400201"


def test_missing_key_version_means_plain_passphrase(sandbox):
    kc = Kc.broker(sandbox)
    # no KC-API-KEY-VERSION: the v1 scheme compares the passphrase as typed, so the signed one fails
    assert code(kc.get(INFO, INFO_Q, version=None)) == (401, "400004")
    ts = str(int(time.time() * 1000))
    h = kc.headers("GET", INFO + "?begin=20240101&end=20240301&tradeType=1", "", ts=ts, version=None)
    h["KC-API-PASSPHRASE"] = kc.passphrase
    r = requests.get(sandbox.urls["broker"] + INFO, params=INFO_Q, headers=h, timeout=5)
    assert code(r) == (200, "200000")
