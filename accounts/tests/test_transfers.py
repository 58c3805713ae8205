"""Transfers between the broker and a sub-account: money moves once, whatever the network does."""
from decimal import Decimal

import pytest

from accounts.models import Transfer
from accounts.services.transfers import transfer_request
from accounts.tests.sandbox_state import balance, transfers_with
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


@pytest.fixture
def customer(synced_sub_accounts):
    return synced_sub_accounts.order_by("uid").first()


def test_a_transfer_moves_the_money_and_ends_done(customer, sandbox, finished):
    broker_uid = sandbox.broker["uid"]
    before = sandbox.dump()
    transfer, job = transfer_request(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("12.5"),
                                     broker_account_type="MAIN", sub_account_type="TRADE")
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.message.startswith("Broker → sub-account 12.5 USDT: done")  # the amount as staff typed it

    after = sandbox.dump()
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.SUCCEEDED
    assert [t["orderId"] for t in transfers_with(after, transfer.client_oid)] == [transfer.kucoin_order_id]
    assert balance(after, customer.uid, "TRADE", "USDT") - balance(before, customer.uid, "TRADE", "USDT") == Decimal("12.5")
    assert balance(before, broker_uid, "MAIN", "USDT") - balance(after, broker_uid, "MAIN", "USDT") == Decimal("12.5")


@pytest.mark.parametrize("fault", ["drop_after", "drop_before", "http_502", "rate_limit"])
def test_a_fault_on_the_way_still_moves_the_money_exactly_once(customer, sandbox, finished, fault):
    before = sandbox.dump()
    # A short window, so that KuCoin's "try again in" (gw-ratelimit-reset) is short too.
    sandbox.set_quota("public", 2000, window_ms=2000)
    sandbox.set_fault(fault, count=1, path="/api/v1/broker/nd/transfer", method="POST")
    transfer, job = transfer_request(sub_account=customer, direction="OUT", currency="USDT", amount=Decimal("3"),
                                     sub_account_type="MAIN")
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    after = sandbox.dump()
    transfer.refresh_from_db()
    assert len(transfers_with(after, transfer.client_oid)) == 1
    assert balance(after, customer.uid, "MAIN", "USDT") - balance(before, customer.uid, "MAIN", "USDT") == Decimal("3")
    assert transfer.state == Transfer.State.SUCCEEDED


def test_more_than_the_balance_is_refused_with_kucoins_words(customer, sandbox, finished):
    transfer, job = transfer_request(sub_account=customer, direction="IN", currency="USDT", amount=Decimal("99999999"),
                                     sub_account_type="MAIN")
    job = finished(job)
    assert job.state == Job.State.FAILED
    transfer.refresh_from_db()
    assert transfer.state == Transfer.State.FAILED
    assert transfer.error_code and transfer.error_message
    assert transfer.error_code in job.error
    assert transfers_with(sandbox.dump(), transfer.client_oid) == []
