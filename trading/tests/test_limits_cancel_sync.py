"""KuCoin's open-order limits (checked before sending, and KuCoin's own refusal in words), cancel, and the
status sync of open orders (fills and completion), through the real worker against the sandbox."""
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from brokeroffice.jobs import job_start
from brokeroffice.models import Job
from kucoin import Credentials, Hosts, KuCoinClient
from trading.models import Order
from trading.services.orders import order_cancel_request, order_place, orders_sync_request
from trading.tasks import orders_sync_task
from trading.tests.conftest import CUSTOMER_UID, seeded_key
from trading.tests.sandbox_orders import orders_with, state_of

pytestmark = pytest.mark.worker

# Margin is held at the mark price when that is worse for the buyer: a high leverage keeps 100 of them affordable.
FAR_LIMIT = dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("1000"), size=D("1"),
                 leverage=100)


def test_the_101st_open_limit_order_on_a_contract_is_refused_before_sending(kucoin_worker, customer_key, sandbox,
                                                                             finished):
    jobs = [order_place(api_key=customer_key, **FAR_LIMIT)[1] for _ in range(100)]
    for job in jobs:
        assert finished(job).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error
    with pytest.raises(ValidationError) as refused:
        order_place(api_key=customer_key, **FAR_LIMIT)
    assert "at most 100 per contract" in " ".join(refused.value.messages)
    at_kucoin = [o for o in sandbox.dump()["trading"]["futures"]["orders"]
                 if o["uid"] == CUSTOMER_UID and o["symbol"] == "XBTUSDTM" and o["active"]]
    assert len(at_kucoin) == 100
    assert Order.objects.count() == 100


def test_kucoins_own_limit_refusal_is_shown_in_words(kucoin_worker, customer_key, sandbox, finished):
    """Orders placed elsewhere (not known here) count at KuCoin: its 300001 is kept with its message."""
    key = seeded_key(sandbox.dump(), CUSTOMER_UID)
    elsewhere = KuCoinClient(Credentials(api_key=key["api_key"], api_secret=key["secret"],
                                         api_passphrase=key["passphrase"], key_version="2"),
                             hosts=Hosts(spot=sandbox.urls["spot"], futures=sandbox.urls["futures"],
                                         broker=sandbox.urls["broker"], oauth=sandbox.urls["oauth"]))
    for i in range(100):
        elsewhere.futures.place_order(client_oid=f"elsewhere-{i}", symbol="XBTUSDTM", side="buy", type="limit",
                                      price=D("1000"), size=1, leverage=100)
    order, job = order_place(api_key=customer_key, **FAR_LIMIT)
    job = finished(job)
    order.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert order.state == Order.State.REJECTED and order.error_code == "300001"
    assert "limit" in order.error_message.lower()
    assert "KuCoin 300001" in job.error
    assert orders_with(sandbox.dump(), order.client_oid) == []


def test_cancel_and_sync_record_what_kucoin_holds(kucoin_worker, customer_key, sandbox, finished, settled):
    resting, job1 = order_place(api_key=customer_key, market="spot", symbol="BTC-USDT", side="buy", type="limit",
                                price=D("50000"), size=D("0.001"))
    to_cancel, job2 = order_place(api_key=customer_key, market="futures", symbol="XBTUSDTM", side="buy",
                                  type="limit", price=D("30000"), size=D("1"), leverage=10)
    assert finished(job1).state == finished(job2).state == Job.State.SUCCEEDED
    settled([resting, to_cancel])

    cancel_job = order_cancel_request(order=Order.objects.get(pk=to_cancel.pk))
    assert finished(cancel_job).state == Job.State.SUCCEEDED, Job.objects.get(pk=cancel_job.pk).error
    to_cancel.refresh_from_db()
    assert to_cancel.state == Order.State.CANCELLED == state_of(orders_with(sandbox.dump(), to_cancel.client_oid)[0])

    # The market falls through the resting buy: KuCoin fills it; the scheduled sync finds out.
    sandbox.set_mark_price("BTC-USDT", "49000")
    sync = job_start(kind="orders_sync", label="Sync open orders", task=orders_sync_task,
                     requested_by_label="schedule: Sync open orders")
    assert finished(sync).state == Job.State.SUCCEEDED, Job.objects.get(pk=sync.pk).error
    resting.refresh_from_db()
    held = orders_with(sandbox.dump(), resting.client_oid)[0]
    assert resting.state == Order.State.FILLED == state_of(held)
    assert resting.deal_size == D(held["deal_size"]) == D("0.001")
    assert resting.deal_funds == D(held["deal_funds"])
    assert resting.fee == D(held["fee"]) and resting.fee > 0

    # On demand, for chosen orders, too.
    assert finished(orders_sync_request(order_ids=[resting.pk])).state == Job.State.SUCCEEDED
