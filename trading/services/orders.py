"""Orders: the intent, the sending, cancel, status sync and tag verification (ARCHITECTURE section 3).

The order row with its clientOid is written first, in state `pending`, and its task is queued when that
commits. The task sends it with the key of the sub-account and the broker headers. When a send may have
reached KuCoin without an answer (`sent_at` is set), the next attempt first asks KuCoin for the order by
clientOid, and only sends again when KuCoin does not have it: a task that runs twice never places two orders.
A definite rejection keeps KuCoin's code and message. After a successful send the order is fetched at once,
which records its status and its broker tag (verification).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.clients import KeyHasNoSecret
from accounts.models import SubAccount, SubAccountApiKey
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import error_code, error_in_words
from brokeroffice.leases import leased
from brokeroffice.models import Job
from kucoin import futures as kucoin_futures
from kucoin import spot as kucoin_spot
from kucoin.errors import (
    AuthenticationError, BadRequestError, KuCoinError, NotFoundError, OutcomeUnknownError, PartnerSignatureError,
    RateLimitError, ServerError,
)
from kucoin.errors import ValidationError as KuCoinValidationError
from kucoin.models import FuturesOrder, SpotOrder
from trading.clients import order_client
from trading.models import Order

# KuCoin's open-order caps (kucoin-api.md 4.2 and 5.1): per account and symbol / contract.
SPOT_MAX_OPEN_ORDERS = 200
FUTURES_MAX_OPEN_LIMIT_ORDERS = 100
FUTURES_MAX_OPEN_STOP_ORDERS = 200
# When the back-office already holds this many live orders for a contract, KuCoin is asked for its own
# count before sending (orders placed elsewhere count too).
FUTURES_ASK_KUCOIN_FROM = 90
# "Does not exist" answers to a look-up by clientOid (spot HF, futures).
NOT_FOUND_CODES = {"126043", "100001", "404000"}
MAX_ORDERS_PER_JOB = 1000
IMMEDIATE = ("IOC", "FOK")

# The client's field names (camelCase, as KuCoin names them) → the model's, for errors beside fields.
FIELD_OF_PARAMETER = {
    "clientOid": "client_oid", "side": "side", "symbol": "symbol", "type": "type", "price": "price",
    "size": "size", "funds": "funds", "qty": "qty", "valueQty": "value_qty", "timeInForce": "time_in_force",
    "cancelAfter": "cancel_after", "postOnly": "post_only", "hidden": "hidden", "iceberg": "iceberg",
    "visibleSize": "visible_size", "stp": "stp", "remark": "remark", "leverage": "leverage",
    "marginMode": "margin_mode", "reduceOnly": "reduce_only", "closeOrder": "close_order",
    "forceHold": "force_hold", "stop": "stop", "stopPrice": "stop_price", "stopPriceType": "stop_price_type",
}

ORDER_FIELDS = (
    "market", "symbol", "side", "type", "price", "size", "funds", "qty", "value_qty", "time_in_force",
    "cancel_after", "post_only", "hidden", "iceberg", "visible_size", "stp", "remark", "leverage", "margin_mode",
    "reduce_only", "close_order", "force_hold", "stop", "stop_price", "stop_price_type",
)


class OrderNotSent(Exception):
    """The order was refused here before sending (no usable key, KuCoin's open-order limit reached)."""


# -- what is sent ----------------------------------------------------------------------------------

def _flag(value: bool) -> bool | None:
    return True if value else None


def _text(value: str) -> str | None:
    return value or None


def _lots(value: Decimal | None) -> int | None:
    if value is None:
        return None
    if value != value.to_integral_value():
        raise KuCoinValidationError("futures sizes are whole lots", field="size")
    return int(value)


def spot_kwargs(order: Order) -> dict:
    return {
        "symbol": order.symbol, "side": order.side, "type": order.type, "client_oid": order.client_oid,
        "price": order.price, "size": order.size, "funds": order.funds,
        "time_in_force": _text(order.time_in_force), "cancel_after": order.cancel_after,
        "post_only": _flag(order.post_only), "hidden": _flag(order.hidden), "iceberg": _flag(order.iceberg),
        "visible_size": order.visible_size, "stp": _text(order.stp), "remark": _text(order.remark),
    }


def futures_kwargs(order: Order) -> dict:
    return {
        "client_oid": order.client_oid, "symbol": order.symbol, "side": _text(order.side), "type": order.type,
        "leverage": order.leverage, "price": order.price, "size": _lots(order.size), "qty": order.qty,
        "value_qty": order.value_qty, "margin_mode": _text(order.margin_mode),
        "time_in_force": _text(order.time_in_force), "reduce_only": _flag(order.reduce_only),
        "close_order": _flag(order.close_order), "force_hold": _flag(order.force_hold),
        "post_only": _flag(order.post_only), "hidden": _flag(order.hidden), "iceberg": _flag(order.iceberg),
        "visible_size": _lots(order.visible_size), "stop": _text(order.stop), "stop_price": order.stop_price,
        "stop_price_type": _text(order.stop_price_type), "remark": _text(order.remark), "stp": _text(order.stp),
    }


def order_body(order: Order) -> dict:
    """The request body KuCoin will get, after every check the client makes (raises its ValidationError)."""
    if order.market == Order.Market.SPOT:
        return kucoin_spot.build_order_body(**spot_kwargs(order))
    return kucoin_futures.build_order_body(**futures_kwargs(order))


# -- open-order limits -----------------------------------------------------------------------------

def live_orders(*, sub_account_id: int, symbol: str, market: str) -> Q:
    return Q(sub_account_id=sub_account_id, symbol=symbol, market=market, state__in=Order.LIVE_STATES)


def open_order_limit_problem(order: Order) -> str | None:
    """In words, when the account already holds KuCoin's maximum of open orders of this kind for the symbol
    (counting the orders this back-office knows to be open or on their way)."""
    if (order.type != Order.Type.LIMIT or order.time_in_force in IMMEDIATE) and not order.stop:
        return None  # a market, IOC or FOK order never rests in the book
    live = Order.objects.filter(live_orders(sub_account_id=order.sub_account_id, symbol=order.symbol,
                                            market=order.market)).exclude(time_in_force__in=IMMEDIATE, stop="")
    if order.pk:
        live = live.exclude(pk=order.pk)
    if order.market == Order.Market.SPOT:
        count = live.filter(type=Order.Type.LIMIT).count()
        if count >= SPOT_MAX_OPEN_ORDERS:
            return (f"{order.sub_account} already has {count} open orders on {order.symbol}; KuCoin allows at most "
                    f"{SPOT_MAX_OPEN_ORDERS} per symbol. Cancel some first.")
        return None
    if order.stop:
        count = live.exclude(stop="").count()
        if count >= FUTURES_MAX_OPEN_STOP_ORDERS:
            return (f"{order.sub_account} already has {count} open stop orders on {order.symbol}; KuCoin allows at "
                    f"most {FUTURES_MAX_OPEN_STOP_ORDERS} per contract. Cancel some first.")
        return None
    count = live.filter(stop="", type=Order.Type.LIMIT).count()
    if count >= FUTURES_MAX_OPEN_LIMIT_ORDERS:
        return (f"{order.sub_account} already has {count} open limit orders on {order.symbol}; KuCoin allows at most "
                f"{FUTURES_MAX_OPEN_LIMIT_ORDERS} per contract. Cancel some first.")
    return None


def _kucoin_limit_problem(client, order: Order) -> str | None:
    """For a futures limit or stop order, near the cap: KuCoin's own count (orders placed elsewhere count too)."""
    if order.market != Order.Market.FUTURES or (
            (order.type != Order.Type.LIMIT or order.time_in_force in IMMEDIATE) and not order.stop):
        return None
    live = Order.objects.filter(live_orders(sub_account_id=order.sub_account_id, symbol=order.symbol,
                                            market=order.market)).exclude(pk=order.pk)
    if live.count() < FUTURES_ASK_KUCOIN_FROM:
        return None
    counts = client.futures.open_order_counts(order.symbol)
    if order.stop and counts.stop_orders >= FUTURES_MAX_OPEN_STOP_ORDERS:
        return (f"Not sent: KuCoin already holds {counts.stop_orders} open stop orders of this account on "
                f"{order.symbol} (at most {FUTURES_MAX_OPEN_STOP_ORDERS} per contract).")
    if not order.stop and counts.limit_orders >= FUTURES_MAX_OPEN_LIMIT_ORDERS:
        return (f"Not sent: KuCoin already holds {counts.limit_orders} open limit orders of this account on "
                f"{order.symbol} (at most {FUTURES_MAX_OPEN_LIMIT_ORDERS} per contract).")
    return None


# -- the intent ------------------------------------------------------------------------------------

def usable_keys(market: str | None = None):
    """Active keys whose secret is stored here, of active sub-accounts: those that can sign an order."""
    keys = (SubAccountApiKey.objects.filter(state=SubAccountApiKey.State.ACTIVE,
                                            sub_account__state=SubAccount.State.ACTIVE)
            .exclude(source=SubAccountApiKey.Source.FOUND).select_related("sub_account"))
    return keys


def order_place(*, api_key: SubAccountApiKey, requested_by=None, client_oid: str = "",
                purpose: str = Order.Purpose.TRADE, **params) -> tuple[Order, Job]:
    """Writes the order (state pending, with its clientOid) and queues its task once that commits."""
    from trading.tasks import order_place_task

    unknown = set(params) - set(ORDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown order parameters: {', '.join(sorted(unknown))}")
    order = Order(api_key=api_key, sub_account=api_key.sub_account, requested_by=requested_by, purpose=purpose,
                  **params)
    if client_oid:
        order.client_oid = client_oid
    order_check(order, client_oid_chosen=bool(client_oid))
    with transaction.atomic():
        order.save()
        job = job_create(kind="order_place", label=f"Place {order}", requested_by=requested_by)
        job_enqueue(job=job, task=order_place_task, args=(order.pk,))
    return order, job


def order_check(order: Order, *, client_oid_chosen: bool = True) -> None:
    """What KuCoin would refuse, as a ValidationError naming the field (the form shows it beside it)."""
    if order.api_key is not None:
        if order.api_key.state != SubAccountApiKey.State.ACTIVE or not order.api_key.has_secret:
            raise ValidationError({"api_key": "This key cannot sign orders: it is not active or its secret is not "
                                              "stored here."})
        if order.sub_account.state != SubAccount.State.ACTIVE:
            raise ValidationError({"api_key": f"{order.sub_account} is not active."})
    try:
        order_body(order)
    except KuCoinValidationError as exc:
        raise ValidationError({FIELD_OF_PARAMETER.get(exc.field or "", None) or "__all__": exc.msg}) from None
    if client_oid_chosen and Order.objects.filter(client_oid=order.client_oid).exclude(pk=order.pk).exists():
        raise ValidationError({"client_oid": "An order with this clientOid exists already; KuCoin would refuse it."})
    problem = open_order_limit_problem(order)
    if problem:
        raise ValidationError(problem)


# -- reading KuCoin's answer -----------------------------------------------------------------------

def _is_not_found(exc: KuCoinError) -> bool:
    return isinstance(exc, NotFoundError) or (isinstance(exc, BadRequestError) and (exc.code or "") in NOT_FOUND_CODES)


def _is_duplicate_client_oid(exc: KuCoinError) -> bool:
    return (exc.code or "") == "126044" or "clientOidDuplicated" in (exc.msg or "")


def find_by_client_oid(client, order: Order) -> SpotOrder | FuturesOrder | None:
    """KuCoin's order with this clientOid, or None when KuCoin has none (it was never placed)."""
    try:
        if order.market == Order.Market.SPOT:
            return client.spot.get_order_by_client_oid(order.client_oid, order.symbol)
        return client.futures.get_order_by_client_oid(order.client_oid)
    except BadRequestError as exc:
        if _is_not_found(exc):
            return None
        raise


def fetch(client, order: Order) -> SpotOrder | FuturesOrder:
    """The order as KuCoin holds it: spot by orderId (symbol required), futures by orderId or clientOid."""
    if order.market == Order.Market.SPOT:
        if order.kucoin_order_id:
            return client.spot.get_order(order.kucoin_order_id, order.symbol)
        return client.spot.get_order_by_client_oid(order.client_oid, order.symbol)
    if order.kucoin_order_id:
        return client.futures.get_order(order.kucoin_order_id)
    return client.futures.get_order_by_client_oid(order.client_oid)


def remote_state(remote: SpotOrder | FuturesOrder) -> str:
    active = remote.active if isinstance(remote, SpotOrder) else (remote.is_active or remote.status == "open")
    if active:
        return Order.State.OPEN
    cancelled = bool(remote.raw.get("cancelExist")) if remote.raw else False
    return Order.State.CANCELLED if cancelled else Order.State.FILLED


def apply_remote(order_id: int, remote: SpotOrder | FuturesOrder, **extra) -> dict:
    """Records KuCoin's view of the order: id, status, fills, and its broker tag with when it was seen."""
    now = timezone.now()
    changes = {
        "kucoin_order_id": remote.id, "state": remote_state(remote), "synced_at": now,
        "tags": (remote.tags or "")[:200],
        "verification": Order.Verification.TAGGED if remote.is_tagged else Order.Verification.UNTAGGED,
        "verified_at": now, "updated_at": now,
    }
    if isinstance(remote, SpotOrder):
        changes.update(deal_size=remote.deal_size, deal_funds=remote.deal_funds, fee=remote.fee,
                       fee_currency=remote.fee_currency or "")
    else:
        fee = remote.raw.get("fee") if remote.raw else None
        changes.update(deal_size=Decimal(remote.deal_size or 0), deal_funds=remote.deal_value,
                       fee=Decimal(str(fee)) if fee not in (None, "") else None,
                       fee_currency=remote.settle_currency or "")
    changes.update(extra)
    Order.objects.filter(pk=order_id).update(**changes)
    return changes


def _place(client, order: Order):
    if order.market == Order.Market.SPOT:
        return client.spot.place_order(**spot_kwargs(order))
    return client.futures.place_order(**futures_kwargs(order))


def _refuse(order_id: int, *, state: str, code: str = "", message: str) -> None:
    Order.objects.filter(pk=order_id).update(state=state, error_code=code, error_message=message,
                                             updated_at=timezone.now())


def _summary(order: Order, refresh: bool = True) -> str:
    if refresh:
        order.refresh_from_db()
    text = f"{order}: {order.get_state_display().lower()}"
    if order.kucoin_order_id:
        text += f" (KuCoin order {order.kucoin_order_id})"
    if order.verification != Order.Verification.UNVERIFIED:
        text += f"; {order.get_verification_display().lower()}"
    return text + "."


# -- sending ---------------------------------------------------------------------------------------

def order_send(*, order_id: int, run: JobRun | None = None) -> Order:
    """Sends one order, at most once at KuCoin, and records what KuCoin made of it."""
    from trading.tasks import order_verify_later

    with leased(Order, order_id):
        order = Order.objects.select_related("api_key", "sub_account").get(pk=order_id)
        if order.state not in Order.SENDING_STATES:
            if run:
                run.succeed(_summary(order), {"order_id": order.pk, "state": order.state})
            return order
        if order.api_key is None:
            _refuse(order_id, state=Order.State.FAILED, message="The order has no key to sign it with.")
            raise OrderNotSent("The order has no key to sign it with.")
        try:
            client = order_client(order.api_key)
        except KeyHasNoSecret as exc:
            _refuse(order_id, state=Order.State.FAILED, message=str(exc))
            raise OrderNotSent(str(exc)) from None

        remote = None
        if order.sent_at is not None:
            # An earlier attempt may have reached KuCoin: ask before sending again.
            remote = find_by_client_oid(client, order)
        if remote is None:
            problem = _kucoin_limit_problem(client, order)
            if problem:
                _refuse(order_id, state=Order.State.FAILED, message=problem)
                raise OrderNotSent(problem)
            Order.objects.filter(pk=order_id).update(sent_at=timezone.now(), state=Order.State.UNKNOWN)
            try:
                ref = _place(client, order)
            except (OutcomeUnknownError, RateLimitError, ServerError):
                raise  # transient: the task retries, and first looks the order up by clientOid
            except KuCoinValidationError as exc:
                _refuse(order_id, state=Order.State.FAILED, message=exc.msg)
                raise
            except (BadRequestError, PartnerSignatureError, AuthenticationError, KuCoinError) as exc:
                if _is_duplicate_client_oid(exc):
                    remote = find_by_client_oid(client, order)
                if remote is None:
                    _refuse(order_id, state=Order.State.REJECTED, code=error_code(exc), message=exc.msg)
                    raise
            else:
                order.kucoin_order_id = ref.order_id
                try:
                    remote = fetch(client, order)
                except KuCoinError:
                    # Placed; the verification is tried again on its own.
                    Order.objects.filter(pk=order_id).update(kucoin_order_id=ref.order_id, state=Order.State.OPEN,
                                                             error_code="", error_message="")
                    order.state = Order.State.OPEN
                    order_verify_later(order_id)
        if remote is not None:
            changes = apply_remote(order_id, remote, error_code="", error_message="")
            for name, value in changes.items():
                setattr(order, name, value)
        if run:
            run.succeed(_summary(order, refresh=False), {"order_id": order.pk, "state": order.state,
                                                         "verification": order.verification})
        return order


# -- cancel ----------------------------------------------------------------------------------------

def order_cancel_request(*, order: Order, requested_by=None) -> Job:
    from trading.tasks import order_cancel_task

    if not order.can_cancel:
        raise ValidationError(f"Only an open order can be cancelled; this one is {order.get_state_display().lower()}.")
    with transaction.atomic():
        job = job_create(kind="order_cancel", label=f"Cancel {order}", requested_by=requested_by)
        job_enqueue(job=job, task=order_cancel_task, args=(order.pk,))
    return job


def order_cancel(*, order_id: int, run: JobRun | None = None) -> Order:
    with leased(Order, order_id):
        order = Order.objects.select_related("api_key", "sub_account").get(pk=order_id)
        if order.state != Order.State.OPEN:
            if run:
                run.succeed(f"Nothing to cancel: {_summary(order)}")
            return order
        client = order_client(order.api_key)
        try:
            if order.market == Order.Market.SPOT:
                client.spot.cancel_order(order.kucoin_order_id, order.symbol)
            else:
                client.futures.cancel_order(order.kucoin_order_id)
        except BadRequestError as exc:
            # Already done (filled or cancelled) at KuCoin: the fetch below tells which.
            Order.objects.filter(pk=order_id).update(error_code=error_code(exc), error_message=exc.msg)
        apply_remote(order_id, fetch(client, order))
        if run:
            run.succeed(_summary(order), {"order_id": order.pk})
        return order


# -- status sync and verification ------------------------------------------------------------------

def _refresh(order: Order) -> str:
    """Fetches one order and records it; returns what happened in a word."""
    client = order_client(order.api_key)
    if order.state in Order.SENDING_STATES:
        if order.sent_at is None:
            return "not sent yet"
        remote = find_by_client_oid(client, order)
        if remote is None:
            return "not at KuCoin"
    else:
        try:
            remote = fetch(client, order)
        except BadRequestError as exc:
            if _is_not_found(exc):
                return "not found at KuCoin"
            raise
    apply_remote(order.pk, remote)
    return "tagged" if remote.is_tagged else "untagged"


def _orders_for(ids: Iterable[int]):
    return Order.objects.select_related("api_key", "sub_account").filter(pk__in=list(ids)).exclude(api_key=None)


def orders_sync(*, run: JobRun, order_ids: list[int] | None = None) -> dict:
    """Fetches open orders (or the given ones) and records fills, completion and tags."""
    if order_ids is None:
        order_ids = list(Order.objects.filter(state__in=(Order.State.OPEN, Order.State.UNKNOWN))
                         .order_by("pk").values_list("pk", flat=True)[:MAX_ORDERS_PER_JOB * 10])
    outcome = _each(run, order_ids, "Synced")
    return outcome


def orders_verify_request(*, order_ids: list[int], requested_by=None) -> Job:
    from trading.tasks import orders_verify_task

    order_ids = list(order_ids)[:MAX_ORDERS_PER_JOB]
    if not order_ids:
        raise ValidationError("Choose at least one order to verify.")
    with transaction.atomic():
        label = f"Verify the broker tag of {len(order_ids)} order(s)"
        job = job_create(kind="orders_verify", label=label, requested_by=requested_by)
        job_enqueue(job=job, task=orders_verify_task, args=(order_ids,))
    return job


def orders_sync_request(*, order_ids: list[int] | None = None, requested_by=None) -> Job:
    from trading.tasks import orders_sync_task

    with transaction.atomic():
        label = "Sync open orders from KuCoin" if order_ids is None else f"Sync {len(order_ids)} order(s) from KuCoin"
        job = job_create(kind="orders_sync", label=label, requested_by=requested_by)
        job_enqueue(job=job, task=orders_sync_task, args=() if order_ids is None else (order_ids,))
    return job


def orders_verify(*, run: JobRun, order_ids: list[int] | None = None) -> dict:
    """Fetches each order and stores its tags and when they were checked."""
    if order_ids is None:
        order_ids = list(Order.objects.filter(verification=Order.Verification.UNVERIFIED,
                                              state__in=Order.AT_KUCOIN_STATES)
                         .order_by("pk").values_list("pk", flat=True)[:MAX_ORDERS_PER_JOB])
    return _each(run, order_ids, "Verified")


def _each(run: JobRun, order_ids: list[int], verb: str) -> dict:
    counts: dict[str, int] = {}
    orders = list(_orders_for(order_ids))
    total = len(orders)
    for done, order in enumerate(orders, start=1):
        try:
            word = _refresh(order)
        except (OutcomeUnknownError, RateLimitError, ServerError):
            raise
        except KuCoinError as exc:
            word = "failed"
            Order.objects.filter(pk=order.pk).update(error_code=error_code(exc), error_message=exc.msg)
            run.progress(done, total, f"{order.client_oid}: {error_in_words(exc)}")
        counts[word] = counts.get(word, 0) + 1
        if done % 20 == 0 or done == total:
            run.progress(done, total, f"{done} of {total} orders")
    if total:
        from trading.services.shares import tag_share_refresh

        tag_share_refresh()  # the share pages count what was just verified
    words = ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) or "nothing to do"
    run.succeed(f"{verb} {total} order(s): {words}.", {"total": total, **counts})
    return counts


def order_verify_now(*, order_id: int) -> str:
    """One order, synchronously (a task's retry of the verification after placing)."""
    order = _orders_for([order_id]).first()
    if order is None:
        return "gone"
    return _refresh(order)
