"""Failures on the way: a lost answer never leads to a second order, KuCoin's rejections are kept in its
own code and words, and a wrong partner signature is caught (VERIFY on) or leaves the order untagged (VERIFY off)."""
from decimal import Decimal as D

import pytest

from brokeroffice.jobs import job_create, job_enqueue
from brokeroffice.models import Job
from trading.models import Order
from trading.selectors import tagged_share
from trading.services.orders import order_place, orders_verify_request
from trading.tasks import order_place_task
from trading.tests.sandbox_orders import orders_with

pytestmark = pytest.mark.worker

SPOT_LIMIT = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"))
FUTURES_LIMIT = dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"),
                     leverage=10)
WRONG_BROKER_KEY = "made-up-wrong-broker-key-for-tests"


@pytest.mark.parametrize("params,path", [(SPOT_LIMIT, "/api/v1/hf/orders"), (FUTURES_LIMIT, "/api/v1/orders")])
@pytest.mark.parametrize("fault", ["drop_after", "malformed", "drop_before", "http_502"])
def test_a_lost_answer_never_places_a_second_order(kucoin_worker, customer_key, sandbox, finished, settled,
                                                   params, path, fault):
    sandbox.set_fault(fault, count=1, path=path, method="POST")
    order, job = order_place(api_key=customer_key, **params)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    [order] = settled([order])

    held = orders_with(sandbox.dump(), order.client_oid)
    assert len(held) == 1
    assert order.kucoin_order_id == held[0]["id"]
    assert order.state == Order.State.OPEN
    assert order.verification == Order.Verification.TAGGED
    assert Job.objects.get(pk=job.pk).attempts >= 2  # the first attempt did not learn the outcome


def test_a_timestamp_refused_again_after_the_clock_resync_is_tried_later_not_taken_for_a_rejection(
        kucoin_worker, customer_key, sandbox, finished, settled):
    """KuCoin's gateway refuses a timestamp (400002) before doing anything: the client syncs its clock and tries
    once; a second refusal is worth a later try, like a 5xx, not a rejection of the order."""
    sandbox.set_fault("clock_skew", count=2, path="/api/v1/hf/orders", method="POST")
    order, job = order_place(api_key=customer_key, **SPOT_LIMIT)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    [order] = settled([order])
    assert order.state == Order.State.OPEN and order.error_code == ""
    assert len(orders_with(sandbox.dump(), order.client_oid)) == 1


def test_a_task_delivered_twice_places_one_order(kucoin_worker, customer_key, sandbox, finished, settled):
    order, job = order_place(api_key=customer_key, **SPOT_LIMIT)
    assert finished(job).state == Job.State.SUCCEEDED
    # The queue hands the same task out again (a redelivery): it finds the order placed and does nothing.
    again = job_create(kind="order_place", label="redelivered")
    from django.db import transaction

    with transaction.atomic():
        job_enqueue(job=again, task=order_place_task, args=(order.pk,))
    assert finished(again).state == Job.State.SUCCEEDED
    assert len(orders_with(sandbox.dump(), order.client_oid)) == 1


@pytest.mark.parametrize("params,code,words", [
    (dict(SPOT_LIMIT, size=D("100")), "200004", "Balance insufficient"),
    (dict(SPOT_LIMIT, price=D("30000.05")), "400100", "priceIncrement"),
    (dict(FUTURES_LIMIT, size=D("100000")), "300003", ""),
    (dict(market="futures", symbol="SOLUSDTM", side="sell", type="market", close_order=True, leverage=1), "300009",
     "No open positions"),
])
def test_kucoins_rejection_is_kept_in_its_words(kucoin_worker, customer_key, sandbox, finished, params, code, words):
    order, job = order_place(api_key=customer_key, **params)
    job = finished(job)
    order.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert order.state == Order.State.REJECTED
    assert order.error_code == code
    assert words.lower() in order.error_message.lower()
    assert f"KuCoin {code}" in job.error
    assert orders_with(sandbox.dump(), order.client_oid) == []


def test_a_wrong_partner_signature_with_verify_on_is_refused_with_400201(worker_with, customer_key, sandbox, finished):
    worker_with(KUCOIN_BROKER_KEY=WRONG_BROKER_KEY, KUCOIN_FUTURES_BROKER_KEY=WRONG_BROKER_KEY)
    spot, spot_job = order_place(api_key=customer_key, **SPOT_LIMIT)
    futures, futures_job = order_place(api_key=customer_key, **FUTURES_LIMIT)
    for order, job in ((spot, spot_job), (futures, futures_job)):
        job = finished(job)
        order.refresh_from_db()
        assert job.state == Job.State.FAILED
        assert order.state == Order.State.REJECTED and order.error_code == "400201"
        assert "partner signature is wrong" in job.error
        assert orders_with(sandbox.dump(), order.client_oid) == []


def test_with_verify_off_a_wrong_partner_signature_leaves_orders_untagged(worker_with, customer_key, sandbox,
                                                                          finished, settled):
    worker_with(KUCOIN_BROKER_KEY=WRONG_BROKER_KEY, KUCOIN_FUTURES_BROKER_KEY=WRONG_BROKER_KEY,
                DJANGO_SETTINGS_MODULE="trading.tests.settings_verify_off")
    placed = [order_place(api_key=customer_key, **SPOT_LIMIT), order_place(api_key=customer_key, **FUTURES_LIMIT)]
    for _, job in placed:
        assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    dump = sandbox.dump()
    for order in settled([o for o, _ in placed]):
        held = orders_with(dump, order.client_oid)
        assert len(held) == 1 and order.kucoin_order_id == held[0]["id"]
        assert not held[0]["tags"]  # KuCoin took the order without attributing it to the broker
        assert order.state == Order.State.OPEN
        assert order.verification == Order.Verification.UNTAGGED and order.tags == ""
        assert order.verified_at is not None
    # Verifying them again on demand records the same, and the share pages count them as untagged.
    job = finished(orders_verify_request(order_ids=[o.pk for o, _ in placed]))
    assert job.state == Job.State.SUCCEEDED and job.result["untagged"] == 2
    assert tagged_share()["untagged"] == 2
