"""Arguments KuCoin would reject are refused before sending, with the reason in words."""
import pytest

from kucoin import futures, spot
from kucoin.errors import ValidationError
from kucoin.validation import client_oid, date_span, ip_whitelist, label

BASE = dict(client_oid="f-1", symbol="XBTUSDTM", side="buy", leverage=1, price="1")


@pytest.mark.parametrize("kw,words", [
    (dict(size=1, qty="1"), "mutually exclusive"),
    (dict(size=1, value_qty="1"), "mutually exclusive"),
    (dict(qty="1", value_qty="1"), "mutually exclusive"),
    (dict(), "one of size, qty or valueQty"),
    (dict(size=1, price=None), "needs a price"),
    (dict(size=1, stop="up"), "stopPrice and stopPriceType"),
    (dict(size=1, stop="up", stop_price="2"), "stopPrice and stopPriceType"),
    (dict(size=1, stop_price="2", stop_price_type="MP"), "need stop"),
    (dict(size=1, stop="sideways", stop_price="2", stop_price_type="MP"), "stop must be one of"),
    (dict(size=1, post_only=True, hidden=True), "postOnly cannot"),
    (dict(size=1, iceberg=True), "needs visibleSize"),
    (dict(size=1, client_oid="x" * 41), "1 to 40"),
    (dict(size=1, client_oid=""), "1 to 40"),
    (dict(size=1, client_oid="has space"), "letters, digits"),
    (dict(size=0), "greater than zero"),
    (dict(size=1, leverage=None), "leverage is required"),
    (dict(size=1, stp="DC"), "stp must be one of"),
    (dict(size=1, remark="r" * 101), "at most 100"),
])
def test_futures_rejections(kw, words):
    with pytest.raises(ValidationError, match=words):
        futures.build_order_body(**{**BASE, **kw})


def test_futures_market_and_close_order():
    body = futures.build_order_body(client_oid="c", symbol="XBTUSDTM", type="market", close_order=True)
    assert body == {"clientOid": "c", "symbol": "XBTUSDTM", "type": "market", "closeOrder": True}
    with pytest.raises(ValidationError, match="takes no price"):
        futures.build_order_body(client_oid="c", symbol="X", side="buy", leverage=1, type="market", price="1", size=1)


@pytest.mark.parametrize("kw,words", [
    (dict(type="limit", size="1"), "needs a price"),
    (dict(type="market", price="1", size="1"), "takes no price"),
    (dict(type="market", size="1", funds="1"), "exactly one of size or funds"),
    (dict(type="market"), "exactly one of size or funds"),
    (dict(type="limit", price="1", size="1", cancel_after=10), "GTT"),
    (dict(type="limit", price="1", size="1", post_only=True, time_in_force="IOC"), "postOnly"),
    (dict(type="limit", price=1.5, size="1"), "not a float"),
])
def test_spot_rejections(kw, words):
    with pytest.raises(ValidationError, match=words):
        spot.build_order_body(symbol="BTC-USDT", side="buy", client_oid="c-1", **kw)


def test_limits_on_identifiers():
    assert client_oid("a" * 40) == "a" * 40
    with pytest.raises(ValidationError, match="4 to 32"):
        label("abc")
    with pytest.raises(ValidationError, match="4 to 32"):
        label("a" * 33)
    assert label("abcd") == "abcd"
    with pytest.raises(ValidationError, match="at most 20"):
        ip_whitelist([f"10.0.0.{i}" for i in range(21)])
    assert len(ip_whitelist([f"10.0.0.{i}" for i in range(20)])) == 20


def test_date_span():
    assert date_span("20240131", "20240731") == ("20240131", "20240731")
    with pytest.raises(ValidationError, match="6 months"):
        date_span("20240131", "20240801")
    with pytest.raises(ValidationError, match="yyyyMMdd"):
        date_span("2024-01-31", "20240201")
