"""Reads that the order pages, the admin and the dashboard share. None of them counts a whole table."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Min, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from trading.models import Order, TagShare, TagShareAccount, TagShareDay

LIST_FIELDS = (
    "pk", "client_oid", "market", "symbol", "side", "type", "price", "size", "funds", "qty", "value_qty", "stop",
    "state", "kucoin_order_id", "tags", "verification", "verified_at", "error_code", "error_message", "created_at",
    "purpose", "sub_account__account_name", "sub_account__uid", "sub_account_id", "fast_api_connection_id",
    "fast_api_connection__customer_ref",
)
SHARE_DAYS = 14
# Orders saved at nearly the same moment may get their ids in another order than their times: the id bound
# of a date filter is taken over this many orders at the edge.
ID_SLACK = 100


def orders_filtered(*, verification: str = "", market: str = "", state: str = "", symbol: str = "",
                    sub_account_uid: str = "", customer_ref: str = "", created_from: date | None = None,
                    created_to: date | None = None) -> QuerySet[Order]:
    orders = Order.objects.select_related("sub_account", "fast_api_connection").only(*LIST_FIELDS)
    if verification:
        orders = orders.filter(verification=verification)
    if market:
        orders = orders.filter(market=market)
    if state:
        orders = orders.filter(state=state)
    if symbol:
        symbol = symbol.strip().upper()
        orders = orders.filter(symbol=symbol)
        # A spot symbol has a hyphen (BTC-USDT), a futures contract none (XBTUSDTM): a mismatch matches nothing,
        # and is answered without walking the symbol's orders.
        if market and ("-" in symbol) != (market == Order.Market.SPOT):
            orders = orders.none()
    if sub_account_uid:
        orders = orders.filter(sub_account__uid=sub_account_uid.strip())
    if customer_ref:
        orders = orders.filter(fast_api_connection__customer_ref=customer_ref.strip())
    tz = timezone.get_current_timezone()
    if created_from:
        start = datetime.combine(created_from, time.min, tzinfo=tz)
        orders = orders.filter(created_at__gte=start)
        # Ids grow with time: bound the id too, so that "newest first" need not walk every newer order.
        first = list(Order.objects.filter(created_at__gte=start).order_by("created_at")
                     .values_list("pk", flat=True)[:ID_SLACK])
        orders = orders.filter(pk__gte=min(first)) if first else orders.none()
    if created_to:
        end = datetime.combine(created_to + timedelta(days=1), time.min, tzinfo=tz)
        orders = orders.filter(created_at__lt=end)
        last = list(Order.objects.filter(created_at__lt=end).order_by("-created_at")
                    .values_list("pk", flat=True)[:ID_SLACK])
        orders = orders.filter(pk__lte=max(last)) if last else orders.none()
    return orders


def untagged_alert(limit: int = 5) -> dict:
    """The newest untagged orders (an untagged order earns the broker no rebate), for the dashboard."""
    rows = list(Order.objects.filter(verification=Order.Verification.UNTAGGED)
                .select_related("sub_account", "fast_api_connection")
                .only("pk", "client_oid", "symbol", "market", "created_at", "sub_account__account_name",
                      "fast_api_connection__customer_ref")
                .order_by("-pk")[: limit + 1])
    return {"orders": rows[:limit], "more": len(rows) > limit}


ADMIN_ACCOUNTS = 30  # the accounts the orders admin shows above its list (worst first)
ACCOUNTS_PER_PAGE = 100  # the accounts a page of the verification page shows


def _with_share(row: dict) -> dict:
    verified = row["tagged"] + row["untagged"]
    row["verified"] = verified
    row["share"] = None if not verified else round(100 * row["tagged"] / verified, 1)
    return row


def counting_day() -> date:
    """Today in the zone the tag shares are counted in (the server's TIME_ZONE, where the workers count),
    whatever zone the member of staff reads the page in."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def share_per_day(*, days: int = SHARE_DAYS) -> list[dict]:
    """The last `days` days' counts over every account, newest first: a row a day (TagShareDay)."""
    since = counting_day() - timedelta(days=days)
    return [_with_share(row) for row in TagShareDay.objects.filter(day__gt=since).order_by("-day")
            .values("day", "tagged", "untagged", "unverified", "computed_at")]


def share_of_day(day: date | None = None) -> dict | None:
    """One day's counts over every account (the dashboard's figure), or None without any: one grouped read
    of that day's TagShare rows (index-only)."""
    day = day or counting_day()
    row = TagShare.objects.filter(day=day).order_by().aggregate(
        tagged=Sum("tagged"), untagged=Sum("untagged"), unverified=Sum("unverified"), computed_at=Min("computed_at"))
    if row["computed_at"] is None:
        return None
    return _with_share({"day": day, **row})


def share_accounts() -> QuerySet:
    """The accounts with orders in the share window (TagShareAccount), worst first: most untagged, then the
    lowest tagged share, then most not yet verified. Slice it: the database sorts and cuts (an index holds
    that order)."""
    return (TagShareAccount.objects.order_by(F("untagged").desc(), "share_order", F("unverified").desc(), "id")
            .values("sub_account_id", "sub_account__account_name", "sub_account__uid", "fast_api_connection_id",
                    "fast_api_connection__customer_ref", "tagged", "untagged", "unverified"))


def share_account_rows(rows) -> list[dict]:
    """A slice of `share_accounts()` as rows with their verified count and share."""
    return [_with_share(row) for row in rows]


def tagged_share(*, days: int = SHARE_DAYS, accounts: int = ADMIN_ACCOUNTS) -> dict:
    """Per day over the last `days` days and for the `accounts` worst accounts (sub-accounts or connected
    accounts) over the share window: orders by verification state, the share of tagged among the verified ones,
    and how many are untagged. Read from the counts the schedule keeps (TagShareDay, TagShareAccount, see
    `tag_share_refresh`): a row a day and one page of accounts, never the orders, nor every account."""
    per_day = share_per_day(days=days)
    per_account = share_account_rows(share_accounts()[:accounts]) if accounts else []
    computed = [row["computed_at"] for row in per_day if row["computed_at"]]
    return {"days": days, "per_day": per_day, "per_account": per_account,
            "computed_at": min(computed) if computed else None,
            "untagged": sum(row["untagged"] for row in per_day)}


def tag_counts(*, since: date) -> list[dict]:
    """Orders per day, account (sub-account or connected account) and verification state since `since`: one
    grouped read over the (created_at, sub_account, fast_api_connection, verification) index. For the scheduled
    recount, not for pages. Orders KuCoin refused, or that failed before reaching it, have no tag to verify:
    they are not counted (they would stay "not yet verified" for ever)."""
    tz = timezone.get_current_timezone()
    return list(Order.objects.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=tz))
                .exclude(state__in=(Order.State.REJECTED, Order.State.FAILED)).order_by()
                .annotate(day=TruncDate("created_at"))
                .values("day", "sub_account_id", "fast_api_connection_id", "verification")
                .annotate(n=Count("pk")))


