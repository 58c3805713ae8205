"""Fixtures of the trading tests: the sandbox's seeded customers and their keys, imported as an operator
would import them (source "imported", secret stored), and waiting for orders to settle."""
from __future__ import annotations

import pytest

from accounts.models import SubAccount, SubAccountApiKey
from brokeroffice.testing.waiting import wait_until

# A seeded customer whose key has no IP whitelist, the Spot and Futures permissions, and funds in its
# TRADE (USDT, BTC) and CONTRACT (USDT) accounts.
CUSTOMER_UID = "100000004"


def seeded_key(dump: dict, uid: str) -> dict:
    for key in dump["accounts"]["keys"]:
        if key["uid"] == uid and not key["ip_whitelist"] and {"Spot", "Futures"} <= set(key["permissions"]):
            return key
    raise AssertionError(f"no usable seeded key for {uid}")


def usable_uids(dump: dict) -> list[str]:
    broker_uid = dump["accounts"]["brokerUid"]
    subs = {a["uid"] for a in dump["accounts"]["accounts"] if a["broker_uid"] == broker_uid}
    return sorted({k["uid"] for k in dump["accounts"]["keys"]
                   if k["uid"] in subs and not k["ip_whitelist"] and {"Spot", "Futures"} <= set(k["permissions"])})


def import_key(dump: dict, uid: str) -> SubAccountApiKey:
    name = next(a["name"] for a in dump["accounts"]["accounts"] if a["uid"] == uid)
    sub_account, _ = SubAccount.objects.get_or_create(uid=uid, defaults={"account_name": name,
                                                                         "state": SubAccount.State.ACTIVE})
    key = seeded_key(dump, uid)
    api_key, _ = SubAccountApiKey.objects.get_or_create(
        api_key=key["api_key"],
        defaults={"sub_account": sub_account, "label": key["label"], "permissions": key["permissions"],
                  "secret": key["secret"], "passphrase": key["passphrase"], "api_version": 3,
                  "source": SubAccountApiKey.Source.IMPORTED, "state": SubAccountApiKey.State.ACTIVE})
    return api_key


@pytest.fixture
def customer_key(sandbox, db):
    return import_key(sandbox.dump(), CUSTOMER_UID)


@pytest.fixture
def settled():
    """Waits until none of the orders is waiting to be sent or being checked; returns them fresh."""
    from trading.models import Order

    def wait(orders, timeout: float = 120):
        ids = [o.pk for o in orders]

        def done():
            rows = list(Order.objects.filter(pk__in=ids).order_by("pk"))
            if any(o.state in Order.SENDING_STATES for o in rows):
                return None
            if any(o.state in Order.AT_KUCOIN_STATES and o.verification == Order.Verification.UNVERIFIED
                   for o in rows):
                return None
            return rows

        return wait_until(done, timeout=timeout, what=f"{len(ids)} order(s) to settle")

    return wait


@pytest.fixture
def worker_with(transactional_db, sandbox_settings, workers):
    """A worker of the test's own, started with some settings changed (the shared one is stopped first)."""
    from brokeroffice.testing.worker import WorkerProcess, purge_queues, reset_rate_limits

    started = []

    def start(**env):
        workers.stop_shared()
        purge_queues()
        reset_rate_limits()
        with workers.blocker.unblock():
            process = WorkerProcess(extra_env={**workers.env, **env}).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
        print("".join(process.output[-80:]))  # shown by pytest only when the test failed
