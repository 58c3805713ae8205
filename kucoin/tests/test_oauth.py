"""Fast API (OAuth) client against a small local server that plays KuCoin's part."""
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from kucoin.errors import (DuplicateApiNameError, OAuthError, OutcomeUnknownError, RateLimitError, TokenExpiredError,
                           TooManyApiKeysError)
from kucoin.oauth import OAuthClient

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret-not-real"


class OAuthFake:
    def __init__(self):
        self.codes = {"code-1"}
        self.access = {}
        self.refresh = {}
        self.api_names = set()
        self.max_keys = 2
        self.seen = []
        self.n = 0
        self.answers = {}  # path -> (status, payload): answered instead, as a failing gateway would

    def handle(self, method, path, query, headers, body):
        self.seen.append((method, path, dict(query), headers, body))
        if path in self.answers:
            return self.answers[path]
        if path == "/_oauth/access-token":
            q = dict(query)
            if q.get("grant_type") != "authorization_code" or q.get("code") not in self.codes:
                return 400, {"error": "invalid_grant", "error_description": "bad code"}
            self.codes.discard(q["code"])
            return 200, self._issue()
        if path == "/_oauth/refresh-token":
            form = dict(parse_qsl(body.decode()))
            if form.get("refresh_token") not in self.refresh:
                return 401, {"error": "invalid_token", "error_description": "refresh token expired"}
            del self.refresh[form["refresh_token"]]
            self.access.clear()
            return 200, self._issue()
        if path == "/_oauth/resource/ucenter/outer/api-key/add":
            token = (headers.get("Authorization") or "").removeprefix("bearer ")
            if token not in self.access:
                return 401, {"success": False, "code": "401", "msg": "access token expired", "retry": False}
            name = json.loads(body or b"{}").get("apiName", "broker-key")
            if name in self.api_names:
                return 200, {"success": False, "code": "40001", "msg": "apiName already exists", "retry": False}
            if len(self.api_names) >= self.max_keys:
                return 200, {"success": False, "code": "40002", "msg": "The number of API keys has reached the maximum",
                             "retry": False}
            self.api_names.add(name)
            return 200, {"success": True, "code": "200", "msg": "success", "retry": False,
                         "data": {"apiName": name, "apiKey": "6700000000000000000000aa", "secret": "s-e-c-r-e-t",
                                  "passphrase": "p-a-s-s", "brokerId": "TESTBROKER",
                                  "authGroup": "API_COMMON,API_SPOT,API_FUTURES", "ipWhiteList": "192.0.2.1"}}
        return 404, {"code": "404000", "msg": "not found"}

    def _issue(self):
        self.n += 1
        a, r = f"access-{self.n}", f"refresh-{self.n}"
        self.access[a] = True
        self.refresh[r] = True
        return {"access_token": a, "token_type": "bearer", "expires_in": 3600, "refresh_token": r,
                "scope": ["OAUTH_CREATE_API"]}


@pytest.fixture
def server():
    fake = OAuthFake()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _do(self):
            u = urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            status, payload = fake.handle(self.command, u.path, parse_qsl(u.query), dict(self.headers), body)
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()  # bytes: sent as they are
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _do

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield fake
    httpd.shutdown()
    httpd.server_close()


def test_authorize_url_keeps_redirect_unencoded():
    c = OAuthClient("https://www.kucoin.com", CLIENT_ID)
    url = c.authorize_url("https://broker.example/cb?x=1", state="user 42")
    assert url == ("https://www.kucoin.com/oauth?response_type=code&client_id=test-client-id"
                   "&redirect_uri=https://broker.example/cb?x=1&scope=OAUTH_CREATE_API&state=user%2042")


def test_full_flow_code_refresh_create_key(server):
    records = []
    c = OAuthClient(server.url, CLIENT_ID, CLIENT_SECRET, on_request=records.append)
    tokens = c.exchange_code("code-1", "https://broker.example/cb")
    assert tokens.token_type == "bearer" and tokens.expires_in == 3600 and tokens.scope == ("OAUTH_CREATE_API",)
    m, p, q, _, _ = server.seen[-1]
    assert (m, q["grant_type"], q["code"], q["client_id"]) == ("GET", "authorization_code", "code-1", CLIENT_ID)
    assert tokens.access_token not in repr(tokens) and tokens.refresh_token not in repr(tokens)

    with pytest.raises(OAuthError):
        c.exchange_code("code-1", "https://broker.example/cb")  # codes are single-use

    new = c.refresh(tokens.refresh_token)
    assert new.access_token != tokens.access_token
    with pytest.raises(TokenExpiredError):
        c.create_api_key(tokens.access_token)  # only the new access token works after a refresh

    key = c.create_api_key(new.access_token, body={"apiName": "desk-1"})
    assert server.seen[-1][3]["Authorization"] == f"bearer {new.access_token}"
    assert (key.api_key, key.auth_group, key.ip_whitelist) == ("6700000000000000000000aa",
                                                              ("API_COMMON", "API_SPOT", "API_FUTURES"), "192.0.2.1")
    assert "s-e-c-r-e-t" not in repr(key) and "p-a-s-s" not in repr(key)

    with pytest.raises(DuplicateApiNameError):
        c.create_api_key(new.access_token, body={"apiName": "desk-1"})
    c.create_api_key(new.access_token, body={"apiName": "desk-2"})
    with pytest.raises(TooManyApiKeysError):
        c.create_api_key(new.access_token, body={"apiName": "desk-3"})

    text = repr(records)
    for secret in (CLIENT_SECRET, new.access_token, new.refresh_token, "code-1", "s-e-c-r-e-t"):
        assert secret not in text
    assert [r.path for r in records][:2] == ["/_oauth/access-token", "/_oauth/access-token"]


