"""KuCoin's OAuth "Fast API" (kucoin-api.md section 10), on the oauth host.

Flow: GET /oauth shows a login-and-consent page -> POST /oauth (the form) redirects (302) to the
client's registered redirect URI with `code` and `state` -> GET /_oauth/access-token exchanges the
code -> POST /_oauth/refresh-token rotates both tokens -> POST /_oauth/resource/ucenter/outer/api-key/add
(or the v2 `cyber-truck-vault` path) with `Authorization: bearer <token>` creates a V3 API key on the
customer's KuCoin account, bound to the broker; that key then trades through the normal signed API.

Lifetimes (sandbox clock): authorization code 10 min, single use; access token 1 h; refresh token 3
days. A refresh revokes the previous access and refresh tokens.

Errors (KuCoin's are not public, kucoin-api.md 11.15; these are the sandbox's choice), all in the
Fast API envelope {"success": false, "code", "msg", "retry": false, "data": null}:
  HTTP 400 code "40001"  invalid_request: a parameter is missing or has an unsupported value
  HTTP 401 code "40002"  invalid_client: unknown client_id or wrong client_secret
  HTTP 400 code "40003"  invalid_grant: code/refresh token unknown, used, expired, revoked, or issued
                         for another client or redirect_uri
  HTTP 401 code "40101"  invalid_token: bearer access token missing, unknown, expired or revoked
  HTTP 200 code "40901"  apiName already used on this account
  HTTP 200 code "40902"  the account already has the maximum number of API keys (MAX_KEYS_PER_ACCOUNT)
  HTTP 200 code "40903"  a permission that Fast API never grants (withdrawal) was asked for
Login page errors never redirect: an unknown client_id or an unregistered redirect_uri gets an HTML
error page (HTTP 400).
"""
from __future__ import annotations

import json
import os
import random
from html import escape
from string import Template
from urllib.parse import parse_qsl, urlencode

from sandbox.errors import ApiError
from sandbox.routes import ANY_FAMILY, RawResponse, route
from sandbox.world import Section, register_section

CODE_TTL_MS = 10 * 60 * 1000
ACCESS_TTL_S = 3600
REFRESH_TTL_MS = 3 * 86_400_000
MAX_KEYS_PER_ACCOUNT = 20
SCOPE = "OAUTH_CREATE_API"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/accounts/fast-api/callback"

# Fast API permission groups -> the core's key permissions.
AUTH_GROUPS = {"API_COMMON": "General", "API_SPOT": "Spot", "API_FUTURES": "Futures", "API_MARGIN": "Margin",
               "API_EARN": "Earn", "API_TRANSFER": "Transfer"}
FORBIDDEN_GROUPS = ("API_WITHDRAW", "API_WITHDRAW_OAUTH")
# The documented default: spot, futures and Earn (with the general read right), never withdrawal.
DEFAULT_AUTH_GROUP = ("API_COMMON", "API_FUTURES", "API_SPOT", "API_EARN")

TEMPLATES = os.path.join(os.path.dirname(__file__), "templates_oauth")

# Made-up KuCoin customers (not sub-accounts) who can log in: (username, password, balances).
DEMO_CUSTOMERS = (
    ("alice@example.com", "sandbox-alice-pass", (("TRADE", "USDT", "5000"), ("TRADE", "BTC", "0.2"),
                                                  ("CONTRACT", "USDT", "3000"), ("MAIN", "USDT", "1000"))),
    ("bob@example.com", "sandbox-bob-pass", (("TRADE", "USDT", "800"), ("CONTRACT", "USDT", "500"))),
)


def _template(name: str) -> Template:
    with open(os.path.join(TEMPLATES, name), encoding="utf-8") as f:
        return Template(f.read())


def _fast_envelope(success: bool, code: str, msg: str, data=None) -> dict:
    return {"success": success, "code": code, "msg": msg, "retry": False, "data": data}


def _json(status: int, payload: dict) -> RawResponse:
    return RawResponse(status, {"Content-Type": "application/json", "Cache-Control": "no-store"},
                       json.dumps(payload, separators=(",", ":")))


