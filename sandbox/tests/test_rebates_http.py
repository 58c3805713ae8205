"""The rebate download: validation, the pre-signed link, its expiry, and files that sum exactly to
what the state dump says the broker earned."""
from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import requests

from sandbox.rebates import CSV_COLUMNS, REBATE_RATIOS

from .kc import Kc
from .test_trading_support import client, new_trader, ok, refused

PATH = "/api/v1/broker/nd/rebase/download"


def day(offset_days: int, fmt="%Y%m%d", now_ms=None) -> str:
    base = datetime.fromtimestamp(now_ms / 1000, tz=timezone.utc) if now_ms else datetime.now(timezone.utc)
    return (base + timedelta(days=offset_days)).strftime(fmt)


def download(sandbox, begin, end, trade_type):
    return Kc.broker(sandbox).get(PATH, {"begin": begin, "end": end, "tradeType": trade_type})


def fetch_csv(url: str) -> list[dict]:
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    return rows


def expected(dump, broker_uid, trade_type, first, last):
    """What the broker earned, per (date, uid, feeCurrency), from the dump's accruals."""
    out = {}
    for r in dump["rebates"]["accruals"]:
        if r["brokerUid"] == broker_uid and r["tradeType"] == trade_type and first <= r["date"] <= last:
            out[(r["date"], r["uid"], r["feeCurrency"])] = (Decimal(r["volume"]), Decimal(r["fee"]),
                                                            Decimal(r["rebateAmount"]))
    return out


def test_seeded_month_files_sum_exactly_to_the_dump(sandbox):
    dump = sandbox.dump()
    now = dump["clock"]["nowMs"]
    begin, end = day(-31, now_ms=now), day(0, now_ms=now)
    first, last = day(-31, "%Y-%m-%d", now), day(0, "%Y-%m-%d", now)
    for trade_type, name in (("1", "SPOT"), ("2", "FUTURES")):
        url = ok(download(sandbox, begin, end, trade_type))["url"]
        assert "/_files/" in url and url.split("/_files/")[1].split("_file.csv")[0].isalnum()
        rows = fetch_csv(url)
        assert rows, "the seeded history has a month of rebates"
        assert list(rows[0].keys()) == [c for c, _ in CSV_COLUMNS]
        want = expected(dump, sandbox.broker["uid"], name, first, last)
        got = {(r["date"], r["uid"], r["feeCurrency"]): (Decimal(r["volume"]), Decimal(r["fee"]),
                                                         Decimal(r["rebateAmount"])) for r in rows}
        assert got == want
        assert {r["tradeType"] for r in rows} == {name}
        for r in rows:
            assert Decimal(r["rebateAmount"]) == Decimal(r["fee"]) * REBATE_RATIOS[name]
        # the month spans many days, and the daily sums agree too
        per_day_file, per_day_dump = defaultdict(Decimal), defaultdict(Decimal)
        for (d, _, _), v in got.items():
            per_day_file[d] += v[2]
        for (d, _, _), v in want.items():
            per_day_dump[d] += v[2]
        assert per_day_file == per_day_dump and len(per_day_file) >= 20


def test_seeded_rebates_come_from_tagged_seeded_orders_only(sandbox):
    dump = sandbox.dump()
    spot_orders = dump["trading"]["spotOrders"]
    assert any(o["tags"] for o in spot_orders) and any(not o["tags"] for o in spot_orders)
    fee_by_day = defaultdict(Decimal)
    for o in spot_orders:
        if o["partner"] and Decimal(o["fee"]):
            d = datetime.fromtimestamp(o["last_updated_at"] / 1000, tz=timezone.utc).strftime("%Y-%m-%d")
            fee_by_day[d] += Decimal(o["fee"])
    accrued = defaultdict(Decimal)
    for r in dump["rebates"]["accruals"]:
        if r["tradeType"] == "SPOT":
            accrued[r["date"]] += Decimal(r["fee"])
    assert fee_by_day == accrued


def test_live_fill_lands_in_todays_file(sandbox):
    trader = new_trader(sandbox)
    ok(client(sandbox, trader, "spot").post("/api/v1/hf/orders", {
        "clientOid": uuid.uuid4().hex, "side": "buy", "symbol": "ETH-USDT", "type": "market", "size": "0.1"}))
    now = sandbox.dump()["clock"]["nowMs"]
    rows = fetch_csv(ok(download(sandbox, day(0, now_ms=now), day(0, now_ms=now), "1"))["url"])
    mine = [r for r in rows if r["uid"] == trader.uid]
    assert len(mine) == 1
    assert mine[0]["volume"] == "300" and mine[0]["fee"] == "0.3" and mine[0]["rebateAmount"] == "0.06"


def test_link_expires_after_one_day(sandbox):
    now = sandbox.dump()["clock"]["nowMs"]
    url = ok(download(sandbox, day(-3, now_ms=now), day(-1, now_ms=now), "2"))["url"]
    assert requests.get(url, timeout=10).status_code == 200
    sandbox.advance_time(23 * 3600)
    assert requests.get(url, timeout=10).status_code == 200
    sandbox.advance_time(2 * 3600)
    r = requests.get(url, timeout=10)
    assert r.status_code == 403
    assert "<Code>AccessDenied</Code>" in r.text and "expired" in r.text


def test_altered_link_is_refused(sandbox):
    now = sandbox.dump()["clock"]["nowMs"]
    url = ok(download(sandbox, day(-3, now_ms=now), day(-1, now_ms=now), "1"))["url"]
    tampered = url.replace("X-Sandbox-Expires=", "X-Sandbox-Expires=9")
    r = requests.get(tampered, timeout=10)
    assert r.status_code == 403 and "SignatureDoesNotMatch" in r.text


def test_window_and_date_validation(sandbox):
    assert "months" in refused(download(sandbox, "20240101", "20240702", "1"), "400100")
    ok(download(sandbox, "20240101", "20240701", "1"))
    assert "end" in refused(download(sandbox, "20240301", "20240201", "1"), "400100")
    assert "begin" in refused(download(sandbox, "20240230", "20240301", "1"), "400100")
    assert "begin" in refused(download(sandbox, "2024-01-01", "20240301", "1"), "400100")
    assert "tradeType" in refused(download(sandbox, "20240101", "20240201", "3"), "400100")
    r = Kc.broker(sandbox).get(PATH, {"begin": "20240101", "tradeType": "1"})
    assert "end" in refused(r, "400100")


def test_a_sub_account_key_cannot_download(sandbox):
    trader = new_trader(sandbox)
    kc = Kc(sandbox.urls["broker"], trader.api_key, trader.secret, trader.passphrase)
    refused(kc.get(PATH, {"begin": "20240101", "end": "20240201", "tradeType": "1"}), "400007", 403)
