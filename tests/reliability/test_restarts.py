"""Redis and the database going away in the middle of a batch: once they are back, the work resumes and every
action is done exactly once at KuCoin (nothing lost, nothing twice).

- Redis: a private redis-server of this test (never the shared one), with an append-only file as a production
  Redis keeps its queue, is stopped and started again while a worker is working through a batch.
- PostgreSQL: every connection of the workers to the test database is cut (pg_terminate_backend), twice,
  as a database restart or fail-over does to its clients.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import SubAccount, Transfer
from accounts.services.subaccounts import subaccount_create
from accounts.services.transfers import transfer_request
from accounts.tests.sandbox_state import sub_accounts, transfers_with
from brokeroffice.models import Job
from brokeroffice.testing.waiting import wait_until
from brokeroffice.testing.worker import WorkerProcess

pytestmark = pytest.mark.worker

TRANSFERS = 24
NEW_SUB_ACCOUNTS = 6
# Tasks a worker held when its connection died come back soon; a row lease a dead attempt held runs out soon.
QUICK = {"CELERY_VISIBILITY_TIMEOUT": "10", "ROW_LEASE_SECONDS": "8", "SEND_ATTEMPT_LEASE_SECONDS": "8"}
REDIS_SERVER = shutil.which("redis-server")
RESUME_TIMEOUT = float(os.environ.get("RESTART_RESUME_TIMEOUT", "180"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port; its queue survives a restart (AOF)."""

    def __init__(self, folder):
        self.folder, self.port = folder, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        wait_until(lambda: self._pings(redis), timeout=20, what="the private redis-server to answer")
        return self

    def _pings(self, redis) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SHUTDOWN: the append-only file is flushed, as in a restart
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@contextlib.contextmanager
def celery_broker(url: str):
    """This process sends its tasks to `url` for the duration (the workers are started with the same)."""
    from brokeroffice.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options)

    def reset_pools():
        # Forget the pools (kombu keeps one per broker URL in a registry and hands it out again): the next
        # send takes the pool of the URL configured now. Never close them: the registry's pool is shared.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = url
    app.conf.broker_transport = None  # the embedded queue's transport (no Redis in the settings) would win over the URL
    app.conf.broker_transport_options = {"visibility_timeout": int(QUICK["CELERY_VISIBILITY_TIMEOUT"])}
    reset_pools()
    try:
        yield
    finally:
        reset_pools()
        app.conf.broker_url, app.conf.broker_transport, app.conf.broker_transport_options = saved


def request_batch(customers) -> tuple[list[Transfer], list[SubAccount]]:
    transfers = [transfer_request(sub_account=customers[n % len(customers)], direction="OUT", currency="USDT",
                                  amount=Decimal("0.75"))[0] for n in range(TRANSFERS)]
    names = [f"restart{os.getpid() % 10000:04d}{n:02d}{int(time.time()) % 100000:05d}" for n in range(NEW_SUB_ACCOUNTS)]
    subs = [subaccount_create(name=name)[0] for name in names]
    return transfers, subs


def other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def done() -> int:
    return Job.objects.filter(state=Job.State.SUCCEEDED, kind__in=["transfer_send", "subaccount_create"]).count()


def assert_each_done_once(sandbox, transfers, subs, worker) -> None:
    try:
        wait_until(lambda: not Job.objects.exclude(state__in=Job.FINISHED_STATES).exists(), timeout=RESUME_TIMEOUT,
                   interval=0.5, what="every job of the batch to end after the restart")
    except AssertionError as exc:
        waiting = list(Job.objects.exclude(state__in=Job.FINISHED_STATES).values_list("label", "state", "attempts"))
        raise AssertionError(f"{exc}: {len(waiting)} job(s) never ended, e.g. {waiting[:5]}; the worker said:\n"
                             + "".join(worker.output[-40:])) from None
    failed = list(Job.objects.filter(state=Job.State.FAILED).values_list("label", "error"))
    assert failed == [], f"jobs failed across the restart: {failed}"
    dump = sandbox.dump()
    for transfer in transfers:
        transfer.refresh_from_db()
        assert transfer.state == Transfer.State.SUCCEEDED, (transfer.client_oid, transfer.state)
        assert len(transfers_with(dump, str(transfer.client_oid))) == 1, transfer.client_oid
    names = list(sub_accounts(dump).values())
    for sub in subs:
        sub.refresh_from_db()
        assert sub.state == SubAccount.State.ACTIVE and names.count(sub.account_name) == 1, sub.account_name


@pytest.mark.skipif(REDIS_SERVER is None, reason="no redis-server binary on this machine to start a private Redis")
def test_a_redis_restart_in_the_middle_of_a_batch_loses_nothing(synced_sub_accounts, sandbox, workers, tmp_path):
    workers.stop_shared()
    customers = list(synced_sub_accounts.order_by("uid")[:4])
    redis_server = PrivateRedis(tmp_path).start()
    worker = None
    try:
        with celery_broker(redis_server.url):
            env = {**workers.env, **QUICK, "REDIS_URL": redis_server.url}
            with workers.blocker.unblock():
                worker = WorkerProcess(extra_env=env, hostname=f"redis-restart-{os.getpid()}@%h").start()
            sandbox.set_fault("latency", ms=250, family="broker", method="POST")  # a batch that takes a while
            transfers, subs = request_batch(customers)
            wait_until(lambda: done() >= 4, timeout=60, what="the batch to be under way")

            redis_server.stop()
            down_at = done()
            time.sleep(3)
            redis_server.start()
            assert down_at < TRANSFERS + NEW_SUB_ACCOUNTS, "the batch ended before Redis went away: nothing tested"
            assert_each_done_once(sandbox, transfers, subs, worker)
            assert worker.process.poll() is None, "the worker died with Redis:\n" + "".join(worker.output[-30:])
    finally:
        if worker:
            worker.stop()
        redis_server.stop()


@pytest.mark.skipif("postgres" not in os.environ.get("DATABASE_URL", ""),
                    reason="cutting database connections needs a PostgreSQL server (SQLite is a file with no "
                           "server to restart); CI sets DATABASE_URL to PostgreSQL")
def test_database_connections_cut_in_the_middle_of_a_batch_lose_nothing(synced_sub_accounts, sandbox, workers,
                                                                        sandbox_settings):
    workers.stop_shared()
    customers = list(synced_sub_accounts.order_by("uid")[:4])
    with workers.blocker.unblock():
        worker = WorkerProcess(extra_env={**workers.env, **QUICK}, hostname=f"db-restart-{os.getpid()}@%h").start()
    try:
        sandbox.set_fault("latency", ms=250, family="broker", method="POST")
        transfers, subs = request_batch(customers)
        wait_until(lambda: done() >= 4, timeout=60, what="the batch to be under way")
        cut = 0
        for _ in range(2):  # the database "restarts" twice while the worker is busy
            wait_until(lambda: other_backends() > 0, timeout=20, what="the worker to be connected")
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                cut += cursor.fetchone()[0]
            time.sleep(1)
        assert cut >= 2, "the worker's connections were not cut: nothing tested"
        assert done() < TRANSFERS + NEW_SUB_ACCOUNTS, "the batch ended before the cuts: nothing tested"
        assert_each_done_once(sandbox, transfers, subs, worker)
        assert worker.process.poll() is None, "the worker died with its connection:\n" + "".join(worker.output[-30:])
    finally:
        worker.stop()
