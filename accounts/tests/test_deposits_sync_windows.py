"""The deposit sync stores every deposit KuCoin lists, once: a sync cut off part-way (KuCoin busy, a restart)
loses nothing once the next sync has run, and the outputs of one transaction paid to one address are each
stored. Run in this process against the sandbox."""
import time
from decimal import Decimal

import pytest

from accounts.models import Deposit
from accounts.services import funding
from accounts.tests.sandbox_state import sub_accounts
from brokeroffice.jobs import JobRun, job_create, job_run
from brokeroffice.models import Job
from kucoin.errors import ServerError

pytestmark = pytest.mark.django_db
DAY_MS = 86_400_000
DEPOSIT_LIST = "/api/v1/asset/ndbroker/deposit/list"


def customer_uid(sandbox) -> str:
    return sorted(sub_accounts(sandbox.dump()))[0]


def sync() -> Job:
    """What the schedule's task does (a retry starts afresh the same way)."""
    job = job_create(kind="deposits_sync", label="Deposits")
    with job_run(str(job.pk)) as run:
        funding.deposits_sync(run=run)
    job.refresh_from_db()
    return job


def listed_since_first_sync(dump: dict) -> set[tuple]:
    """(uid, hash, wallet id) of every deposit KuCoin holds from the first sync's window on."""
    window_start = time.time() * 1000 - funding.FIRST_SYNC_DAYS * DAY_MS + 60_000
    return {(str(d["uid"]), d["hash"], d["walletTxId"]) for d in dump["funding"]["deposits"]
            if d["createdAt"] >= window_start}


def stored() -> set[tuple]:
    return set(Deposit.objects.values_list("uid", "hash", "wallet_tx_id"))


def add_deposits(sandbox, uid: str, n: int) -> None:
    """`n` deposits into `uid` in the last minutes, more than KuCoin lists in one answer when n > 1000."""
    state = sandbox.dump()
    now = int(time.time() * 1000)
    template = next(d for d in state["funding"]["deposits"] if not d["isInner"])
    for i in range(n):
        state["funding"]["deposits"].append({
            **template, "uid": int(uid), "hash": f"madeup{i:08d}", "walletTxId": f"madeup{i:08d}@TMadeUp@0",
            "amount": "1.5", "status": "SUCCESS", "createdAt": now - i * 100, "updatedAt": now - i * 100})
    state["seed"] = int(state["seed"]) + 1  # the sandbox's next ids do not repeat the seeded ones
    sandbox.load(state)


def test_a_sync_cut_off_part_way_loses_no_deposit_once_the_next_one_has_run(
        sandbox, sandbox_settings, monkeypatch):
    add_deposits(sandbox, customer_uid(sandbox), 1_050)  # today's answer alone is more than one list call gives
    expected = listed_since_first_sync(sandbox.dump())
    assert len(expected) > 1_050 + 10  # and older deposits, over the past weeks

    # KuCoin starts answering 503 once the sync has stored its first part.
    progress = JobRun.progress

    def progress_then_kucoin_fails(self, *args, **kwargs):
        progress(self, *args, **kwargs)
        sandbox.set_fault("http_503", path=DEPOSIT_LIST)

    monkeypatch.setattr(JobRun, "progress", progress_then_kucoin_fails)
    with pytest.raises(ServerError):
        sync()
    assert 0 < len(stored()) < len(expected)

    monkeypatch.undo()
    sandbox.clear_faults()
    assert sync().state == Job.State.SUCCEEDED
    assert stored() == expected
    assert Deposit.objects.count() == len(expected)
    # The deposit list shows the newest id first: that is the newest deposit first.
    times = list(Deposit.objects.order_by("-pk").values_list("kucoin_created_at", flat=True))
    assert times == sorted(times, reverse=True)


def test_outputs_of_one_transaction_to_one_address_are_each_stored(sandbox, sandbox_settings):
    state = sandbox.dump()
    now = int(time.time() * 1000)
    template = next(d for d in state["funding"]["deposits"] if not d["isInner"])
    for output, amount in ((0, "100"), (3, "250")):  # one exchange's batched withdrawal, two outputs to this address
        state["funding"]["deposits"].append({
            **template, "uid": int(customer_uid(sandbox)), "currency": "BTC", "hash": "madeup-batch-tx",
            "walletTxId": f"madeup-batch-tx@bc1qmadeup@{output}", "amount": amount, "status": "SUCCESS",
            "createdAt": now - 1000, "updatedAt": now - 1000})
    sandbox.load(state)

    assert sync().state == Job.State.SUCCEEDED
    assert sync().state == Job.State.SUCCEEDED  # and again: each stays one row

    outputs = Deposit.objects.filter(hash="madeup-batch-tx").order_by("wallet_tx_id")
    assert [(d.wallet_tx_id, d.amount) for d in outputs] == [
        ("madeup-batch-tx@bc1qmadeup@0", Decimal("100")), ("madeup-batch-tx@bc1qmadeup@3", Decimal("250"))]