def tagged_volume_groups(*, since: date) -> list[dict]:
    """The dealt funds of tagged orders per day, account, market, symbol and settle currency since `since`, for
    the scheduled recount (`tag_share_refresh`): what a volume's currency is depends on the market and symbol."""
    tz = timezone.get_current_timezone()
    return list(Order.objects.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=tz),
                                     verification=Order.Verification.TAGGED, deal_funds__gt=0).order_by()
                .annotate(day=TruncDate("created_at"))
                .values("day", "sub_account_id", "fast_api_connection_id", "market", "symbol", "fee_currency")
                .annotate(volume=Sum("deal_funds")))


def volume_currency(*, market: str, symbol: str, settle_currency: str) -> str:
    """The currency an order's dealt funds are in: a spot symbol's quote (BTC-USDT: USDT); a futures order's
    dealValue is in its settle currency (kept in fee_currency), else read from a linear contract's name."""
    if market == Order.Market.SPOT:
        return symbol.rpartition("-")[2]
    if settle_currency:
        return settle_currency
    return next((c for c in ("USDT", "USDC") if symbol.endswith(f"{c}M")), "unknown")


def orders_of_sub_account(sub_account_id: int, *, limit: int = 10) -> list[Order]:
    """The newest orders of one sub-account, for its page."""
    return list(Order.objects.filter(sub_account_id=sub_account_id).only(*LIST_FIELDS).order_by("-id")[:limit])


def live_order_count_of_key(api_key_id: int) -> int:
    """Orders signed with one sub-account key that are open at KuCoin, or may be (being placed, outcome unknown):
    what deleting the key would leave without anyone to follow or cancel them."""
    return Order.objects.filter(api_key_id=api_key_id, state__in=Order.LIVE_STATES).count()


def orders_of_connection(connection_id: int, *, limit: int = 10) -> list[Order]:
    """The newest orders signed with one connected account's key, for its page."""
    return list(Order.objects.filter(fast_api_connection_id=connection_id).only(*LIST_FIELDS)
                .select_related("fast_api_connection").order_by("-id")[:limit])
