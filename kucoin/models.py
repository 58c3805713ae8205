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
class FuturesAccount:
    """The key's futures account in one settlement currency (GET /api/v1/account-overview)."""

    currency: str
    account_equity: Decimal      # margin balance + unrealised PNL: what the account is worth now
    margin_balance: Decimal
    position_margin: Decimal
    order_margin: Decimal        # held by open orders
    frozen_funds: Decimal
    available_balance: Decimal
    unrealised_pnl: Decimal
    max_withdraw_amount: Decimal
    raw: dict = _raw()

    @property
    def is_empty(self) -> bool:
        return not any((self.account_equity, self.margin_balance, self.position_margin, self.order_margin,
                        self.frozen_funds, self.available_balance))

    @classmethod
    def parse(cls, d: dict) -> "FuturesAccount":
        num = lambda k: to_decimal(d.get(k)) or Decimal(0)  # noqa: E731
        return cls(d.get("currency") or "", num("accountEquity"), num("marginBalance"), num("positionMargin"),
                   num("orderMargin"), num("frozenFunds"), num("availableBalance"), num("unrealisedPNL"),
                   num("maxWithdrawAmount"), d)


@dataclass(frozen=True, slots=True)
class OpenOrderCounts:
    """Open orders of one contract, against KuCoin's caps (100 limit, 200 stop per contract)."""

    symbol: str
    limit_orders: int
    stop_orders: int

    MAX_LIMIT_ORDERS = 100
    MAX_STOP_ORDERS = 200


@dataclass(frozen=True, slots=True)
class DepositAddress:
    """A deposit address of the key's own account (V3). `to`: MAIN or TRADE, the account a deposit
    to it is credited to. On memo chains (TON, XRP...) the memo is what tells customers apart."""

    currency: str
    chain_id: str
    chain_name: str
    address: str
    memo: str
    to: str
    contract_address: str | None
    expiration_date: int | None  # Lightning invoices only
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "DepositAddress":
        exp = d.get("expirationDate")
        return cls(d.get("currency") or "", d.get("chainId") or "", d.get("chainName") or "", d.get("address") or "",
                   d.get("memo") or "", str(d.get("to") or "").upper(), d.get("contractAddress"),
                   None if exp is None else int(exp), d)


@dataclass(frozen=True, slots=True)
class WithdrawalQuota:
    """GET /api/v1/withdrawals/quotas: what the key's account may withdraw of one currency on one chain."""

    currency: str
    chain: str  # chainName, e.g. TRC20
    is_withdraw_enabled: bool
    reason: str | None
    min_size: Decimal
    min_fee: Decimal
    inner_min_fee: Decimal
    precision: int
    remain_amount: Decimal  # left of today's quota, in this currency
    available_amount: Decimal  # what can go out now (balance and quota)
    locked_amount: Decimal | None
    quota_currency: str
    limit_quota_currency_amount: Decimal | None
    used_quota_currency_amount: Decimal | None
    raw: dict = _raw()

    @classmethod
    def parse(cls, d: dict) -> "WithdrawalQuota":
        z = lambda k: to_decimal(d.get(k)) or Decimal(0)  # noqa: E731
        return cls(d.get("currency") or "", d.get("chain") or "", bool(d.get("isWithdrawEnabled")), d.get("reason"),
                   z("withdrawMinSize"), z("withdrawMinFee"), z("innerWithdrawMinFee"), int(d.get("precision") or 0),
                   z("remainAmount"), z("availableAmount"), to_decimal(d.get("lockedAmount")),
                   d.get("quotaCurrency") or "", to_decimal(d.get("limitQuotaCurrencyAmount")),
                   to_decimal(d.get("usedQuotaCurrencyAmount")), d)

    def refusal_for(self, amount: Decimal) -> str | None:
        """Why KuCoin would refuse to withdraw `amount` under this quota, in words; None if it would not."""
        if not self.is_withdraw_enabled:
            return f"withdrawals of {self.currency} on {self.chain} are disabled" + (
                f": {self.reason}" if self.reason else "")
        if amount <= 0:
            return "the amount must be greater than zero"
        if -amount.normalize().as_tuple().exponent > self.precision:
            return f"{self.currency} amounts have at most {self.precision} decimal places"
        if amount < self.min_size:
            return f"the minimum withdrawal is {self.min_size} {self.currency}"
        if amount > self.remain_amount:
            return f"only {self.remain_amount} {self.currency} of today's withdrawal quota is left"
        if amount > self.available_amount:
            return f"only {self.available_amount} {self.currency} is available to withdraw"
        return None


@dataclass(frozen=True, slots=True)
class WithdrawalRecord:
    """One withdrawal of the key's own account: GET /api/v1/withdrawals/{id} or an item of
    GET /api/v1/withdrawals (the list has no uid, chainName, failureReason or cancelType)."""

    id: str
    uid: str | None
    currency: str
    chain: str  # chainId, e.g. trx
    chain_name: str | None
    status: str  # REVIEW | PROCESSING | WALLET_PROCESSING | SUCCESS | FAILURE
    failure_reason: str | None
    address: str
    memo: str
    is_inner: bool
    amount: Decimal
    fee: Decimal | None
    wallet_tx_id: str | None
    remark: str
    cancel_type: str | None  # CANCELABLE | CANCELING | NON_CANCELABLE
    created_at: datetime | None
    updated_at: datetime | None
    raw: dict = _raw()

    FINAL_STATUSES = ("SUCCESS", "FAILURE")

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES

    @classmethod
    def parse(cls, d: dict) -> "WithdrawalRecord":
        return cls(str(d.get("id")), to_str(d.get("uid")), d.get("currency") or "",
                   d.get("chainId") or d.get("chain") or "", d.get("chainName"), d.get("status") or "",
                   d.get("failureReason") or None, d.get("address") or "", d.get("memo") or "",
                   bool(d.get("isInner")), to_decimal(d.get("amount")), to_decimal(d.get("fee")),
                   d.get("walletTxId") or None, d.get("remark") or "", d.get("cancelType"),
                   from_ms(d.get("createdAt")), from_ms(d.get("updatedAt")), d)