def _fast_error(status: int, code: str, msg: str) -> RawResponse:
    return _json(status, _fast_envelope(False, code, msg))


@register_section
class OAuthSection(Section):
    name = "oauth"

    def __init__(self, world):
        super().__init__(world)
        self.clients: dict[str, dict] = {}
        self.customers: dict[str, dict] = {}       # username -> {"password", "uid"}
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, dict] = {}
        self.refresh_tokens: dict[str, dict] = {}
        self.fast_keys: dict[str, dict] = {}       # apiKey -> {"uid", "clientId", "brokerUid", "apiName", ...}
        self.rng = world.section_rng("oauth-tokens")

    # -- seed / dump / load ------------------------------------------------------------------
    def seed(self, rng: random.Random) -> None:
        accounts = self.world.accounts
        client_id = "sandbox-client-%016x" % rng.getrandbits(64)
        self.clients[client_id] = {
            "clientId": client_id,
            "clientSecret": "sandbox-client-secret-%032x" % rng.getrandbits(128),
            "name": "Sandbox broker app",
            "brokerUid": accounts.broker_uid,
            "redirectUris": [DEFAULT_REDIRECT_URI],
        }
        for username, password, holdings in DEMO_CUSTOMERS:
            account = accounts.add_account(f"kucoin-user-{username.split('@')[0]}",
                                           created_at=self.world.anchor_ms - 700 * 86_400_000)
            for account_type, currency, amount in holdings:
                self.world.balances.credit(account.uid, account_type, currency, amount)
            self.customers[username] = {"password": password, "uid": account.uid}

    def to_json(self) -> dict:
        return {"clients": self.clients, "customers": self.customers, "codes": self.codes,
                "accessTokens": self.access_tokens, "refreshTokens": self.refresh_tokens,
                "fastKeys": self.fast_keys}

    def load(self, data: dict) -> None:
        self.clients = data.get("clients", {})
        self.customers = data.get("customers", {})
        self.codes = data.get("codes", {})
        self.access_tokens = data.get("accessTokens", {})
        self.refresh_tokens = data.get("refreshTokens", {})
        self.fast_keys = data.get("fastKeys", {})
        self.rng.seed(f"{self.world.seed_value}:oauth-tokens:{len(self.codes)}:{len(self.refresh_tokens)}")

    def client_info(self) -> dict:
        """What GET /_sandbox/info shows under "oauth" (and the test fixture's `.oauth`)."""
        client = next(iter(self.clients.values()))
        return {"client_id": client["clientId"], "client_secret": client["clientSecret"],
                "redirect_uri": client["redirectUris"][0], "redirect_uris": list(client["redirectUris"]),
                "customers": [{"username": u, "password": c["password"], "uid": c["uid"]}
                              for u, c in self.customers.items()]}

    # -- tokens ------------------------------------------------------------------------------
    def _token(self, prefix: str) -> str:
        return prefix + "%048x" % self.rng.getrandbits(192)

    def issue_code(self, client_id: str, redirect_uri: str, uid: str, now_ms: int) -> str:
        code = self._token("sbxcode")
        self.codes[code] = {"clientId": client_id, "redirectUri": redirect_uri, "uid": uid,
                            "expiresAt": now_ms + CODE_TTL_MS, "used": False}
        return code

    def issue_tokens(self, client_id: str, uid: str, now_ms: int) -> dict:
        access, refresh = self._token("sbxat"), self._token("sbxrt")
        self.access_tokens[access] = {"clientId": client_id, "uid": uid, "expiresAt": now_ms + ACCESS_TTL_S * 1000,
                                      "revoked": False}
        self.refresh_tokens[refresh] = {"clientId": client_id, "uid": uid, "expiresAt": now_ms + REFRESH_TTL_MS,
                                        "revoked": False, "accessToken": access}
        return {"access_token": access, "token_type": "bearer", "expires_in": ACCESS_TTL_S,
                "refresh_token": refresh, "scope": [SCOPE]}

    def access_owner(self, token: str | None, now_ms: int) -> dict | None:
        info = self.access_tokens.get(token or "")
        if info is None or info["revoked"] or now_ms >= info["expiresAt"]:
            return None
        return info


