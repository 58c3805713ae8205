"""Orders: the intent, the sending, cancel, status sync and tag verification (ARCHITECTURE section 3).

The order row with its clientOid is written first, in state `pending`, and its task is queued when that
commits. The task sends it with the key of the sub-account (or of the connected Fast API account) and the
broker headers. When a send may have reached KuCoin without an answer (`sent_at` is set), the next attempt
first asks KuCoin for the order by clientOid, and only sends again when KuCoin does not have it: a task that
runs twice never places two orders. A definite rejection keeps KuCoin's code and message. After a successful
send the order is fetched at once, which records its status and its broker tag (verification).

Placing is the hot path, so it is kept to three commits per order: the intent (the order and its job, one
transaction), the claim before sending (lease, `sent_at` and state `unknown` in one conditional UPDATE), and
the outcome (the order's state and tag, its lease released, its job finished and its calls logged, in one
transaction). The job is not marked running on the way: its page shows it waiting until it ends.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.clients import KeyHasNoSecret
from accounts.models import FastApiConnection, SubAccount, SubAccountApiKey
from accounts.services.fastapi import ConnectionKeyUnusable, usable_connections
from brokeroffice.calllog import acting_as, current_actor
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import error_code, error_in_words
from brokeroffice.leases import LeaseHeld, leased
from brokeroffice.models import Job
from kucoin import futures as kucoin_futures
from kucoin import spot as kucoin_spot
from kucoin.errors import (
    BadRequestError, InvalidTimestampError, KuCoinError, NotFoundError, OutcomeUnknownError, RateLimitError,
    ServerError,
)
from kucoin.errors import ValidationError as KuCoinValidationError
from kucoin.models import FuturesOrder, SpotOrder
from trading.calllog_buffer import calls_buffered, calls_flush
from trading.clients import client_for_order
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


class OrderNotCancelled(Exception):
    """KuCoin refused a cancel (e.g. 300002, cancelling suspended) and the order is still open: the cancel's job
    fails with KuCoin's reason."""


class ClientOidNotFoundYet(ServerError):
    """On a re-send KuCoin refused the clientOid as already used (an earlier attempt's order) yet its look-up
    does not show that order: worth another try (transient), never a rejection."""


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

def live_orders(*, symbol: str, market: str, sub_account_id: int | None = None,
                fast_api_connection_id: int | None = None) -> Q:
    """The orders known here as live on this account (a sub-account or a connected account) and symbol."""
    account = (Q(fast_api_connection_id=fast_api_connection_id) if fast_api_connection_id
               else Q(sub_account_id=sub_account_id))
    return account & Q(symbol=symbol, market=market, state__in=Order.LIVE_STATES)


def _live_like(order: Order) -> Q:
    return live_orders(symbol=order.symbol, market=order.market, sub_account_id=order.sub_account_id,
                       fast_api_connection_id=order.fast_api_connection_id)


def _who(order: Order) -> str:
    if order.fast_api_connection_id:
        return f"The connected account of customer {order.fast_api_connection.customer_ref}"
    return str(order.sub_account)


def resting_kind(order: Order) -> str | None:
    """Which of KuCoin's open-order caps the order counts against: "spot", "stop" or "limit" (futures), or
    None for an order that never rests in the book (market, IOC, FOK)."""
    if (order.type != Order.Type.LIMIT or order.time_in_force in IMMEDIATE) and not order.stop:
        return None
    if order.market == Order.Market.SPOT:
        return "spot"
    return "stop" if order.stop else "limit"


def open_order_limit_problem(order: Order, *, in_batch: int = 0) -> str | None:
    """In words, when the account already holds KuCoin's maximum of open orders of this kind for the symbol
    (counting the orders this back-office knows to be open or on their way, and `in_batch` orders of the same
    kind written with this one)."""
    if resting_kind(order) is None:
        return None
    live = Order.objects.filter(_live_like(order)).exclude(time_in_force__in=IMMEDIATE, stop="")
    if order.pk:
        live = live.exclude(pk=order.pk)
    if order.market == Order.Market.SPOT:
        count = live.filter(type=Order.Type.LIMIT).count() + in_batch
        if count >= SPOT_MAX_OPEN_ORDERS:
            return (f"{_who(order)} already has {count} open orders on {order.symbol}; KuCoin allows at most "
                    f"{SPOT_MAX_OPEN_ORDERS} per symbol. Cancel some first.")
        return None
    if order.stop:
        count = live.exclude(stop="").count() + in_batch
        if count >= FUTURES_MAX_OPEN_STOP_ORDERS:
            return (f"{_who(order)} already has {count} open stop orders on {order.symbol}; KuCoin allows at "
                    f"most {FUTURES_MAX_OPEN_STOP_ORDERS} per contract. Cancel some first.")
        return None
    count = live.filter(stop="", type=Order.Type.LIMIT).count() + in_batch
    if count >= FUTURES_MAX_OPEN_LIMIT_ORDERS:
        return (f"{_who(order)} already has {count} open limit orders on {order.symbol}; KuCoin allows at most "
                f"{FUTURES_MAX_OPEN_LIMIT_ORDERS} per contract. Cancel some first.")
    return None


