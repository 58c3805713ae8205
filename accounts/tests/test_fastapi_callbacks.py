"""The customer's start URL and KuCoin's callback: what is accepted, what is refused (with a clear page and a
logged reason, nothing stored), against the sandbox's real login page. No worker: nothing here calls KuCoin
from the back-office (the queued task is not run)."""
import logging
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from django.test import Client
from django.utils import timezone

from accounts.models import FastApiConnection
from accounts.services.fastapi import _digest
from accounts.tests.fastapi_support import configure, customer, local, log_in_at_kucoin, raw_columns
from brokeroffice.models import Job

BASE = "http://testserver"


@pytest.fixture(autouse=True)
def no_start_budget_used(settings):
    """A cache of this test's own: the start URL's per-address budget is not shared with other runs."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"fastapi-test-{uuid.uuid4()}"}}


@pytest.fixture
def configured(db, sandbox, sandbox_settings):
    return configure(sandbox, BASE)


def start(client, ref="cust-0042", **extra):
    return client.get("/connect/kucoin/", {"customer": ref, **extra})


def authorize(client, sandbox, ref="cust-0042", decision="authorize", username="alice@example.com"):
    """Start, log in at the sandbox; returns KuCoin's redirect back to us (path and query)."""
    response = start(client, ref)
    assert response.status_code == 302
    who = customer(sandbox, username)
    return local(log_in_at_kucoin(response["Location"], who["username"], who["password"], decision))


def assert_nothing_stored(connection=None):
    assert not Job.objects.filter(kind="fastapi_connect").exists()
    for row in FastApiConnection.objects.all():
        assert row.code == "" and row.code_digest is None and row.access_token == "" and row.refresh_token == ""
        assert row.api_key is None


def test_start_sends_the_customer_to_kucoin_with_the_registered_redirect_url_as_it_is(client, configured, sandbox):
    response = start(client)
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(sandbox.urls["oauth"] + "/oauth?")
    # KuCoin asks for the redirect URL not encoded.
    assert f"&redirect_uri={BASE}/connect/kucoin/callback/&" in location
    params = dict(parse_qsl(urlsplit(location).query))
    assert params["client_id"] == sandbox.oauth["client_id"] and params["scope"] == "OAUTH_CREATE_API"
    assert "client_secret" not in location and sandbox.oauth["client_secret"] not in location
    connection = FastApiConnection.objects.get()
    assert connection.state == "pending" and connection.customer_ref == "cust-0042"
    # The state is random and only its digest is kept.
    assert len(params["state"]) >= 40 and params["state"] != "cust-0042"
    assert raw_columns(connection.pk)["state_digest"] == _digest(params["state"])
    assert connection.state_expires_at - timezone.now() <= timedelta(minutes=10)
    # The sandbox's page is KuCoin's login and consent form.
    assert "Log in with KuCoin" in requests.get(location, timeout=10).text


def test_starting_again_reuses_the_pending_connection_and_retires_its_old_state(client, configured, sandbox):
    first = dict(parse_qsl(urlsplit(start(client)["Location"]).query))["state"]
    second = dict(parse_qsl(urlsplit(start(client)["Location"]).query))["state"]
    assert first != second
    assert FastApiConnection.objects.count() == 1
    response = client.get("/connect/kucoin/callback/", {"state": first, "code": "made-up-code"})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()


@pytest.mark.parametrize("ref", ["", "a" * 65, "<script>", "two words", "../etc"])
def test_a_malformed_customer_reference_is_refused(client, configured, ref):
    response = start(client, ref)
    assert response.status_code == 400
    assert "missing who you are" in response.content.decode()
    assert not FastApiConnection.objects.exists()


def test_the_start_url_refuses_to_send_kucoin_anywhere_but_the_registered_url(client, configured, caplog):
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        response = start(client, redirect_uri="https://evil.example.com/steal")
    assert response.status_code == 400
    assert "somewhere we do not know" in response.content.decode()
    assert not FastApiConnection.objects.exists()
    assert "other than the registered one" in caplog.text


def test_the_start_url_says_so_when_fast_api_is_not_set_up(client, db):
    response = start(client)
    assert response.status_code == 503
    assert "not available" in response.content.decode()
    assert not FastApiConnection.objects.exists()


def test_the_public_start_url_is_rate_limited_per_address(client, configured):
    statuses = [start(client, f"cust-{i}").status_code for i in range(22)]
    assert statuses[:20] == [302] * 20 and statuses[20:] == [429, 429]
    assert FastApiConnection.objects.count() == 20


