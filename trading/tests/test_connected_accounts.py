"""Orders signed with the key of a customer's own KuCoin account, connected through Fast API (issue 8): placed
through the real worker against the sandbox, held once by KuCoin in the customer's account with the broker's
tag, verified, cancelled and synced like any order; the pages and the admin show the connected account."""
import uuid
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import FastApiConnection
from accounts.services.fastapi import fastapi_disconnect
from accounts.tests.factories import ApiKeyFactory
from accounts.tests.fastapi_support import configure, customer, local, log_in_at_kucoin
from accounts.tests.test_pages_support import html, login
from brokeroffice.models import Job, KuCoinCall
from trading.models import Order
from trading.services.orders import order_cancel_request, order_place, orders_sync_request, orders_verify_request
from trading.tests.sandbox_orders import orders_with, state_of

SPOT_LIMIT = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"))
FUTURES_LIMIT = dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"),
                     leverage=10)


@pytest.fixture(autouse=True)
def no_start_budget_used(settings):
    """A cache of this test's own: the connect URL's per-address budget is not shared with other runs."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"trading-fastapi-{uuid.uuid4()}"}}


@pytest.fixture
def connection(client, kucoin_worker, sandbox, finished) -> FastApiConnection:
    """Alice connects her KuCoin account (the sandbox's login page) and the worker creates her broker-bound key."""
    configure(sandbox, "http://testserver")
    alice = customer(sandbox)
    authorize = client.get("/connect/kucoin/", {"customer": "cust-0042"})["Location"]
    client.get(local(log_in_at_kucoin(authorize, alice["username"], alice["password"])))
    job = finished(Job.objects.filter(kind="fastapi_connect").latest("created_at"))
    assert job.state == Job.State.SUCCEEDED, job.error
    return FastApiConnection.objects.get(customer_ref="cust-0042", state=FastApiConnection.State.KEY_CREATED)


def held_by(dump: dict, order: Order) -> list[dict]:
    return orders_with(dump, order.client_oid)


@pytest.mark.worker
@pytest.mark.parametrize("params", [SPOT_LIMIT, FUTURES_LIMIT], ids=["spot", "futures"])
def test_an_order_with_a_connected_accounts_key_is_placed_once_in_that_account_and_tagged(
        connection, sandbox, finished, settled, params):
    order, job = order_place(fast_api_connection=connection, **params)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    [order] = settled([order])

    dump = sandbox.dump()
    [at_kucoin] = held_by(dump, order)
    partner = sandbox.broker["partner"] if params["market"] == "spot" else (sandbox.broker.get("futures_partner")
                                                                          or sandbox.broker["partner"])
    assert at_kucoin["uid"] == customer(sandbox)["uid"]  # the customer's own account, not a sub-account
    assert at_kucoin["tags"] == f"partner:{partner}"
    assert (order.kucoin_order_id, order.state) == (at_kucoin["id"], state_of(at_kucoin))
    assert order.verification == Order.Verification.TAGGED and order.tags == at_kucoin["tags"]
    assert order.sub_account is None and order.fast_api_connection == connection
    # The call log names the connection's key (by id) for the order calls.
    calls = KuCoinCall.objects.filter(credential=connection.credential_id).exclude(family="oauth")
    assert {c.method for c in calls} == {"POST", "GET"}


@pytest.mark.worker
def test_a_lost_answer_never_places_a_second_order_for_a_connected_account(connection, sandbox, finished, settled):
    sandbox.set_fault("drop_after", count=1, path="/api/v1/hf/orders", method="POST")
    order, job = order_place(fast_api_connection=connection, **SPOT_LIMIT)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    [order] = settled([order])
    [at_kucoin] = held_by(sandbox.dump(), order)
    assert order.kucoin_order_id == at_kucoin["id"] and order.verification == Order.Verification.TAGGED
    # Before sending again, the order was asked for by its clientOid.
    assert KuCoinCall.objects.filter(credential=connection.credential_id, method="GET",
                                     path__contains=order.client_oid).exists()


@pytest.mark.worker
def test_a_connected_accounts_order_is_cancelled_verified_and_synced_on_demand(connection, sandbox, finished,
                                                                              settled):
    resting, job = order_place(fast_api_connection=connection, **SPOT_LIMIT)
    to_cancel, job2 = order_place(fast_api_connection=connection, **FUTURES_LIMIT)
    assert finished(job).state == finished(job2).state == Job.State.SUCCEEDED
    settled([resting, to_cancel])

    cancelled = finished(order_cancel_request(order=Order.objects.get(pk=to_cancel.pk)))
    assert cancelled.state == Job.State.SUCCEEDED, cancelled.error
    to_cancel.refresh_from_db()
    assert to_cancel.state == Order.State.CANCELLED == state_of(held_by(sandbox.dump(), to_cancel)[0])

    verified = finished(orders_verify_request(order_ids=[resting.pk, to_cancel.pk]))
    assert verified.state == Job.State.SUCCEEDED and verified.result["tagged"] == 2

    sandbox.set_mark_price("BTC-USDT", "29000")  # the market falls through the resting buy: KuCoin fills it
    synced = finished(orders_sync_request(order_ids=[resting.pk]))
    assert synced.state == Job.State.SUCCEEDED, synced.error
    resting.refresh_from_db()
    assert resting.state == Order.State.FILLED == state_of(held_by(sandbox.dump(), resting)[0])


@pytest.mark.worker
def test_a_key_marked_unused_no_longer_signs_orders(connection, sandbox):
    fastapi_disconnect(connection=connection, mark_key_unused=True)
    connection.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        order_place(fast_api_connection=connection, **SPOT_LIMIT)
    assert "customer cust-0042" in " ".join(refused.value.messages)
    assert Order.objects.count() == 0


# -- without KuCoin: the key-source rule, the form, the pages and the admin ------------------------

def connected(customer_ref="cust-0007") -> FastApiConnection:
    """A connection whose key was created (made-up values; nothing is sent to KuCoin in these tests)."""
    return FastApiConnection.objects.create(
        customer_ref=customer_ref, state=FastApiConnection.State.KEY_CREATED, api_key=f"made-up-key-{customer_ref}",
        api_secret="made-up-secret", api_passphrase="made-up-passphrase", auth_group="API_COMMON,API_SPOT")


def stored_order(**fields) -> Order:
    defaults = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"),
                    state=Order.State.OPEN, verification=Order.Verification.TAGGED, tags="partner:made-up")
    return Order.objects.create(**{**defaults, **fields})


