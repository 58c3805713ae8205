"""Deposit addresses of sub-accounts, through a real worker against the sandbox: made with the customer's
own key, shown with a copy button and a QR code, and a deposit to one shows up linked to it."""
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Deposit, DepositAddress
from accounts.services.deposit_addresses import deposit_address_request
from accounts.tests.funding_support import customer_with_key, wallet_addresses
from brokeroffice.jobs import job_start
from brokeroffice.models import Job, KuCoinCall

pytestmark = pytest.mark.worker


@pytest.fixture
def customer(synced_sub_accounts, sandbox):
    return customer_with_key(synced_sub_accounts, sandbox.dump())


def sync_deposits(finished):
    from accounts.tasks import deposits_sync_task

    job = finished(job_start(kind="deposits_sync", label="Deposits", task=deposits_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error


def test_an_address_is_made_with_the_customers_key_and_a_deposit_to_it_shows_on_its_pages(
        customer, sandbox, finished, client, make_staff):
    sub_account, key = customer
    address, job = deposit_address_request(sub_account=sub_account, currency="usdt", chain="BSC")
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    address.refresh_from_db()
    at_kucoin = [a for a in wallet_addresses(sandbox.dump(), sub_account.uid, "USDT") if a["chainId"] == "bsc"]
    assert [a["address"] for a in at_kucoin] == [address.address]
    assert (address.state, address.chain, address.chain_name, address.credited_account) == ("ready", "bsc", "BEP20", "MAIN")
    # Made with the sub-account's own key, not the broker's.
    assert KuCoinCall.objects.filter(path="/api/v3/deposit-address/create", credential=key.credential_id,
                                     code="200000").exists()

    sandbox.make_deposit(None, "USDT", "321.5", address=address.address)
    sync_deposits(finished)
    deposit = Deposit.objects.get(sub_account=sub_account, amount=Decimal("321.5"))
    assert deposit.address == address.address

    client.force_login(make_staff("viewer"))
    page = client.get(f"/subaccounts/{sub_account.pk}/").content.decode()
    assert f"/deposit-addresses/{address.pk}/" in page and "321.5 USDT" in page
    detail = client.get(f"/deposit-addresses/{address.pk}/").content.decode()
    assert f'value="{address.address}"' in detail and 'class="copy-button"' in detail
    assert '<svg role="img"' in detail and "QR code of the deposit address" in detail
    assert "accounts/copy.js" in detail and "<script>" not in detail  # no inline script (CSP)
    assert "321.5 USDT" in detail


def test_asking_again_reads_the_same_address(customer, sandbox, finished):
    sub_account, _ = customer
    first, job = deposit_address_request(sub_account=sub_account, currency="USDT", chain="eth")
    assert finished(job).state == Job.State.SUCCEEDED
    again, job = deposit_address_request(sub_account=sub_account, currency="USDT", chain="eth")
    assert finished(job).state == Job.State.SUCCEEDED
    assert again.pk == first.pk and DepositAddress.objects.count() == 1
    assert len([a for a in wallet_addresses(sandbox.dump(), sub_account.uid, "USDT") if a["chainId"] == "eth"]) == 1


def test_a_memo_chain_gives_a_memo_and_a_deposit_needs_it(customer, sandbox, finished, client, make_staff):
    sub_account, _ = customer
    address, job = deposit_address_request(sub_account=sub_account, currency="XRP", chain="xrp", credited_account="TRADE")
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    address.refresh_from_db()
    assert address.memo.isdigit() and address.credited_account == "TRADE"

    sandbox.make_deposit(None, "XRP", "40", address=address.address, memo=address.memo)
    sync_deposits(finished)
    assert Deposit.objects.get(sub_account=sub_account, currency="XRP").memo == address.memo
    client.force_login(make_staff("viewer"))
    detail = client.get(f"/deposit-addresses/{address.pk}/").content.decode()
    assert f'value="{address.memo}"' in detail and "must carry this memo" in detail and "40 XRP" in detail


def test_kucoins_refusal_of_an_unknown_chain_is_kept_in_its_words(customer, sandbox, finished):
    sub_account, _ = customer
    address, job = deposit_address_request(sub_account=sub_account, currency="USDT", chain="solana")
    job = finished(job)
    assert job.state == Job.State.FAILED and "900014" in job.error
    address.refresh_from_db()
    assert address.state == DepositAddress.State.FAILED and address.error_code == "900014"


def test_the_command_prints_the_address_and_lists_without_a_chain(customer, sandbox):
    sub_account, _ = customer
    out = StringIO()
    call_command("deposit_address", sub_account.account_name, "USDT", "--chain", "trx", stdout=out)
    address = DepositAddress.objects.get(sub_account=sub_account, currency="USDT", chain="trx")
    assert address.address and address.address in out.getvalue()

    listed = StringIO()
    call_command("deposit_address", sub_account.uid, "USDT", stdout=listed)
    assert address.address in listed.getvalue()
    with pytest.raises(CommandError, match="give --chain to create one"):
        call_command("deposit_address", sub_account.uid, "KCS", stdout=StringIO())


def test_a_key_kucoins_gateway_refuses_leaves_the_address_failed_in_words_not_being_fetched(
        customer, sandbox, finished):
    sub_account, _ = customer
    # The customer's key no longer lists this server's IP address in its whitelist.
    sandbox.set_fault("refuse", code="400006", msg="Invalid request IP, the current client IP is: 127.0.0.1.",
                      path="/api/v3/deposit-address")
    address, job = deposit_address_request(sub_account=sub_account, currency="USDT", chain="trx")
    job = finished(job)
    assert job.state == Job.State.FAILED and "400006" in job.error
    address.refresh_from_db()
    assert address.state == DepositAddress.State.FAILED and address.error_code == "400006"


def test_an_address_kucoin_was_unavailable_for_on_the_jobs_last_try_is_failed_in_words(customer, sandbox):
    from accounts.tasks import deposit_address_fetch_task
    from brokeroffice.tasking import MAX_RETRIES

    from accounts.services.deposit_addresses import deposit_address_record
    from brokeroffice.jobs import job_create

    sub_account, _ = customer
    sandbox.set_fault("http_503", path="/api/v3/deposit-address")
    # Recorded as a request records it; its task is run here, as on its last try (not queued to the worker).
    address = deposit_address_record(sub_account=sub_account, currency="USDT", chain="trx")
    job = job_create(kind="deposit_address_fetch", label=f"Deposit address for {address}")

    deposit_address_fetch_task.apply(args=(str(job.pk), address.pk), retries=MAX_RETRIES, throw=False)

    job.refresh_from_db()
    address.refresh_from_db()
    assert job.state == Job.State.FAILED and "Gave up after" in job.error
    assert address.state == DepositAddress.State.FAILED and address.error_code == "503000"
