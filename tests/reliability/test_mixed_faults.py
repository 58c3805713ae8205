"""1,000 mixed actions (orders, transfers, sub-account and API-key creation, rebate pulls) through real workers
while KuCoin misbehaves in every way the sandbox knows (connections dropped before and after the action,
429000, 500/502/503, latency, a clock 10 s off, truncated bodies). Afterwards KuCoin's state (the sandbox
dump) and the database agree exactly: no action lost, none done twice, every order verified.

The actions are requested through the same services the pages call (a row written first, its task queued
on commit); two worker processes share the queue. `RELIABILITY_ACTIONS` scales the batch (default 1,000).
"""
from __future__ import annotations

import os
import random
import time
import uuid
from collections import Counter, defaultdict
from decimal import Decimal as D

import pytest

from accounts.models import SubAccount, SubAccountApiKey, Transfer
from accounts.services.apikeys import apikey_create
from accounts.services.subaccounts import subaccount_create
from accounts.services.transfers import transfer_request
from accounts.tests.sandbox_state import keys_of, sub_accounts, transfers_with
from brokeroffice.models import Job, KuCoinCall
from brokeroffice.testing.waiting import wait_until
from brokeroffice.testing.worker import WorkerProcess, purge_queues, reset_rate_limits
from rebates.models import RebateRecord
from rebates.services import rebate_day_repull_request
from rebates.tests.sandbox_state import days, earned
from trading.models import Order
from trading.services.orders import order_place
from trading.tests.sandbox_orders import by_client_oid, state_of

pytestmark = pytest.mark.worker

ACTIONS = int(os.environ.get("RELIABILITY_ACTIONS", "1000"))
WORKERS = int(os.environ.get("RELIABILITY_WORKERS", "2"))
TIMEOUT = float(os.environ.get("RELIABILITY_TIMEOUT", "900"))
# Every fault kind at once; the "answer instead" kinds and the lost answers about 2.5 % each.
FAULTS = {
    "drop_before": dict(probability=0.025),
    "drop_after": dict(probability=0.025),
    "rate_limit": dict(probability=0.025),
    "http_500": dict(probability=0.01),
    "http_502": dict(probability=0.01),
    "http_503": dict(probability=0.01),
    "malformed": dict(probability=0.025),
    "clock_skew": dict(probability=0.02, ms=10_000),
    "latency": dict(probability=0.05, ms=150),
}
# Share of each kind of action in the batch (the rest are orders).
SHARES = {"transfer": 0.25, "subaccount": 0.06, "apikey": 0.06, "rebate": 0.04}
# Orders that do not stay open (KuCoin's open-order limits would stop hundreds of resting ones).
ORDER_MIX = [
    dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"),
         time_in_force="IOC"),
    dict(market="spot", symbol="BTC-USDT", side="sell", type="limit", price=D("90000"), size=D("0.0001"),
         time_in_force="FOK"),
    dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"), leverage=10,
         time_in_force="IOC"),
    dict(market="spot", symbol="KCS-USDT", side="buy", type="market", funds=D("1")),
]
# A seeded customer with a Spot+Futures key and funds in TRADE (USDT, BTC) and CONTRACT (USDT).
ORDER_CUSTOMER_UID = "100000004"
WORKER_ENV = {
    # a rebate download that failed is tried again within a second, not minutes
    "REBATES_RETRY_BASE_SECONDS": "0.1", "REBATES_DOWNLOAD_MAX_RETRIES": "8",
}


def import_key(dump: dict, uid: str) -> SubAccountApiKey:
    """A seeded customer's key, imported with its secret as an operator would (what orders are signed with)."""
    account = next(a for a in dump["accounts"]["accounts"] if a["uid"] == uid)
    key = next(k for k in dump["accounts"]["keys"]
               if k["uid"] == uid and not k["ip_whitelist"] and {"Spot", "Futures"} <= set(k["permissions"]))
    sub_account = SubAccount.objects.get(uid=uid) if SubAccount.objects.filter(uid=uid).exists() else \
        SubAccount.objects.create(uid=uid, account_name=account["name"], state=SubAccount.State.ACTIVE)
    api_key, _ = SubAccountApiKey.objects.get_or_create(
        api_key=key["api_key"],
        defaults={"sub_account": sub_account, "label": key["label"], "permissions": key["permissions"],
                  "secret": key["secret"], "passphrase": key["passphrase"], "api_version": 3,
                  "source": SubAccountApiKey.Source.IMPORTED, "state": SubAccountApiKey.State.ACTIVE})
    return api_key


def stored_rebates(days_and_types: set[tuple]) -> dict[tuple, D]:
    out: dict[tuple, D] = defaultdict(D)
    for day, uid, trade_type, currency, amount in RebateRecord.objects.values_list(
            "date", "uid", "trade_type", "rebate_currency", "rebate_amount"):
        if (day, trade_type) in days_and_types:
            out[(day, uid, trade_type, currency)] += amount
    return dict(out)


