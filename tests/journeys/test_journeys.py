"""The staff journeys of the back-office, each in a real browser against the live server, a real worker and the
sandbox, each ending with what the page shows and a screenshot under test-artefacts/.

Three more journeys live beside their app: logging in (brokeroffice/tests/test_browser.py), placing a futures
order that is verified as tagged (trading/tests/test_browser_orders.py) and connecting a customer by Fast API
(accounts/tests/test_fastapi_browser.py)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from accounts.models import SubAccount, SubAccountApiKey, Transfer
from brokeroffice.models import Job
from accounts.tests.test_browser_accounts import PASSWORD, log_in
from trading.tests.conftest import CUSTOMER_UID, import_key

pytestmark = [pytest.mark.browser, pytest.mark.worker]

JOB_TIMEOUT_MS = 90_000


def wait_for_job_end(page):
    """The progress box polls until its job ends (the bar moving on the page); then the page as it is now."""
    page.locator(".job-progress[data-state='succeeded'], .job-progress[data-state='failed']").first.wait_for(
        timeout=JOB_TIMEOUT_MS)
    page.reload()


def chart_bar_titles(page) -> list[str]:
    return page.locator("svg.chart rect title").evaluate_all("titles => titles.map(t => t.textContent)")


def open_as_operator(page, live_server, sub_account) -> None:
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/subaccounts/{sub_account.pk}/")


@pytest.fixture
def operator(make_staff):
    return make_staff("operator", username="olga", password=PASSWORD)


def test_create_a_sub_account_and_see_it_appear_after_the_task(live_server, page, operator, kucoin_worker, sandbox,
                                                               screenshot):
    log_in(page, live_server, "olga")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sub-accounts").click()
    page.get_by_label("Name", exact=True).fill("journey-new-01")
    page.get_by_role("button", name="Create sub-account").click()
    page.get_by_text("Creating journey-new-01 at KuCoin.").wait_for()
    wait_for_job_end(page)
    page.get_by_text("Created journey-new-01 with UID").wait_for()
    screenshot("created")
    sub_account = SubAccount.objects.get(account_name="journey-new-01")
    assert sub_account.state == SubAccount.State.ACTIVE
    assert sub_account.uid in page.locator("main").inner_text()
    assert [a["uid"] for a in sandbox.dump()["accounts"]["accounts"] if a["name"] == "journey-new-01"] == [sub_account.uid]


def test_create_an_api_key_and_see_its_secret_exactly_once(live_server, page, operator, synced_sub_accounts, sandbox,
                                                           screenshot):
    sub_account = synced_sub_accounts.filter(state=SubAccount.State.ACTIVE).order_by("uid").first()
    open_as_operator(page, live_server, sub_account)
    page.get_by_text("Create an API key").click()
    page.get_by_label("Label").fill("journey-bot")
    page.get_by_role("button", name="Create key").click()
    # The page reloads itself when the job ends and shows the secret on that load, the only one that does:
    # a reload of our own could come after it (wait_for_job_end's) and find the secret gone.
    try:
        page.get_by_role("heading", name="Shown once — copy it now").wait_for(timeout=JOB_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        job = Job.objects.get(kind="apikey_create")
        pytest.fail(f"no secret shown; the key's job is {job.state}: {job.error}")
    key = SubAccountApiKey.objects.get(label="journey-bot")
    secret = str(key.secret)
    assert secret in page.locator(".secret-once").all_inner_texts()
    assert [k["secret"] for k in sandbox.dump()["accounts"]["keys"] if k["api_key"] == key.api_key] == [secret]
    screenshot("secret-shown")
    page.reload()
    page.get_by_text("The secret was shown once and is not kept in view").wait_for()
    assert secret not in page.content()
    screenshot("secret-gone")


def test_transfer_funds_to_a_sub_account(live_server, page, operator, synced_sub_accounts, sandbox, screenshot):
    sub_account = synced_sub_accounts.filter(state=SubAccount.State.ACTIVE).order_by("uid").first()
    open_as_operator(page, live_server, sub_account)
    page.get_by_role("link", name="New transfer…").click()
    page.get_by_label("Direction").select_option("OUT")
    page.get_by_label("Currency").fill("USDT")
    page.get_by_label("Amount").fill("12.5")
    page.get_by_role("button", name="Send transfer").click()
    wait_for_job_end(page)
    transfer = Transfer.objects.get(sub_account=sub_account)
    assert transfer.state == Transfer.State.SUCCEEDED, transfer.error_message
    row = page.get_by_role("row", name=transfer.client_oid)
    assert "12.5 USDT" in row.inner_text() and "Done" in row.inner_text()
    screenshot("transferred")
    moved = [t for t in sandbox.dump()["funding"]["transfers"] if t.get("clientOid") == transfer.client_oid]
    assert len(moved) == 1 and Decimal(str(moved[0]["amount"])) == Decimal("12.5")


def test_run_the_broker_set_up_check(live_server, page, operator, kucoin_worker, sandbox, screenshot):
    import_key(sandbox.dump(), CUSTOMER_UID)
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/orders/broker-check/")
    page.get_by_label("Sub-account UID").fill(CUSTOMER_UID)
    page.get_by_label("Market").select_option("spot")
    page.get_by_role("button", name="Run the check").click()
    wait_for_job_end(page)
    from trading.models import Order

    check = Order.objects.get(purpose=Order.Purpose.SETUP_CHECK)
    assert check.verification == Order.Verification.TAGGED and check.state == Order.State.CANCELLED
    assert "The test order was cancelled." in page.locator(".job-progress").inner_text()
    screenshot("checked")


def test_pull_a_day_of_rebates_and_see_the_chart_change(live_server, page, operator, synced_sub_accounts, screenshot):
    day = timezone.now().date() - timedelta(days=1)
    log_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/rebates/")
    bars_before = chart_bar_titles(page)
    screenshot("before")
    page.goto(f"{live_server.url}/rebates/files/")
    page.get_by_label("First day").fill(day.isoformat())
    page.get_by_label("Last day").fill(day.isoformat())
    page.get_by_role("button", name="Pull").click()
    wait_for_job_end(page)
    page.goto(f"{live_server.url}/rebates/?begin={day - timedelta(days=6)}&end={day}")
    bars_after = chart_bar_titles(page)
    assert bars_after != bars_before
    day_label = f"{day:%Y-%m-%d}"
    assert any(day_label in text and not text.endswith(" 0 USDT") for text in bars_after), bars_after
    screenshot("after")


def test_retire_a_sub_account(live_server, page, operator, synced_sub_accounts, sandbox, screenshot):
    sub_account = synced_sub_accounts.filter(state=SubAccount.State.ACTIVE).order_by("-uid").first()
    open_as_operator(page, live_server, sub_account)
    page.get_by_role("link", name="Retire…").click()
    page.get_by_label("Type the sub-account's name to confirm").fill("not-the-name")
    page.get_by_role("button", name=f"Retire {sub_account.account_name}").click()
    page.locator(".errorlist").wait_for()
    sub_account.refresh_from_db()
    assert sub_account.state == SubAccount.State.ACTIVE
    page.get_by_label("Type the sub-account's name to confirm").fill(sub_account.account_name)
    page.get_by_role("button", name=f"Retire {sub_account.account_name}").click()
    wait_for_job_end(page)
    sub_account.refresh_from_db()
    assert sub_account.state == SubAccount.State.RETIRED
    assert "Retired" in page.locator("main").inner_text()
    assert not [k for k in sandbox.dump()["accounts"]["keys"] if k["uid"] == sub_account.uid]
    screenshot("retired")


def test_a_viewer_sees_every_page_but_no_action_button(live_server, page, make_staff, synced_sub_accounts, screenshot):
    make_staff("viewer", username="vera", password=PASSWORD)
    sub_account = synced_sub_accounts.filter(state=SubAccount.State.ACTIVE).first()
    log_in(page, live_server, "vera")
    actions = ("Create sub-account", "Sync from KuCoin", "Create key", "Retire…", "New transfer…", "Place an order",
               "Pull", "Check connection")
    for path in ("/subaccounts/", f"/subaccounts/{sub_account.pk}/", "/orders/", "/rebates/files/", "/transfers/"):
        page.goto(live_server.url + path)
        main = page.locator("main")
        assert main.get_by_role("heading").first.is_visible()
        for name in actions:
            assert main.get_by_role("button", name=name, exact=True).count() == 0, (path, name)
            assert main.get_by_role("link", name=name, exact=True).count() == 0, (path, name)
    assert page.get_by_role("navigation", name="Main").get_by_role("link", name="Broker").count() == 0
    screenshot("viewer")
