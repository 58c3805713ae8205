"""A cancel KuCoin refuses while the order stays open (cancelling suspended, 300002) is a failure, in KuCoin's
words: the cancel's job fails, and the set-up check does not claim it cancelled its test order."""
from decimal import Decimal as D

import pytest

from brokeroffice.models import Job
from trading.models import Order
from trading.services.orders import order_cancel_request, order_send
from trading.services.setup_check import broker_verify
from trading.tasks import order_cancel_task
from trading.tests.conftest import CUSTOMER_UID
from trading.tests.sandbox_orders import orders_with, state_of

FAR_LIMIT = dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("1000"), size=D("1"),
                 leverage=100)


@pytest.fixture
def cancelling_suspended(sandbox):
    """KuCoin suspends cancelling on futures (as during maintenance): every cancel is refused with 300002 and the
    order stays open."""
    sandbox.set_fault("refuse", code="300002", msg="order placement/cancellation suspended", family="futures",
                      method="DELETE", path="/api/v1/orders/")


@pytest.mark.django_db
def test_a_refused_cancel_fails_its_job_in_kucoins_words_and_the_order_stays_open(
        sandbox, sandbox_settings, customer_key, cancelling_suspended):
    order = Order.objects.create(api_key=customer_key, sub_account=customer_key.sub_account, **FAR_LIMIT)
    order_send(order_id=order.pk)
    job = order_cancel_request(order=Order.objects.get(pk=order.pk))

    order_cancel_task.apply(args=(str(job.pk), order.pk))  # the worker's task, run here

    job.refresh_from_db()
    order.refresh_from_db()
    [held] = orders_with(sandbox.dump(), order.client_oid)
    assert state_of(held) == "open" == order.state
    assert job.state == Job.State.FAILED
    assert "300002" in job.error and "order placement/cancellation suspended" in job.error
    assert "still open" in job.error


@pytest.mark.django_db
def test_the_setup_check_does_not_say_it_cancelled_a_test_order_kucoin_kept_open(
        sandbox, sandbox_settings, customer_key, cancelling_suspended):
    outcome = broker_verify(uid=CUSTOMER_UID, market="futures")

    order = Order.objects.get(purpose=Order.Purpose.SETUP_CHECK)
    [held] = orders_with(sandbox.dump(), order.client_oid)
    assert state_of(held) == "open" == order.state
    assert "was cancelled" not in outcome["message"]
    assert "Not cancelled" in outcome["message"] and "300002" in outcome["message"]
    assert "Cancel it on the order's page" in outcome["message"]
