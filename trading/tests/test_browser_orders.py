"""An operator places an order in a real browser: mistakes are named beside their fields with what was typed
kept, then the order goes through the worker to the sandbox and its page shows it open and tagged."""
import pytest

from trading.models import Order
from trading.tests.sandbox_orders import orders_with

pytestmark = [pytest.mark.browser, pytest.mark.worker]

PASSWORD = "a-made-up-password-for-tests"


def test_an_order_is_corrected_placed_and_shown_tagged(live_server, page, make_staff, kucoin_worker, customer_key,
                                                       sandbox, screenshot):
    make_staff("operator", username="olga", password=PASSWORD)
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Orders").click()
    page.get_by_role("link", name="Place an order").click()
    page.get_by_label("Market").select_option("futures")
    page.get_by_label("Sub-account and key").select_option(str(customer_key.pk))
    page.get_by_label("Symbol").fill("XBTUSDTM")
    page.get_by_label("Side").select_option("buy")
    page.get_by_label("Size", exact=True).fill("1")
    page.get_by_role("button", name="Place the order").click()

    price_field = page.locator(".field", has=page.get_by_label("Price", exact=True))
    price_field.locator(".errorlist").wait_for()
    assert "A limit order needs a price." in price_field.inner_text()
    assert "Isolated margin needs a leverage." in page.locator(".field", has=page.get_by_label("Leverage")).inner_text()
    assert page.get_by_label("Symbol").input_value() == "XBTUSDTM"
    assert page.get_by_label("Size", exact=True).input_value() == "1"
    screenshot("errors")

    page.get_by_label("Price", exact=True).fill("30000")
    page.get_by_label("Leverage").fill("10")
    page.get_by_role("button", name="Place the order").click()
    page.get_by_text("Order queued with clientOid").wait_for()
    order = Order.objects.get()
    page.locator(".job-progress[data-state='succeeded']").wait_for(timeout=60_000)
    page.reload()
    page.get_by_text("partner:").first.wait_for()
    screenshot("tagged")
    order.refresh_from_db()
    assert order.verification == Order.Verification.TAGGED
    assert [o["id"] for o in orders_with(sandbox.dump(), order.client_oid)] == [order.kucoin_order_id]