@pytest.mark.django_db
def test_an_order_has_exactly_one_key_source():
    key = ApiKeyFactory()
    link = connected()
    for fields in ({}, {"sub_account": key.sub_account, "api_key": key, "fast_api_connection": link},
                   {"api_key": key, "fast_api_connection": link}):
        with pytest.raises(IntegrityError), transaction.atomic():
            stored_order(**fields)
    assert stored_order(fast_api_connection=link).pk and stored_order(sub_account=key.sub_account, api_key=key).pk


@pytest.mark.django_db
def test_the_form_offers_connected_accounts_and_places_with_one(client, make_staff):
    login(client, make_staff, "operator")
    link = connected()
    key = ApiKeyFactory(permissions=["General", "Spot"])
    page = html(client.get("/orders/new/"))
    assert "Or a connected account" in page and "customer cust-0007" in page
    order = {"market": "spot", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "30000", "size": "0.001"}

    both = client.post("/orders/new/", {**order, "api_key": key.pk, "fast_api_connection": link.pk})
    neither = client.post("/orders/new/", order)
    assert both.status_code == neither.status_code == 400
    assert "not both" in html(both) and "Choose the sub-account key or the connected account" in html(neither)

    response = client.post("/orders/new/", {**order, "fast_api_connection": link.pk})
    placed = Order.objects.get()
    assert response.status_code == 302 and response["Location"].startswith(f"/orders/{placed.pk}/?job=")
    assert (placed.fast_api_connection, placed.sub_account, placed.api_key) == (link, None, None)
    page = html(client.get(f"/orders/{placed.pk}/"))
    assert "customer cust-0007" in page and "made-up-key-cust-0007" in page


@pytest.mark.django_db
def test_lists_filters_share_and_admin_show_the_connected_account(client, make_staff):
    login(client, make_staff, "operator")
    link = connected()
    key = ApiKeyFactory()
    mine = stored_order(fast_api_connection=link, verification=Order.Verification.UNTAGGED, tags="")
    other = stored_order(sub_account=key.sub_account, api_key=key)
    from trading.services.shares import tag_share_refresh

    tag_share_refresh()
    page = html(client.get("/orders/"))
    assert "customer cust-0007" in page and key.sub_account.account_name in page
    filtered = html(client.get("/orders/?customer=cust-0007"))
    assert f'id="order-{mine.pk}"' in filtered and f'id="order-{other.pk}"' not in filtered
    share = html(client.get("/orders/verification/"))
    assert "customer cust-0007" in share and "?customer=cust-0007" in share
    assert mine.client_oid in share  # the untagged alert names it
    admin_page = html(client.get("/admin/trading/order/?customer=cust-0007"))
    assert mine.client_oid in admin_page and other.client_oid not in admin_page
    assert "customer cust-0007" in admin_page
