"""The staff pages and the admin of orders: what a viewer and an operator see and can do, the untagged alert,
and the list pages' bounded cost (no full count, few queries)."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import ApiKeyFactory
from accounts.tests.test_pages_support import html, login
from brokeroffice.models import Job
from trading.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def key():
    return ApiKeyFactory(permissions=["General", "Spot", "Futures"])


def orders(key, n, **fields):
    defaults = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=Decimal("30000"),
                    size=Decimal("0.001"), state=Order.State.OPEN, verification=Order.Verification.TAGGED,
                    tags="partner:made-up", kucoin_order_id=None)
    defaults.update(fields)
    made = Order.objects.bulk_create([Order(sub_account=key.sub_account, api_key=key, **defaults) for _ in range(n)])
    return made


GOOD = {"market": "spot", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": "30000", "size": "0.001"}


def test_an_operator_places_an_order_and_sees_its_progress(client, make_staff, key):
    user = login(client, make_staff, "operator")
    assert "Place the order" in html(client.get("/orders/new/"))
    response = client.post("/orders/new/", {**GOOD, "api_key": key.pk, "client_oid": "desk-0001"})
    order = Order.objects.get()
    job = Job.objects.get(kind="order_place")
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/?job={job.pk}"
    assert (order.client_oid, order.state, order.price, order.requested_by) == ("desk-0001", "pending", Decimal("30000"), user)
    page = html(client.get(response["Location"]))
    assert "desk-0001" in page and "job-progress" in page and "Not yet verified" in page


def test_a_bad_order_names_every_problem_and_keeps_what_was_typed(client, make_staff, key):
    login(client, make_staff, "operator")
    response = client.post("/orders/new/", {"market": "futures", "api_key": key.pk, "symbol": "XBTUSDTM",
                                            "side": "buy", "type": "limit", "size": "2", "qty": "0.001",
                                            "stop": "down", "client_oid": "y" * 45})
    page = html(response)
    assert response.status_code == 400
    for words in ("A limit order needs a price.", "Give exactly one of size, qty or valueQty.",
                  "Isolated margin needs a leverage.", "A stop order needs a stop price.",
                  "stop price type", "at most 40 characters"):
        assert words in page
    assert 'value="XBTUSDTM"' in page and 'value="' + "y" * 45 + '"' in page
    assert Order.objects.count() == 0


def test_a_viewer_lists_and_inspects_but_cannot_place(client, make_staff, key):
    login(client, make_staff, "viewer")
    [order] = orders(key, 1)
    assert order.client_oid in html(client.get("/orders/"))
    assert "partner:made-up" in html(client.get(f"/orders/{order.pk}/"))
    assert client.get("/orders/new/").status_code == 403
    assert client.post(f"/orders/{order.pk}/cancel/").status_code == 403


def test_untagged_orders_are_an_alert_on_the_lists_and_the_dashboard_tag(client, make_staff, key):
    login(client, make_staff, "viewer")
    orders(key, 3)
    [untagged] = orders(key, 1, verification=Order.Verification.UNTAGGED, tags="")
    for url in ("/orders/", "/orders/verification/"):
        page = html(client.get(url))
        assert "Untagged orders" in page and untagged.client_oid in page and "no rebate" in page
    from django.template import Context, Template

    rendered = Template("{% load trading %}{% untagged_orders_alert %}").render(Context({}))
    assert untagged.client_oid in rendered


def test_filters_by_verification_market_symbol_sub_account_and_date(client, make_staff, key):
    login(client, make_staff, "viewer")
    other = ApiKeyFactory()
    [tagged] = orders(key, 1)
    [untagged] = orders(key, 1, verification=Order.Verification.UNTAGGED, tags="")
    [futures] = orders(key, 1, market="futures", symbol="XBTUSDTM", size=Decimal("1"), leverage=5)
    [elsewhere] = orders(other, 1)
    Order.objects.filter(pk=elsewhere.pk).update(created_at=timezone.now() - timedelta(days=10))

    def listed(query):
        page = html(client.get("/orders/?" + query))
        return {o.pk for o in (tagged, untagged, futures, elsewhere) if f'id="order-{o.pk}"' in page}

    assert listed("verification=untagged") == {untagged.pk}
    assert listed("market=futures") == {futures.pk}
    assert listed("symbol=xbtusdtm") == {futures.pk}
    assert listed(f"sub_account={other.sub_account.uid}") == {elsewhere.pk}
    day = (timezone.now() - timedelta(days=10)).date().isoformat()
    assert listed(f"created_from={day}&created_to={day}") == {elsewhere.pk}


def test_the_share_of_tagged_orders_per_day_and_sub_account(client, make_staff, key):
    login(client, make_staff, "viewer")
    orders(key, 3)
    orders(key, 1, verification=Order.Verification.UNTAGGED, tags="")
    orders(key, 2, verification=Order.Verification.UNVERIFIED, tags="")
    from trading.services.shares import tag_share_refresh

    tag_share_refresh()  # what the schedule does
    page = html(client.get("/orders/verification/"))
    assert "75.0 %" in page and key.sub_account.account_name in page


def test_verify_now_queues_one_job_for_the_ticked_orders(client, make_staff, key):
    login(client, make_staff, "operator")
    made = orders(key, 3, kucoin_order_id=None)
    response = client.post("/orders/verify/", {"order": [made[0].pk, made[2].pk]})
    job = Job.objects.get(kind="orders_verify")
    assert response["Location"] == f"/orders/?job={job.pk}"
    assert "2 order(s)" in job.label


def test_cancel_is_offered_for_open_orders_and_queues_a_job(client, make_staff, key):
    login(client, make_staff, "operator")
    [order] = orders(key, 1, kucoin_order_id="made-up-id-1")
    assert "Cancel the order" in html(client.get(f"/orders/{order.pk}/"))
    response = client.post(f"/orders/{order.pk}/cancel/")
    job = Job.objects.get(kind="order_cancel")
    assert response["Location"] == f"/orders/{order.pk}/?job={job.pk}"


def test_the_broker_check_form_refuses_an_unknown_uid_in_words(client, make_staff):
    login(client, make_staff, "operator")
    response = client.post("/orders/broker-check/", {"uid": "123", "market": "spot"})
    assert response.status_code == 400 and "No sub-account with UID 123" in html(response)


def test_the_list_pages_use_few_queries_and_no_full_count(client, make_staff, key, django_assert_max_num_queries,
                                                          settings):
    user = login(client, make_staff, "operator")
    orders(key, 120)
    orders(key, 5, verification=Order.Verification.UNTAGGED, tags="")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user.is_superuser = False
    for url in ("/orders/", "/orders/?verification=tagged&market=spot", "/orders/verification/"):
        with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert not any(re.search(r"SELECT COUNT\(\*\) AS \"__count\" FROM \"trading_order\"\s*$", q["sql"])
                       for q in queries.captured_queries)


def test_the_admin_list_filters_and_verifies_within_ten_queries(client, make_staff, key,
                                                                django_assert_max_num_queries):
    login(client, make_staff, "operator")
    orders(key, 120)
    orders(key, 5, verification=Order.Verification.UNTAGGED, tags="")
    from trading.services.shares import tag_share_refresh

    tag_share_refresh()
    for url in ("/admin/trading/order/", "/admin/trading/order/?verification__exact=untagged&market__exact=spot"):
        with django_assert_max_num_queries(10):
            response = client.get(url)
        assert response.status_code == 200
    page = html(client.get("/admin/trading/order/"))
    assert "Untagged orders" in page and "Share of tagged orders" in page and "Verify tags now" in page
    ids = list(Order.objects.values_list("pk", flat=True)[:3])
    client.post("/admin/trading/order/", {"action": "verify_tags_now", "_selected_action": ids})
    assert Job.objects.filter(kind="orders_verify").count() == 1


def test_recounting_the_share_is_a_job(client, make_staff):
    login(client, make_staff, "operator")
    response = client.post("/orders/verification/recount/")
    job = Job.objects.get(kind="tag_share_refresh")
    assert response["Location"] == f"/orders/verification/?job={job.pk}"


def test_the_admin_page_of_an_order_shows_kucoins_facts_and_lets_an_operator_note_a_remark(client, make_staff, key):
    login(client, make_staff, "operator")
    [order] = orders(key, 1, verification=Order.Verification.UNTAGGED, tags="", error_code="")
    page = html(client.get(f"/admin/trading/order/{order.pk}/change/"))
    assert order.client_oid in page and "Untagged" in page
    assert 'name="remark"' in page and 'name="price"' not in page
