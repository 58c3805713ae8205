"""An order whose job staff see failed is never sent afterwards: a task message delivered again later (the queue
gives back a task whose worker died) only looks it up by clientOid, as "Resume stalled actions" does."""
from decimal import Decimal as D

import pytest

from brokeroffice.jobs import job_create
from brokeroffice.models import Job
from kucoin.errors import OutcomeUnknownError
from trading.models import Order
from trading.services.orders import order_send
from trading.tests.sandbox_orders import orders_with

MARKET_BUY = dict(market="spot", symbol="BTC-USDT", side="buy", type="market", funds=D("10"))


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
