"""Demo data for `make run`: on a first run against the sandbox, the back-office fills itself the way staff
would, through the same services and the running worker (so the Jobs page shows the work): the broker's
sub-accounts, a few keys, funds moved to them, a few dozen tagged orders, a month of rebates, deposits.
Nothing here runs when the database already holds sub-accounts."""
from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Callable

from django.utils import timezone

TRADERS = 6  # sub-accounts given a key and funds, and orders
JOB_TIMEOUT_S = 300

Echo = Callable[[str], None]


def _wait(jobs, echo: Echo, what: str) -> None:
    from brokeroffice.models import Job

    ids = [job.pk for job in jobs]
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        states = list(Job.objects.filter(pk__in=ids).values_list("state", flat=True))
        if all(state in Job.FINISHED_STATES for state in states):
            failed = states.count(Job.State.FAILED)
            echo(f"{what}: done" + (f" ({failed} failed; see Jobs)" if failed else ""))
            return
        time.sleep(0.5)
    echo(f"{what}: still running after {JOB_TIMEOUT_S} s; the worker will finish it")


def _wait_orders(order_ids: list[int], echo: Echo) -> None:
    from trading.models import Order

    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        pending = Order.objects.filter(pk__in=order_ids).filter(state__in=Order.SENDING_STATES).count()
        unverified = (Order.objects.filter(pk__in=order_ids, state__in=Order.AT_KUCOIN_STATES,
                                           verification=Order.Verification.UNVERIFIED).count())
        if not pending and not unverified:
            echo(f"{len(order_ids)} orders placed and verified")
            return
        time.sleep(0.5)
    echo("orders: still being placed; the worker will finish them")


def _sync_sub_accounts(echo: Echo) -> None:
    from accounts.tasks import subaccounts_sync_task
    from brokeroffice.jobs import job_start

    _wait([job_start(kind="subaccounts_sync", label="Sync sub-accounts from KuCoin", task=subaccounts_sync_task,
                     requested_by_label="demo data")], echo, "sub-accounts synced")


def _traders(futures_uids: set[str]):
    """Active sub-accounts, those with funds in their futures account first (a broker cannot move funds there)."""
    from accounts.models import SubAccount

    active = list(SubAccount.objects.filter(state=SubAccount.State.ACTIVE).order_by("uid"))
    return sorted(active, key=lambda sub_account: sub_account.uid not in futures_uids)[:TRADERS]


def _make_keys(traders, echo: Echo) -> list:
    from accounts.services.apikeys import apikey_create

    made = [apikey_create(sub_account=sub_account, label="demo-trader", permissions=["General", "Spot", "Futures"],
                          ip_whitelist=[]) for sub_account in traders]
    _wait([job for _, job in made], echo, f"{len(made)} API keys created")
    return [key for key, _ in made]


def _fund(traders, echo: Echo) -> None:
    from accounts.models import Transfer
    from accounts.services.transfers import transfer_request

    jobs = [transfer_request(sub_account=sub_account, direction=Transfer.Direction.OUT, currency="USDT",
                             amount=Decimal("250"), sub_account_type=Transfer.AccountType.TRADE)[1]
            for sub_account in traders]
    _wait(jobs, echo, f"{len(jobs)} transfers to the traders")


def _orders_for(key, futures_uids: set[str]) -> list[dict]:
    """Resting post-only bids far below the market (they stay open), a small market buy that fills, and a
    resting futures bid where the futures account holds funds."""
    spot = [{"market": "spot", "symbol": "BTC-USDT", "side": "buy", "type": "limit", "price": Decimal(price),
             "size": Decimal("0.001"), "post_only": True} for price in ("1000", "1100", "1200")]
    fills = [{"market": "spot", "symbol": "BTC-USDT", "side": "buy", "type": "market", "funds": Decimal("10")}]
    futures = [{"market": "futures", "symbol": "XBTUSDTM", "side": "buy", "type": "limit", "price": Decimal("1000"),
                "size": Decimal("1"), "leverage": 5, "margin_mode": "ISOLATED", "post_only": True}]
    return spot + fills + (futures if key.sub_account.uid in futures_uids else [])


def _place_orders(keys, futures_uids: set[str], echo: Echo) -> None:
    from django.core.exceptions import ValidationError

    from trading.services.orders import order_place

    order_ids = []
    for key in keys:
        key.refresh_from_db()
        if not key.has_secret:
            continue
        for params in _orders_for(key, futures_uids):
            try:
                placed = order_place(api_key=key, **params)
            except ValidationError as exc:
                echo(f"an order was refused before sending: {exc.messages[0]}")
                continue
            order = placed[0] if isinstance(placed, tuple) else placed
            order_ids.append(order.pk)
    _wait_orders(order_ids, echo)
    from trading.services.shares import tag_share_refresh

    tag_share_refresh()


def _pull_rebates(echo: Echo) -> None:
    from rebates.services import rebate_sync_request

    yesterday = timezone.now().date() - timedelta(days=1)
    job = rebate_sync_request(begin=yesterday - timedelta(days=29), end=yesterday, trade_types=["spot", "futures"],
                              requested_by_label="demo data")
    _wait([job], echo, "30 days of rebate files pulled")


def _sync_funding(echo: Echo) -> None:
    from accounts.tasks import deposits_sync_task
    from brokeroffice.jobs import job_start

    _wait([job_start(kind="deposits_sync", label="Sync deposits from KuCoin", task=deposits_sync_task,
                     requested_by_label="demo data")], echo, "deposits synced")


def _check_broker(echo: Echo) -> None:
    from accounts.tasks import broker_check_task
    from brokeroffice.jobs import job_start

    _wait([job_start(kind="broker_check", label="Check the broker connection", task=broker_check_task,
                     requested_by_label="demo data")], echo, "broker connection checked")


def demo_seed(echo: Echo, *, futures_uids: set[str] = frozenset()) -> bool:
    """Fills an empty back-office from the sandbox. False (and nothing done) when it holds data already.

    `futures_uids`: sub-accounts whose futures account holds funds (the sandbox says which)."""
    from accounts.models import SubAccount

    if SubAccount.objects.exists():
        echo("the database holds sub-accounts already: no demo data added")
        return False
    _check_broker(echo)
    _sync_sub_accounts(echo)
    traders = _traders(futures_uids)
    keys = _make_keys(traders, echo)
    _fund(traders, echo)
    _place_orders(keys, futures_uids, echo)
    _pull_rebates(echo)
    _sync_funding(echo)
    return True
