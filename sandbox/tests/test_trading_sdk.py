"""KuCoin's official SDK as the client: what it sends, the sandbox accepts; what the sandbox answers,
its models parse. The SDK swallows a failed parse and returns an empty object, so every test asserts
on fields, never only on "no exception"."""
from __future__ import annotations

import uuid

import pytest

pytest.importorskip("kucoin_universal_sdk")

from kucoin_universal_sdk.api import DefaultClient  # noqa: E402
from kucoin_universal_sdk.generate.futures.order import model_add_order_req as futures_add  # noqa: E402
from kucoin_universal_sdk.generate.futures.order.model_get_order_by_client_oid_req import (  # noqa: E402
    GetOrderByClientOidReqBuilder as FuturesByClientOid)
from kucoin_universal_sdk.generate.futures.order.model_get_order_by_order_id_req import (  # noqa: E402
    GetOrderByOrderIdReqBuilder as FuturesById)
from kucoin_universal_sdk.generate.spot.order import model_add_order_req as spot_add  # noqa: E402
from kucoin_universal_sdk.generate.spot.order.model_cancel_order_by_order_id_req import (  # noqa: E402
    CancelOrderByOrderIdReqBuilder)
from kucoin_universal_sdk.generate.spot.order.model_get_order_by_client_oid_req import (  # noqa: E402
    GetOrderByClientOidReqBuilder as SpotByClientOid)
from kucoin_universal_sdk.generate.spot.order.model_get_order_by_order_id_req import (  # noqa: E402
    GetOrderByOrderIdReqBuilder as SpotById)
from kucoin_universal_sdk.model.client_option import ClientOptionBuilder  # noqa: E402
from kucoin_universal_sdk.model.transport_option import TransportOptionBuilder  # noqa: E402

from .test_trading_support import new_trader  # noqa: E402


def sdk(sandbox, trader):
    transport = TransportOptionBuilder().set_max_retries(0).set_read_timeout(10).build()
    option = (ClientOptionBuilder().set_key(trader.api_key).set_secret(trader.secret)
              .set_passphrase(trader.passphrase).set_spot_endpoint(sandbox.urls["spot"])
              .set_futures_endpoint(sandbox.urls["futures"]).set_broker_endpoint(sandbox.urls["broker"])
              .set_transport_option(transport).build())
    return DefaultClient(option).rest_service()


def test_spot_hf_add_get_by_id_and_client_oid(sandbox):
    trader = new_trader(sandbox)
    orders = sdk(sandbox, trader).get_spot_service().get_order_api()
    client_oid = uuid.uuid4().hex
    req = (spot_add.AddOrderReqBuilder().set_client_oid(client_oid).set_side(spot_add.AddOrderReq.SideEnum.BUY)
           .set_symbol("BTC-USDT").set_type(spot_add.AddOrderReq.TypeEnum.LIMIT)
           .set_price("50000").set_size("0.001").set_remark("sdk test").build())
    placed = orders.add_order(req)
    assert placed.client_oid == client_oid
    assert placed.order_id and len(placed.order_id) == 24

    by_id = orders.get_order_by_order_id(SpotById().set_symbol("BTC-USDT").set_order_id(placed.order_id).build())
    assert by_id.id == placed.order_id
    assert by_id.client_oid == client_oid
    assert by_id.symbol == "BTC-USDT"
    assert by_id.type.value == "limit" and by_id.side.value == "buy"
    assert by_id.price == "50000" and by_id.size == "0.001" and by_id.funds == "50"
    assert by_id.deal_size == "0" and by_id.remain_size == "0.001"
    assert by_id.active is True and by_id.in_order_book is True
    assert by_id.time_in_force.value == "GTC" and by_id.cancel_after == 0
    assert by_id.stp is None
    assert by_id.tags is None          # the SDK sends no partner headers: untagged
    assert by_id.remark == "sdk test"

    by_oid = orders.get_order_by_client_oid(SpotByClientOid().set_symbol("BTC-USDT").set_client_oid(client_oid).build())
    assert by_oid.id == placed.order_id and by_oid.client_oid == client_oid

    cancelled = orders.cancel_order_by_order_id(
        CancelOrderByOrderIdReqBuilder().set_symbol("BTC-USDT").set_order_id(placed.order_id).build())
    assert cancelled.order_id == placed.order_id
    after = orders.get_order_by_order_id(SpotById().set_symbol("BTC-USDT").set_order_id(placed.order_id).build())
    assert after.active is False and after.cancel_exist is True and after.cancelled_size == "0.001"


