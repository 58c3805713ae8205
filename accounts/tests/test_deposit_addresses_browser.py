"""In a real browser: the deposit address page's copy button works under the CSP (no inline script), the
QR code is drawn, and an approver must tick the allow-list box before a withdrawal is approved."""
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import BrokerWithdrawal, DepositAddress
from accounts.services.withdrawals import withdrawal_request
from accounts.tests.funding_support import TON_ADDRESS, TRX_ADDRESS, quota_snapshot
from accounts.tests.test_browser_accounts import PASSWORD, log_in
from accounts.tests.test_pages_support import sub_account

pytestmark = pytest.mark.browser


def test_the_address_and_memo_are_copied_and_the_qr_code_is_drawn(live_server, page, make_staff, screenshot):
    make_staff("viewer", username="vera", password=PASSWORD)
    sub = sub_account(account_name="alice-0001")
    address = DepositAddress.objects.create(sub_account=sub, currency="TON", chain="ton", chain_name="TON",
                                            address=TON_ADDRESS, memo="1234567890", state="ready",
                                            fetched_at=timezone.now())
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server, "vera")
    page.goto(f"{live_server.url}/deposit-addresses/{address.pk}/")

    assert page.get_by_label("Address", exact=True).input_value() == TON_ADDRESS
    qr = page.get_by_role("img", name="QR code of the deposit address")
    assert qr.is_visible() and qr.bounding_box()["width"] > 50
    page.get_by_role("button", name="Copy memo / tag (required)").click()
    page.get_by_role("status").filter(has_text="Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == "1234567890"
    page.get_by_role("button", name="Copy address").click()
    assert page.evaluate("navigator.clipboard.readText()") == TON_ADDRESS
    assert not [e for e in errors if "Content Security Policy" in e]
    screenshot()


def test_an_unlisted_address_is_approved_only_with_the_box_ticked(live_server, page, make_staff, screenshot):
    quota_snapshot()
    requester = make_staff("operator", username="olga", password=PASSWORD)
    make_staff("broker-admin", username="bob", password=PASSWORD)
    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("20"),
                                    requested_by=requester)
    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/broker-withdrawals/{withdrawal.pk}/")
    page.get_by_role("button", name="Approve and send").click()
    page.locator(".errorlist").filter(has_text="tick the box").wait_for()
    assert BrokerWithdrawal.objects.get(pk=withdrawal.pk).state == BrokerWithdrawal.State.REQUESTED

    page.get_by_label("I confirm this address is intended although it is not on the allow-list").check()
    page.get_by_role("button", name="Approve and send").click()
    page.get_by_text("Approved.").wait_for()
    approved = BrokerWithdrawal.objects.get(pk=withdrawal.pk)
    assert approved.approved_by.username == "bob" and approved.unlisted_address_confirmed
    screenshot()
