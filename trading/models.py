"""Orders placed with a customer's key (spot HF and futures V3), and the proof that KuCoin tagged them.

An order row is written with its clientOid before anything is sent (state `pending`); the task that
sends it moves it on. Its verification is a separate, orthogonal state: not yet verified, tagged (KuCoin
shows the broker's partner tag on it) or untagged (KuCoin accepted it without attributing it to the broker:
no rebate on it).

An order is signed either with a sub-account's API key (`sub_account` and `api_key`) or with the key of a
customer's own KuCoin account connected through Fast API (`fast_api_connection`); a check constraint keeps
exactly one of the two key sources set.
"""
from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import FastApiConnection, KuCoinAction, SubAccount, SubAccountApiKey
from brokeroffice.kucoin_errors import HINTS

MONEY = {"max_digits": 36, "decimal_places": 18}


def new_client_oid() -> str:
    """32 hex characters: within KuCoin's 40, letters and digits only."""
    return uuid.uuid4().hex


class Order(KuCoinAction):
    class Market(models.TextChoices):
        SPOT = "spot", "Spot"
        FUTURES = "futures", "Futures"

    class Side(models.TextChoices):
        BUY = "buy", "Buy"
        SELL = "sell", "Sell"

    class Type(models.TextChoices):
        LIMIT = "limit", "Limit"
        MARKET = "market", "Market"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        UNKNOWN = "unknown", "Sent, outcome being checked"
        OPEN = "open", "Open"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected by KuCoin"
        FAILED = "failed", "Could not be sent"

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", "Not yet verified"
        TAGGED = "tagged", "Tagged"
        UNTAGGED = "untagged", "Untagged"

    class Purpose(models.TextChoices):
        TRADE = "trade", "Order"
        SETUP_CHECK = "setup_check", "Broker set-up check"

    SENDING_STATES = (State.PENDING, State.UNKNOWN)
    LIVE_STATES = (State.PENDING, State.UNKNOWN, State.OPEN)
    FINAL_STATES = (State.FILLED, State.CANCELLED, State.REJECTED, State.FAILED)
    # Orders KuCoin holds (or may hold): those a verification or a sync can fetch.
    AT_KUCOIN_STATES = (State.OPEN, State.FILLED, State.CANCELLED)

    # Unique by a constraint in Meta rather than unique=True, which would add a second (pattern) index that no
    # lookup uses: every index is rewritten with each state change of an order.
    client_oid = models.CharField(max_length=40, default=new_client_oid, verbose_name="clientOid")
    market = models.CharField(max_length=10, choices=Market.choices)
    # The account and key the order is signed with: a sub-account's key, or a connected account's key.
    # The (sub-account, -id) and (connection, -id) indexes below serve their look-ups; no single-column ones.
    sub_account = models.ForeignKey(SubAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
                                    db_index=False)
    api_key = models.ForeignKey(SubAccountApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="orders",
                                verbose_name="API key")
    fast_api_connection = models.ForeignKey(FastApiConnection, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="orders", verbose_name="connected account", db_index=False)
    purpose = models.CharField(max_length=20, choices=Purpose.choices, default=Purpose.TRADE)

    # What was asked (kucoin-api.md 4.2 and 5.1). Sizes of futures orders are whole lots.
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=Side.choices, blank=True)
    type = models.CharField(max_length=6, choices=Type.choices, default=Type.LIMIT)
    price = models.DecimalField(**MONEY, null=True, blank=True)
    size = models.DecimalField(**MONEY, null=True, blank=True)
    funds = models.DecimalField(**MONEY, null=True, blank=True, help_text="Spot market orders: quote amount.")
    qty = models.DecimalField(**MONEY, null=True, blank=True, help_text="Futures: base-currency amount.")
    value_qty = models.DecimalField(**MONEY, null=True, blank=True, help_text="Futures: quote value.")
    time_in_force = models.CharField(max_length=3, blank=True)
    cancel_after = models.PositiveIntegerField(null=True, blank=True, help_text="Spot GTT: seconds.")
    post_only = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    iceberg = models.BooleanField(default=False)
    visible_size = models.DecimalField(**MONEY, null=True, blank=True)
    stp = models.CharField(max_length=2, blank=True, verbose_name="STP")
    remark = models.CharField(max_length=100, blank=True)
    leverage = models.PositiveIntegerField(null=True, blank=True)
    margin_mode = models.CharField(max_length=8, blank=True)
    reduce_only = models.BooleanField(default=False)
    close_order = models.BooleanField(default=False)
    force_hold = models.BooleanField(default=False)
    stop = models.CharField(max_length=4, blank=True)
    stop_price = models.DecimalField(**MONEY, null=True, blank=True)
    stop_price_type = models.CharField(max_length=2, blank=True)

    # What KuCoin says.
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    kucoin_order_id = models.CharField(max_length=64, null=True, blank=True, verbose_name="KuCoin order id")
    deal_size = models.DecimalField(**MONEY, null=True, blank=True)
    deal_funds = models.DecimalField(**MONEY, null=True, blank=True, help_text="Spot dealFunds, futures dealValue.")
    fee = models.DecimalField(**MONEY, null=True, blank=True)
    fee_currency = models.CharField(max_length=20, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    # The broker tag, as the last fetch showed it.
    tags = models.CharField(max_length=200, blank=True)
    verification = models.CharField(max_length=10, choices=Verification.choices, default=Verification.UNVERIFIED)
    verified_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Not indexed: only deleting a member of staff looks orders up by it (staff are deactivated, not deleted).
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The list pages: newest first, filtered by one column.
            models.Index(fields=["verification", "-id"], name="order_verification_id"),
            models.Index(fields=["market", "-id"], name="order_market_id"),
            models.Index(fields=["symbol", "-id"], name="order_symbol_id"),
            models.Index(fields=["sub_account", "-id"], name="order_subaccount_id"),
            models.Index(fields=["fast_api_connection", "-id"], name="order_connection_id"),
            models.Index(fields=["state", "-id"], name="order_state_id"),
            # Date filters and the share of tagged orders per day / per sub-account (index-only).
            models.Index(fields=["created_at", "sub_account", "fast_api_connection", "verification"],
                         name="order_created_share_account"),
            # The rebate reconciliation: tagged volume per day and account over a date range, index-only. Orders
            # with nothing dealt add nothing to a volume, so they are left out of the index.
            models.Index(fields=["created_at"], include=["sub_account", "fast_api_connection", "deal_funds"],
                         name="order_tagged_dealt_created",
                         condition=Q(verification="tagged", deal_funds__gt=0)),
            # Open-order limits per account and contract, and the sync of open orders.
            models.Index(fields=["sub_account", "symbol", "state"], name="order_live_per_symbol",
                         condition=Q(state__in=["pending", "unknown", "open"])),
            models.Index(fields=["fast_api_connection", "symbol", "state"], name="order_live_per_symbol_conn",
                         condition=Q(state__in=["pending", "unknown", "open"], fast_api_connection__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["client_oid"], name="order_unique_client_oid"),
            models.UniqueConstraint(fields=["market", "kucoin_order_id"], name="order_unique_kucoin_id",
                                    condition=Q(kucoin_order_id__isnull=False)),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gt=0), name="order_price_positive"),
            # Exactly one key source: a sub-account (with its key), or a connected account (and no sub-account key).
            models.CheckConstraint(
                condition=Q(sub_account__isnull=False, fast_api_connection__isnull=True)
                | Q(sub_account__isnull=True, api_key__isnull=True, fast_api_connection__isnull=False),
                name="order_one_key_source"),
        ]

    def __str__(self) -> str:
        amount = next((a for a in (self.size, self.funds, self.qty, self.value_qty) if a is not None), None)
        text = format(amount.normalize(), "f") if amount is not None else ""
        parts = [self.get_market_display(), self.side, text, self.symbol, f"({self.client_oid})"]
        return " ".join(p for p in parts if p)

    @property
    def error_in_words(self) -> str:
        """KuCoin's code and message, and what the code means when that is known (400201: the partner
        signature is wrong...)."""
        words = super().error_in_words
        hint = HINTS.get(self.error_code or "")
        return f"{words} — {hint}." if words and hint else words

    @property
    def account_name(self) -> str:
        """Whose account the order is in, in words: the sub-account, or the connected customer's reference."""
        if self.fast_api_connection_id:
            return f"customer {self.fast_api_connection.customer_ref}"
        return self.sub_account.account_name if self.sub_account_id else ""

    @property
    def is_stop(self) -> bool:
        return bool(self.stop)

    @property
    def can_cancel(self) -> bool:
        return self.state == self.State.OPEN

    @property
    def can_verify(self) -> bool:
        return self.state in self.AT_KUCOIN_STATES and bool(self.kucoin_order_id or self.client_oid)