def _oauth(world) -> OAuthSection:
    return world.section("oauth")


def _params(req) -> dict[str, str]:
    """Query, then a JSON or form body: the Fast API docs disagree on the encoding (10.1)."""
    out = dict(req.args)
    if isinstance(req.body, dict):
        out.update({k: str(v) for k, v in req.body.items() if v is not None and not isinstance(v, (dict, list))})
    elif req.raw_body and req.body is None:
        try:
            out.update(dict(parse_qsl(req.raw_body.decode("utf-8"), keep_blank_values=True)))
        except UnicodeDecodeError:
            pass
    return out


def _html(status: int, body: str) -> RawResponse:
    return RawResponse(status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                                "X-Frame-Options": "DENY"}, body)


def _error_page(message: str) -> RawResponse:
    return _html(400, _template("error.html").substitute(message=escape(message)))


def _redirect(uri: str, params: dict[str, str]) -> RawResponse:
    # the registered URI is used as registered (the docs warn against encoding it); only our
    # parameters are encoded
    sep = "&" if "?" in uri else "?"
    return RawResponse(302, {"Location": uri + sep + urlencode(params), "Cache-Control": "no-store"}, b"")


def _check_client(section: OAuthSection, p: dict) -> tuple[dict | None, RawResponse | None]:
    client = section.clients.get(p.get("client_id", ""))
    if client is None:
        return None, _error_page("Unknown client_id: this application is not registered for Fast API.")
    if p.get("redirect_uri", "") not in client["redirectUris"]:
        return None, _error_page("The redirect_uri is not one this application registered.")
    return client, None


def _login_page(section: OAuthSection, client: dict, p: dict, error: str = "", status: int = 200) -> RawResponse:
    hint = "; ".join(f"{escape(u)} / {escape(c['password'])}" for u, c in section.customers.items())
    page = _template("login.html").substitute(
        client_name=escape(client["name"]), scope=escape(p.get("scope", SCOPE)),
        response_type=escape(p.get("response_type", "code")), client_id=escape(client["clientId"]),
        redirect_uri=escape(p.get("redirect_uri", "")), state=escape(p.get("state", "")),
        username=escape(p.get("username", "")), hint=hint,
        error_block=f'<p class="error" role="alert">{escape(error)}</p>' if error else "")
    return _html(status, page)


def _bad_request_params(p: dict) -> str | None:
    if p.get("response_type") != "code":
        return "unsupported_response_type"
    if SCOPE not in p.get("scope", "").replace(",", " ").split():
        return "invalid_scope"
    return None


@route("oauth", "GET", "/oauth", auth="none", validate=False)
def login_form(req, world):
    section = _oauth(world)
    p = dict(req.args)
    client, refused = _check_client(section, p)
    if refused:
        return refused
    problem = _bad_request_params(p)
    if problem:
        # the redirect URI is trusted now, so the error goes back to the app, OAuth 2 style
        return _redirect(p["redirect_uri"], {"error": problem, **({"state": p["state"]} if p.get("state") else {})})
    return _login_page(section, client, p)


@route("oauth", "POST", "/oauth", auth="none", validate=False)
def login_submit(req, world):
    section = _oauth(world)
    p = _params(req)
    client, refused = _check_client(section, p)
    if refused:
        return refused
    problem = _bad_request_params(p)
    state = {"state": p["state"]} if p.get("state") else {}
    if problem:
        return _redirect(p["redirect_uri"], {"error": problem, **state})
    if p.get("decision") == "deny":
        return _redirect(p["redirect_uri"], {"error": "access_denied", **state})
    customer = section.customers.get(p.get("username", "").strip().lower())
    if customer is None or customer["password"] != p.get("password", ""):
        return _login_page(section, client, p, "Wrong email or password.", status=401)
    code = section.issue_code(client["clientId"], p["redirect_uri"], customer["uid"], req.now_ms)
    return _redirect(p["redirect_uri"], {"code": code, **state})