def test_expired_refresh_token(server):
    c = OAuthClient(server.url, CLIENT_ID)
    with pytest.raises(TokenExpiredError):
        c.refresh("refresh-unknown")


def test_a_server_error_from_the_token_endpoint_is_retryable():
    from kucoin.errors import OAuthServerError, ServerError
    from kucoin.oauth import _oauth_error

    error = _oauth_error("Service Unavailable", "503000", 503, "GET /_oauth/access-token")
    assert isinstance(error, OAuthServerError) and isinstance(error, ServerError)


def test_the_code_and_client_secret_of_the_token_call_never_reach_a_log_line_even_at_debug(server, caplog):
    """KuCoin documents the token call as a GET with query parameters (kucoin-api.md 10.1), and urllib3 logs each
    request's target at DEBUG: the line is there, its query is not (whatever level an application's own
    logging settings give urllib3)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    c = OAuthClient(server.url, CLIENT_ID, CLIENT_SECRET)
    tokens = c.exchange_code("code-1", "https://broker.example/cb")
    c.refresh(tokens.refresh_token)
    method, _, query, _, _ = server.seen[0]
    assert method == "GET" and query["code"] == "code-1" and query["client_secret"] == CLIENT_SECRET  # as documented
    assert '"GET /_oauth/access-token?[redacted] HTTP/1.1" 200' in caplog.text
    assert '"POST /_oauth/refresh-token HTTP/1.1" 200' in caplog.text  # other lines untouched
    for secret in (CLIENT_SECRET, "code-1", tokens.refresh_token):
        assert secret not in caplog.text


@pytest.mark.parametrize("payload", [{"success": False, "code": "502000", "msg": "Bad Gateway", "retry": True},
                                     "<html>502 Bad Gateway</html>"])
def test_a_5xx_on_key_creation_is_an_unknown_outcome_not_a_refusal(server, payload):
    """A gateway's 5xx does not say whether KuCoin made the key: the caller must check before sending again."""
    c = OAuthClient(server.url, CLIENT_ID)
    tokens = c.exchange_code("code-1", "https://broker.example/cb")
    server.answers["/_oauth/resource/ucenter/outer/api-key/add"] = (502, payload)
    with pytest.raises(OutcomeUnknownError) as caught:
        c.create_api_key(tokens.access_token, body={"apiName": "desk-1"})
    assert not isinstance(caught.value, OAuthError) and caught.value.http_status == 502
    assert "may exist" in caught.value.msg


def test_a_429_from_the_oauth_host_is_a_rate_limit_not_a_refusal(server):
    server.answers["/_oauth/access-token"] = (429, {"code": "429000", "msg": "Too many requests"})
    with pytest.raises(RateLimitError) as caught:
        OAuthClient(server.url, CLIENT_ID).exchange_code("code-1", "https://broker.example/cb")
    assert not isinstance(caught.value, OAuthError) and caught.value.code == "429000"


@pytest.mark.parametrize("payload", [
    b'{"success":true,"code":"200","msg":"success","data":{"apiName":"desk-1","apiK',  # truncated on the way
    b"<html>OK</html>",  # a proxy's page
    {"success": True, "code": "200", "msg": "success", "retry": False, "data": None},
    {"success": True, "code": "200", "msg": "success", "retry": False, "data": {"apiName": "desk-1"}},
    {},
], ids=["truncated", "html", "data-null", "no-key-fields", "empty-object"])
def test_an_unusable_2xx_answer_to_key_creation_is_an_unknown_outcome_not_a_refusal(server, payload):
    """KuCoin may have made the key before the answer broke: the caller must look before asking again."""
    records = []
    c = OAuthClient(server.url, CLIENT_ID, on_request=records.append)
    tokens = c.exchange_code("code-1", "https://broker.example/cb")
    server.answers["/_oauth/resource/ucenter/outer/api-key/add"] = (200, payload)
    with pytest.raises(OutcomeUnknownError) as caught:
        c.create_api_key(tokens.access_token, body={"apiName": "desk-1"})
    assert not isinstance(caught.value, OAuthError) and caught.value.http_status == 200
    assert "may exist" in caught.value.msg
    assert records[-1].error == "OutcomeUnknownError"  # the call log shows it failed, not that it succeeded


def test_a_refusal_answered_with_http_200_is_still_a_refusal(server):
    c = OAuthClient(server.url, CLIENT_ID)
    tokens = c.exchange_code("code-1", "https://broker.example/cb")
    server.answers["/_oauth/resource/ucenter/outer/api-key/add"] = (
        200, {"success": False, "code": "40001", "msg": "apiName already exists", "retry": False})
    with pytest.raises(DuplicateApiNameError):
        c.create_api_key(tokens.access_token, body={"apiName": "desk-1"})