class TagShare(models.Model):
    """Orders per day, account (a sub-account or a connected account) and verification state, counted by a
    schedule (and after each verification job) so that the share pages read a few hundred rows instead of
    grouping millions of orders."""

    class Rebate(models.TextChoices):
        WAITING = "waiting", "Rebate files not in yet"
        RECEIVED = "received", "Rebate received"
        NONE = "none", "Trades, earns nothing"

    day = models.DateField()
    sub_account = models.ForeignKey(SubAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    fast_api_connection = models.ForeignKey(FastApiConnection, null=True, blank=True, on_delete=models.CASCADE,
                                            related_name="+")
    tagged = models.PositiveIntegerField(default=0)
    untagged = models.PositiveIntegerField(default=0)
    unverified = models.PositiveIntegerField(default=0)
    # The dealt funds of the day's tagged orders per quote currency ({"USDT": "1234.5"}, decimal strings: exact,
    # and a BTC volume is never added to a USDT one). Empty when the account dealt nothing tagged that day.
    tagged_volume = models.JSONField(default=dict, blank=True)
    # For a sub-account with tagged volume: whether KuCoin paid it any rebate that day (blank otherwise).
    rebate = models.CharField(max_length=8, choices=Rebate.choices, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]
        indexes = [
            # The totals of one day (the dashboard), index-only.
            models.Index(fields=["day"], include=["tagged", "untagged", "unverified", "computed_at"],
                         name="tagshare_day_counts"),
            # The reconciliation: sub-account days that trade but earn nothing, newest first, and those waiting.
            models.Index(fields=["-day", "-id"], name="tagshare_earns_nothing", condition=Q(rebate="none")),
            models.Index(fields=["day"], name="tagshare_rebate_waiting", condition=Q(rebate="waiting")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["day", "sub_account"], name="tagshare_unique_day_account",
                                    condition=Q(sub_account__isnull=False)),
            models.UniqueConstraint(fields=["day", "fast_api_connection"], name="tagshare_unique_day_connection",
                                    condition=Q(fast_api_connection__isnull=False)),
            models.CheckConstraint(condition=Q(sub_account__isnull=False, fast_api_connection__isnull=True)
                                   | Q(sub_account__isnull=True, fast_api_connection__isnull=False),
                                   name="tagshare_one_account"),
        ]

    def __str__(self) -> str:
        account = self.sub_account_id or f"connection {self.fast_api_connection_id}"
        return f"{self.day} {account}: {self.tagged} tagged, {self.untagged} untagged"

    @property
    def volumes(self) -> dict[str, Decimal]:
        """The tagged dealt volume per quote currency, as Decimals."""
        return {currency: Decimal(amount) for currency, amount in sorted(self.tagged_volume.items())}


class TagShareDay(models.Model):
    """The TagShare counts of one day over every account, written with them (`tag_share_refresh`): the per-day
    table of the share pages reads a row a day instead of grouping every account's rows."""

    day = models.DateField(unique=True)
    tagged = models.PositiveIntegerField(default=0)
    untagged = models.PositiveIntegerField(default=0)
    unverified = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.tagged} tagged, {self.untagged} untagged"


