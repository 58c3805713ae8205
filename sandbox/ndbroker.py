"""ND broker endpoints on the broker host: info, sub-accounts and their API keys
(kucoin-api.md 3.1-3.7). Transfers, deposits and withdrawals are in funding.py, KYC in kyc.py,
the rebate download in rebates.py.

Every call must be made with a broker's own key; a sub-account's key gets 400007.
"""
from __future__ import annotations

import ipaddress
import math
import re
from datetime import date, datetime

from .accounts import SHOWN_PERMISSIONS, canonical_permission
from .errors import ApiError, param_error
from .routes import route

NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{4,32}$")    # [OPEN] KuCoin's rule; a broker prefix fits
MAX_WHITELIST = 20
MAX_KEYS_PER_SUB = 20                                  # [OPEN] not documented


def require_broker(req):
    if not req.account.is_broker:
        raise ApiError("400007")
    return req.account


def own_sub(req, world, uid) -> "object":
    """The sub-account ``uid`` if this broker created it, else 400100 naming uid."""
    acc = world.accounts.accounts.get(str(uid))
    if acc is None or acc.broker_uid != req.account.uid:
        raise param_error("uid is invalid: no such sub-account of this broker")
    return acc


def parse_day(text: str, field: str) -> date:
    try:
        if not re.fullmatch(r"\d{8}", text):
            raise ValueError
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise param_error(f"{field} must be a date yyyyMMdd") from None


def check_span(begin: date, end: date) -> None:
    """begin <= end, at most 6 months apart (kucoin-api.md 3.1 and 3.13)."""
    if end < begin:
        raise param_error("end must not be before begin")
    months = (end.year - begin.year) * 12 + (end.month - begin.month)
    if months > 6 or (months == 6 and end.day > begin.day):
        raise param_error("the span between begin and end must not exceed 6 months")


def mask_ip(ip: str) -> str:
    """'192.0.2.10' -> '192.**.10' as GET .../apikey shows whitelists (kucoin-api.md 3.5)."""
    sep = ":" if ":" in ip else "."
    parts = ip.split(sep)
    if len(parts) < 2:
        return "**"
    return f"{parts[0]}{sep}**{sep}{parts[-1]}"


def key_view(key, *, masked: bool) -> dict:
    return {
        "uid": key.uid,
        "label": key.label,
        "apiKey": key.api_key,
        "apiVersion": key.version,
        "permissions": [p for p in SHOWN_PERMISSIONS if p in key.permissions],
        "ipWhitelist": [mask_ip(ip) for ip in key.ip_whitelist] if masked else list(key.ip_whitelist),
        "createdAt": key.created_at,
    }


def parse_permissions(values) -> list[str]:
    out = ["General"]                         # every KuCoin key can read: General is always granted
    for v in values:
        canon = canonical_permission(v)
        if canon is None:
            raise param_error(f"permissions contains an unknown permission: {v}")
        if canon not in out:
            out.append(canon)
    return out


def parse_whitelist(values) -> list[str]:
    if len(values) > MAX_WHITELIST:
        raise param_error(f"ipWhitelist supports up to {MAX_WHITELIST} IPs")
    out = []
    for v in values:
        try:
            ip = str(ipaddress.ip_address(v.strip()))
        except ValueError:
            raise param_error(f"ipWhitelist contains an invalid IP: {v}") from None
        if ip not in out:
            out.append(ip)
    return out


def check_label(label: str) -> str:
    if not 4 <= len(label) <= 32:
        raise param_error("label length must be 4 to 32 characters")
    return label


def check_passphrase(p: str) -> str:
    # [OPEN] for ND keys; KuCoin's ordinary sub-account API asks for 7-32 characters without spaces
    if not 7 <= len(p) <= 32 or any(c.isspace() for c in p):
        raise param_error("passphrase must be 7 to 32 characters without spaces")
    return p


# -- 3.1 broker info ----------------------------------------------------------------------------
@route("broker", "GET", "/api/v1/broker/nd/info", permission="General")
def broker_info(req, world):
    broker = require_broker(req)
    check_span(parse_day(req.args["begin"], "begin"), parse_day(req.args["end"], "end"))
    return {"accountSize": len(world.accounts.sub_accounts(broker.uid)), "maxAccountSize": None,
            "level": broker.level}