def _authenticate_client(section: OAuthSection, p: dict) -> tuple[dict | None, RawResponse | None]:
    client = section.clients.get(p.get("client_id", ""))
    if client is None:
        return None, _fast_error(401, "40002", "invalid_client: unknown client_id")
    if "client_secret" in p and p["client_secret"] != client["clientSecret"]:
        return None, _fast_error(401, "40002", "invalid_client: wrong client_secret")
    return client, None


@route("oauth", "GET", "/_oauth/access-token", auth="none", validate=False)
@route("oauth", "POST", "/_oauth/access-token", auth="none", validate=False)
def access_token(req, world):
    section = _oauth(world)
    p = _params(req)
    if p.get("grant_type") != "authorization_code":
        return _fast_error(400, "40001", "invalid_request: grant_type must be authorization_code")
    for name in ("code", "redirect_uri", "client_id"):
        if not p.get(name):
            return _fast_error(400, "40001", f"invalid_request: {name} is required")
    client, refused = _authenticate_client(section, p)
    if refused:
        return refused
    grant = section.codes.get(p["code"])
    if grant is None or grant["clientId"] != client["clientId"]:
        return _fast_error(400, "40003", "invalid_grant: unknown authorization code")
    if grant["used"]:
        return _fast_error(400, "40003", "invalid_grant: authorization code already used")
    if req.now_ms >= grant["expiresAt"]:
        return _fast_error(400, "40003", "invalid_grant: authorization code expired")
    if grant["redirectUri"] != p["redirect_uri"]:
        return _fast_error(400, "40003", "invalid_grant: redirect_uri does not match the authorization request")
    grant["used"] = True
    return _json(200, section.issue_tokens(client["clientId"], grant["uid"], req.now_ms))


@route("oauth", "POST", "/_oauth/refresh-token", auth="none", validate=False)
def refresh_token(req, world):
    section = _oauth(world)
    p = _params(req)
    # the doc's table gives grant_type=authorization_code here; the standard value is accepted too
    if p.get("grant_type") not in ("refresh_token", "authorization_code"):
        return _fast_error(400, "40001", "invalid_request: grant_type must be refresh_token")
    if not p.get("refresh_token"):
        return _fast_error(400, "40001", "invalid_request: refresh_token is required")
    info = section.refresh_tokens.get(p["refresh_token"])
    if info is None or info["revoked"]:
        return _fast_error(400, "40003", "invalid_grant: unknown or revoked refresh token")
    if req.now_ms >= info["expiresAt"]:
        return _fast_error(400, "40003", "invalid_grant: refresh token expired")
    if p.get("client_id"):
        client, refused = _authenticate_client(section, p)
        if refused:
            return refused
        if client["clientId"] != info["clientId"]:
            return _fast_error(400, "40003", "invalid_grant: refresh token issued to another client")
    # rotation: the old pair stops working
    info["revoked"] = True
    old_access = section.access_tokens.get(info["accessToken"])
    if old_access is not None:
        old_access["revoked"] = True
    return _json(200, section.issue_tokens(info["clientId"], info["uid"], req.now_ms))


