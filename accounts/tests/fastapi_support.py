"""What the Fast API tests share: the broker's settings for the sandbox's OAuth app, a customer's login at the
sandbox's consent page (without a browser), and raw reads of the encrypted columns."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import requests
from django.db import connection as db
from django.db.models import F

from accounts.models import FastApiConnection, FastApiSettings

CALLBACK_PATH = "/connect/kucoin/callback/"


def configure(sandbox, base_url: str) -> FastApiSettings:
    """The broker's Fast API settings as a broker-admin would enter them, with `base_url`'s callback
    registered at the sandbox as the redirect URL."""
    redirect_url = base_url.rstrip("/") + CALLBACK_PATH
    sandbox.call("POST", "/oauth/redirect-uris", {"redirect_uri": redirect_url})
    row, _ = FastApiSettings.objects.update_or_create(pk=1, defaults={
        "client_id": sandbox.oauth["client_id"], "client_secret": sandbox.oauth["client_secret"],
        "redirect_url": redirect_url})
    return row


def customer(sandbox, username: str = "alice@example.com") -> dict:
    return next(c for c in sandbox.oauth["customers"] if c["username"] == username)


def log_in_at_kucoin(authorize_url: str, username: str, password: str, decision: str = "authorize") -> str:
    """What the customer does on KuCoin's login page; returns where KuCoin redirects them (the callback)."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    parts = urlsplit(authorize_url)
    form = dict(parse_qsl(parts.query))
    form.update({"username": username, "password": password, "decision": decision})
    answer = requests.post(f"{parts.scheme}://{parts.netloc}/oauth", data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def local(url: str) -> str:
    """The path and query of a URL, for Django's test client."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def raw_columns(pk: int) -> dict:
    """The stored bytes of the secret columns (ciphertext or empty)."""
    names = ["code", "access_token", "refresh_token", "api_secret", "api_passphrase", "state_digest", "code_digest"]
    with db.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(names)} FROM accounts_fastapiconnection WHERE id = %s", [pk])
        return dict(zip(names, cursor.fetchone()))


def shift_clock(pk: int, delta: timedelta, *, refresh_too: bool = True) -> None:
    """As if `delta` had passed here too (the sandbox's clock was advanced by as much)."""
    changes = {"access_expires_at": F("access_expires_at") - delta}
    if refresh_too:
        changes["refresh_expires_at"] = F("refresh_expires_at") - delta
    FastApiConnection.objects.filter(pk=pk).update(**changes)