@pytest.fixture
def own_workers(synced_sub_accounts, workers, sandbox_settings):
    """WORKERS worker processes of the test's own (the shared one stopped), on the real queue."""
    workers.stop_shared()
    purge_queues()
    reset_rate_limits()
    started = []
    try:
        with workers.blocker.unblock():
            for n in range(WORKERS):
                started.append(WorkerProcess(extra_env={**workers.env, **WORKER_ENV},
                                             hostname=f"mixed{n}-{os.getpid()}@%h").start())
        yield started
    finally:
        for process in started:
            process.stop()


def test_a_thousand_mixed_actions_under_every_fault_agree_with_kucoin(own_workers, synced_sub_accounts, sandbox,
                                                                       make_staff):
    rng = random.Random(10)
    operator = make_staff("operator", username="faults-operator")
    before = sandbox.dump()
    seeded_transfers = {t["clientOid"] for t in before["funding"]["transfers"]}
    seeded_keys = {k["api_key"] for k in before["accounts"]["keys"]}
    customers = list(synced_sub_accounts.order_by("uid"))
    order_keys = [import_key(before, ORDER_CUSTOMER_UID)]
    rebate_days = [(day, trade_type) for day in days(before)[-15:] for trade_type in ("spot", "futures")]

    counts = {kind: round(ACTIONS * share) for kind, share in SHARES.items()}
    counts["rebate"] = min(counts["rebate"], len(rebate_days))
    counts["order"] = ACTIONS - sum(counts.values())
    plan = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(plan)

    # A 429 says "try again when the window resets": a short public window keeps those waits short.
    sandbox.set_quota("public", 2000, window_ms=200)
    for kind, options in FAULTS.items():
        sandbox.set_fault(kind, **options)

    started = time.monotonic()
    orders, transfers, new_subs, new_keys, rebate_jobs = [], [], [], [], []
    rebate_queue = list(rebate_days)
    rng.shuffle(rebate_queue)
    key_label = 0
    for kind in plan:
        if kind == "order":
            key = order_keys[len(orders) % len(order_keys)]
            orders.append(order_place(api_key=key, requested_by=operator, **ORDER_MIX[len(orders) % len(ORDER_MIX)])[0])
        elif kind == "transfer":
            transfers.append(transfer_request(sub_account=rng.choice(customers), direction="OUT", currency="USDT",
                                              amount=D("0.01") * rng.randint(1, 500), requested_by=operator)[0])
        elif kind == "subaccount":
            new_subs.append(subaccount_create(name=f"mx{uuid.uuid4().hex[:14]}", requested_by=operator)[0])
        elif kind == "apikey":
            key_label += 1
            new_keys.append(apikey_create(sub_account=customers[key_label % len(customers)],
                                          label=f"mixed-{key_label:04d}-{uuid.uuid4().hex[:6]}",
                                          permissions=["General", "Spot"], ip_whitelist=[], requested_by=operator)[0])
        else:
            day, trade_type = rebate_queue.pop()
            rebate_jobs.append(rebate_day_repull_request(day=day, trade_type=trade_type, requested_by=operator))
    queued_in = time.monotonic() - started

    def everything_settled():
        if Job.objects.exclude(state__in=Job.FINISHED_STATES).exists():
            return False
        return not Order.objects.filter(state__in=Order.AT_KUCOIN_STATES,
                                        verification=Order.Verification.UNVERIFIED).exists()

    wait_until(everything_settled, timeout=TIMEOUT, interval=1, what=f"{ACTIONS} actions to settle under faults")
    elapsed = time.monotonic() - started
    fired = {f["kind"]: f["fired"] for f in sandbox.faults()}
    sandbox.clear_faults()
    dump = sandbox.dump()
    print(f"\n{ACTIONS} actions ({counts}) queued in {queued_in:.1f} s, settled in {elapsed:.1f} s "
          f"with {len(own_workers)} workers; KuCoin calls recorded: {KuCoinCall.objects.count()}; "
          f"failed calls: {KuCoinCall.objects.exclude(code='200000').count()}; faults fired: {fired}")

    # Every job ended well: nothing was left failed or half-done for a person to clear up.
    failed = list(Job.objects.filter(state=Job.State.FAILED).values_list("kind", "error"))
    assert failed == [], f"{len(failed)} job(s) failed under faults: {failed[:10]}"

    # Orders: exactly one at KuCoin per clientOid, same id and state, and each verified as tagged.
    held = by_client_oid(dump)
    duplicates = {o.client_oid: len(held.get(o.client_oid, [])) for o in orders if len(held.get(o.client_oid, [])) != 1}
    assert duplicates == {}, f"orders not held exactly once at KuCoin: {duplicates}"
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]):
        at_kucoin = held[order.client_oid][0]
        assert (order.kucoin_order_id, order.state, order.verification) == \
            (at_kucoin["id"], state_of(at_kucoin), Order.Verification.TAGGED), order.client_oid
    assert len(held) - len(by_client_oid(before)) == len(orders)

    # Transfers: one at KuCoin per clientOid with the same amount, each succeeded, and no stray one.
    for transfer in Transfer.objects.filter(pk__in=[t.pk for t in transfers]):
        at_kucoin = transfers_with(dump, transfer.client_oid)
        assert len(at_kucoin) == 1, f"transfer {transfer.client_oid} is at KuCoin {len(at_kucoin)} times"
        assert D(str(at_kucoin[0]["amount"])) == transfer.amount
        assert transfer.state == Transfer.State.SUCCEEDED, (transfer.client_oid, transfer.state, transfer.error_message)
    ours = {str(t.client_oid) for t in transfers}
    stray = [t for t in dump["funding"]["transfers"] if t["clientOid"] not in ours | seeded_transfers]
    assert stray == []

    # Sub-accounts: each name once at KuCoin, with the uid the database holds.
    names_at_kucoin = Counter(sub_accounts(dump).values())
    for sub in SubAccount.objects.filter(pk__in=[s.pk for s in new_subs]):
        assert names_at_kucoin[sub.account_name] == 1, f"{sub.account_name} exists {names_at_kucoin[sub.account_name]} times"
        assert sub.state == SubAccount.State.ACTIVE and sub_accounts(dump)[sub.uid] == sub.account_name

    # API keys: one per request at KuCoin (orphans of lost answers deleted), with the secret we stored.
    made_here = [k for k in dump["accounts"]["keys"] if k["api_key"] not in seeded_keys]
    assert len(made_here) == len(new_keys), f"{len(made_here)} keys at KuCoin for {len(new_keys)} requests"
    for key in SubAccountApiKey.objects.filter(pk__in=[k.pk for k in new_keys]):
        assert key.state == SubAccountApiKey.State.ACTIVE
        at_kucoin = keys_of(dump, key.sub_account.uid)[key.api_key]
        assert at_kucoin["label"] == key.label and at_kucoin["secret"] == key.secret

    # Rebates: the records of every pulled day equal what KuCoin's ledger says the broker earned.
    pulled = {pair for pair in rebate_days if pair not in rebate_queue}
    expected = {k: v for k, v in earned(dump).items() if (k[0], k[2]) in pulled}
    assert stored_rebates(pulled) == expected
    assert sum(expected.values()) > 0


