"""The Fast API (OAuth) flow over HTTP, as a browser and the broker's back-office would drive it."""
from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests

from .kc import Kc
from .test_trading_support import ok


class FormReader(HTMLParser):
    """Reads the login page like a browser: the form, its inputs, and which inputs have a label."""

    def __init__(self):
        super().__init__()
        self.form_action = None
        self.inputs: dict[str, dict] = {}
        self.labels_for: set[str] = set()
        self.buttons: list[dict] = []
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.form_action = a.get("action")
        elif tag == "input":
            self.inputs[a.get("name")] = a
        elif tag == "label":
            self.labels_for.add(a.get("for"))
        elif tag == "button":
            self.buttons.append(a)
        for key in ("src", "href"):
            if a.get(key, "").startswith(("http:", "https:", "//")):
                self.external.append(a[key])


def customer(sandbox, index=0):
    return sandbox.oauth["customers"][index]


def authorize_url(sandbox, **overrides):
    params = {"response_type": "code", "client_id": sandbox.oauth["client_id"],
              "redirect_uri": sandbox.oauth["redirect_uri"], "scope": "OAUTH_CREATE_API", "state": "user-42"}
    params.update(overrides)
    return sandbox.urls["oauth"] + "/oauth", params


def login(sandbox, index=0, state="user-42", **form_overrides) -> requests.Response:
    """GET the page, fill it in as a person would, submit; answers the (unfollowed) response."""
    url, params = authorize_url(sandbox, state=state)
    page = requests.get(url, params=params, timeout=10)
    assert page.status_code == 200
    reader = FormReader()
    reader.feed(page.text)
    form = {name: a.get("value", "") for name, a in reader.inputs.items() if a.get("type") == "hidden"}
    form.update({"username": customer(sandbox, index)["username"], "password": customer(sandbox, index)["password"],
                 "decision": "authorize", **form_overrides})
    return requests.post(sandbox.urls["oauth"] + reader.form_action, data=form, allow_redirects=False, timeout=10)


def code_from(response) -> str:
    assert response.status_code == 302, response.text
    q = parse_qs(urlsplit(response.headers["Location"]).query)
    return q["code"][0]


def exchange(sandbox, code, **extra):
    return requests.get(sandbox.urls["oauth"] + "/_oauth/access-token", params={
        "grant_type": "authorization_code", "code": code, "redirect_uri": sandbox.oauth["redirect_uri"],
        "client_id": sandbox.oauth["client_id"], **extra}, timeout=10)


def tokens(sandbox, index=0) -> dict:
    r = exchange(sandbox, code_from(login(sandbox, index)))
    assert r.status_code == 200, r.text
    return r.json()


def create_key(sandbox, access_token, path="/_oauth/resource/ucenter/outer/api-key/add", **kw):
    return requests.post(sandbox.urls["oauth"] + path, headers={"Authorization": f"bearer {access_token}"},
                         timeout=10, **kw)


def refresh(sandbox, refresh_token, as_json=False, grant_type="refresh_token"):
    body = {"grant_type": grant_type, "refresh_token": refresh_token, "scope": "OAUTH_CREATE_API"}
    if as_json:
        return requests.post(sandbox.urls["oauth"] + "/_oauth/refresh-token", json=body, timeout=10)
    return requests.post(sandbox.urls["oauth"] + "/_oauth/refresh-token", data=body, timeout=10)


# -- the page -----------------------------------------------------------------------------------

