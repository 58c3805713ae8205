"""The status sync and the tag verification against the sandbox, run as staff run them (`manage.py orders_sync`,
`manage.py orders_verify`): an order whose key was deleted does not stop the others, and orders KuCoin refuses
to show make the job (and the command) fail with the counts."""
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from accounts.models import SubAccountApiKey
from brokeroffice.models import Job
from trading.models import Order
from trading.services.orders import order_send
from trading.tests.conftest import import_key, usable_uids
from trading.tests.sandbox_orders import orders_with, state_of

FAR_BUY = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("1000"), size=D("0.001"))
NEAR_BUY = dict(FAR_BUY, price=D("50000"))


def placed(key: SubAccountApiKey, **params) -> Order:
    """An order placed at the sandbox in this process, as the worker places it."""
    order = Order.objects.create(api_key=key, sub_account=key.sub_account, **params)
    order_send(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == Order.State.OPEN, order.error_message
    return order


def delete_key_here(key: SubAccountApiKey) -> None:
    """What `apikey_delete` leaves behind: the row, marked deleted, without its secret."""
    key.state, key.secret, key.passphrase = SubAccountApiKey.State.DELETED, "", ""
    key.save(update_fields=["state", "secret", "passphrase", "updated_at"])


@pytest.fixture
def two_keys(sandbox, sandbox_settings, db):
    dump = sandbox.dump()
    first, second = usable_uids(dump)[:2]
    return import_key(dump, first), import_key(dump, second)


def last_job(kind: str) -> Job:
    return Job.objects.filter(kind=kind).latest("created_at")


def test_an_order_whose_key_was_deleted_does_not_stop_the_sync_of_the_others(two_keys, sandbox):
    deleted_key, live_key = two_keys
    orphan = placed(deleted_key, **FAR_BUY)  # the lower pk: synced first
    filled = placed(live_key, **NEAR_BUY)
    delete_key_here(deleted_key)
    sandbox.set_mark_price("BTC-USDT", "49000")  # KuCoin fills the near buy

    call_command("orders_sync")

    filled.refresh_from_db()
    held = orders_with(sandbox.dump(), filled.client_oid)[0]
    assert filled.state == Order.State.FILLED == state_of(held)
    assert filled.deal_size == D(held["deal_size"])
    orphan.refresh_from_db()
    assert orphan.state == Order.State.OPEN  # unchanged: nothing here can read it any more
    job = last_job("orders_sync")
    assert job.state == Job.State.SUCCEEDED
    assert "1 no usable key" in job.message and job.result["no usable key"] == 1
    # The share recount at the end of the sync ran: the filled order is counted.
    from trading.models import TagShare

    assert sum(s.tagged for s in TagShare.objects.all()) == 2

    # "Verify tags now" on both goes the same way.
    call_command("orders_verify", str(orphan.pk), str(filled.pk))
    job = last_job("orders_verify")
    assert job.state == Job.State.SUCCEEDED and job.result == {"total": 2, "no usable key": 1, "tagged": 1}


def test_orders_kucoin_refuses_to_show_fail_the_job_and_the_command(two_keys, sandbox):
    wrong_key, live_key = two_keys
    refused = placed(wrong_key, **FAR_BUY)
    fine = placed(live_key, **FAR_BUY)
    # KuCoin refuses every call it signs (a V3 key's passphrase is signed with the secret: 400004).
    wrong_key.secret = "made-up-wrong-secret-for-tests"
    wrong_key.save(update_fields=["secret", "updated_at"])

    with pytest.raises(CommandError) as failed:
        call_command("orders_verify", str(refused.pk), str(fine.pk))

    assert "1 failed, 1 tagged" in str(failed.value)
    job = last_job("orders_verify")
    assert job.state == Job.State.FAILED
    assert "Verified 2 order(s): 1 failed, 1 tagged" in job.error and "KuCoin refused 1" in job.error
    refused.refresh_from_db()
    assert refused.error_code == "400004"

    with pytest.raises(CommandError):
        call_command("orders_sync")
    assert last_job("orders_sync").state == Job.State.FAILED