class TagShareAccount(models.Model):
    """Per account (a sub-account or a connected account): its TagShare counts summed over the days after
    `since` (the share window, `trading.selectors.SHARE_DAYS`), written with them (`tag_share_refresh`), so
    that the share pages read one page of accounts, worst first, instead of grouping every account's days."""

    sub_account = models.ForeignKey(SubAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    fast_api_connection = models.ForeignKey(FastApiConnection, null=True, blank=True, on_delete=models.CASCADE,
                                            related_name="+")
    tagged = models.PositiveIntegerField(default=0)
    untagged = models.PositiveIntegerField(default=0)
    unverified = models.PositiveIntegerField(default=0)
    # The percent tagged of the verified (to 0.1), for the order of the pages only; 101 when none is verified.
    share_order = models.FloatField()
    since = models.DateField(help_text="The counts are of the days after this one.")
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # Worst first: most untagged, then the lowest share, then most not yet verified.
            models.Index(models.F("untagged").desc(), "share_order", models.F("unverified").desc(), "id",
                         name="tagshareaccount_worst"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(sub_account__isnull=False, fast_api_connection__isnull=True)
                                   | Q(sub_account__isnull=True, fast_api_connection__isnull=False),
                                   name="tagshareaccount_one_account"),
        ]

    def __str__(self) -> str:
        account = self.sub_account_id or f"connection {self.fast_api_connection_id}"
        return f"{account} since {self.since}: {self.tagged} tagged, {self.untagged} untagged"