def _create_key(req, world, auth_groups: tuple[str, ...], api_name: str | None) -> RawResponse:
    section = _oauth(world)
    owner = section.access_owner(req.bearer_token, req.now_ms)
    if owner is None:
        return _fast_error(401, "40101", "invalid_token: the access token is missing, expired or revoked")
    accounts = world.accounts
    uid = owner["uid"]
    client = section.clients[owner["clientId"]]
    existing = accounts.keys_of(uid)
    if api_name is None:
        api_name = f"FastAPI-{len(existing) + 1:02d}"
        while any(k.label == api_name for k in existing):
            api_name += "x"
    if any(k.label == api_name for k in existing):
        return _fast_error(200, "40901", f"apiName {api_name} already exists on this account")
    if len(existing) >= MAX_KEYS_PER_ACCOUNT:
        return _fast_error(200, "40902", f"The number of API keys has reached the maximum ({MAX_KEYS_PER_ACCOUNT})")
    passphrase = "sandbox-fast-%016x" % section.rng.getrandbits(64)
    permissions = [AUTH_GROUPS[g] for g in auth_groups]
    key = accounts.add_key(uid, passphrase=passphrase, permissions=permissions, ip_whitelist=[], label=api_name,
                           rng=section.rng, created_at=req.now_ms)
    broker = accounts.accounts[client["brokerUid"]]
    partners = accounts.partners_of(broker.uid)
    broker_id = partners["spot"].broker_name if "spot" in partners else broker.name
    section.fast_keys[key.api_key] = {"uid": uid, "clientId": client["clientId"], "brokerUid": broker.uid,
                                      "brokerId": broker_id, "apiName": api_name, "createdAt": req.now_ms,
                                      "authGroup": ",".join(auth_groups)}
    return _json(200, _fast_envelope(True, "200", "success", {
        "apiName": api_name, "apiKey": key.api_key, "secret": key.secret, "passphrase": passphrase,
        "brokerId": broker_id, "authGroup": ",".join(auth_groups), "ipWhiteList": ""}))


@route("oauth", "POST", "/_oauth/resource/ucenter/outer/api-key/add", auth="bearer", validate=False)
def create_api_key(req, world):
    """The documented call takes no parameters; an optional `apiName` (JSON, form or query) is honoured
    so that the duplicate-name refusal can be exercised."""
    p = _params(req)
    return _create_key(req, world, DEFAULT_AUTH_GROUP, p.get("apiName") or None)


@route("oauth", "POST", "/_oauth/resource/cyber-truck-vault/v2/outer/api-key/add", auth="bearer", validate=False)
def create_api_key_v2(req, world):
    """FastAPI 2.0 path (kucoin-api.md 10.2, unverified): JSON {"authGroupMap": {group: bool}, ...}."""
    body = req.body if isinstance(req.body, dict) else {}
    group_map = body.get("authGroupMap")
    if group_map is None:
        groups = DEFAULT_AUTH_GROUP
    elif not isinstance(group_map, dict):
        return _fast_error(400, "40001", "invalid_request: authGroupMap must be an object")
    else:
        asked = [g for g, on in group_map.items() if on is True]
        if any(g in FORBIDDEN_GROUPS for g in asked):
            return _fast_error(200, "40903", "Withdrawal permission cannot be granted through Fast API")
        unknown = [g for g in asked if g not in AUTH_GROUPS]
        if unknown:
            return _fast_error(400, "40001", f"invalid_request: unknown permission group {unknown[0]}")
        groups = tuple(g for g in AUTH_GROUPS if g in asked)
        if "API_COMMON" not in groups:
            groups = ("API_COMMON",) + groups
    api_name = body.get("apiName") if isinstance(body.get("apiName"), str) else None
    return _create_key(req, world, groups, api_name)


# -- control -------------------------------------------------------------------------------

@route(ANY_FAMILY, "POST", "/_sandbox/oauth/redirect-uris", auth="none", validate=False)
def add_redirect_uri(req, world):
    """Register one more redirect URI for a client (default: the seeded one), e.g. the back-office's
    callback on whatever port it runs: {"redirect_uri": "...", "client_id"?: "..."}."""
    body = req.body if isinstance(req.body, dict) else {}
    uri = body.get("redirect_uri")
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        raise ApiError("400100", "redirect_uri must be an http(s) URL")
    section = _oauth(world)
    client_id = body.get("client_id") or next(iter(section.clients))
    client = section.clients.get(client_id)
    if client is None:
        raise ApiError("400100", f"unknown client_id {client_id}")
    if uri not in client["redirectUris"]:
        client["redirectUris"].append(uri)
    return {"client_id": client_id, "redirect_uris": list(client["redirectUris"])}