def test_login_page_is_a_plain_labelled_form(sandbox):
    url, params = authorize_url(sandbox)
    r = requests.get(url, params=params, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    reader = FormReader()
    reader.feed(r.text)
    assert reader.form_action == "/oauth"
    visible = [n for n, a in reader.inputs.items() if a.get("type") != "hidden"]
    assert set(visible) == {"username", "password"}
    for name in visible:
        assert reader.inputs[name].get("id") in reader.labels_for
    assert any(b.get("value") == "authorize" for b in reader.buttons)
    assert "Authorize" in r.text and reader.external == []
    assert customer(sandbox)["username"] in r.text      # the made-up demo login is shown as a hint


def test_unknown_client_or_redirect_gets_an_error_page_not_a_redirect(sandbox):
    for overrides in ({"client_id": "no-such-client"}, {"redirect_uri": "https://evil.example/cb"}):
        url, params = authorize_url(sandbox, **overrides)
        r = requests.get(url, params=params, allow_redirects=False, timeout=10)
        assert r.status_code == 400 and "Location" not in r.headers
        assert r.headers["Content-Type"].startswith("text/html")


def test_wrong_password_shows_the_form_again(sandbox):
    r = login(sandbox, password="wrong")
    assert r.status_code == 401 and "Location" not in r.headers and "Wrong email or password" in r.text


def test_deny_redirects_with_access_denied(sandbox):
    r = login(sandbox, decision="deny")
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    assert r.status_code == 302 and q == {"error": ["access_denied"], "state": ["user-42"]}


# -- the whole flow ------------------------------------------------------------------------------

def test_full_flow_then_a_tagged_order_with_the_new_key(sandbox):
    r = login(sandbox, state="staff-7")
    location = r.headers["Location"]
    assert location.startswith(sandbox.oauth["redirect_uri"] + "?")
    q = parse_qs(urlsplit(location).query)
    assert q["state"] == ["staff-7"]
    t = exchange(sandbox, q["code"][0], client_secret=sandbox.oauth["client_secret"])
    assert t.status_code == 200, t.text
    body = t.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["scope"] == ["OAUTH_CREATE_API"]

    created = create_key(sandbox, body["access_token"])
    assert created.status_code == 200
    env = created.json()
    assert env["success"] is True and env["code"] == "200" and env["msg"] == "success" and env["retry"] is False
    key = env["data"]
    assert set(key) == {"apiName", "apiKey", "secret", "passphrase", "brokerId", "authGroup", "ipWhiteList"}
    assert key["authGroup"].split(",") == ["API_COMMON", "API_FUTURES", "API_SPOT", "API_EARN"]
    assert key["brokerId"] == sandbox.broker["broker_name"] and key["ipWhiteList"] == ""

    # the key trades on the customer's own account, with the broker's partner headers: tagged
    b = sandbox.broker
    kc = Kc(sandbox.urls["spot"], key["apiKey"], key["secret"], key["passphrase"], partner=b["partner"],
            broker_key=b["broker_key"], broker_name=b["broker_name"])
    placed = ok(kc.post("/api/v1/hf/orders", {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "BTC-USDT",
                                              "type": "limit", "price": "50000", "size": "0.001"}))
    got = ok(kc.get(f"/api/v1/hf/orders/{placed['orderId']}", {"symbol": "BTC-USDT"}))
    assert got["tags"] == f"partner:{b['partner']}"
    fkc = Kc(sandbox.urls["futures"], key["apiKey"], key["secret"], key["passphrase"], partner=b["futures_partner"],
             broker_key=b["futures_broker_key"], broker_name=b["broker_name"])
    fplaced = ok(fkc.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "XBTUSDTM",
                                             "type": "limit", "price": "50000", "size": 1, "leverage": 2}))
    assert ok(fkc.get(f"/api/v1/orders/{fplaced['orderId']}"))["tags"] == f"partner:{b['futures_partner']}"
    # the state shows the key on the customer's account, bound to the broker
    dump = sandbox.dump()
    owner = next(k for k in dump["accounts"]["keys"] if k["api_key"] == key["apiKey"])
    assert owner["uid"] == customer(sandbox)["uid"]
    assert dump["oauth"]["fastKeys"][key["apiKey"]]["brokerUid"] == b["uid"]


def test_code_is_single_use_and_short_lived(sandbox):
    code = code_from(login(sandbox))
    assert exchange(sandbox, code).status_code == 200
    again = exchange(sandbox, code)
    assert again.status_code == 400 and again.json()["success"] is False and again.json()["code"] == "40003"
    late = code_from(login(sandbox))
    sandbox.advance_time(11 * 60)
    r = exchange(sandbox, late)
    assert r.status_code == 400 and "expired" in r.json()["msg"]


def test_token_call_checks_client_and_redirect(sandbox):
    code = code_from(login(sandbox))
    assert exchange(sandbox, code, client_secret="wrong").json()["code"] == "40002"
    r = exchange(sandbox, code, redirect_uri="https://evil.example/cb")
    assert r.status_code == 400 and r.json()["code"] == "40003"


