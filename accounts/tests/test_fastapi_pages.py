"""The staff side of Fast API: who sees what, the settings form, disconnect, the admin, the refresh schedule.
Made-up rows (as the tasks would leave them); no secret ever reaches a page."""
import importlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import FastApiConnection, FastApiSettings
from accounts.tests.fastapi_support import raw_columns
from accounts.tests.test_pages_support import html, login
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db

SECRETS = {"access_token": "made-up-access-token-never-in-a-page", "refresh_token": "made-up-refresh-token-never-shown",
           "api_secret": "made-up-api-secret-never-in-a-page", "api_passphrase": "made-up-passphrase-never-shown"}
CLIENT_SECRET = "made-up-client-secret-never-in-a-page"


def connection(**fields) -> FastApiConnection:
    now = timezone.now()
    defaults = {"customer_ref": "cust-0042", "state": "key_created", "api_key": "madeupfastkey000000000001",
                "api_name": "broker-1-abc123", "auth_group": "API_COMMON,API_SPOT", "ip_whitelist": "",
                "access_expires_at": now + timedelta(minutes=40), "refresh_expires_at": now + timedelta(days=2),
                "connected_at": now, "key_created_at": now, "code_received_at": now, **SECRETS}
    return FastApiConnection.objects.create(**{**defaults, **fields})


def test_a_viewer_sees_connections_with_their_state_reference_and_token_expiry_but_no_secret(client, make_staff):
    login(client, make_staff, "viewer")
    row = connection()
    connection(customer_ref="cust-0043", state="reconnect_needed", access_token="", refresh_token="",
               api_key="madeupfastkey000000000002",
               access_expires_at=timezone.now() - timedelta(hours=1))
    page = html(client.get("/fast-api/"))
    assert "cust-0042" in page and "Key created" in page and "cust-0043" in page and "Reconnect needed" in page
    assert row.access_expires_at.strftime("%Y-%m-%d %H:%M") in page and "expired" in page
    detail = html(client.get(f"/fast-api/{row.pk}/"))
    assert "madeupfastkey000000000001" in detail and "API_COMMON, API_SPOT" in detail and "Any address" in detail
    for secret in SECRETS.values():
        assert secret not in page and secret not in detail
    assert "Disconnect" not in detail  # operators only
    assert client.get("/fast-api/settings/").status_code == 403
    assert client.post(f"/fast-api/{row.pk}/disconnect/").status_code == 403
    assert client.post("/fast-api/refresh/").status_code == 403


def test_the_list_filters_by_state_and_customer(client, make_staff):
    login(client, make_staff, "viewer")
    connection()
    connection(customer_ref="cust-0099", state="failed", api_key=None, failure_kind="too_many_keys")
    page = html(client.get("/fast-api/", {"state": "failed"}))
    assert "cust-0099" in page and "cust-0042" not in page
    page = html(client.get("/fast-api/", {"customer": "cust-0042"}))
    assert "cust-0042" in page and "cust-0099" not in page


def test_staff_read_kucoins_refusal_in_words(client, make_staff):
    login(client, make_staff, "viewer")
    row = connection(state="failed", api_key=None, failure_kind="too_many_keys", error_code="40902",
                     error_message="The number of API keys has reached the maximum (20)")
    page = html(client.get(f"/fast-api/{row.pk}/"))
    assert "KuCoin 40902: The number of API keys has reached the maximum (20)" in page
    assert "maximum number of API keys" in page and "connects again" in page