def test_spot_hf_market_order_fills_through_sdk(sandbox):
    trader = new_trader(sandbox)
    orders = sdk(sandbox, trader).get_spot_service().get_order_api()
    req = (spot_add.AddOrderReqBuilder().set_side(spot_add.AddOrderReq.SideEnum.SELL).set_symbol("BTC-USDT")
           .set_type(spot_add.AddOrderReq.TypeEnum.MARKET).set_size("0.01").build())
    placed = orders.add_order(req)
    assert placed.order_id
    got = orders.get_order_by_order_id(SpotById().set_symbol("BTC-USDT").set_order_id(placed.order_id).build())
    assert got.active is False and got.deal_size == "0.01"
    assert got.deal_funds == "600"            # 0.01 BTC at the initial mark price 60000
    assert got.fee == "0.6" and got.fee_currency == "USDT"


def test_futures_add_and_get_through_sdk(sandbox):
    trader = new_trader(sandbox)
    orders = sdk(sandbox, trader).get_futures_service().get_order_api()
    client_oid = uuid.uuid4().hex
    req = (futures_add.AddOrderReqBuilder().set_client_oid(client_oid)
           .set_side(futures_add.AddOrderReq.SideEnum.BUY).set_symbol("XBTUSDTM").set_leverage(3)
           .set_type(futures_add.AddOrderReq.TypeEnum.LIMIT).set_price("55000").set_size(2)
           .set_remark("sdk futures").build())
    placed = orders.add_order(req)
    assert placed.client_oid == client_oid and placed.order_id.isdigit()

    got = orders.get_order_by_order_id(FuturesById().set_order_id(placed.order_id).build())
    assert got.id == placed.order_id and got.client_oid == client_oid
    assert got.symbol == "XBTUSDTM" and got.side.value == "buy" and got.type.value == "limit"
    assert got.size == 2 and isinstance(got.size, int)
    assert got.deal_size == 0 and got.filled_size == 0
    assert got.value == "110"                 # 2 lots * 0.001 XBT * 55000
    assert got.leverage == "3"
    assert got.stop.value == "" and got.stop_price is None and got.stop_price_type.value == ""
    assert got.status.value == "open" and got.is_active is True
    assert got.margin_mode.value == "ISOLATED" and got.settle_currency == "USDT"
    assert got.tags == ""                     # untagged futures order: empty string
    assert got.order_time // 1_000_000 == got.created_at

    by_oid = orders.get_order_by_client_oid(FuturesByClientOid().set_client_oid(client_oid).build())
    assert by_oid.id == placed.order_id and by_oid.size == 2


def test_futures_stop_order_through_sdk_has_numeric_stop_price(sandbox):
    trader = new_trader(sandbox)
    orders = sdk(sandbox, trader).get_futures_service().get_order_api()
    req = (futures_add.AddOrderReqBuilder().set_client_oid(uuid.uuid4().hex)
           .set_side(futures_add.AddOrderReq.SideEnum.SELL).set_symbol("XBTUSDTM").set_leverage(5)
           .set_type(futures_add.AddOrderReq.TypeEnum.MARKET).set_size(1)
           .set_stop(futures_add.AddOrderReq.StopEnum.DOWN).set_stop_price("50000")
           .set_stop_price_type(futures_add.AddOrderReq.StopPriceTypeEnum.MARK_PRICE).build())
    placed = orders.add_order(req)
    got = orders.get_order_by_order_id(FuturesById().set_order_id(placed.order_id).build())
    assert got.stop.value == "down" and got.stop_price_type.value == "MP"
    assert got.stop_price == 50000.0 and got.stop_triggered is False and got.is_active is True