def test_extra_redirect_uri_can_be_registered(sandbox):
    uri = "http://127.0.0.1:51234/accounts/fast-api/callback"
    url, params = authorize_url(sandbox, redirect_uri=uri)
    assert requests.get(url, params=params, timeout=10).status_code == 400
    r = requests.post(sandbox.urls["oauth"] + "/_sandbox/oauth/redirect-uris", json={"redirect_uri": uri}, timeout=10)
    assert uri in r.json()["data"]["redirect_uris"]
    assert requests.get(url, params=params, timeout=10).status_code == 200


# -- tokens ---------------------------------------------------------------------------------------

def test_refresh_rotates_both_tokens(sandbox):
    first = tokens(sandbox)
    r = refresh(sandbox, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert create_key(sandbox, first["access_token"]).json()["code"] == "40101"
    assert refresh(sandbox, first["refresh_token"]).json()["code"] == "40003"
    assert create_key(sandbox, second["access_token"]).json()["success"] is True
    # the doc's grant_type quirk and a JSON body are accepted too
    third = refresh(sandbox, second["refresh_token"], as_json=True, grant_type="authorization_code")
    assert third.status_code == 200 and third.json()["token_type"] == "bearer"


def test_access_token_dies_after_an_hour_refresh_token_after_three_days(sandbox):
    t = tokens(sandbox)
    sandbox.advance_time(3601)
    r = create_key(sandbox, t["access_token"])
    assert r.status_code == 401 and r.json()["code"] == "40101"
    renewed = refresh(sandbox, t["refresh_token"])
    assert renewed.status_code == 200
    sandbox.advance_time(3 * 86400 + 1)
    dead = refresh(sandbox, renewed.json()["refresh_token"])
    assert dead.status_code == 400 and "expired" in dead.json()["msg"]


def test_missing_or_garbage_bearer_token(sandbox):
    r = requests.post(sandbox.urls["oauth"] + "/_oauth/resource/ucenter/outer/api-key/add", timeout=10)
    assert r.status_code == 401 and r.json()["success"] is False
    assert create_key(sandbox, "not-a-token").json()["code"] == "40101"


# -- key creation errors ----------------------------------------------------------------------------

def test_repeated_api_name_and_max_keys(sandbox):
    access = tokens(sandbox, index=1)["access_token"]
    first = create_key(sandbox, access, json={"apiName": "desk-bot"})
    assert first.json()["data"]["apiName"] == "desk-bot"
    dup = create_key(sandbox, access, json={"apiName": "desk-bot"})
    assert dup.json()["success"] is False and dup.json()["code"] == "40901"
    for _ in range(19):
        assert create_key(sandbox, access).json()["success"] is True
    full = create_key(sandbox, access)
    assert full.json()["success"] is False and full.json()["code"] == "40902"
    assert len([k for k in sandbox.dump()["accounts"]["keys"] if k["uid"] == customer(sandbox, 1)["uid"]]) == 20


def test_v2_path_with_permission_map(sandbox):
    access = tokens(sandbox)["access_token"]
    r = create_key(sandbox, access, path="/_oauth/resource/cyber-truck-vault/v2/outer/api-key/add",
                   json={"authGroupMap": {"API_COMMON": True, "API_SPOT": True, "API_FUTURES": False,
                                          "API_MARGIN": False, "API_EARN": False, "API_TRANSFER": False,
                                          "API_WITHDRAW_OAUTH": False}, "isAddressbookOnly": False})
    key = r.json()["data"]
    assert key["authGroup"] == "API_COMMON,API_SPOT"
    kc = Kc(sandbox.urls["futures"], key["apiKey"], key["secret"], key["passphrase"])
    f = kc.post("/api/v1/orders", {"clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "XBTUSDTM",
                                   "type": "limit", "price": "50000", "size": 1, "leverage": 2})
    assert f.json()["code"] == "400007"      # no futures right on this key
    withdraw = create_key(sandbox, access, path="/_oauth/resource/cyber-truck-vault/v2/outer/api-key/add",
                          json={"authGroupMap": {"API_COMMON": True, "API_WITHDRAW_OAUTH": True}})
    assert withdraw.json()["code"] == "40903"
    assert re.fullmatch(r"[0-9a-zA-Z]+", key["apiKey"])