# -- 3.2 / 3.3 sub-accounts ---------------------------------------------------------------------
def sub_view(acc, *, whole_seconds: bool) -> dict:
    created = acc.created_at - acc.created_at % 1000 if whole_seconds else acc.created_at
    return {"accountName": acc.name, "uid": acc.uid, "createdAt": created, "level": acc.level}


@route("broker", "POST", "/api/v1/broker/nd/account", permission="General")
def add_sub_account(req, world):
    broker = require_broker(req)
    name = req.body["accountName"]
    if not NAME_RE.match(name):
        raise param_error("accountName must be 4 to 32 letters, digits, '_', '-' or '.'")
    if world.accounts.name_taken(name):
        raise param_error("accountName already exists")
    acc = world.accounts.add_account(name, broker_uid=broker.uid, created_at=req.now_ms)
    return sub_view(acc, whole_seconds=False)


@route("broker", "GET", "/api/v1/broker/nd/account", permission="General")
def get_sub_accounts(req, world):
    broker = require_broker(req)
    page = int(req.args.get("currentPage", 1))
    size = int(req.args.get("pageSize", 20))
    if page < 1:
        raise param_error("currentPage must be at least 1")
    subs = sorted(world.accounts.sub_accounts(broker.uid), key=lambda a: (a.created_at, int(a.uid)))
    uid = req.args.get("uid")
    if uid:
        subs = [a for a in subs if a.uid == uid]
    total = len(subs)
    items = subs[(page - 1) * size: page * size]
    return {"currentPage": page, "pageSize": size, "totalNum": total,
            "totalPage": math.ceil(total / size) if total else 0,
            "items": [sub_view(a, whole_seconds=True) for a in items]}


# -- 3.4 - 3.7 API keys -------------------------------------------------------------------------
@route("broker", "POST", "/api/v1/broker/nd/account/apikey", permission="General", lenient=("permissions",))
def add_api_key(req, world):
    require_broker(req)
    b = req.body
    sub = own_sub(req, world, b["uid"])
    if len(world.accounts.keys_of(sub.uid)) >= MAX_KEYS_PER_SUB:
        raise param_error(f"a sub-account can hold at most {MAX_KEYS_PER_SUB} API keys")
    key = world.accounts.add_key(sub.uid, passphrase=check_passphrase(b["passphrase"]),
                                 permissions=parse_permissions(b["permissions"]),
                                 ip_whitelist=parse_whitelist(b["ipWhitelist"]),
                                 label=check_label(b["label"]), created_at=req.now_ms)
    out = key_view(key, masked=False)
    # the secret is shown here only, once; the order follows KuCoin's example
    return {"uid": out["uid"], "label": out["label"], "apiKey": out["apiKey"], "secretKey": key.secret,
            "apiVersion": out["apiVersion"], "permissions": out["permissions"],
            "ipWhitelist": out["ipWhitelist"], "createdAt": out["createdAt"]}


def own_key(req, world, uid, api_key):
    sub = own_sub(req, world, uid)
    key = world.accounts.keys.get(api_key)
    if key is None or key.uid != sub.uid:
        raise param_error("apiKey is invalid: no such API key of this sub-account")
    return key


@route("broker", "GET", "/api/v1/broker/nd/account/apikey", permission="General")
def get_api_keys(req, world):
    require_broker(req)
    sub = own_sub(req, world, req.args["uid"])
    keys = sorted(world.accounts.keys_of(sub.uid), key=lambda k: (k.created_at, k.api_key))
    if req.args.get("apiKey"):
        keys = [k for k in keys if k.api_key == req.args["apiKey"]]
    return [key_view(k, masked=True) for k in keys]


@route("broker", "POST", "/api/v1/broker/nd/account/update-apikey", permission="General",
       lenient=("permissions",))
def modify_api_key(req, world):
    require_broker(req)
    b = req.body
    key = own_key(req, world, b["uid"], b["apiKey"])
    # all fields are required: a full replacement, checked before anything changes
    perms = parse_permissions(b["permissions"])
    ips = parse_whitelist(b["ipWhitelist"])
    label = check_label(b["label"])
    key.permissions, key.ip_whitelist, key.label = perms, ips, label
    return key_view(key, masked=True)


@route("broker", "DELETE", "/api/v1/broker/nd/account/apikey", permission="General")
def delete_api_key(req, world):
    require_broker(req)
    key = own_key(req, world, req.args["uid"], req.args["apiKey"])
    del world.accounts.keys[key.api_key]
    return True
