"""A worker killed with SIGKILL in the middle of a batch: once another worker runs, every task finishes,
and nothing happens twice at KuCoin (acks_late gives the task in hand back; services check before acting)."""
import os
import time
from decimal import Decimal

import pytest
import redis

from accounts.models import Transfer
from accounts.services.transfers import transfer_request
from accounts.tests.sandbox_state import transfers_with
from brokeroffice.models import Job
from brokeroffice.testing.waiting import wait_until
from brokeroffice.testing.worker import WorkerProcess

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"),
                       reason="giving a killed worker's task back needs a broker with acknowledgements (Redis; CI sets it)"),
]
BATCH = 12
# Redis gives an unacknowledged task back after the visibility timeout: short here, hours in production.
# The killed worker may die holding a row's lease; a short lease lets the next attempt in soon.
QUICK_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "5", "ROW_LEASE_SECONDS": "8", "SEND_ATTEMPT_LEASE_SECONDS": "8", "CELERY_UNACKED_MUTEX_EXPIRE": "5"}
# kombu's lock around the sweep that gives unacknowledged tasks back (its default key name).
RESTORE_LOCK = "unacked_mutex"


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(synced_sub_accounts, sandbox, workers, sandbox_settings):
    workers.stop_shared()
    customers = list(synced_sub_accounts.order_by("uid")[:4])
    sandbox.set_fault("latency", ms=250, path="/api/v1/broker/nd/transfer")  # a batch that takes a while
    first = WorkerProcess(extra_env={**sandbox_settings, **QUICK_REDELIVERY}).start()
    transfers = [transfer_request(sub_account=customers[n % 4], direction="OUT", currency="USDT", amount=Decimal("1.25"))[0]
                 for n in range(BATCH)]
    wait_until(lambda: Job.objects.filter(state=Job.State.SUCCEEDED, kind="transfer_send").count() >= 3, timeout=60,
               what="the batch to be under way")
    first.kill()
    done_when_killed = Job.objects.filter(state=Job.State.SUCCEEDED, kind="transfer_send").count()
    assert done_when_killed < BATCH, "the batch finished before the kill: nothing was tested"

    # The killed worker may have died in the middle of its sweep, holding the lock: it must expire soon.
    redis.Redis.from_url(os.environ["REDIS_URL"]).set(RESTORE_LOCK, "killed-worker", nx=True,
                                                      ex=int(QUICK_REDELIVERY["CELERY_UNACKED_MUTEX_EXPIRE"]))
    time.sleep(6)  # past the visibility timeout, so Redis hands the killed worker's task to the next one
    second = WorkerProcess(extra_env={**sandbox_settings, **QUICK_REDELIVERY}).start()
    try:
        wait_until(lambda: Job.objects.filter(kind="transfer_send", state=Job.State.SUCCEEDED).count() == BATCH,
                   timeout=180, what="every transfer job to finish after the restart")
    except AssertionError as timed_out:
        unfinished = list(Job.objects.filter(kind="transfer_send").exclude(state=Job.State.SUCCEEDED)
                          .values_list("state", "attempts", "error"))
        raise AssertionError(f"{timed_out}; unfinished jobs (state, attempts, error): {unfinished}; "
                             f"the second worker's last lines:\n{''.join(second.output[-30:])}") from None
    finally:
        second.stop()

    dump = sandbox.dump()
    for transfer in transfers:
        transfer.refresh_from_db()
        assert transfer.state == Transfer.State.SUCCEEDED
        assert len(transfers_with(dump, transfer.client_oid)) == 1
