"""ND broker rebates: the ledger, the download endpoint, and the CSV files it links to.

- Every fill of an order that carried the broker's partner tag earns the broker REBATE_RATIOS of its
  fee, accrued per (UTC day, uid, trade type, fee currency) with the traded volume and the fee.
  Untagged fills earn nothing. The share lives here and nowhere else.
- `GET /api/v1/broker/nd/rebase/download?begin=yyyyMMdd&end=yyyyMMdd&tradeType=1|2` (broker host,
  broker key) writes the file for those days (inclusive, UTC) and answers a link to it, valid for one
  day by the sandbox clock, like KuCoin's S3 pre-signed link:
  `<broker host>/_files/<24 hex>_file.csv?X-Sandbox-Expires=<ms>&X-Sandbox-Signature=<hex>`.
  The link needs no KuCoin signature; an expired or altered link gets 403 with an S3-like XML error.
- The file's columns are CSV_COLUMNS, the placeholder layout of kucoin-api.md section 9 (KuCoin's real
  layout is not public): change that one list when a real file is seen.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import random
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Callable

from sandbox.errors import ApiError
from sandbox.money import fmt
from sandbox.routes import RawResponse, route
from sandbox.trading_fills import Fill
from sandbox.trading_markets import FUTURES, SPOT
from sandbox.world import Section, register_section

# Share of the fee paid back to the broker, per trade type. Different on purpose, so that a file
# read with the wrong type shows it.
REBATE_RATIOS: dict[str, Decimal] = {SPOT: Decimal("0.2"), FUTURES: Decimal("0.15")}

TRADE_TYPE_PARAM = {"1": SPOT, "2": FUTURES}
LINK_VALIDITY_MS = 86_400_000
MAX_SPAN_MONTHS = 6
DAY_MS = 86_400_000

# The file layout, in one place: (header, value of a ledger row).
CSV_COLUMNS: tuple[tuple[str, Callable[[dict], str]], ...] = (
    ("date", lambda r: r["date"]),
    ("uid", lambda r: r["uid"]),
    ("tradeType", lambda r: r["tradeType"]),
    ("feeCurrency", lambda r: r["feeCurrency"]),
    ("volume", lambda r: fmt(r["volume"])),
    ("fee", lambda r: fmt(r["fee"])),
    ("rebateCurrency", lambda r: r["rebateCurrency"]),
    ("rebateAmount", lambda r: fmt(r["rebateAmount"])),
)


def utc_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


def render_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _ in CSV_COLUMNS])
    for row in rows:
        writer.writerow([value(row) for _, value in CSV_COLUMNS])
    return out.getvalue()


def _add_months(d: date, months: int) -> date:
    month_index = d.month - 1 + months
    year, month = d.year + month_index // 12, month_index % 12 + 1
    days_in_month = [31, 29 if (year % 4 == 0 and (year % 100 or year % 400 == 0)) else 28, 31, 30, 31, 30,
                     31, 31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(d.day, days_in_month))


def _parse_day(value: str | None, name: str) -> date:
    if not value:
        raise ApiError("400100", f"Parameter error: {name} is required")
    if not re.fullmatch(r"[0-9]{8}", value):
        raise ApiError("400100", f"Parameter error: {name} must be a date yyyyMMdd")
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise ApiError("400100", f"Parameter error: {name} must be a date yyyyMMdd") from None


@register_section
class RebatesSection(Section):
    name = "rebates"

    def __init__(self, world):
        super().__init__(world)
        # (date, uid, tradeType, feeCurrency) -> row; see CSV_COLUMNS for the fields
        self.rows: dict[tuple[str, str, str, str], dict] = {}
        self.files: dict[str, dict] = {}
        rng = world.section_rng("rebates-links")
        self.link_secret = "%064x" % rng.getrandbits(256)
        self.rng = rng

    # -- accrual -----------------------------------------------------------------------------
    def record_fill(self, fill: Fill) -> None:
        if fill.partner is None:
            return
        product = "spot" if fill.kind == SPOT else "futures"
        partner = self.world.accounts.partner(product, fill.partner)
        if partner is None:
            return
        key = (utc_day(fill.time_ms), fill.uid, fill.kind, fill.fee_currency)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = {
                "date": key[0], "uid": fill.uid, "tradeType": fill.kind, "feeCurrency": fill.fee_currency,
                "brokerUid": partner.broker_uid, "volume": Decimal(0), "fee": Decimal(0),
                "rebateCurrency": fill.fee_currency, "rebateAmount": Decimal(0), "fills": 0}
        row["volume"] += fill.volume
        row["fee"] += fill.fee
        row["rebateAmount"] += fill.fee * REBATE_RATIOS[fill.kind]
        row["fills"] += 1

    def rows_for(self, broker_uid: str, trade_type: str, begin: date, end: date) -> list[dict]:
        first, last = begin.isoformat(), end.isoformat()
        picked = [r for r in self.rows.values()
                  if r["brokerUid"] == broker_uid and r["tradeType"] == trade_type and first <= r["date"] <= last]
        return sorted(picked, key=lambda r: (r["date"], int(r["uid"]), r["feeCurrency"]))

    # -- links -------------------------------------------------------------------------------
    def _signature(self, file_name: str, expires_ms: int) -> str:
        return hmac.new(self.link_secret.encode(), f"{file_name}\n{expires_ms}".encode(), hashlib.sha256).hexdigest()

    def create_file(self, broker_uid: str, trade_type: str, begin: date, end: date, now_ms: int) -> tuple[str, int, str]:
        file_name = "%024x_file.csv" % self.rng.getrandbits(96)
        expires = now_ms + LINK_VALIDITY_MS
        # the file is written now, like KuCoin's export: later fills do not change it
        self.files[file_name] = {"brokerUid": broker_uid, "tradeType": trade_type, "begin": begin.isoformat(),
                                 "end": end.isoformat(), "createdAt": now_ms, "expiresAt": expires,
                                 "csv": render_csv(self.rows_for(broker_uid, trade_type, begin, end))}
        return file_name, expires, self._signature(file_name, expires)

    # -- seed / dump / load ------------------------------------------------------------------
    def seed(self, rng: random.Random) -> None:
        # The history is accrued by the trading section's seeded orders (trading_seed.py).
        pass

    def to_json(self) -> dict:
        return {
            "ratios": {k: fmt(v) for k, v in REBATE_RATIOS.items()},
            "columns": [name for name, _ in CSV_COLUMNS],
            "accruals": sorted(self.rows.values(), key=lambda r: (r["date"], int(r["uid"]), r["tradeType"],
                                                                  r["feeCurrency"])),
            "files": self.files,
            "linkSecret": self.link_secret,
        }

    def load(self, data: dict) -> None:
        self.rows = {}
        for r in data.get("accruals", []):
            row = dict(r)
            for k in ("volume", "fee", "rebateAmount"):
                row[k] = Decimal(row[k])
            self.rows[(row["date"], row["uid"], row["tradeType"], row["feeCurrency"])] = row
        self.files = dict(data.get("files", {}))
        self.link_secret = data.get("linkSecret", self.link_secret)
        self.rng.seed(f"{self.world.seed_value}:rebates-links:{len(self.files)}")


def _ledger(world) -> RebatesSection:
    return world.section("rebates")


@route("broker", "GET", "/api/v1/broker/nd/rebase/download", permission="General")
def rebate_download(req, world):
    begin = _parse_day(req.args.get("begin"), "begin")
    end = _parse_day(req.args.get("end"), "end")
    trade_type = TRADE_TYPE_PARAM.get(req.args.get("tradeType", ""))
    if trade_type is None:
        raise ApiError("400100", "Parameter error: tradeType must be 1 (spot) or 2 (futures)")
    if end < begin:
        raise ApiError("400100", "Parameter error: end must not be earlier than begin")
    if end > _add_months(begin, MAX_SPAN_MONTHS):
        raise ApiError("400100", f"Parameter error: begin and end must be at most {MAX_SPAN_MONTHS} months apart")
    if not req.account.is_broker:
        raise ApiError("400007")
    file_name, expires, signature = _ledger(world).create_file(req.uid, trade_type, begin, end, req.now_ms)
    host = req.headers.get("host") or "127.0.0.1"
    return {"url": f"http://{host}/_files/{file_name}?X-Sandbox-Expires={expires}&X-Sandbox-Signature={signature}"}


def _s3_error(status: int, code: str, message: str) -> RawResponse:
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message></Error>")
    return RawResponse(status, {"Content-Type": "application/xml"}, body)


@route("broker", "GET", "/_files/{fileName}", auth="none", validate=False)
def rebate_file(req, world):
    """The pre-signed link: no KuCoin auth, refused once expired (sandbox clock) or if altered."""
    ledger = _ledger(world)
    file_name = req.path_params["fileName"]
    try:
        expires = int(req.args.get("X-Sandbox-Expires", ""))
    except ValueError:
        return _s3_error(403, "AccessDenied", "Query-string authentication requires the expiry and signature")
    signature = req.args.get("X-Sandbox-Signature", "")
    if not hmac.compare_digest(signature, ledger._signature(file_name, expires)):
        return _s3_error(403, "SignatureDoesNotMatch",
                         "The request signature we calculated does not match the signature you provided.")
    if req.now_ms > expires:
        return _s3_error(403, "AccessDenied", "Request has expired")
    stored = ledger.files.get(file_name)
    if stored is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return RawResponse(200, {"Content-Type": "text/csv; charset=utf-8",
                             "Content-Disposition": f'attachment; filename="{file_name}"'}, stored["csv"])
