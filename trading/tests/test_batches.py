"""Orders placed in a batch (one job, sent in chunks) through the real worker against the sandbox: each order is
held once by KuCoin with the broker's tag, a lost answer inside a chunk never places a second order, and a wrong
order refuses the whole batch before anything is written."""
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from brokeroffice.models import Job, KuCoinCall
from trading.models import Order
from trading.services.batches import orders_place_batch
from trading.services.orders import SPOT_MAX_OPEN_ORDERS
from trading.tests.sandbox_orders import by_client_oid, state_of
from trading.tests.test_many_orders_with_faults import MIX

RESTING = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"))


def batch_of(key, n, **extra):
    return [{"api_key": key, **MIX[i % len(MIX)], **extra} for i in range(n)]


@pytest.mark.worker
def test_a_batch_places_each_order_once_tagged_and_its_job_counts_them(kucoin_worker, customer_key, sandbox, finished,
                                                                        settled):
    orders, job = orders_place_batch(orders=batch_of(customer_key, 30) + [{"api_key": customer_key, **RESTING}],
                                     chunk_size=8)
    job = finished(job)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total) == (31, 31)
    orders = settled(orders)
    held = by_client_oid(sandbox.dump())
    for order in orders:
        [at_kucoin] = held[order.client_oid]
        assert (order.kucoin_order_id, order.state) == (at_kucoin["id"], state_of(at_kucoin))
        assert order.verification == Order.Verification.TAGGED and order.tags == at_kucoin["tags"]
    assert orders[-1].state == Order.State.OPEN
    # Every KuCoin call of the batch is in the call log, under the batch's job.
    assert KuCoinCall.objects.filter(job_id=job.pk, method="POST").count() == 31


@pytest.mark.worker
@pytest.mark.parametrize("fault", ["drop_after", "http_502"])
def test_a_lost_answer_inside_a_chunk_never_places_a_second_order(kucoin_worker, customer_key, sandbox, finished,
                                                                  settled, fault):
    sandbox.set_fault(fault, count=2, path="/api/v1/hf/orders", method="POST")
    orders, job = orders_place_batch(orders=[{"api_key": customer_key, **RESTING, "price": D("30000") + i}
                                             for i in range(10)], chunk_size=5)
    assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    orders = settled(orders)
    held = by_client_oid(sandbox.dump())
    assert {o.client_oid: len(held.get(o.client_oid, [])) for o in orders} == {o.client_oid: 1 for o in orders}
    assert all(o.state == Order.State.OPEN and o.verification == Order.Verification.TAGGED for o in orders)
    assert Job.objects.get(pk=job.pk).attempts >= 1  # a chunk was retried


@pytest.mark.worker
def test_a_rejected_order_in_a_batch_keeps_kucoins_words_and_the_rest_go_through(kucoin_worker, customer_key, sandbox,
                                                                                finished, settled):
    orders, job = orders_place_batch(orders=[{"api_key": customer_key, **RESTING},
                                             {"api_key": customer_key, **RESTING, "size": D("100")}])
    finished(job)
    placed, rejected = settled(orders)
    assert placed.state == Order.State.OPEN and placed.verification == Order.Verification.TAGGED
    assert rejected.state == Order.State.REJECTED and rejected.error_code == "200004"
    assert by_client_oid(sandbox.dump()).get(rejected.client_oid) is None


@pytest.mark.django_db
def test_a_wrong_order_refuses_the_whole_batch_before_anything_is_written(customer_key_offline):
    good = {"api_key": customer_key_offline, **RESTING}
    with pytest.raises(ValidationError) as refused:
        orders_place_batch(orders=[good, {**good, "price": None}])
    assert "Order 2" in " ".join(refused.value.messages)
    with pytest.raises(ValidationError) as refused:
        orders_place_batch(orders=[{**good, "client_oid": "desk-1"}, {**good, "client_oid": "desk-1"}])
    assert "used twice" in " ".join(refused.value.messages)
    # KuCoin's cap of open orders per symbol counts the batch's own resting orders too.
    with pytest.raises(ValidationError) as refused:
        orders_place_batch(orders=[good] * (SPOT_MAX_OPEN_ORDERS + 1))
    assert f"at most {SPOT_MAX_OPEN_ORDERS} per symbol" in " ".join(refused.value.messages)
    assert Order.objects.count() == 0 and not Job.objects.filter(kind="orders_place").exists()


