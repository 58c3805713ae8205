"""An operator uses the sub-account pages in a real browser."""
import pytest

from accounts.models import SubAccount, SubAccountApiKey
from accounts.tests.test_pages_support import api_key, sub_account, transfer

pytestmark = pytest.mark.browser

PASSWORD = "a-made-up-password-for-tests"


def log_in(page, live_server, username):
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def test_an_invalid_name_is_refused_beside_the_field_and_kept(live_server, page, make_staff, screenshot):
    make_staff("operator", username="olga", password=PASSWORD)
    sub_account(account_name="alice-0001")
    log_in(page, live_server, "olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sub-accounts").click()
    page.get_by_role("heading", name="Sub-accounts").wait_for()
    assert page.get_by_role("link", name="alice-0001").is_visible()
    screenshot("list")

    page.get_by_label("Name", exact=True).fill("no spaces allowed")
    page.get_by_role("button", name="Create sub-account").click()
    error = page.locator(".field .errorlist")
    error.wait_for()
    assert "is not a valid sub-account name" in error.inner_text()
    # Beside the field: in the same field group as the input, which keeps what was typed.
    assert page.get_by_label("Name", exact=True).input_value() == "no spaces allowed"
    assert page.locator(".field", has=page.get_by_label("Name", exact=True)).locator(".errorlist").count() == 1
    assert not SubAccount.objects.filter(account_name__contains="spaces").exists()
    screenshot("error")


def test_the_detail_page_and_the_secret_shown_once(live_server, page, make_staff, screenshot):
    user = make_staff("operator", username="olga", password=PASSWORD)
    sub = sub_account(account_name="alice-0001")
    key = api_key(sub, label="trading-bot", ip_whitelist=["203.0.113.5"], requested_by=user,
                  source=SubAccountApiKey.Source.CREATED)
    transfer(sub, error_code="200004", error_message="Insufficient balance", state="failed")
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/subaccounts/{sub.pk}/")
    page.get_by_role("heading", name="API keys").wait_for()
    screenshot("detail")
    page.get_by_role("link", name="trading-bot").click()
    page.get_by_role("heading", name="Shown once — copy it now").wait_for()
    screenshot("secret")
    page.reload()
    page.get_by_text("The secret was shown once and is not kept in view").wait_for()
    assert page.locator(".secret-once").count() == 0
    key.refresh_from_db()
    assert key.secret_shown_at is not None


def test_every_accounts_page_renders_without_a_browser_error(live_server, page, make_staff, screenshot):
    """The strict CSP would block any inline script or style: the console stays clean on every page."""
    from decimal import Decimal

    from django.utils import timezone

    from accounts.models import BrokerProfile, Deposit, KycSubmission
    from brokeroffice.models import KuCoinCall

    make_staff("broker-admin", username="bea", password=PASSWORD)
    BrokerProfile.objects.create(pk=1, broker_name="MadeUpBroker", spot_partner="made-up-partner", api_key="made-up-key",
                                 checked_at=timezone.now(), check_ok=True, check_message="Connected (made-up).")
    sub = sub_account(account_name="alice-0001")
    key = api_key(sub, label="trading-bot")
    transfer(sub, state="unknown", error_code="500000", error_message="Internal error")
    Deposit.objects.create(sub_account=sub, uid=sub.uid, currency="USDT", amount=Decimal("25"), hash="made-up-hash",
                           status="SUCCESS", synced_at=timezone.now(), kucoin_created_at=timezone.now())
    KycSubmission.objects.create(sub_account=sub, identity_type="passport", issue_country="DE", personal_data="{}",
                                 state="submitted", kyc_status="PROCESS")
    KuCoinCall.objects.create(at=timezone.now(), actor="bea", credential="broker", method="GET", family="broker",
                              path="/api/v1/broker/nd/info", weight=2, http_status=200, code="200000", latency_ms=35)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, live_server, "bea")
    pages = {
        "list": "/subaccounts/", "detail": f"/subaccounts/{sub.pk}/", "retire": f"/subaccounts/{sub.pk}/retire/",
        "key-new": f"/subaccounts/{sub.pk}/keys/new/", "key-edit": f"/keys/{key.pk}/edit/", "key-delete": f"/keys/{key.pk}/delete/",
        "key-import": f"/subaccounts/{sub.pk}/keys/import/", "transfer-new": f"/subaccounts/{sub.pk}/transfers/new/",
        "transfers": "/transfers/", "deposits": "/deposits/", "kyc": f"/subaccounts/{sub.pk}/kyc/new/", "calls": "/calls/",
        "broker": "/broker/",
    }
    for name, path in pages.items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        page.get_by_role("heading", level=1).first.wait_for()
        screenshot(name)
    page.goto(f"{live_server.url}/subaccounts/{sub.pk}/transfers/new/")
    page.get_by_label("Amount").fill("-3")
    page.get_by_label("Currency").fill("usdt")
    page.get_by_role("button", name="Send transfer").click()
    page.get_by_text("The amount must be more than zero.").wait_for()
    assert page.get_by_label("Amount").input_value() == "-3"
    screenshot("transfer-error")
    # A refused form answers 400, which Chromium logs as a failed load; anything else is a real error.
    assert [e for e in errors if "status of 400" not in e] == []
