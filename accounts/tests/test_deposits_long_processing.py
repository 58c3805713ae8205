"""A deposit that stays PROCESSING longer than the sync's overlap (a compliance review, say) still reaches its
final state here, through a real worker and the sandbox."""
import time
from decimal import Decimal

import pytest

from accounts.models import Deposit
from brokeroffice.jobs import job_start
from brokeroffice.models import Job

pytestmark = pytest.mark.worker

DAY_MS = 86_400_000


def sync(finished) -> Job:
    from accounts.tasks import deposits_sync_task

    job = finished(job_start(kind="deposits_sync", label="Deposits", task=deposits_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    return job


def make_it_older(sandbox, hash_: str, days: int) -> None:
    """At KuCoin the deposit was made `days` ago and is still under review."""
    state = sandbox.dump()
    for d in state["funding"]["deposits"]:
        if d["hash"] == hash_:
            d["createdAt"] = d["updatedAt"] = int(time.time() * 1000) - days * DAY_MS
    # loading restarts the sandbox's random ids from its seed: a new seed keeps the next deposit's hash new
    state["seed"] = int(state["seed"]) + 1
    sandbox.load(state)


@pytest.mark.parametrize("outcome", ["SUCCESS", "FAILURE"])
def test_a_deposit_under_review_for_days_shows_its_outcome_once_kucoin_decides(synced_sub_accounts, sandbox, finished,
                                                                               outcome):
    customer = synced_sub_accounts.order_by("uid").first()
    held = sandbox.make_deposit(customer.uid, "USDT", "4321.5", chain="trx", status="PROCESSING")
    make_it_older(sandbox, held["hash"], days=5)
    sandbox.make_deposit(customer.uid, "USDT", "10", chain="trx")  # a newer one: the next window starts after it
    sync(finished)
    stored = Deposit.objects.get(hash=held["hash"])
    assert stored.status == "PROCESSING" and stored.amount == Decimal("4321.5")

    sandbox.call("POST", "/deposits/status", {"hash": held["hash"], "status": outcome})
    job = sync(finished)

    stored.refresh_from_db()
    assert stored.status == outcome
    assert "older ones still open" in job.message
