"""Typed results. Money is Decimal, timestamps aware UTC datetimes, `raw` keeps KuCoin's dict."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # never expected; keep the shortest repr rather than binary noise
        value = repr(value)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {value!r}") from None


def from_ms(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(int(value) / 1000.0, tz=timezone.utc)


def from_ns(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    v = int(value)
    return datetime.fromtimestamp(v // 1_000_000_000, tz=timezone.utc).replace(microsecond=(v // 1000) % 1_000_000)


def to_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _raw():
    return field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    current_page: int
    page_size: int
    total_num: int
    total_page: int


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    account_size: int
    max_account_size: int | None
    level: int
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "BrokerInfo":
        m = d.get("maxAccountSize")
        return cls(int(d.get("accountSize") or 0), None if m is None else int(m), int(d.get("level") or 0), d)


@dataclass(frozen=True, slots=True)
class SubAccount:
    uid: str
    account_name: str
    created_at: datetime | None
    level: int
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "SubAccount":
        return cls(str(d["uid"]), d.get("accountName") or "", from_ms(d.get("createdAt")), int(d.get("level") or 0), d)


@dataclass(frozen=True, slots=True)
class ApiKey:
    uid: str
    label: str
    api_key: str
    api_version: int | None
    permissions: tuple[str, ...]
    ip_whitelist: tuple[str, ...]
    created_at: datetime | None
    # Only in the answer to "add": shown once by KuCoin, never in a repr.
    secret_key: str | None = field(default=None, repr=False)
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "ApiKey":
        raw = {k: v for k, v in d.items() if k != "secretKey"}
        v = d.get("apiVersion")
        return cls(str(d.get("uid")), d.get("label") or "", d.get("apiKey") or "", None if v is None else int(v),
                   tuple(d.get("permissions") or ()), tuple(d.get("ipWhitelist") or ()), from_ms(d.get("createdAt")),
                   d.get("secretKey"), raw)


@dataclass(frozen=True, slots=True)
class TransferDetail:
    order_id: str
    currency: str
    amount: Decimal
    from_uid: str
    from_account_type: str
    from_account_tag: str | None
    to_uid: str
    to_account_type: str
    to_account_tag: str | None
    status: str
    reason: str | None
    created_at: datetime | None
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "TransferDetail":
        return cls(str(d.get("orderId")), d.get("currency") or "", to_decimal(d.get("amount")),
                   to_str(d.get("fromUid")), d.get("fromAccountType") or "", d.get("fromAccountTag"),
                   to_str(d.get("toUid")), d.get("toAccountType") or "", d.get("toAccountTag"),
                   d.get("status") or "", d.get("reason"), from_ms(d.get("createdAt")), d)


@dataclass(frozen=True, slots=True)
class Deposit:
    uid: str
    currency: str
    amount: Decimal
    fee: Decimal | None
    hash: str
    address: str
    memo: str
    chain: str
    is_inner: bool
    wallet_tx_id: str
    status: str
    remark: str
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "Deposit":
        return cls(to_str(d.get("uid")), d.get("currency") or "", to_decimal(d.get("amount")),
                   to_decimal(d.get("fee")), d.get("hash") or "", d.get("address") or "", d.get("memo") or "",
                   d.get("chain") or "", bool(d.get("isInner")), d.get("walletTxId") or "", d.get("status") or "",
                   d.get("remark") or "", from_ms(d.get("createdAt")), from_ms(d.get("updatedAt")), d)


@dataclass(frozen=True, slots=True)
class Withdrawal:
    id: str
    uid: str
    currency: str
    amount: Decimal
    fee: Decimal | None
    address: str
    memo: str
    chain: str
    is_inner: bool
    wallet_tx_id: str
    status: str
    remark: str
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "Withdrawal":
        return cls(str(d.get("id")), to_str(d.get("uid")), d.get("currency") or "", to_decimal(d.get("amount")),
                   to_decimal(d.get("fee")), d.get("address") or "", d.get("memo") or "", d.get("chain") or "",
                   bool(d.get("isInner")), d.get("walletTxId") or "", d.get("status") or "", d.get("remark") or "",
                   from_ms(d.get("createdAt")), from_ms(d.get("updatedAt")), d)


@dataclass(frozen=True, slots=True)
class KycStatus:
    client_uid: str
    status: str  # NONE | PROCESS | PASS | REJECT
    reject_reason: str | None
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "KycStatus":
        return cls(to_str(d.get("clientUid")), d.get("status") or "", d.get("rejectReason"), d)


@dataclass(frozen=True, slots=True)
class OrderRef:
    """What KuCoin answers to a placed order."""

    order_id: str
    client_oid: str | None


@dataclass(frozen=True, slots=True)
class SpotOrder:
    id: str
    client_oid: str | None
    symbol: str
    type: str
    side: str
    price: Decimal | None
    size: Decimal | None
    funds: Decimal | None
    deal_size: Decimal | None
    deal_funds: Decimal | None
    fee: Decimal | None
    fee_currency: str | None
    time_in_force: str | None
    active: bool
    in_order_book: bool | None
    cancel_exist: bool
    tags: str | None  # "partner:<id>" when KuCoin attributed it to the broker
    remark: str | None
    created_at: datetime | None
    last_updated_at: datetime | None
    raw: dict = _raw()

    @property
    def is_tagged(self) -> bool:
        return bool(self.tags)

    @classmethod
    def parse(cls, d: dict) -> "SpotOrder":
        active = d.get("active", d.get("isActive"))
        return cls(str(d.get("id")), d.get("clientOid"), d.get("symbol") or "", d.get("type") or "",
                   d.get("side") or "", to_decimal(d.get("price")), to_decimal(d.get("size")),
                   to_decimal(d.get("funds")), to_decimal(d.get("dealSize")), to_decimal(d.get("dealFunds")),
                   to_decimal(d.get("fee")), d.get("feeCurrency"), d.get("timeInForce"), bool(active),
                   d.get("inOrderBook"), bool(d.get("cancelExist")), d.get("tags"), d.get("remark"),
                   from_ms(d.get("createdAt")), from_ms(d.get("lastUpdatedAt")), d)


@dataclass(frozen=True, slots=True)
class FuturesOrder:
    id: str
    client_oid: str | None
    symbol: str
    type: str
    side: str
    price: Decimal | None
    size: int | None
    value: Decimal | None
    deal_size: int | None
    deal_value: Decimal | None
    filled_size: int | None
    avg_deal_price: Decimal | None
    leverage: Decimal | None
    margin_mode: str | None
    time_in_force: str | None
    stop: str | None
    stop_price: Decimal | None
    stop_price_type: str | None
    reduce_only: bool
    close_order: bool
    post_only: bool
    hidden: bool
    iceberg: bool
    status: str  # open | done
    is_active: bool
    tags: str | None  # "" or None when not attributed
    remark: str | None
    settle_currency: str | None
    created_at: datetime | None
    updated_at: datetime | None
    order_time: datetime | None
    raw: dict = _raw()

    @property
    def is_tagged(self) -> bool:
        return bool(self.tags)

    @classmethod
    def parse(cls, d: dict) -> "FuturesOrder":
        def i(k):
            v = d.get(k)
            return None if v is None or v == "" else int(v)
        return cls(str(d.get("id")), d.get("clientOid"), d.get("symbol") or "", d.get("type") or "",
                   d.get("side") or "", to_decimal(d.get("price")), i("size"), to_decimal(d.get("value")),
                   i("dealSize"), to_decimal(d.get("dealValue")), i("filledSize"), to_decimal(d.get("avgDealPrice")),
                   to_decimal(d.get("leverage")), d.get("marginMode"), d.get("timeInForce"), d.get("stop") or None,
                   to_decimal(d.get("stopPrice")), d.get("stopPriceType") or None, bool(d.get("reduceOnly")),
                   bool(d.get("closeOrder")), bool(d.get("postOnly")), bool(d.get("hidden")),
                   bool(d.get("iceberg")), d.get("status") or "", bool(d.get("isActive")), d.get("tags"),
                   d.get("remark"), d.get("settleCurrency"), from_ms(d.get("createdAt")),
                   from_ms(d.get("updatedAt")), from_ns(d.get("orderTime")), d)


@dataclass(frozen=True, slots=True)
class Balance:
    id: str
    currency: str
    type: str  # main | trade | ...
    balance: Decimal
    available: Decimal
    holds: Decimal
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "Balance":
        return cls(str(d.get("id")), d.get("currency") or "", d.get("type") or "", to_decimal(d.get("balance")),
                   to_decimal(d.get("available")), to_decimal(d.get("holds")), d)


@dataclass(frozen=True, slots=True)
class OpenOrderCounts:
    """Open orders of one contract, against KuCoin's caps (100 limit, 200 stop per contract)."""

    symbol: str
    limit_orders: int
    stop_orders: int

    MAX_LIMIT_ORDERS = 100
    MAX_STOP_ORDERS = 200