def near_futures_limit(order: Order) -> bool:
    """A futures limit or stop order on a contract where this account already holds many live orders: KuCoin's
    own count is read before sending (orders placed elsewhere count too)."""
    if order.market != Order.Market.FUTURES or (
            (order.type != Order.Type.LIMIT or order.time_in_force in IMMEDIATE) and not order.stop):
        return False
    return Order.objects.filter(_live_like(order)).exclude(pk=order.pk).count() >= FUTURES_ASK_KUCOIN_FROM


def _kucoin_limit_problem(client, order: Order) -> str | None:
    """KuCoin's own count of open orders of this kind on the contract, in words when it is at the cap."""
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


def order_connections():
    """Connected (Fast API) accounts whose key may sign orders, for the order form."""
    return usable_connections().order_by("customer_ref", "pk")


def order_place(*, api_key: SubAccountApiKey | None = None, fast_api_connection: FastApiConnection | None = None,
                requested_by=None, client_oid: str = "", purpose: str = Order.Purpose.TRADE,
                **params) -> tuple[Order, Job]:
    """Writes the order (state pending, with its clientOid) and its job, and queues its task once that commits.

    The order is signed with exactly one of `api_key` (a sub-account's key) or `fast_api_connection` (a
    connected account's key).
    """
    from trading.tasks import order_place_task

    unknown = set(params) - set(ORDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown order parameters: {', '.join(sorted(unknown))}")
    if (api_key is None) == (fast_api_connection is None):
        raise TypeError("an order is signed with exactly one of api_key or fast_api_connection")
    order = Order(api_key=api_key, sub_account=api_key.sub_account if api_key else None,
                  fast_api_connection=fast_api_connection, requested_by=requested_by, purpose=purpose, **params)
    if client_oid:
        order.client_oid = client_oid
    order_check(order, client_oid_chosen=bool(client_oid))
    with transaction.atomic():
        order.save()
        job = job_create(kind="order_place", label=f"Place {order}", requested_by=requested_by)
        job_enqueue(job=job, task=order_place_task, args=(order.pk,))
    return order, job


def order_check(order: Order, *, client_oid_chosen: bool = True, in_batch: int = 0) -> None:
    """What KuCoin would refuse, as a ValidationError naming the field (the form shows it beside it)."""
    if order.api_key is not None:
        if order.api_key.state != SubAccountApiKey.State.ACTIVE or not order.api_key.has_secret:
            raise ValidationError({"api_key": "This key cannot sign orders: it is not active or its secret is not "
                                              "stored here."})
        if order.sub_account.state != SubAccount.State.ACTIVE:
            raise ValidationError({"api_key": f"{order.sub_account} is not active."})
    if order.fast_api_connection is not None and not order.fast_api_connection.key_usable:
        raise ValidationError({"fast_api_connection": f"The connected account of customer "
                                                      f"{order.fast_api_connection.customer_ref} has no key that may "
                                                      f"sign orders (not created yet, or marked unused)."})
    try:
        order_body(order)
    except KuCoinValidationError as exc:
        raise ValidationError({FIELD_OF_PARAMETER.get(exc.field or "", None) or "__all__": exc.msg}) from None
    if client_oid_chosen and Order.objects.filter(client_oid=order.client_oid).exclude(pk=order.pk).exists():
        raise ValidationError({"client_oid": "An order with this clientOid exists already; KuCoin would refuse it."})
    problem = open_order_limit_problem(order, in_batch=in_batch)
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
    changes = remote_changes(remote, **extra)
    Order.objects.filter(pk=order_id).update(**changes)
    return changes


def remote_changes(remote: SpotOrder | FuturesOrder, **extra) -> dict:
    """KuCoin's view of the order as the columns it changes: id, status, fills, broker tag and when seen."""
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
    return changes


def _place(client, order: Order):
    if order.market == Order.Market.SPOT:
        return client.spot.place_order(**spot_kwargs(order))
    return client.futures.place_order(**futures_kwargs(order))


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

SELECT_FOR_SENDING = ("api_key", "sub_account", "fast_api_connection", "requested_by")
# A connected account's OAuth code and tokens: never needed to sign an order, so not read (nor decrypted).
UNUSED_SECRETS = ("fast_api_connection__code", "fast_api_connection__access_token",
                  "fast_api_connection__refresh_token")
# A sub-account key's secret and passphrase: read (and decrypted) only when the process makes its client for the
# key (trading.clients keeps it), not with every order.
CLIENT_SECRETS = ("api_key__secret", "api_key__passphrase")


def acting_for(order: Order, job_id: str | None):
    """Calls are logged as caused by who asked for the order (and its job), unless a job around already says."""
    if current_actor.get():
        return nullcontext()
    return acting_as(order.requested_by.get_username() if order.requested_by else "job", job_id)


def _claim(order: Order, *, mark_sent: bool) -> bool:
    """Takes the row's lease and, with `mark_sent`, records that a request may now reach KuCoin (`sent_at`,
    state unknown), in one conditional UPDATE committed before anything is sent. It only succeeds while the
    order still waits to be sent and `sent_at` is what this execution read, so an execution that read a stale
    row can never skip the look-up by clientOid."""
    now = timezone.now()
    changes = {"lease_until": now + timedelta(seconds=settings.ROW_LEASE_SECONDS)}
    if mark_sent:
        changes.update(sent_at=now, state=Order.State.UNKNOWN, updated_at=now)
    same_read = Q(sent_at__isnull=True) if order.sent_at is None else Q(sent_at=order.sent_at)
    lease_free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return Order.objects.filter(same_read, lease_free, pk=order.pk,
                                state__in=Order.SENDING_STATES).update(**changes) == 1


def _job_ended(job_id: str | None, order: Order) -> None:
    """The order's job, finished with the order's outcome (inside the order's own transaction)."""
    if not job_id:
        return
    now = timezone.now()
    ended = {"finished_at": now, "started_at": Coalesce("started_at", now), "attempts": F("attempts") + 1}
    if order.state in (Order.State.REJECTED, Order.State.FAILED):
        ended.update(state=Job.State.FAILED, error=order.error_in_words[:2000])
    else:
        ended.update(state=Job.State.SUCCEEDED, message=_summary(order, refresh=False)[:500], error="",
                     result={"order_id": order.pk, "state": order.state, "verification": order.verification})
    Job.objects.filter(pk=job_id).update(**ended)


def _finish(order: Order, changes: dict, job_id: str | None = None) -> None:
    """Records the outcome, releases the lease, finishes the job and logs the order's calls: one commit."""
    for name, value in changes.items():
        setattr(order, name, value)
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(**{**changes, "lease_until": None, "updated_at": timezone.now()})
        _job_ended(job_id, order)
        calls_flush()


def _release(order: Order, job_id: str | None, exc: BaseException) -> None:
    """After a transient failure: the lease is given back and the job says what is being retried (one commit)."""
    now = timezone.now()
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(lease_until=None)
        if job_id:
            Job.objects.filter(pk=job_id).update(state=Job.State.RUNNING, started_at=Coalesce("started_at", now),
                                                 attempts=F("attempts") + 1, message=error_in_words(exc)[:500])
        calls_flush()


def failed_changes(message: str) -> dict:
    return {"state": Order.State.FAILED, "error_code": "", "error_message": message}


def order_send(*, order_id: int, job_id: str | None = None, run: JobRun | None = None) -> Order | None:
    """Sends one order, at most once at KuCoin, and records what KuCoin made of it (and ends its job).

    A definite outcome (placed, rejected, refused here) is recorded on the order; a transient failure (no
    answer, 5xx, rate limit, another execution holding the row) is raised for the task to retry, after which
    the order is first looked up by clientOid.
    """
    order = (Order.objects.select_related(*SELECT_FOR_SENDING).defer(*UNUSED_SECRETS, *CLIENT_SECRETS)
             .filter(pk=order_id).first())
    if order is None:
        return None  # deleted with its job: nothing to do
    with acting_for(order, job_id), calls_buffered():
        if order.state in Order.SENDING_STATES and job_given_up(job_id):
            order = order_resolve(order_id=order.pk) or order  # a message delivered again after it: never sent late
        elif order.state in Order.SENDING_STATES:
            _send(order, job_id)
        elif job_id:
            _job_ended(job_id, order)  # a redelivered task: the order was already sent
    if run:
        run.succeed(_summary(order, refresh=False), {"order_id": order.pk, "state": order.state,
                                                     "verification": order.verification})
    return order


def job_given_up(job_id: str | None) -> bool:
    """Whether the order's job is shown failed (its retries ran out, or it was marked lost): staff take the order
    for not placed, so it is only looked up from then on."""
    return bool(job_id) and Job.objects.filter(pk=job_id, state=Job.State.FAILED).exists()


def _send(order: Order, job_id: str | None) -> None:
    if order.api_key is None and order.fast_api_connection is None:
        return _finish(order, failed_changes("The order has no key to sign it with."), job_id)
    try:
        client = client_for_order(order)
    except (KeyHasNoSecret, ConnectionKeyUnusable) as exc:
        return _finish(order, failed_changes(str(exc)), job_id)
    sent_before = order.sent_at is not None
    ask_kucoin_count = near_futures_limit(order)
    if not _claim(order, mark_sent=not ask_kucoin_count):
        order.refresh_from_db()
        if order.state not in Order.SENDING_STATES:  # another execution finished it
            _job_ended(job_id, order)
            return None
        raise LeaseHeld(f"order {order.pk} is being sent by another worker")
    try:
        changes = send_and_read(client, order, sent_before=sent_before, ask_kucoin_count=ask_kucoin_count)
    except Exception as exc:
        _release(order, job_id, exc)  # the retry looks the order up by clientOid first (sent_at is set)
        raise
    _finish(order, changes, job_id)
    if changes.get("state") == Order.State.OPEN and "verification" not in changes:
        from trading.tasks import order_verify_later

        order_verify_later(order.pk)  # placed, but the fetch failed: verified on its own
    return None


CLIENT_OID_USED_ELSEWHERE = ("this clientOid is already used at KuCoin by another order (not placed from this "
                             "back-office). This order was not placed, and nothing of the other order is recorded "
                             "here. Place it again with a new clientOid if it is still wanted.")


def send_and_read(client, order: Order, *, sent_before: bool, ask_kucoin_count: bool) -> dict:
    """With the row's lease held: looks up, sends, reads back; returns the columns to record."""
    remote = find_by_client_oid(client, order) if sent_before else None
    if remote is not None:
        return remote_changes(remote, error_code="", error_message="")
    if ask_kucoin_count:
        problem = _kucoin_limit_problem(client, order)
        if problem:
            return failed_changes(problem)
        now = timezone.now()
        Order.objects.filter(pk=order.pk).update(sent_at=now, state=Order.State.UNKNOWN, updated_at=now)
    try:
        ref = _place(client, order)
    except (OutcomeUnknownError, RateLimitError, ServerError, InvalidTimestampError):
        # Transient (a timestamp refused again after the clock's resync included: the gateway did nothing): the
        # task retries, and first looks the order up by clientOid.
        raise
    except KuCoinValidationError as exc:
        return failed_changes(exc.msg)
    except KuCoinError as exc:
        if not _is_duplicate_client_oid(exc):
            return {"state": Order.State.REJECTED, "error_code": error_code(exc), "error_message": exc.msg}
        if not sent_before:
            # Nothing of this order was sent before: the order KuCoin holds under its clientOid is another one,
            # placed outside the back-office. Recording that one as this one would show someone else's trade.
            return {"state": Order.State.REJECTED, "error_code": error_code(exc),
                    "error_message": f"{exc.msg}: {CLIENT_OID_USED_ELSEWHERE}"}
        remote = find_by_client_oid(client, order)
        if remote is None:
            # The duplicate proves KuCoin holds an order with this clientOid (an earlier attempt's, most likely):
            # not a rejection; looked up again on the task's retry.
            raise ClientOidNotFoundYet(f"{exc.msg}: KuCoin holds an order with this clientOid but does not show it "
                                       f"yet; it is looked up again", code=exc.code, endpoint=exc.endpoint)
        return remote_changes(remote, error_code="", error_message="")
    order.kucoin_order_id = ref.order_id
    try:
        remote = fetch(client, order)
    except KuCoinError:
        # Placed; the verification is tried again on its own.
        return {"kucoin_order_id": ref.order_id, "state": Order.State.OPEN, "error_code": "", "error_message": ""}
    return remote_changes(remote, error_code="", error_message="")


# -- a stalled sending, settled without sending late ----------------------------------------------

NOT_SENT_LATE = ("Not sent: its sending was cut off before it reached KuCoin, and an order is not sent late "
                 "without a person asking. Place it again if it is still wanted.")
NOT_PLACED_LATE = ("Not placed: KuCoin has no order with this clientOid. Its sending got no answer from KuCoin "
                   "after every retry, and it is not sent again late. Place a new order if it is still wanted.")


def order_resolve(*, order_id: int, run: JobRun | None = None) -> Order | None:
    """Settles an order whose sending stalled (its job failed after its retries, or its task was lost) without
    ever sending it: KuCoin's order when KuCoin has one with its clientOid, otherwise `failed`, in words. By then
    staff see its job failed and may have placed another one: a late send could trade twice, at a stale price."""
    order = Order.objects.select_related(*SELECT_FOR_SENDING).filter(pk=order_id).first()
    if order is None:
        return None
    with leased(Order, order_id) as lease:
        order.refresh_from_db()
        if order.state in Order.SENDING_STATES:
            changes = {**_resolved_changes(order), "updated_at": timezone.now()}
            same_read = Q(sent_at__isnull=True) if order.sent_at is None else Q(sent_at=order.sent_at)
            if lease.update(only_if=Q(same_read, state__in=Order.SENDING_STATES), **changes):
                for name, value in changes.items():
                    setattr(order, name, value)
    if run:
        run.succeed(_summary(order), {"order_id": order.pk, "state": order.state})
    return order


def _resolved_changes(order: Order) -> dict:
    if order.sent_at is None:
        return failed_changes(NOT_SENT_LATE)
    remote = find_by_client_oid(client_for_order(order), order)
    if remote is None:
        return failed_changes(NOT_PLACED_LATE)
    return remote_changes(remote, error_code="", error_message="")


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
        order = Order.objects.select_related(*SELECT_FOR_SENDING).get(pk=order_id)
        if order.state != Order.State.OPEN:
            if run:
                run.succeed(f"Nothing to cancel: {_summary(order)}")
            return order
        client = client_for_order(order)
        refusal = None
        try:
            if order.market == Order.Market.SPOT:
                client.spot.cancel_order(order.kucoin_order_id, order.symbol)
            else:
                client.futures.cancel_order(order.kucoin_order_id)
        except BadRequestError as exc:
            # Already done (filled or cancelled) at KuCoin, or refused (cancelling suspended): the fetch tells which.
            refusal = exc
            Order.objects.filter(pk=order_id).update(error_code=error_code(exc), error_message=exc.msg)
        held = apply_remote(order_id, fetch(client, order))
        if refusal is not None and held["state"] == Order.State.OPEN:
            raise OrderNotCancelled(f"Not cancelled: KuCoin refused to cancel {order} ({error_in_words(refusal)}), "
                                    f"and it is still open at KuCoin.")
        if run:
            run.succeed(_summary(order), {"order_id": order.pk})
        return order


# -- status sync and verification ------------------------------------------------------------------

def _refresh(order: Order) -> str:
    """Fetches one order and records it; returns what happened in a word."""
    client = client_for_order(order)
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
    """The orders that have a key to fetch them with (a sub-account key or a connected account)."""
    return (Order.objects.select_related("api_key", "sub_account", "fast_api_connection").filter(pk__in=list(ids))
            .filter(Q(api_key__isnull=False) | Q(fast_api_connection__isnull=False)))


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


class OrdersFailed(Exception):
    """A sync or verification job in which KuCoin refused some orders: the job fails, with the counts."""


NO_USABLE_KEY = "no usable key"


def _each(run: JobRun, order_ids: list[int], verb: str) -> dict:
    counts: dict[str, int] = {}
    orders = list(_orders_for(order_ids))
    total = len(orders)
    for done, order in enumerate(orders, start=1):
        try:
            word = _refresh(order)
        except (OutcomeUnknownError, RateLimitError, ServerError, InvalidTimestampError):
            raise  # transient: the job tries again later
        except (KeyHasNoSecret, ConnectionKeyUnusable) as exc:
            # Its key was deleted or marked unused: nothing here can sign for it; the other orders go on.
            word = NO_USABLE_KEY
            run.progress(done, total, f"{order.client_oid}: {exc}")
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
    if counts.get("failed"):
        # Not a success when KuCoin refused some: the job (and the command) fail, naming the counts.
        raise OrdersFailed(f"{verb} {total} order(s): {words}. KuCoin refused {counts['failed']} of them; "
                           f"each one's page shows KuCoin's code and message.")
    run.succeed(f"{verb} {total} order(s): {words}.", {"total": total, **counts})
    return counts


def order_verify_now(*, order_id: int) -> str:
    """One order, synchronously (a task's retry of the verification after placing)."""
    order = _orders_for([order_id]).first()
    if order is None:
        return "gone"
    try:
        return _refresh(order)
    except (KeyHasNoSecret, ConnectionKeyUnusable):
        return NO_USABLE_KEY  # its key went between the placing and this check: nothing can read it now
