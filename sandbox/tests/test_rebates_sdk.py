"""The rebate download through KuCoin's official SDK (broker host, broker headers): the SDK parses
the answer and the link it gets serves the file."""
from __future__ import annotations

import csv
import io

import pytest
import requests

pytest.importorskip("kucoin_universal_sdk")

from kucoin_universal_sdk.generate.broker.ndbroker.model_get_rebase_req import (  # noqa: E402
    GetRebaseReq, GetRebaseReqBuilder)

from sandbox.rebates import CSV_COLUMNS  # noqa: E402

from .sdk import nd_api  # noqa: E402
from .test_rebates_http import day  # noqa: E402


def test_sdk_get_rebase_gives_a_working_link(sandbox):
    now = sandbox.dump()["clock"]["nowMs"]
    req = (GetRebaseReqBuilder().set_begin(day(-10, now_ms=now)).set_end(day(-1, now_ms=now))
           .set_trade_type(GetRebaseReq.TradeTypeEnum.T_2).build())
    resp = nd_api(sandbox).get_rebase(req)
    assert resp.url and "_file.csv" in resp.url
    r = requests.get(resp.url, timeout=10)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == [c for c, _ in CSV_COLUMNS]
    assert len(rows) > 1 and {row[2] for row in rows[1:]} == {"FUTURES"}