def test_sdk_lists_counts_and_cancels(sandbox):
    from kucoin_universal_sdk.generate.futures.order.model_cancel_order_by_client_oid_req import (
        CancelOrderByClientOidReqBuilder as FuturesCancelByClientOid)
    from kucoin_universal_sdk.generate.futures.order.model_cancel_order_by_id_req import CancelOrderByIdReqBuilder
    from kucoin_universal_sdk.generate.futures.order.model_get_open_order_value_req import GetOpenOrderValueReqBuilder
    from kucoin_universal_sdk.generate.futures.order.model_get_order_list_req import (
        GetOrderListReq, GetOrderListReqBuilder)
    from kucoin_universal_sdk.generate.futures.order.model_get_stop_order_list_req import GetStopOrderListReqBuilder
    from kucoin_universal_sdk.generate.spot.order.model_cancel_order_by_client_oid_req import (
        CancelOrderByClientOidReqBuilder as SpotCancelByClientOid)
    from kucoin_universal_sdk.generate.spot.order.model_get_open_orders_req import GetOpenOrdersReqBuilder
    from kucoin_universal_sdk.generate.spot.order.model_get_order_by_order_id_old_req import (
        GetOrderByOrderIdOldReqBuilder)

    trader = new_trader(sandbox)
    rest = sdk(sandbox, trader)
    spot, futures = rest.get_spot_service().get_order_api(), rest.get_futures_service().get_order_api()

    spot_oid = uuid.uuid4().hex
    placed = spot.add_order(spot_add.AddOrderReqBuilder().set_client_oid(spot_oid)
                            .set_side(spot_add.AddOrderReq.SideEnum.BUY).set_symbol("ETH-USDT")
                            .set_type(spot_add.AddOrderReq.TypeEnum.LIMIT).set_price("2500").set_size("0.01").build())
    [open_order] = spot.get_open_orders(GetOpenOrdersReqBuilder().set_symbol("ETH-USDT").build()).data
    assert open_order.id == placed.order_id and open_order.price == "2500"
    old = spot.get_order_by_order_id_old(GetOrderByOrderIdOldReqBuilder().set_order_id(placed.order_id).build())
    assert old.id == placed.order_id and old.is_active is True and old.stop_price == "0"
    gone = spot.cancel_order_by_client_oid(SpotCancelByClientOid().set_symbol("ETH-USDT").set_client_oid(spot_oid).build())
    assert gone.client_oid == spot_oid

    for price in ("50000", "51000"):
        futures.add_order(futures_add.AddOrderReqBuilder().set_client_oid(uuid.uuid4().hex)
                          .set_side(futures_add.AddOrderReq.SideEnum.BUY).set_symbol("XBTUSDTM").set_leverage(2)
                          .set_price(price).set_size(1).build())
    stop_oid = uuid.uuid4().hex
    futures.add_order(futures_add.AddOrderReqBuilder().set_client_oid(stop_oid)
                      .set_side(futures_add.AddOrderReq.SideEnum.SELL).set_symbol("XBTUSDTM").set_leverage(2)
                      .set_price("49000").set_size(1).set_stop(futures_add.AddOrderReq.StopEnum.DOWN)
                      .set_stop_price("49500.5")
                      .set_stop_price_type(futures_add.AddOrderReq.StopPriceTypeEnum.TRADE_PRICE).build())
    active = futures.get_order_list(GetOrderListReqBuilder().set_status(GetOrderListReq.StatusEnum.ACTIVE)
                                    .set_symbol("XBTUSDTM").build())
    assert active.total_num == 2 and len(active.items) == 2
    assert {i.price for i in active.items} == {"50000", "51000"} and all(i.size == 1 for i in active.items)
    stops = futures.get_stop_order_list(GetStopOrderListReqBuilder().set_symbol("XBTUSDTM").build())
    assert stops.total_num == 1 and stops.items[0].client_oid == stop_oid and stops.items[0].stop_price == "49500.5"
    value = futures.get_open_order_value(GetOpenOrderValueReqBuilder().set_symbol("XBTUSDTM").build())
    assert value.open_order_buy_size == 2 and value.open_order_buy_cost == "50.5" and value.settle_currency == "USDT"

    first = active.items[0].id
    assert futures.cancel_order_by_id(CancelOrderByIdReqBuilder().set_order_id(first).build()).cancelled_order_ids == [first]
    by_oid = futures.cancel_order_by_client_oid(
        FuturesCancelByClientOid().set_symbol("XBTUSDTM").set_client_oid(stop_oid).build())
    assert by_oid.client_oid == stop_oid
    got = futures.get_order_by_client_oid(FuturesByClientOid().set_client_oid(stop_oid).build())
    assert got.stop_price == 49500.5 and got.status.value == "done"