def test_a_good_callback_keeps_the_code_encrypted_and_queues_the_exchange(client, configured, sandbox, caplog):
    callback = authorize(client, sandbox)
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    with caplog.at_level(logging.DEBUG):
        response = client.get(callback)
    connection = FastApiConnection.objects.get()
    # Away from the URL with the code, to a status page named by a public id.
    assert response.status_code == 302
    assert response["Location"] == f"/connect/kucoin/status/{connection.public_id}/"
    assert code not in response["Location"]
    assert connection.code == code and code not in raw_columns(connection.pk)["code"]
    assert connection.state_used_at is not None and connection.access_token == ""
    job = Job.objects.get(kind="fastapi_connect")
    assert job.requested_by_label == "customer cust-0042"
    status = client.get(response["Location"])
    assert status.status_code == 200 and status["Refresh"] == "3"
    assert "Connecting your KuCoin account" in status.content.decode()
    assert code not in status.content.decode() and code not in caplog.text
    # No KuCoin call was made by the request.
    assert sandbox.dump()["oauth"]["codes"][code]["used"] is False


def assert_refused(response, caplog, text, *, secrets=()):
    assert response.status_code == 400
    page = response.content.decode()
    assert text in page
    assert "Fast API callback refused" in caplog.text
    for secret in secrets:
        assert secret not in page and secret not in caplog.text


def test_a_callback_without_state_is_refused(client, configured, sandbox, caplog):
    callback = authorize(client, sandbox)
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        response = client.get("/connect/kucoin/callback/", {"code": code})
    assert_refused(response, caplog, "The answer from KuCoin is incomplete", secrets=[code])
    assert "no state parameter" in caplog.text
    assert_nothing_stored()


def test_a_tampered_state_is_refused(client, configured, sandbox, caplog):
    callback = authorize(client, sandbox)
    params = dict(parse_qsl(urlsplit(callback).query))
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        response = client.get("/connect/kucoin/callback/", {"code": params["code"], "state": params["state"][:-2] + "xx"})
    assert_refused(response, caplog, "We do not recognise this answer from KuCoin", secrets=[params["code"], params["state"]])
    assert "state unknown" in caplog.text
    assert_nothing_stored()


def test_a_reused_state_and_a_replayed_code_are_refused(client, configured, sandbox, caplog):
    callback = authorize(client, sandbox)
    params = dict(parse_qsl(urlsplit(callback).query))
    assert client.get(callback).status_code == 302
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        again = client.get(callback)
    assert_refused(again, caplog, "already was", secrets=[params["code"], params["state"]])
    assert "already used" in caplog.text
    # The same code with a fresh state of another login: refused before anything is kept.
    other = dict(parse_qsl(urlsplit(start(client, "cust-0099")["Location"]).query))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        replay = client.get("/connect/kucoin/callback/", {"code": params["code"], "state": other["state"]})
    assert_refused(replay, caplog, "This KuCoin login was already used", secrets=[params["code"], other["state"]])
    assert "authorization code already seen" in caplog.text
    replayed = FastApiConnection.objects.get(customer_ref="cust-0099")
    assert replayed.code == "" and replayed.code_digest is None and replayed.state_used_at is None
    assert Job.objects.filter(kind="fastapi_connect").count() == 1


def test_an_expired_state_is_refused(client, configured, sandbox, caplog):
    callback = authorize(client, sandbox)
    FastApiConnection.objects.update(state_expires_at=timezone.now() - timedelta(seconds=1))
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        response = client.get(callback)
    assert_refused(response, caplog, "this login has expired")
    assert "expired" in caplog.text
    assert_nothing_stored()
    assert "/connect/kucoin/?customer=cust-0042" in response.content.decode()


def test_a_customer_who_denies_access_at_kucoin_gets_a_plain_page(client, configured, sandbox, caplog):
    callback = authorize(client, sandbox, decision="deny")
    assert "error=access_denied" in callback
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        response = client.get(callback)
    assert_refused(response, caplog, "You chose not to give access at KuCoin")
    assert "KuCoin answered with error access_denied" in caplog.text
    assert_nothing_stored()
    connection = FastApiConnection.objects.get()
    assert connection.state == "failed" and connection.failure_kind == "denied"
    # The same answer again is refused as used.
    assert client.get(callback).status_code == 400


def test_a_callback_reached_at_another_address_than_the_registered_one_is_refused(client, configured, sandbox, caplog):
    callback = authorize(client, sandbox)
    params = dict(parse_qsl(urlsplit(callback).query))
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        response = client.get(callback, HTTP_HOST="localhost")
    assert_refused(response, caplog, "address the broker registered", secrets=[params["code"], params["state"]])
    assert "other than the registered redirect URL" in caplog.text
    assert_nothing_stored()
    assert FastApiConnection.objects.get().state_used_at is None  # the real callback can still arrive


def test_customer_pages_need_no_staff_login_and_staff_pages_do(client, configured, sandbox):
    assert start(client).status_code == 302
    assert client.get("/connect/kucoin/callback/").status_code == 400
    connection = FastApiConnection.objects.get()
    assert client.get(f"/connect/kucoin/status/{connection.public_id}/").status_code == 200
    for path in ("/fast-api/", f"/fast-api/{connection.pk}/", "/fast-api/settings/"):
        assert client.get(path).status_code == 302  # to the login page


