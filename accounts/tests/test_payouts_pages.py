"""The payout form on a sub-account: both steps checked before anything is sent, and the payout shown as
one item with both steps' states."""
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import BrokerWithdrawal, Payout, SubAccountBalance, Transfer
from accounts.tests.funding_support import TRX_ADDRESS, quota_snapshot
from accounts.tests.test_pages_support import html, login, sub_account
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db

GOOD = {"currency": "USDT", "chain": "trx", "address": TRX_ADDRESS, "memo": "", "amount": "40",
        "sub_account_type": "MAIN", "note": ""}


def test_a_payout_records_the_transfer_and_the_withdrawal_as_one_item(client, make_staff):
    sub = sub_account(account_name="alice-0001")
    quota_snapshot(available="0")  # the broker account itself may be empty: the transfer brings the funds
    user = login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/payouts/new/", GOOD)
    payout = Payout.objects.get()
    job = Job.objects.get(kind="payout_advance")
    assert response["Location"] == f"/broker-withdrawals/{payout.withdrawal_id}/?job={job.pk}"
    assert (payout.transfer.direction, payout.transfer.amount, payout.transfer.purpose) == ("IN", Decimal("40"), "payout")
    assert payout.withdrawal.fee_deduct_type == "INTERNAL" and payout.withdrawal.requested_by == user
    assert not Job.objects.filter(kind="transfer_send").exists()  # the payout's own job sends its transfer

    page = html(client.get(f"/broker-withdrawals/{payout.withdrawal_id}/"))
    assert "Payout for" in page and "alice-0001" in page and "1. Transfer to the broker account" in page
    assert "Waiting to be sent" in page and "Waiting for approval" in page
    listed = html(client.get(f"/subaccounts/{sub.pk}/"))
    assert f"Payout #{payout.pk}" in listed
    assert "payout for alice-0001" in html(client.get("/broker-withdrawals/"))


def test_more_than_the_sub_accounts_last_read_balance_is_refused_in_words(client, make_staff):
    sub = sub_account(balances_refreshed_at=timezone.now())
    SubAccountBalance.objects.create(sub_account=sub, account_type="MAIN", currency="USDT", balance=Decimal("10"),
                                     available=Decimal("10"), holds=Decimal("0"), refreshed_at=timezone.now())
    quota_snapshot()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/payouts/new/", GOOD)
    assert response.status_code == 400 and "has only 10 USDT available in MAIN" in html(response)
    assert not Payout.objects.exists() and not Transfer.objects.exists() and not BrokerWithdrawal.objects.exists()


def test_a_bad_address_refuses_the_whole_payout(client, make_staff):
    sub = sub_account()
    quota_snapshot()
    login(client, make_staff, "operator")
    response = client.post(f"/subaccounts/{sub.pk}/payouts/new/", {**GOOD, "address": "0xnot"})
    assert response.status_code == 400 and "is not a TRC20 address" in html(response)
    assert not Transfer.objects.exists() and not Job.objects.exists()


def test_an_approval_before_the_transfer_is_done_waits_for_it(client, make_staff):
    sub = sub_account()
    quota_snapshot()
    login(client, make_staff, "operator")
    client.post(f"/subaccounts/{sub.pk}/payouts/new/", GOOD)
    payout = Payout.objects.get()
    client.force_login(make_staff("broker-admin", "ada-admin"))
    response = client.post(f"/broker-withdrawals/{payout.withdrawal_id}/approve/", {"confirm_unlisted": "on"}, follow=True)
    assert "sent once the payout&#x27;s transfer is done" in html(response)
    payout.withdrawal.refresh_from_db()
    assert payout.withdrawal.state == BrokerWithdrawal.State.APPROVED
    assert not Job.objects.filter(kind="broker_withdrawal_send").exists()  # the payout's own task sends it later
