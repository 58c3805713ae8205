"""Withdrawals from the broker account, through a real worker against the sandbox: two people, sent once
whatever the network does, followed to the end, cancelled while KuCoin allows, every step on the record."""
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts.models import BrokerWithdrawal
from accounts.services.withdrawals import (
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_quota_fetch_start,
    withdrawal_refuse,
    withdrawal_request,
)
from accounts.tests.funding_support import TRX_ADDRESS, wallet_withdrawals
from accounts.tests.sandbox_state import balance
from brokeroffice.jobs import job_start
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


@pytest.fixture
def people(kucoin_worker, make_staff):
    return {"operator": make_staff("operator", "olga-operator"), "ada": make_staff("broker-admin", "ada-admin"),
            "bob": make_staff("broker-admin", "bob-admin")}


@pytest.fixture
def usdt_trx_quota(kucoin_worker, finished):
    job = finished(withdrawal_quota_fetch_start(currency="USDT", chain="trx"))
    assert job.state == Job.State.SUCCEEDED, job.error
    return job


def steps(withdrawal) -> list[str]:
    return list(withdrawal.audit_records.values_list("action", flat=True))


def follow() -> str:
    """What the schedule does, through the command of the runbooks."""
    out = StringIO()
    call_command("withdrawals_sync", stdout=out)
    return out.getvalue()


def test_requested_approved_by_another_admin_sent_once_through_a_lost_answer_and_followed_to_success(
        people, usdt_trx_quota, sandbox, finished):
    broker_uid = sandbox.broker["uid"]
    before = sandbox.dump()
    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("25.5"),
                                    note="Treasury rebalance", requested_by=people["ada"])
    assert withdrawal.state == BrokerWithdrawal.State.REQUESTED and withdrawal.remark

    with pytest.raises(ValidationError, match="a different broker-admin must approve it"):
        withdrawal_approve(withdrawal=withdrawal, approver=people["ada"], confirm_unlisted=True)
    assert wallet_withdrawals(sandbox.dump(), withdrawal.remark) == []

    # KuCoin makes the withdrawal and the connection drops before its answer arrives.
    sandbox.set_fault("drop_after", count=1, path="/api/v3/withdrawals", method="POST")
    job = withdrawal_approve(withdrawal=withdrawal, approver=people["bob"], confirm_unlisted=True)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    at_kucoin = wallet_withdrawals(sandbox.dump(), withdrawal.remark)
    assert len(at_kucoin) == 1
    withdrawal.refresh_from_db()
    assert withdrawal.kucoin_withdrawal_id == at_kucoin[0]["id"]
    assert withdrawal.state == BrokerWithdrawal.State.PROCESSING and withdrawal.approved_by == people["bob"]

    sandbox.advance_time(130)
    assert "Followed 1 open withdrawal" in follow()
    withdrawal.refresh_from_db()
    assert withdrawal.state == BrokerWithdrawal.State.SUCCEEDED and withdrawal.kucoin_status == "SUCCESS"
    assert withdrawal.wallet_tx_id and withdrawal.fee == Decimal("1")
    after = sandbox.dump()
    assert len(wallet_withdrawals(after, withdrawal.remark)) == 1
    # Out of the broker's MAIN once: the amount and KuCoin's fee on top.
    assert balance(before, broker_uid, "MAIN", "USDT") - balance(after, broker_uid, "MAIN", "USDT") == Decimal("26.5")

    assert steps(withdrawal) == ["requested", "approval_refused", "approved", "sending", "outcome_unknown",
                                 "looked_up", "found", "status", "status"]
    records = {r.action: r for r in withdrawal.audit_records.all()}
    assert records["requested"].actor == people["ada"] and records["approved"].actor == people["bob"]
    assert records["approval_refused"].actor_label == "ada-admin"
    assert records["status"].detail == "KuCoin: SUCCESS"


# A lost answer to an attempt KuCoin never executed is sent again only LISTING_LAG later: on Django's clock,
# in test_withdrawal_listing_lag.py.


def test_a_garbled_answer_and_a_second_delivery_of_the_task_still_send_once(people, usdt_trx_quota, sandbox, finished):
    from accounts.tasks import broker_withdrawal_send_task

    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("13"),
                                    requested_by=people["operator"])
    # KuCoin makes the withdrawal and its answer arrives truncated.
    sandbox.set_fault("malformed", count=1, path="/api/v3/withdrawals", method="POST")
    job = withdrawal_approve(withdrawal=withdrawal, approver=people["ada"], confirm_unlisted=True)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    again = job_start(kind="broker_withdrawal_send", label="Send again", task=broker_withdrawal_send_task,
                      args=(withdrawal.pk,))
    assert finished(again).state == Job.State.SUCCEEDED
    assert len(wallet_withdrawals(sandbox.dump(), withdrawal.remark)) == 1
    assert steps(withdrawal).count("sending") == 1 and "found" in steps(withdrawal)


