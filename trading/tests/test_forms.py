"""The order form names every problem KuCoin would reject, in words, beside its field, and keeps what was typed."""
import pytest

from accounts.tests.factories import ApiKeyFactory
from trading.forms import OrderForm
from trading.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def key():
    return ApiKeyFactory(permissions=["General", "Spot", "Futures"])


def form(key, **data):
    base = {"market": "spot", "api_key": str(key.pk), "symbol": "BTC-USDT", "side": "buy", "type": "limit"}
    base.update({k: v for k, v in data.items() if v is not None})
    return OrderForm(data=base)


def errors(f) -> dict:
    assert not f.is_valid()
    return {name: " ".join(messages) for name, messages in f.errors.items()}


def test_a_valid_spot_limit_order(key):
    f = form(key, price="30000", size="0.001")
    assert f.is_valid(), f.errors
    assert f.order_params()["price"] == f.cleaned_data["price"]


def test_price_is_required_for_a_limit_order(key):
    assert "needs a price" in errors(form(key, size="0.001"))["price"]


def test_a_market_order_takes_no_price_and_exactly_one_of_size_or_funds(key):
    e = errors(form(key, type="market", price="1", size="1", funds="5"))
    assert "takes no price" in e["price"]
    assert "exactly one of size or funds" in e["size"]


def test_futures_need_exactly_one_of_size_qty_value_qty(key):
    e = errors(form(key, market="futures", symbol="XBTUSDTM", price="30000", size="1", qty="0.001", leverage="5"))
    assert "exactly one of size, qty or valueQty" in e["qty"]
    e = errors(form(key, market="futures", symbol="XBTUSDTM", price="30000", leverage="5"))
    assert "exactly one of size, qty or valueQty" in e["size"]


def test_a_stop_needs_stop_price_and_stop_price_type(key):
    e = errors(form(key, market="futures", symbol="XBTUSDTM", price="30000", size="1", leverage="5", stop="down"))
    assert "needs a stop price" in e["stop_price"]
    assert "stop price type" in e["stop_price_type"]
    e = errors(form(key, market="futures", symbol="XBTUSDTM", price="30000", size="1", leverage="5",
                    stop_price="40000"))
    assert "stop direction" in e["stop"]


def test_post_only_excludes_hidden_iceberg_and_ioc(key):
    e = errors(form(key, price="30000", size="0.001", post_only="on", hidden="on", iceberg="on", visible_size="0.0005",
                    time_in_force="IOC"))
    assert "hidden" in e["post_only"] and "iceberg" in e["post_only"] and "IOC" in e["post_only"]


def test_client_oid_is_at_most_40_characters(key):
    e = errors(form(key, price="30000", size="0.001", client_oid="x" * 41))
    assert "at most 40 characters" in e["client_oid"]


def test_isolated_margin_needs_a_leverage(key):
    e = errors(form(key, market="futures", symbol="XBTUSDTM", price="30000", size="1", margin_mode="ISOLATED"))
    assert "Isolated margin needs a leverage" in e["leverage"]


def test_every_problem_is_named_at_once_and_the_typed_values_stay(key):
    f = form(key, market="futures", symbol="XBTUSDTM", size="1.5", stop="up", post_only="on", hidden="on",
             client_oid="bad oid!")
    e = errors(f)
    assert {"price", "size", "leverage", "stop_price", "stop_price_type", "post_only", "client_oid"} <= set(e)
    html = str(f["symbol"]) + str(f["size"]) + str(f["client_oid"])
    assert 'value="XBTUSDTM"' in html and 'value="1.5"' in html and 'value="bad oid!"' in html


def test_spot_remarks_and_futures_only_fields(key):
    e = errors(form(key, price="30000", size="0.001", remark="a remark longer than twenty", leverage="3"))
    assert "20 ASCII" in e["remark"]
    assert "futures parameter" in e["leverage"]


def _open_orders(key, n, **fields):
    Order.objects.bulk_create([
        Order(sub_account=key.sub_account, api_key=key, state=Order.State.OPEN, side="buy", **fields)
        for _ in range(n)])


def test_the_open_limit_order_limit_per_contract_is_checked_before_sending(key):
    _open_orders(key, 100, market="futures", symbol="XBTUSDTM", type="limit", price=30000, size=1, leverage=5)
    e = errors(form(key, market="futures", symbol="XBTUSDTM", price="30000", size="1", leverage="5"))
    assert "100 open limit orders" in e["__all__"] and "at most 100 per contract" in e["__all__"]
    # Another contract, or a stop order, is still fine.
    assert form(key, market="futures", symbol="ETHUSDTM", price="3000", size="1", leverage="5").is_valid()
    assert form(key, market="futures", symbol="XBTUSDTM", price="30000", size="1", leverage="5", stop="down",
                stop_price="40000", stop_price_type="MP").is_valid()


def test_the_open_stop_order_limit_per_contract_is_checked_before_sending(key):
    _open_orders(key, 200, market="futures", symbol="XBTUSDTM", type="limit", price=30000, size=1, leverage=5,
                 stop="down", stop_price=40000, stop_price_type="MP")
    e = errors(form(key, market="futures", symbol="XBTUSDTM", price="30000", size="1", leverage="5", stop="down",
                    stop_price="40000", stop_price_type="MP"))
    assert "200 open stop orders" in e["__all__"]


def test_the_spot_open_order_limit_per_symbol(key):
    _open_orders(key, 200, market="spot", symbol="BTC-USDT", type="limit", price=30000, size=1)
    assert "at most 200 per symbol" in errors(form(key, price="30000", size="0.001"))["__all__"]
