"""An order whose job staff see failed is never sent afterwards: a task message delivered again later (the queue
gives back a task whose worker died) only looks it up by clientOid, as "Resume stalled actions" does."""
from decimal import Decimal as D

import pytest

from brokeroffice.jobs import job_create
from brokeroffice.models import Job
from kucoin.errors import OutcomeUnknownError
from trading.models import Order
from trading.services.batches import orders_place_batch, orders_send_chunk
from trading.services.orders import order_send
from trading.tasks import _job_failed_on_error
from trading.tests.sandbox_orders import orders_with, state_of

MARKET_BUY = dict(market="spot", symbol="BTC-USDT", side="buy", type="market", funds=D("10"))
RESTING = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"))


@pytest.mark.django_db
def test_a_task_delivered_again_after_its_job_failed_does_not_place_the_order(sandbox, sandbox_settings,
                                                                               customer_key):
    order = Order.objects.create(api_key=customer_key, sub_account=customer_key.sub_account, **MARKET_BUY)
    job = job_create(kind="order_place", label=f"Place {order}")
    sandbox.set_fault("http_502", count=1, path="/api/v1/hf/orders", method="POST")
    with pytest.raises(OutcomeUnknownError):
        order_send(order_id=order.pk, job_id=str(job.pk))
    # Its retries ran out: the job is shown failed, and staff place another order instead.
    Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, error="No answer from KuCoin.")

    order_send(order_id=order.pk, job_id=str(job.pk))  # the same message, delivered again

    order.refresh_from_db()
    assert order.state == Order.State.FAILED
    assert order.error_message.startswith("Not placed: KuCoin has no order with this clientOid")
    assert orders_with(sandbox.dump(), order.client_oid) == []
    assert Job.objects.get(pk=job.pk).state == Job.State.FAILED


@pytest.mark.django_db
def test_within_its_retries_an_order_is_still_sent_once(sandbox, sandbox_settings, customer_key):
    order = Order.objects.create(api_key=customer_key, sub_account=customer_key.sub_account, **MARKET_BUY)
    job = job_create(kind="order_place", label=f"Place {order}")
    sandbox.set_fault("http_502", count=1, path="/api/v1/hf/orders", method="POST")
    with pytest.raises(OutcomeUnknownError):
        order_send(order_id=order.pk, job_id=str(job.pk))

    order_send(order_id=order.pk, job_id=str(job.pk))  # the task's own retry

    order.refresh_from_db()
    [held] = orders_with(sandbox.dump(), order.client_oid)
    assert (order.kucoin_order_id, order.state) == (held["id"], Order.State.FILLED)
    assert Job.objects.get(pk=job.pk).state == Job.State.SUCCEEDED


@pytest.mark.django_db
def test_the_chunks_of_a_batch_whose_job_failed_place_nothing_late(sandbox, sandbox_settings, customer_key):
    """One chunk gives up (its last retry got no answer): the batch's job is shown failed, and the chunks still
    queued (or delivered again) only look their orders up, as a single order's task does."""
    orders, job = orders_place_batch(orders=[{"api_key": customer_key, **RESTING, "price": D("30000") + i}
                                             for i in range(3)], chunk_size=1)
    cut_off, queued, queued_too = orders
    sandbox.set_fault("drop_after", count=1, path="/api/v1/hf/orders", method="POST")  # placed, answer lost
    with pytest.raises(OutcomeUnknownError), _job_failed_on_error(str(job.pk)):  # as after its last retry
        orders_send_chunk(order_ids=[cut_off.pk], job_id=str(job.pk))
    failed_with = Job.objects.get(pk=job.pk).error
    assert Job.objects.get(pk=job.pk).state == Job.State.FAILED and "No answer from KuCoin" in failed_with

    orders_send_chunk(order_ids=[queued.pk], job_id=str(job.pk))  # the chunks still queued run
    orders_send_chunk(order_ids=[queued_too.pk], job_id=str(job.pk))
    orders_send_chunk(order_ids=[cut_off.pk], job_id=str(job.pk))  # and the cut-off one is delivered again

    dump = sandbox.dump()
    for order in (queued, queued_too):
        order.refresh_from_db()
        assert order.state == Order.State.FAILED and order.error_message.startswith("Not sent")
        assert orders_with(dump, order.client_oid) == []
    cut_off.refresh_from_db()
    [held] = orders_with(dump, cut_off.client_oid)  # KuCoin's order, recorded, never a second one
    assert (cut_off.kucoin_order_id, cut_off.state) == (held["id"], state_of(held))
    job.refresh_from_db()
    assert (job.state, job.error) == (Job.State.FAILED, failed_with)
    assert job.progress_done == 3 and job.result == {"placed": 1, "failed": 2}