@pytest.fixture
def customer_key_offline():
    from accounts.tests.factories import ApiKeyFactory

    return ApiKeyFactory(permissions=["General", "Spot", "Futures"])


@pytest.mark.django_db
def test_a_chunk_is_claimed_and_marked_sent_in_one_write_before_anything_is_sent(customer_key_offline):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trading.services.batches import _claim_chunk

    orders, _ = orders_place_batch(orders=batch_of(customer_key_offline, 5))
    with CaptureQueriesContext(connection) as queries:
        claimed, until, near_limit, previously_sent = _claim_chunk([o.pk for o in orders])
    assert [o.pk for o in claimed] == [o.pk for o in orders] and near_limit == [] and previously_sent == set()
    assert len([q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]) == 1
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        assert (order.state, order.lease_until) == (Order.State.UNKNOWN, until) and order.sent_at is not None


@pytest.mark.django_db
def test_a_chunk_leaves_an_order_held_elsewhere_or_sent_since_it_was_read(customer_key_offline, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from trading.services import batches

    held, sent_meanwhile, free = orders_place_batch(orders=batch_of(customer_key_offline, 3))[0]
    Order.objects.filter(pk=held.pk).update(lease_until=timezone.now() + timedelta(minutes=5))
    looked_at = batches.near_futures_limit

    def another_execution_sends(order):  # runs between the chunk's read and its claim
        if order.pk == sent_meanwhile.pk:
            Order.objects.filter(pk=order.pk).update(sent_at=timezone.now(), state=Order.State.UNKNOWN)
        return looked_at(order)

    monkeypatch.setattr(batches, "near_futures_limit", another_execution_sends)
    claimed, _, _, _ = batches._claim_chunk([held.pk, sent_meanwhile.pk, free.pk])
    assert [o.pk for o in claimed] == [free.pk]  # the other one is retried with a look-up by clientOid first
    assert Order.objects.get(pk=held.pk).state == Order.State.PENDING


@pytest.mark.django_db
def test_a_batch_with_rejected_orders_ends_failed_with_its_counts_and_a_long_one_is_not_lost(
        sandbox, sandbox_settings, customer_key):
    """Its chunks sent in this process, one order each, as the worker sends them."""
    from datetime import timedelta

    from django.utils import timezone

    from brokeroffice.jobs import jobs_mark_lost
    from trading.services.batches import orders_send_chunk

    orders, job = orders_place_batch(orders=[{"api_key": customer_key, **RESTING},
                                             {"api_key": customer_key, **RESTING, "size": D("100")},
                                             {"api_key": customer_key, **RESTING, "size": D("200")}], chunk_size=1)
    placed, poor, poorer = orders
    orders_send_chunk(order_ids=[placed.pk], job_id=str(job.pk))
    # The batch started two hours ago and is still sending (its chunks waited behind other work): alive.
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(hours=2))
    orders_send_chunk(order_ids=[poor.pk], job_id=str(job.pk))
    jobs_mark_lost(running_longer_than=timedelta(hours=1), pending_longer_than=timedelta(hours=3))
    assert Job.objects.get(pk=job.pk).state == Job.State.RUNNING
    orders_send_chunk(order_ids=[poorer.pk], job_id=str(job.pk))

    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.error.startswith("1 of 3 orders placed, 2 rejected by KuCoin, 0 not sent (refused here)")
    assert job.result == {"placed": 1, "rejected": 2}
    held = by_client_oid(sandbox.dump())
    assert [len(held.get(o.client_oid, [])) for o in orders] == [1, 0, 0]
