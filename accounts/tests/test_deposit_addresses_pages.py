"""Deposit address pages: asking for one (operators, with a key that can sign), the address with its copy
button and QR code, and the deposits to it on the sub-account's page."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Deposit, DepositAddress
from accounts.tests.funding_support import TON_ADDRESS, TRX_ADDRESS
from accounts.tests.test_pages_support import api_key, html, login, sub_account
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db


def address_of(sub, **fields) -> DepositAddress:
    defaults = {"sub_account": sub, "currency": "USDT", "chain": "trx", "chain_name": "TRC20", "address": TRX_ADDRESS,
                "state": DepositAddress.State.READY, "fetched_at": timezone.now()}
    return DepositAddress.objects.create(**{**defaults, **fields})


def deposit_to(address: DepositAddress, amount: str, **fields) -> Deposit:
    values = {"sub_account": address.sub_account, "uid": address.sub_account.uid, "currency": address.currency,
              "amount": Decimal(amount), "hash": f"made-up-hash-{amount}", "address": address.address,
              "memo": address.memo, "chain": address.chain, "status": "SUCCESS", "synced_at": timezone.now(),
              "kucoin_created_at": timezone.now()}
    return Deposit.objects.create(**{**values, **fields})


def test_an_operator_asks_for_an_address_and_a_task_gets_it(client, make_staff):
    sub = sub_account()
    api_key(sub)
    user = login(client, make_staff, "operator")
    assert "Get the address" in html(client.get(f"/subaccounts/{sub.pk}/deposit-addresses/new/"))
    response = client.post(f"/subaccounts/{sub.pk}/deposit-addresses/new/",
                           {"currency": "usdt", "chain": "TRX", "credited_account": "TRADE"})
    made = DepositAddress.objects.get()
    job = Job.objects.get(kind="deposit_address_fetch")
    assert response["Location"] == f"/deposit-addresses/{made.pk}/?job={job.pk}"
    assert (made.currency, made.chain, made.credited_account, made.state, made.requested_by) == (
        "USDT", "trx", "TRADE", "pending", user)
    assert "being fetched from KuCoin" in html(client.get(response["Location"]))


def test_without_a_key_that_can_sign_it_is_refused_in_words(client, make_staff):
    sub = sub_account()
    login(client, make_staff, "operator")
    assert "no API key whose secret is stored here" in html(client.get(f"/subaccounts/{sub.pk}/deposit-addresses/new/"))
    response = client.post(f"/subaccounts/{sub.pk}/deposit-addresses/new/", {"currency": "USDT", "chain": "trx",
                                                                            "credited_account": "MAIN"})
    assert response.status_code == 400 and "a deposit address is made with the sub-account&#x27;s own key" in html(response)
    assert not DepositAddress.objects.exists() and not Job.objects.exists()


def test_bad_currency_or_chain_are_refused(client, make_staff):
    sub = sub_account()
    api_key(sub)
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/deposit-addresses/new/", {"currency": "US DT", "chain": "tr x",
                                                                            "credited_account": "MAIN"})
    page = html(response)
    assert response.status_code == 400 and "is not a currency code" in page and "is not a chain id" in page


def test_a_viewer_sees_the_address_qr_and_copy_button_but_cannot_ask(client, make_staff):
    sub = sub_account()
    address = address_of(sub, currency="TON", chain="ton", chain_name="TON", address=TON_ADDRESS, memo="1234567890")
    login(client, make_staff, "viewer")
    page = html(client.get(f"/deposit-addresses/{address.pk}/"))
    assert f'value="{TON_ADDRESS}"' in page and 'value="1234567890"' in page
    assert page.count('class="copy-button"') == 2 and 'aria-live="polite"' in page
    assert '<label for="deposit-address">Address</label>' in page
    assert '<svg role="img" aria-label="QR code of the deposit address"' in page
    assert "<script>" not in page and " style=" not in page  # the CSP allows neither inline
    assert "Read again from KuCoin" not in page
    assert client.post(f"/subaccounts/{sub.pk}/deposit-addresses/new/", {}).status_code == 403
    assert client.post(f"/deposit-addresses/{address.pk}/refresh/").status_code == 403


def test_the_sub_account_page_lists_addresses_with_the_deposits_to_each(client, make_staff):
    sub = sub_account()
    address = address_of(sub)
    other = address_of(sub, currency="TON", chain="ton", chain_name="TON", address=TON_ADDRESS, memo="1111111111")
    deposit_to(address, "321.5")
    Deposit.objects.create(sub_account=sub, uid=sub.uid, currency="TON", amount=Decimal("9"), hash="made-up-other-memo",
                           address=TON_ADDRESS, memo="2222222222", chain="ton", status="SUCCESS", synced_at=timezone.now())
    login(client, make_staff, "operator")
    page = html(client.get(f"/subaccounts/{sub.pk}/"))
    assert f"/deposit-addresses/{address.pk}/" in page and f"/deposit-addresses/{other.pk}/" in page
    assert "321.5 USDT" in page and "New deposit address…" in page and "Pay out…" in page
    detail = html(client.get(f"/deposit-addresses/{other.pk}/"))
    assert "9 TON" not in detail  # another customer's memo on the shared address is not this one's deposit
    assert "321.5 USDT" in html(client.get(f"/deposit-addresses/{address.pk}/"))


def test_a_busy_address_does_not_hide_another_addresss_deposits_on_the_sub_account_page(client, make_staff):
    sub = sub_account()
    quiet = address_of(sub, currency="TON", chain="ton", chain_name="TON", address=TON_ADDRESS, memo="1111111111")
    busy = address_of(sub)
    earlier = timezone.now() - timedelta(days=30)
    deposit_to(quiet, "7.25", kucoin_created_at=earlier)
    deposit_to(quiet, "8.5", kucoin_created_at=earlier)
    for n in range(25):  # newer than the quiet address's, and more than a page's worth
        deposit_to(busy, f"{100 + n}", kucoin_created_at=timezone.now() - timedelta(minutes=n))
    login(client, make_staff, "operator")
    page = html(client.get(f"/subaccounts/{sub.pk}/"))
    addresses = page.split('id="deposit-addresses-heading"')[1].split("</section>")[0]
    assert "7.25 TON" in addresses and "8.5 TON" in addresses
    assert "100 USDT" in addresses and "109 USDT" in addresses and "110 USDT" not in addresses  # the newest ten


def test_the_copy_script_and_stylesheet_are_served(client, make_staff):
    from django.contrib.staticfiles import finders

    assert finders.find("accounts/copy.js") and finders.find("accounts/funding.css")