# -- the compound faults the batch above meets by chance, made certain ---------------------------------------------

def _one_transfer(customers, finished):
    transfer, job = transfer_request(sub_account=customers.order_by("uid").first(), direction="OUT", currency="USDT",
                                     amount=D("1.5"))
    return transfer, finished(job, timeout=120)


def test_a_refused_timestamp_whose_answer_is_also_unreadable_does_not_lose_the_transfer(synced_sub_accounts, sandbox,
                                                                                      finished):
    """KuCoin refuses the timestamp (400002, nothing done) and the answer arrives truncated: all the client
    knows is "HTTP 400, unreadable". That is no proof that nothing happened, and no reason to give up: the
    transfer must still be made, once."""
    sandbox.set_fault("clock_skew", count=1, ms=10_000, path="/api/v1/broker/nd/transfer")
    sandbox.set_fault("malformed", count=1, path="/api/v1/broker/nd/transfer")
    transfer, job = _one_transfer(synced_sub_accounts, finished)
    transfer.refresh_from_db()
    assert (job.state, transfer.state) == (Job.State.SUCCEEDED, Transfer.State.SUCCEEDED), \
        (job.error, transfer.state, transfer.error_message)
    assert len(transfers_with(sandbox.dump(), str(transfer.client_oid))) == 1


def test_a_clock_refused_twice_in_a_row_is_tried_again_later_not_given_up(synced_sub_accounts, sandbox, finished):
    """Two requests in a row refused for their timestamp (the client resyncs once per call): the gateway did
    nothing, so the task must try again later like after any transient refusal, and the transfer be made once."""
    sandbox.set_fault("clock_skew", count=2, ms=10_000, path="/api/v1/broker/nd/transfer")
    transfer, job = _one_transfer(synced_sub_accounts, finished)
    transfer.refresh_from_db()
    assert (job.state, transfer.state) == (Job.State.SUCCEEDED, Transfer.State.SUCCEEDED), \
        (job.error, transfer.state, transfer.error_message)
    assert len(transfers_with(sandbox.dump(), str(transfer.client_oid))) == 1


def test_a_rebate_file_cut_short_on_the_way_is_downloaded_again_not_given_up(synced_sub_accounts, sandbox, finished):
    """The file's bytes arrive truncated (HTTP 200, the body cut in half): nothing is wrong with the file at
    KuCoin, so the pull must fetch it again and land exactly what KuCoin's ledger says, not fail the day."""
    dump = sandbox.dump()
    day = days(dump)[-1]
    sandbox.set_fault("malformed", count=1, path="/_files/")
    job = finished(rebate_day_repull_request(day=day, trade_type="spot"), timeout=120)
    assert job.state == Job.State.SUCCEEDED, job.error
    expected = {k: v for k, v in earned(dump).items() if (k[0], k[2]) == (day, "spot")}
    assert stored_rebates({(day, "spot")}) == expected and expected