def test_nothing_is_sent_before_approval_nor_after_a_refusal(people, usdt_trx_quota, sandbox, finished):
    from accounts.tasks import broker_withdrawal_send_task

    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("30"),
                                    requested_by=people["operator"])
    # Even a send task queued by mistake does nothing to a withdrawal that was not approved.
    job = job_start(kind="broker_withdrawal_send", label="Send", task=broker_withdrawal_send_task, args=(withdrawal.pk,))
    assert finished(job).state == Job.State.SUCCEEDED
    withdrawal_refuse(withdrawal=withdrawal, by=people["ada"], reason="Unknown recipient")
    with pytest.raises(ValidationError, match="only a withdrawal waiting for approval"):
        withdrawal_approve(withdrawal=withdrawal, approver=people["bob"], confirm_unlisted=True)
    follow()
    withdrawal.refresh_from_db()
    assert withdrawal.state == BrokerWithdrawal.State.REFUSED and withdrawal.decision_reason == "Unknown recipient"
    assert wallet_withdrawals(sandbox.dump(), withdrawal.remark) == []
    assert steps(withdrawal) == ["requested", "refused"]


def test_cancelled_while_kucoin_allows_and_refused_in_words_after(people, usdt_trx_quota, sandbox, finished):
    broker_uid = sandbox.broker["uid"]
    before = sandbox.dump()
    first = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("15"),
                               requested_by=people["operator"])
    second = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("16"),
                                requested_by=people["operator"])
    for withdrawal in (first, second):
        assert finished(withdrawal_approve(withdrawal=withdrawal, approver=people["ada"], confirm_unlisted=True)).state \
            == Job.State.SUCCEEDED

    job = withdrawal_cancel(withdrawal=BrokerWithdrawal.objects.get(pk=first.pk), by=people["operator"])
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    first.refresh_from_db()
    assert first.state == BrokerWithdrawal.State.CANCELLED and first.failure_reason == "CANCELLED"
    assert wallet_withdrawals(sandbox.dump(), first.remark)[0]["status"] == "FAILURE"

    sandbox.advance_time(70)  # KuCoin has moved the second on to WALLET_PROCESSING: too late to cancel
    job = finished(withdrawal_cancel(withdrawal=BrokerWithdrawal.objects.get(pk=second.pk), by=people["bob"]))
    assert job.state == Job.State.FAILED and "400100" in job.error
    second.refresh_from_db()
    assert second.state == BrokerWithdrawal.State.PROCESSING and second.kucoin_status == "WALLET_PROCESSING"
    assert "cancel_refused" in steps(second)
    with pytest.raises(ValidationError, match="no longer allows cancelling"):
        withdrawal_cancel(withdrawal=second, by=people["bob"])

    sandbox.advance_time(60)
    follow()
    second.refresh_from_db()
    assert second.state == BrokerWithdrawal.State.SUCCEEDED
    # Only the second left the broker account (16 + the fee of 1); the cancelled one was released.
    assert balance(before, broker_uid, "MAIN", "USDT") - balance(sandbox.dump(), broker_uid, "MAIN", "USDT") == Decimal("17")


def test_a_failure_at_kucoin_is_followed_and_recorded(people, usdt_trx_quota, sandbox, finished):
    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("11"),
                                    requested_by=people["operator"])
    assert finished(withdrawal_approve(withdrawal=withdrawal, approver=people["ada"], confirm_unlisted=True)).state \
        == Job.State.SUCCEEDED
    withdrawal.refresh_from_db()
    sandbox.set_withdrawal_status(withdrawal.kucoin_withdrawal_id, "FAILURE")
    follow()
    withdrawal.refresh_from_db()
    assert withdrawal.state == BrokerWithdrawal.State.FAILED and withdrawal.failure_reason == "WALLET_REJECTED"
    assert withdrawal.audit_records.last().detail == "KuCoin: FAILURE (WALLET_REJECTED)"


def test_kucoins_fetched_quota_refuses_an_amount_under_its_minimum(people, usdt_trx_quota):
    with pytest.raises(ValidationError, match="The minimum withdrawal is 10 USDT"):
        withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("5"),
                           requested_by=people["operator"])
    assert not BrokerWithdrawal.objects.exists()


def test_the_form_has_a_task_fetch_the_quota_then_accepts_the_request(people, sandbox, finished, client):
    client.force_login(people["operator"])
    typed = {"currency": "USDT", "chain": "trx", "address": TRX_ADDRESS, "memo": "", "amount": "21",
             "fee_deduct_type": "EXTERNAL", "note": ""}
    response = client.post("/broker-withdrawals/new/", typed)
    job = Job.objects.get(kind="withdrawal_quota_fetch")
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    page = client.get(response["Location"]).content.decode()
    assert "KuCoin's figures for USDT on TRC20" in page and 'value="21"' in page
    assert "10 USDT" in page  # KuCoin's minimum, as the sandbox reports it

    response = client.post("/broker-withdrawals/new/", typed)
    withdrawal = BrokerWithdrawal.objects.get()
    assert response["Location"] == f"/broker-withdrawals/{withdrawal.pk}/"
    assert withdrawal.amount == Decimal("21") and withdrawal.state == BrokerWithdrawal.State.REQUESTED
