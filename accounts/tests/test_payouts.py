"""A customer payout end to end, through a real worker against the sandbox: the transfer from the
sub-account to the broker account, then the withdrawal (approved by another broker-admin), as one item."""
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts.models import BrokerWithdrawal, Transfer
from accounts.services.payouts import payout_request
from accounts.services.withdrawals import withdrawal_approve, withdrawal_quota_fetch_start
from accounts.tests.funding_support import TRX_ADDRESS, wallet_withdrawals
from accounts.tests.sandbox_state import balance, transfers_with
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


@pytest.fixture
def customer(synced_sub_accounts, sandbox, finished):
    sub_account = synced_sub_accounts.order_by("uid").first()
    sandbox.make_deposit(sub_account.uid, "USDT", "100")  # the customer's funds, in MAIN
    job = finished(withdrawal_quota_fetch_start(currency="USDT", chain="trx"))
    assert job.state == Job.State.SUCCEEDED, job.error
    return sub_account


def test_the_balances_kucoin_reported_decide_whether_a_payout_fits(customer, sandbox, finished, make_staff):
    """Balances are stored as KuCoin names their accounts ("main"); the payout form names them "MAIN"."""
    from accounts.services.apikeys import apikey_create
    from accounts.tasks import balances_refresh_task
    from brokeroffice.jobs import job_start

    finished(apikey_create(sub_account=customer, label="reader", permissions=["General"], ip_whitelist=[])[1])
    job = finished(job_start(kind="balances_refresh", label="Balances", task=balances_refresh_task, args=(customer.pk,)))
    assert job.state == Job.State.SUCCEEDED, job.error
    customer.refresh_from_db()
    held = balance(sandbox.dump(), customer.uid, "MAIN", "USDT")
    assert held >= Decimal("100")
    operator = make_staff("operator", "olga-operator")

    with pytest.raises(ValidationError) as refused:
        payout_request(sub_account=customer, currency="USDT", chain="trx", address=TRX_ADDRESS,
                       amount=held + 1, requested_by=operator)
    assert f"has only {held.normalize():f} USDT available in MAIN" in str(refused.value)
    payout, _ = payout_request(sub_account=customer, currency="USDT", chain="trx", address=TRX_ADDRESS,
                               amount=Decimal("40"), requested_by=operator)
    assert payout.transfer.amount == Decimal("40")


def test_a_payout_transfers_to_the_broker_then_withdraws_once_approved(customer, sandbox, finished, make_staff, client):
    operator, admin = make_staff("operator", "olga-operator"), make_staff("broker-admin", "ada-admin")
    broker_uid = sandbox.broker["uid"]
    before = sandbox.dump()
    payout, job = payout_request(sub_account=customer, currency="USDT", chain="trx", address=TRX_ADDRESS,
                                 amount=Decimal("40"), requested_by=operator)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    payout.transfer.refresh_from_db()
    payout.withdrawal.refresh_from_db()
    assert payout.transfer.state == Transfer.State.SUCCEEDED and payout.transfer.direction == "IN"
    assert payout.withdrawal.state == BrokerWithdrawal.State.REQUESTED  # waits for a person
    assert wallet_withdrawals(sandbox.dump(), payout.withdrawal.remark) == []

    client.force_login(admin)
    page = client.get(f"/broker-withdrawals/{payout.withdrawal_id}/").content.decode()
    assert "1. Transfer to the broker account" in page and "Waiting for approval" in page and "Done" in page

    job = withdrawal_approve(withdrawal=payout.withdrawal, approver=admin, confirm_unlisted=True)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    sandbox.advance_time(130)
    call_command("withdrawals_sync", stdout=StringIO())
    payout.withdrawal.refresh_from_db()
    assert payout.withdrawal.state == BrokerWithdrawal.State.SUCCEEDED

    after = sandbox.dump()
    assert len(transfers_with(after, str(payout.transfer.client_oid))) == 1
    assert len(wallet_withdrawals(after, payout.withdrawal.remark)) == 1
    assert balance(before, customer.uid, "MAIN", "USDT") - balance(after, customer.uid, "MAIN", "USDT") == Decimal("40")
    # The fee comes out of the amount: the broker account is where it was.
    assert balance(after, broker_uid, "MAIN", "USDT") == balance(before, broker_uid, "MAIN", "USDT")
    assert list(payout.withdrawal.audit_records.values_list("action", flat=True)) == [
        "requested", "payout", "approved", "sending", "sent", "status", "status"]


def test_a_transfer_kucoin_refuses_cancels_the_withdrawal(customer, sandbox, finished, make_staff):
    operator = make_staff("operator", "olga-operator")
    payout, job = payout_request(sub_account=customer, currency="USDT", chain="trx", address=TRX_ADDRESS,
                                 amount=Decimal("99999"), requested_by=operator)
    job = finished(job)
    assert job.state == Job.State.FAILED and "nothing is withdrawn" in job.error
    payout.transfer.refresh_from_db()
    payout.withdrawal.refresh_from_db()
    assert payout.transfer.state == Transfer.State.FAILED and payout.transfer.error_code
    assert payout.withdrawal.state == BrokerWithdrawal.State.CANCELLED
    assert payout.withdrawal.audit_records.last().detail.startswith("The payout's transfer to the broker account failed")
    assert wallet_withdrawals(sandbox.dump(), payout.withdrawal.remark) == []


def test_an_approval_given_before_the_transfer_ends_is_sent_by_the_payout_once_it_has(customer, sandbox, finished,
                                                                                       make_staff):
    from django.db import transaction

    operator, admin = make_staff("operator", "olga-operator"), make_staff("broker-admin", "ada-admin")
    with transaction.atomic():  # nothing reaches the worker before both are recorded
        payout, job = payout_request(sub_account=customer, currency="USDT", chain="trx", address=TRX_ADDRESS,
                                     amount=Decimal("30"), requested_by=operator)
        assert withdrawal_approve(withdrawal=payout.withdrawal, approver=admin, confirm_unlisted=True) is None
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    payout.withdrawal.refresh_from_db()
    assert payout.withdrawal.state == BrokerWithdrawal.State.PROCESSING
    assert len(wallet_withdrawals(sandbox.dump(), payout.withdrawal.remark)) == 1
