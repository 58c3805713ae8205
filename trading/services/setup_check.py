"""The broker set-up check: one small post-only limit order far from the market, placed with a
sub-account's key and the broker headers, fetched to see whether KuCoin tagged it, then cancelled.

It is an ordinary order row (purpose "set-up check"), so its sending is idempotent like any other and it
shows in the lists; the outcome is told in words, with what a failure means.
"""
from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.broker import broker_identity
from accounts.models import SubAccount, SubAccountApiKey
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import error_in_words
from brokeroffice.models import Job
from kucoin.errors import KuCoinError
from trading.models import Order
from trading.services.orders import OrderNotCancelled, OrderNotSent, order_cancel, order_check, order_send

# Far below any market price: a post-only buy there rests and cannot fill.
DEFAULTS = {
    Order.Market.SPOT: {"symbol": "BTC-USDT", "price": Decimal("1000"), "size": Decimal("0.001")},
    Order.Market.FUTURES: {"symbol": "XBTUSDTM", "price": Decimal("1000"), "size": Decimal("1"), "leverage": 1},
}
PERMISSION = {Order.Market.SPOT: "Spot", Order.Market.FUTURES: "Futures"}


class SetupCheckFailed(Exception):
    """The check ran and found the set-up wrong (the message says what it means)."""


def key_for(sub_account: SubAccount, market: str) -> SubAccountApiKey:
    """An active key of the sub-account, with its secret here and the market's permission; keys without an IP
    whitelist first (a whitelist that leaves out this server makes KuCoin refuse with 400006)."""
    keys = [k for k in SubAccountApiKey.objects.filter(sub_account=sub_account, state=SubAccountApiKey.State.ACTIVE)
            .exclude(source=SubAccountApiKey.Source.FOUND).order_by("pk")
            if k.has_secret and PERMISSION[market] in (k.permissions or [])]
    if not keys:
        raise ValidationError(f"{sub_account} has no active key with the {PERMISSION[market]} permission whose secret "
                              f"is stored here: create or import one first.")
    keys.sort(key=lambda k: bool(k.ip_whitelist or k.kucoin_ip_whitelist))
    return keys[0]


def broker_verify_prepare(*, uid: str, market: str, symbol: str = "", price: Decimal | None = None,
                          size: Decimal | None = None, requested_by=None) -> Order:
    """Writes the check's order (pending, with its clientOid), after the checks KuCoin would make."""
    if market not in Order.Market.values:
        raise ValidationError(f"The market must be spot or futures, not “{market}”.")
    sub_account = SubAccount.objects.filter(uid=uid).first()
    if sub_account is None:
        raise ValidationError(f"No sub-account with UID {uid} is known here: sync the sub-accounts first.")
    key = key_for(sub_account, market)
    params = dict(DEFAULTS[market])
    if symbol:
        params["symbol"] = symbol
    if price is not None:
        params["price"] = price
    if size is not None:
        params["size"] = size
    order = Order(market=market, api_key=key, sub_account=sub_account, side=Order.Side.BUY, type=Order.Type.LIMIT,
                  post_only=True, purpose=Order.Purpose.SETUP_CHECK, requested_by=requested_by,
                  remark="broker set-up check", **params)
    order_check(order)
    order.save()
    return order


def broker_verify_request(*, uid: str, market: str, requested_by=None, **options) -> tuple[Order, Job]:
    from trading.tasks import broker_verify_task

    with transaction.atomic():
        order = broker_verify_prepare(uid=uid, market=market, requested_by=requested_by, **options)
        job = job_create(kind="broker_verify", label=f"Broker set-up check ({market}, UID {uid})",
                         requested_by=requested_by)
        job_enqueue(job=job, task=broker_verify_task, args=(uid, market, {"order_id": order.pk}))
    return order, job


def _partner_configured(market: str) -> str:
    identity = broker_identity()
    partner = identity.spot_partner if market == Order.Market.SPOT else identity.futures_partner
    return partner.partner if partner else ""


def verdict(order: Order, market: str, partner: str) -> tuple[bool, str]:
    """Whether the set-up is right, in words, from what became of the check's order."""
    product = "spot" if market == Order.Market.SPOT else "futures"
    if order.state == Order.State.REJECTED:
        if order.error_code == "400201":
            return False, (f"KuCoin refused the test order with 400201 (Invalid KC-API-PARTNER-SIGN): the partner "
                           f"signature is wrong. The {product} broker key, or the partner id and broker name sent "
                           f"with it, are not the ones KuCoin issued.")
        if order.error_code == "400200":
            return False, (f"KuCoin refused the test order with 400200: it does not know the partner id "
                           f"“{partner}” for {product}.")
        return False, (f"KuCoin refused the test order ({order.error_in_words}); the check could not tell whether "
                       f"{product} orders get the broker tag.")
    if order.state == Order.State.FAILED:
        return False, f"The test order could not be sent: {order.error_message}"
    if order.verification == Order.Verification.TAGGED:
        return True, (f"The broker set-up for {product} is right: KuCoin tagged the test order "
                      f"(tags “{order.tags}”), so orders placed this way earn the broker its rebate.")
    if order.verification == Order.Verification.UNTAGGED:
        if not partner:
            return False, (f"KuCoin accepted the test order without a broker tag: no partner credentials are "
                           f"configured for {product}, so no broker headers were sent and the broker earns no "
                           f"rebate on such orders.")
        return False, (f"KuCoin accepted the test order but did not tag it, with no error: the broker earns no rebate "
                       f"on such orders. Either KC-API-PARTNER-VERIFY was off and the partner signature is wrong, "
                       f"or the partner id “{partner}” is not the one KuCoin issued for {product}.")
    return False, "KuCoin's answer about the tag could not be read; run the check again."


def broker_verify(*, uid: str, market: str, run: JobRun | None = None, order_id: int | None = None,
                  **options) -> dict:
    """Places the check's order (or continues it), reads its tag, cancels it, and tells the outcome."""
    if order_id is None:
        order_id = broker_verify_prepare(uid=uid, market=market, **options).pk
    partner = _partner_configured(market)
    if run:
        run.progress(1, 3, "Placing a post-only test order far from the market")
    try:
        order_send(order_id=order_id)
    except (OrderNotSent, KuCoinError) as exc:
        if isinstance(exc, KuCoinError) and not Order.objects.filter(
                pk=order_id, state__in=(Order.State.REJECTED, Order.State.FAILED)).exists():
            raise  # transient: the task retries (the order is looked up by clientOid first)
    order = Order.objects.get(pk=order_id)
    cancelled = ""
    if order.state == Order.State.OPEN:
        if run:
            run.progress(2, 3, "Cancelling the test order")
        try:
            order = order_cancel(order_id=order_id)
            order.refresh_from_db()
            cancelled = (" The test order was cancelled." if order.state == Order.State.CANCELLED else
                         f" The test order was not cancelled: KuCoin shows it {order.get_state_display().lower()}.")
        except OrderNotCancelled as exc:
            order.refresh_from_db()
            cancelled = f" {exc} Cancel it on the order's page."
        except KuCoinError as exc:
            cancelled = f" Cancelling the test order failed ({error_in_words(exc)}): cancel it on the order's page."
    ok, words = verdict(order, market, partner)
    result = {"ok": ok, "order_id": order.pk, "client_oid": order.client_oid, "tags": order.tags,
              "verification": order.verification, "error_code": order.error_code, "market": market, "uid": uid}
    if not ok:
        raise SetupCheckFailed(words + cancelled)
    if run:
        run.succeed(words + cancelled, result)
    return {**result, "message": words + cancelled}
