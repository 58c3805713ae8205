"""A clientOid KuCoin already holds for another order of the account (placed outside the back-office). On a first
send nothing of this order reached KuCoin before, so KuCoin's duplicate refusal is a rejection and the other order is
never recorded as this one. On a re-send it is most likely the earlier attempt's order: adopted, or, while KuCoin's
look-up does not show it yet, tried again later (never rejected)."""
from decimal import Decimal as D

import pytest

from brokeroffice.jobs import job_create
from brokeroffice.models import Job
from brokeroffice.tasking import TRANSIENT_ERRORS
from kucoin import Credentials, Hosts, KuCoinClient
from kucoin.errors import OutcomeUnknownError
from sandbox.trading_errors import SPOT_ORDER_NOT_FOUND, TradingError
from trading.models import Order
from trading.services.orders import order_send
from trading.tests.conftest import CUSTOMER_UID, seeded_key
from trading.tests.sandbox_orders import orders_with, state_of

SPOT_LIMIT = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"))
FUTURES_LIMIT = dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("1000"), size=D("1"),
                     leverage=100)


def placed_elsewhere(sandbox, market: str, client_oid: str) -> None:
    """An order of the same account placed directly at KuCoin with the customer's key, not by the back-office."""
    key = seeded_key(sandbox.dump(), CUSTOMER_UID)
    client = KuCoinClient(Credentials(api_key=key["api_key"], api_secret=key["secret"],
                                      api_passphrase=key["passphrase"], key_version="2"),
                          hosts=Hosts(spot=sandbox.urls["spot"], futures=sandbox.urls["futures"],
                                      broker=sandbox.urls["broker"], oauth=sandbox.urls["oauth"]))
    if market == "spot":
        client.spot.place_order(client_oid=client_oid, symbol="BTC-USDT", side="buy", type="limit",
                                price=D("29000"), size=D("0.002"))
    else:
        client.futures.place_order(client_oid=client_oid, symbol="XBTUSDTM", side="buy", type="limit",
                                   price=D("900"), size=2, leverage=100)


@pytest.mark.django_db
@pytest.mark.parametrize("params", [SPOT_LIMIT, FUTURES_LIMIT], ids=["spot", "futures"])
def test_a_first_send_with_a_clientoid_used_elsewhere_is_refused_and_the_other_order_not_recorded(
        sandbox, sandbox_settings, customer_key, params):
    placed_elsewhere(sandbox, params["market"], "desk-elsewhere-1")
    order = Order.objects.create(api_key=customer_key, sub_account=customer_key.sub_account,
                                 client_oid="desk-elsewhere-1", **params)
    job = job_create(kind="order_place", label=f"Place {order}")

    order_send(order_id=order.pk, job_id=str(job.pk))

    order.refresh_from_db()
    job.refresh_from_db()
    [other] = orders_with(sandbox.dump(), "desk-elsewhere-1")  # KuCoin holds the other order only
    assert order.state == Order.State.REJECTED
    assert order.kucoin_order_id != other["id"] and not order.kucoin_order_id
    assert order.verification == Order.Verification.UNVERIFIED and not order.tags and order.deal_size in (None, 0)
    assert job.state == Job.State.FAILED and "already used at KuCoin by another order" in job.error


@pytest.mark.django_db
def test_a_resend_whose_clientoid_kucoin_holds_but_does_not_show_yet_is_tried_again_not_rejected(
        sandbox, sandbox_settings, customer_key, monkeypatch):
    order = Order.objects.create(api_key=customer_key, sub_account=customer_key.sub_account, **SPOT_LIMIT)
    job = job_create(kind="order_place", label=f"Place {order}")
    sandbox.set_fault("drop_after", count=1, path="/api/v1/hf/orders", method="POST")  # placed, answer lost
    with pytest.raises(OutcomeUnknownError):
        order_send(order_id=order.pk, job_id=str(job.pk))

    book = sandbox.world.section("trading").spot
    find = book.find

    def lagging(uid, *, order_id=None, client_oid=None, symbol=None):
        if client_oid is not None:  # KuCoin's look-up by clientOid is behind its matching engine for a moment
            raise TradingError(SPOT_ORDER_NOT_FOUND, "order not exist.")
        return find(uid, order_id=order_id, symbol=symbol)

    with monkeypatch.context() as lag:
        lag.setattr(book, "find", lagging)
        with pytest.raises(TRANSIENT_ERRORS):  # the task's retry, which finds "duplicate" and no order yet
            order_send(order_id=order.pk, job_id=str(job.pk))
        order.refresh_from_db()
        assert order.state == Order.State.UNKNOWN
        assert Job.objects.get(pk=job.pk).state != Job.State.FAILED

    order_send(order_id=order.pk, job_id=str(job.pk))  # the next retry: KuCoin shows it now

    order.refresh_from_db()
    [held] = orders_with(sandbox.dump(), order.client_oid)
    assert (order.kucoin_order_id, order.state) == (held["id"], state_of(held))
    assert Job.objects.get(pk=job.pk).state == Job.State.SUCCEEDED