def test_with_a_link_signing_secret_only_links_signed_by_the_broker_start_a_connection(client, configured):
    from accounts.services.fastapi import link_signature

    configured.link_secret = "made-up-link-secret"
    configured.save()
    assert start(client).status_code == 403
    assert start(client, sig="0" * 64).status_code == 403
    assert start(client, sig=link_signature("made-up-link-secret", "cust-0099")).status_code == 403  # another's
    assert not FastApiConnection.objects.exists()
    assert start(client, sig=link_signature("made-up-link-secret", "cust-0042")).status_code == 302
    assert FastApiConnection.objects.get().customer_ref == "cust-0042"


def test_a_kucoin_login_forwarded_to_another_browser_is_refused(client, configured, sandbox, caplog):
    """RFC 6749 10.12: someone starts a login with their own link and sends KuCoin's login URL to a victim, who
    logs in: the victim's account must not be connected under the sender's customer reference."""
    attacker_login = start(client, "cust-attacker")["Location"]
    victim = Client()
    assert victim.get("/connect/kucoin/", {"customer": "cust-victim"}).status_code == 302  # a login cookie of its own
    alice = customer(sandbox)
    callback = local(log_in_at_kucoin(attacker_login, alice["username"], alice["password"]))
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    for browser in (victim, Client()):  # with another login's cookie, and with none
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
            response = browser.get(callback)
        assert_refused(response, caplog, "This KuCoin login was started in another browser; start again from your link.",
                       secrets=[code])
        assert "did not start the login" in caplog.text
        page = response.content.decode()
        assert "cust-attacker" not in page and "/connect/kucoin/?" not in page  # no link to the sender's login
    assert_nothing_stored()
    attacker_row = FastApiConnection.objects.get(customer_ref="cust-attacker")
    assert attacker_row.state == "pending" and attacker_row.state_used_at is None
    assert sandbox.dump()["oauth"]["codes"][code]["used"] is False
    # The browser that started it can still finish it.
    assert client.get(callback).status_code == 302
    assert Job.objects.filter(kind="fastapi_connect").count() == 1


def test_the_login_cookie_is_http_only_lax_short_lived_and_secure_over_https(client, configured):
    response = start(client)
    cookie = response.cookies["kucoin_login"]
    state = dict(parse_qsl(urlsplit(response["Location"]).query))["state"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert cookie["path"] == "/connect/kucoin/" and cookie["max-age"] == 600
    assert cookie.value not in response["Location"] and _digest(cookie.value) in state  # only its digest travels
    # The same browser keeps its value, so two logins started in it can both finish.
    assert start(client, "cust-0099").cookies["kucoin_login"].value == cookie.value
    assert client.get("/connect/kucoin/", {"customer": "cust-0100"}, secure=True).cookies["kucoin_login"]["secure"]


def _connected_without_key(**fields) -> FastApiConnection:
    """A connection whose tokens are held and whose key was asked for under broker-1-abc123, no answer yet."""
    now = timezone.now()
    return FastApiConnection.objects.create(**{
        "customer_ref": "cust-0042", "state": "connected", "api_name": "broker-1-abc123", "sent_at": now,
        "access_token": "made-up-access-token", "access_expires_at": now + timedelta(minutes=40),
        "refresh_token": "made-up-refresh-token", "refresh_expires_at": now + timedelta(days=2),
        "code_received_at": now, "connected_at": now, **fields})


def test_while_the_key_is_being_created_the_start_url_asks_the_customer_to_wait(client, configured, caplog):
    row = _connected_without_key()
    with caplog.at_level(logging.WARNING, logger="accounts.fastapi"):
        response = start(client)
    page = response.content.decode()
    assert response.status_code == 200 and "is being connected" in page and "already connected" not in page
    assert "start_in_progress" in caplog.text
    row.refresh_from_db()
    assert row.state_digest is None and row.sent_at is not None  # nothing changed


@pytest.mark.parametrize("fields", [
    {"updated_at": "an hour ago"},  # the task gave up long ago: the status page says "stalled"
    {"failure_kind": "token_expired"},  # refused after a lost answer: the page says "connect again"
], ids=["stalled", "ended-with-a-failure"])
def test_a_customer_left_without_a_key_logs_in_again_on_the_same_connection(client, configured, sandbox, fields):
    row = _connected_without_key(failure_kind=fields.get("failure_kind", ""))
    if "updated_at" in fields:
        FastApiConnection.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    page = client.get(f"/connect/kucoin/status/{row.public_id}/").content.decode()
    assert "Connect KuCoin again" in page and "/connect/kucoin/?customer=cust-0042" in page

    response = start(client)
    assert response.status_code == 302 and response["Location"].startswith(sandbox.urls["oauth"] + "/oauth?")
    state = dict(parse_qsl(urlsplit(response["Location"]).query))["state"]
    assert FastApiConnection.objects.count() == 1
    row_after = FastApiConnection.objects.get()
    # The same row: its apiName and the record of the earlier call stay, so the next key asked for is no second one.
    assert (row_after.pk, row_after.api_name, row_after.sent_at) == (row.pk, "broker-1-abc123", row.sent_at)
    assert row_after.state_digest == _digest(state) and row_after.failure_kind == ""
    assert row_after.access_token == "made-up-access-token"
