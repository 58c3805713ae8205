"""Fast API in a real browser: a broker-admin sets it up, a customer connects their KuCoin account through the
sandbox's login and consent page, staff see the key; then staff place an order with that connected account on the
trading pages and see it verified as tagged."""
import uuid
from pathlib import Path

import pytest

from accounts.models import FastApiConnection
from accounts.tests.fastapi_support import CALLBACK_PATH, customer
from accounts.tests.test_browser_accounts import PASSWORD, log_in
from trading.models import Order
from trading.tests.sandbox_orders import orders_with

pytestmark = [pytest.mark.browser, pytest.mark.worker]

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"


@pytest.fixture(autouse=True)
def no_start_budget_used(settings):
    """A cache of this test's own: the start URL's per-address budget is not shared with other runs."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"fastapi-test-{uuid.uuid4()}"}}


def test_a_customer_connects_kucoin_and_staff_see_the_key_then_a_tagged_order(
        live_server, page, make_staff, sandbox, kucoin_worker, screenshot):
    errors = []
    page.on("console", lambda message: errors.append(f"{message.text} {message.location.get('url')}")
            if message.type == "error" else None)
    redirect_url = live_server.url + CALLBACK_PATH
    sandbox.call("POST", "/oauth/redirect-uris", {"redirect_uri": redirect_url})  # as registered at KuCoin

    # A broker-admin enters what KuCoin issued.
    make_staff("broker-admin", username="bea", password=PASSWORD)
    log_in(page, live_server, "bea")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Fast API").click()
    page.get_by_role("heading", name="Fast API connections").wait_for()
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Client id").fill(sandbox.oauth["client_id"])
    page.get_by_label("Client secret").fill(sandbox.oauth["client_secret"])
    page.get_by_label("Registered redirect URL").fill(redirect_url)
    screenshot("settings")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Saved the Fast API settings.").wait_for()
    assert page.get_by_label("Client secret").input_value() == ""  # never rendered back

    ARTEFACTS.mkdir(exist_ok=True)
    # The customer, in a browser of their own (no staff login), follows the broker's link.
    visitor = page.context.browser.new_context()
    customer_page = visitor.new_page()
    customer_page.on("console", lambda message: errors.append(f"{message.text} {message.location.get('url')}")
                     if message.type == "error" else None)
    customer_page.goto(f"{live_server.url}/connect/kucoin/?customer=cust-0042")
    customer_page.get_by_role("heading", name="Log in with KuCoin").wait_for()
    assert customer_page.url.startswith(sandbox.urls["oauth"] + "/oauth?")
    alice = customer(sandbox)
    customer_page.get_by_label("Email or phone").fill(alice["username"])
    customer_page.get_by_label("Password").fill(alice["password"])
    customer_page.screenshot(path=str(ARTEFACTS / "fastapi-customer-consent.png"), full_page=True)
    customer_page.get_by_role("button", name="Authorize").click()
    # Back on the broker's site; the page refreshes itself until the worker has made the key.
    customer_page.get_by_role("heading", name="Your KuCoin account is connected").wait_for(timeout=60_000)
    assert "/connect/kucoin/status/" in customer_page.url and "code=" not in customer_page.url
    customer_page.screenshot(path=str(ARTEFACTS / "fastapi-customer-connected.png"), full_page=True)

    connection = FastApiConnection.objects.get(customer_ref="cust-0042")
    assert connection.state == "key_created"
    assert connection.api_key in sandbox.dump()["oauth"]["fastKeys"]
    assert connection.access_token not in customer_page.content()

    # Staff see the connection, its state, token expiry and the key with its authGroup and whitelist.
    page.goto(f"{live_server.url}/fast-api/")
    row = page.get_by_role("row", name="cust-0042")
    assert "Key created" in row.inner_text() and connection.api_key in row.inner_text()
    screenshot("list")
    row.get_by_role("link", name="cust-0042").click()
    page.get_by_role("heading", name="Fast API connection of customer cust-0042").wait_for()
    details = page.locator("main").inner_text()
    assert connection.api_key in details
    assert "API_COMMON, API_FUTURES, API_SPOT, API_EARN" in details
    assert "Any address" in details and "Access token expires" in details
    for secret in (connection.access_token, connection.refresh_token, connection.api_secret, connection.api_passphrase):
        assert secret not in page.content()
    screenshot("detail")

    # The call log shows the OAuth calls, without tokens.
    page.goto(f"{live_server.url}/calls/?family=oauth")
    log = page.locator("main").inner_text()
    assert "/_oauth/access-token" in log and "/_oauth/resource/ucenter/outer/api-key/add" in log
    assert connection.access_token not in page.content()
    screenshot("calls")
    visitor.close()

    # Staff place an order with that connected account through the trading pages; it comes back tagged.
    page.goto(f"{live_server.url}/orders/")
    page.get_by_role("link", name="Place an order").click()
    page.get_by_label("Market").select_option("spot")
    page.get_by_label("Or a connected account").select_option(str(connection.pk))
    page.get_by_label("Symbol").fill("BTC-USDT")
    page.get_by_label("Side").select_option("buy")
    page.get_by_label("Price", exact=True).fill("1000")
    page.get_by_label("Size", exact=True).fill("0.001")
    page.get_by_role("button", name="Place the order").click()
    page.get_by_text("Order queued with clientOid").wait_for()
    page.locator(".job-progress[data-state='succeeded']").wait_for(timeout=60_000)
    page.reload()
    page.get_by_text(f"partner:{sandbox.broker['partner']}").first.wait_for()
    details = page.locator("main").inner_text()
    assert "customer cust-0042" in details and "Tagged" in details
    screenshot("order-tagged")
    order = Order.objects.get(fast_api_connection=connection)
    assert order.verification == Order.Verification.TAGGED and order.sub_account is None
    at_kucoin = orders_with(sandbox.dump(), order.client_oid)
    assert [(o["id"], o["uid"]) for o in at_kucoin] == [(order.kucoin_order_id, alice["uid"])]
    # The strict CSP would block any inline script or style on our pages (the sandbox has no favicon: not ours).
    assert [e for e in errors if sandbox.urls["oauth"] not in e] == []