def test_an_operator_disconnects_and_marks_the_key_unused(client, make_staff):
    login(client, make_staff, "operator")
    row = connection()
    page = html(client.get(f"/fast-api/{row.pk}/disconnect/"))
    assert '<label for="id_mark_key_unused">Also mark the API key unused</label>' in page
    response = client.post(f"/fast-api/{row.pk}/disconnect/", {"mark_key_unused": "on"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.state == "disconnected" and not row.key_in_use and not row.key_usable
    assert row.access_token == "" and row.refresh_token == ""
    assert raw_columns(row.pk)["access_token"] == "" and raw_columns(row.pk)["refresh_token"] == ""
    assert "no longer used" in html(client.get(response["Location"]))


def test_an_operator_starts_a_token_refresh(client, make_staff):
    login(client, make_staff, "operator")
    response = client.post("/fast-api/refresh/")
    job = Job.objects.get(kind="fastapi_tokens_refresh")
    assert response["Location"] == f"/fast-api/?job={job.pk}"


def test_a_broker_admin_sets_up_fast_api_and_the_secret_is_never_shown(client, make_staff):
    login(client, make_staff, "broker-admin")
    data = {"client_id": "made-up-client", "client_secret": CLIENT_SECRET,
            "redirect_url": "https://office.example.com/connect/kucoin/callback/",
            "key_creation_path": "/_oauth/resource/cyber-truck-vault/v2/outer/api-key/add",
            "key_creation_body": '{"authGroupMap": {"API_SPOT": true, "API_COMMON": true}}', "send_api_name": "on",
            "link_secret": "made-up-link-secret-never-shown"}
    assert client.post("/fast-api/settings/", data).status_code == 302
    row = FastApiSettings.objects.get()
    assert row.client_secret == CLIENT_SECRET and row.key_creation_body == {"authGroupMap": {"API_SPOT": True, "API_COMMON": True}}
    page = html(client.get("/fast-api/settings/"))
    assert CLIENT_SECRET not in page and "made-up-link-secret-never-shown" not in page and "set (never shown)" in page
    assert FastApiSettings.objects.get().link_secret == "made-up-link-secret-never-shown"
    # A blank secret box keeps the stored secret.
    assert client.post("/fast-api/settings/", {**data, "client_secret": ""}).status_code == 302
    assert FastApiSettings.objects.get().client_secret == CLIENT_SECRET


@pytest.mark.parametrize("field, value, message", [
    ("redirect_url", "https://office.example.com/elsewhere/", "must end in this back-office's callback path"),
    ("redirect_url", "https://office.example.com/connect/kucoin/callback/?x=1", "cannot carry a query"),
    ("key_creation_path", "https://evil.example.com/add", "starting with /"),
    ("key_creation_body", "{not json", "not valid JSON"),
    ("key_creation_body", '{"authGroupMap": {"API_WITHDRAW_OAUTH": true}}', "never get withdrawal rights"),
    ("client_id", "  ", "client id is required"),
])
def test_the_settings_form_says_what_is_wrong_beside_the_field(client, make_staff, field, value, message):
    login(client, make_staff, "broker-admin")
    data = {"client_id": "made-up-client", "client_secret": CLIENT_SECRET,
            "redirect_url": "https://office.example.com/connect/kucoin/callback/",
            "key_creation_path": FastApiSettings.DEFAULT_KEY_CREATION_PATH, field: value}
    response = client.post("/fast-api/settings/", data)
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert CLIENT_SECRET not in html(response)
    assert not FastApiSettings.objects.filter(client_id="made-up-client").exists()


def test_the_admin_never_shows_a_token_or_a_secret(client, make_staff):
    login(client, make_staff, "broker-admin")
    row = connection()
    FastApiSettings.objects.create(pk=1, client_id="made-up-client", client_secret=CLIENT_SECRET,
                                   redirect_url="https://office.example.com/connect/kucoin/callback/")
    pages = [client.get("/admin/accounts/fastapiconnection/"), client.get(f"/admin/accounts/fastapiconnection/{row.pk}/change/"),
             client.get("/admin/accounts/fastapisettings/1/change/")]
    for response in pages:
        assert response.status_code == 200
        for secret in [*SECRETS.values(), CLIENT_SECRET]:
            assert secret not in html(response)
    client.force_login(make_staff("viewer", username="vera"))
    settings_page = client.get("/admin/accounts/fastapisettings/1/change/")
    assert settings_page.status_code == 200 and CLIENT_SECRET not in html(settings_page)


def test_the_token_refresh_schedule_exists(transactional_db):
    from django.apps import apps

    importlib.import_module("accounts.migrations.0004_fastapi_schedule").create(apps, None)
    task = PeriodicTask.objects.get(name="Refresh Fast API tokens")
    assert task.task == "brokeroffice.scheduled_job" and task.interval.every == 10
    assert json.loads(task.args) == ["accounts.fastapi_tokens_refresh", "Refresh Fast API tokens"]


def test_a_connected_accounts_page_lists_its_orders_and_offers_an_order_with_its_key(client, make_staff):
    from decimal import Decimal

    from trading.models import Order

    row = connection()
    order = Order.objects.create(fast_api_connection=row, market="spot", symbol="BTC-USDT", side="buy", type="limit",
                                 price=Decimal("1000"), size=Decimal("0.001"), state=Order.State.OPEN,
                                 verification=Order.Verification.TAGGED)
    login(client, make_staff, "operator")
    detail = html(client.get(f"/fast-api/{row.pk}/"))
    assert f"/orders/{order.pk}/" in detail and "Tagged" in detail
    assert f'/orders/new/?connection={row.pk}' in detail and "Place an order with this account" in detail
    assert "/orders/?customer=cust-0042" in detail

    unused = connection(customer_ref="cust-0044", api_key="madeupfastkey000000000004", key_in_use=False)
    detail = html(client.get(f"/fast-api/{unused.pk}/"))
    assert "Place an order with this account" not in detail
    assert "No orders placed from the back-office for customer cust-0044." in detail


def _waiting_for_key(**fields) -> FastApiConnection:
    """A connection whose tokens are held and whose key was asked for as broker-1-abc123 but not received."""
    return connection(**{"state": "connected", "api_key": None, "sent_at": timezone.now(), **fields})


def test_no_second_key_is_asked_for_while_the_first_creation_may_still_answer(client, make_staff):
    login(client, make_staff, "operator")
    row = _waiting_for_key()  # the answer was lost; the task's own retry is on its way
    detail = html(client.get(f"/fast-api/{row.pk}/"))
    assert "Create the key again" not in detail and "The key is still being created" in detail
    response = client.post(f"/fast-api/{row.pk}/retry/", follow=True)
    assert response.status_code == 200 and "wait for that attempt to end" in html(response)
    row.refresh_from_db()
    assert (row.state, row.api_name) == ("connected", "broker-1-abc123") and row.sent_at is not None
    assert not Job.objects.filter(kind="fastapi_connect").exists()


def test_a_retry_is_refused_while_a_worker_holds_the_connection(client, make_staff):
    login(client, make_staff, "operator")
    row = connection(state="failed", api_key=None, failure_kind="too_many_keys",
                     lease_until=timezone.now() + timedelta(seconds=60))
    response = client.post(f"/fast-api/{row.pk}/retry/", follow=True)
    assert "A worker is creating the key right now" in html(response)
    row.refresh_from_db()
    assert (row.state, row.failure_kind, row.api_name) == ("failed", "too_many_keys", "broker-1-abc123")
    assert not Job.objects.filter(kind="fastapi_connect").exists()


def test_after_a_definite_refusal_staff_ask_again(client, make_staff):
    login(client, make_staff, "operator")
    row = connection(state="failed", api_key=None, failure_kind="too_many_keys", sent_at=timezone.now())
    assert "Create the key again" in html(client.get(f"/fast-api/{row.pk}/"))
    response = client.post(f"/fast-api/{row.pk}/retry/")
    job = Job.objects.get(kind="fastapi_connect")
    assert response["Location"] == f"/fast-api/{row.pk}/?job={job.pk}"
    row.refresh_from_db()
    # KuCoin made nothing: the next "name taken" would not be read as a lost key.
    assert (row.state, row.failure_kind, row.api_name, row.sent_at) == ("connected", "", "broker-1-abc123", None)


@pytest.mark.parametrize("fields", [
    {"state": "failed", "failure_kind": "key_lost"},  # KuCoin said the name is taken after a lost answer
    {"state": "connected", "stale": True},  # the task gave up long ago without an answer
    {"state": "failed", "failure_kind": "kucoin_refused", "error_code": "502000"},  # a 5xx, failed by older code
    # a truncated 2xx answer, failed as a refusal by older code
    {"state": "failed", "failure_kind": "kucoin_refused", "error_message": "unreadable answer (HTTP 200)"},
    # refused after a lost answer: the row stays connected (with its name) and the attempt has ended
    {"state": "connected", "failure_kind": "token_expired", "error_code": "401"},
])
def test_after_an_unknown_outcome_a_retry_asks_under_the_same_name(client, make_staff, fields):
    """So that KuCoin refuses the key if the lost call made it, instead of making a second one."""
    login(client, make_staff, "operator")
    stale = fields.pop("stale", False)
    row = _waiting_for_key(**fields)
    if stale:
        FastApiConnection.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert "Create the key again" in html(client.get(f"/fast-api/{row.pk}/"))
    assert client.post(f"/fast-api/{row.pk}/retry/").status_code == 302
    assert Job.objects.filter(kind="fastapi_connect").count() == 1
    row.refresh_from_db()
    assert (row.state, row.api_name) == ("connected", "broker-1-abc123") and row.sent_at is not None


def test_a_key_lost_without_a_name_is_not_asked_for_again(client, make_staff):
    login(client, make_staff, "operator")
    row = _waiting_for_key(state="failed", failure_kind="key_unknown")
    detail = html(client.get(f"/fast-api/{row.pk}/"))
    assert "Create the key again" not in detail and "cannot be checked" in detail
    assert "cannot be checked" in html(client.post(f"/fast-api/{row.pk}/retry/", follow=True))
    assert not Job.objects.filter(kind="fastapi_connect").exists()


def test_the_customers_page_stops_waiting_once_kucoin_kept_failing_past_every_retry(client):
    """A 5xx is retried for a few minutes; when KuCoin stays down the task gives up, and the page says so."""
    row = connection(state="pending", api_key=None, access_token="", refresh_token="")
    waiting = client.get(f"/connect/kucoin/status/{row.public_id}/")
    assert waiting["Refresh"] == "3" and "Connecting your KuCoin account" in html(waiting)
    FastApiConnection.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    stalled = client.get(f"/connect/kucoin/status/{row.public_id}/")
    page = html(stalled)
    assert "Refresh" not in stalled and "KuCoin did not answer us" in page and "Connect KuCoin again" in page
    assert "/connect/kucoin/?customer=cust-0042" in page
