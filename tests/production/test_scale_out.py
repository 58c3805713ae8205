"""The production shape on one machine: gunicorn with 2 web processes, 3 Celery workers and 2 beats (one
of them by mistake) on PostgreSQL and Redis, staff actions sent through the web against the sandbox with
faults and a small rate limit. Afterwards: no action happened twice, no 429000 reached anyone, and the
schedule fired once."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from accounts.models import SubAccount, Transfer
from accounts.tests.sandbox_state import sub_accounts, transfers_with
from brokeroffice.models import Job, KuCoinCall
from brokeroffice.testing.waiting import wait_until
from brokeroffice.testing.worker import WorkerProcess, database_url_of_current_connection, purge_queues, reset_rate_limits

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-made-up-password-for-tests"
NEW_SUB_ACCOUNTS = 6
TRANSFERS = 8
BROKER_QUOTA = 30  # weight per 30 s: less than the test needs, so the workers must wait for each other

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not os.environ.get("REDIS_URL") or "postgres" not in os.environ.get("DATABASE_URL", ""),
                       reason="the production shape needs PostgreSQL and Redis (CI provides both)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.started: list[subprocess.Popen] = []
        self.logs: dict[str, Path] = {}

    def start(self, name: str, args: list[str], log_dir: Path) -> subprocess.Popen:
        log = log_dir / f"{name}.log"
        self.logs[name] = log
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def logged_in_session(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{base}/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
                          headers={"Referer": f"{base}/login/"})
    assert answer.ok and "/login/" not in answer.url, "login through gunicorn failed"
    return session


def post_form(session: requests.Session, base: str, form_path: str, action_path: str, data: dict) -> requests.Response:
    page = session.get(f"{base}{form_path}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(f"{base}{action_path}", data={**data, "csrfmiddlewaretoken": token},
                        headers={"Referer": f"{base}{form_path}"})


@pytest.fixture
def production(transactional_db, sandbox, sandbox_settings, make_staff, workers, tmp_path):
    workers.stop_shared()  # this test brings its own workers
    purge_queues()
    reset_rate_limits()
    make_staff("operator", username="ops", password=PASSWORD)
    port = free_port()
    env = dict(os.environ)
    env.update(sandbox_settings)
    env.update({
        "DJANGO_SETTINGS_MODULE": "brokeroffice.settings_test",
        "DATABASE_URL": database_url_of_current_connection(),
        "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
        "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "PYTHONUNBUFFERED": "1",
    })
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("brokeroffice:beat:leader")
    processes = Processes(env)
    bin_dir = Path(sys.executable).parent
    try:
        processes.start("web", [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "brokeroffice.wsgi"], tmp_path)
        for n in range(3):
            processes.start(f"worker{n}", WorkerProcess(hostname=f"scale{n}@%h").command(), tmp_path)
        for n in range(2):
            processes.start(f"beat{n}", [sys.executable, "-m", "celery", "-A", "brokeroffice", "beat", "--pidfile=",
                                         "--loglevel", "INFO", "--max-interval", "2"], tmp_path)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{base}/healthz"), timeout=60, what="gunicorn to answer")
        yield base, processes
    finally:
        processes.stop()
        redis.Redis.from_url(settings.REDIS_URL).delete("brokeroffice:beat:leader")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_many_processes_do_every_action_once_within_the_rate_limit(production, sandbox, finished):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    base, processes = production
    # Hourly, last run two hours ago: due once now, and not again during the test.
    PeriodicTask.objects.create(
        name="Scale-out check", task="brokeroffice.scheduled_job", args='["accounts.transfers_sync", "Scale-out check"]',
        interval=IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS),
        last_run_at=timezone.now() - timedelta(hours=2),
    )
    # A small broker quota, and lost answers: the shared limiter and idempotence are what is tested.
    sandbox.set_quota("broker", BROKER_QUOTA, window_ms=30_000)
    sandbox.set_fault("drop_after", probability=0.2, method="POST", family="broker")

    staff = logged_in_session(base, "ops")
    assert post_form(staff, base, "/subaccounts/", "/subaccounts/sync/", {}).ok
    sync = wait_until(lambda: Job.objects.filter(kind="subaccounts_sync").first(), timeout=30, what="the sync job")
    assert finished(sync, timeout=120).state == Job.State.SUCCEEDED, Job.objects.get(pk=sync.pk).error
    customers = list(SubAccount.objects.order_by("uid")[:TRANSFERS])

    names = [f"scale-{uuid.uuid4().hex[:10]}" for _ in range(NEW_SUB_ACCOUNTS)]

    def create(name):
        return post_form(logged_in_session(base, "ops"), base, "/subaccounts/", "/subaccounts/new/", {"name": name})

    def transfer(customer):
        return post_form(logged_in_session(base, "ops"), base, f"/subaccounts/{customer.pk}/transfers/new/",
                         f"/subaccounts/{customer.pk}/transfers/new/",
                         {"direction": "OUT", "currency": "USDT", "amount": "1.5", "broker_account_type": "MAIN",
                          "sub_account_type": "MAIN"})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(create, names)) + list(pool.map(transfer, customers))
    assert all(a.ok for a in answers), [a.status_code for a in answers]

    jobs = wait_until(lambda: list(Job.objects.filter(kind__in=["subaccount_create", "transfer_send"])) if
                      Job.objects.filter(kind__in=["subaccount_create", "transfer_send"]).count() == NEW_SUB_ACCOUNTS + TRANSFERS
                      else None, timeout=30, what="the jobs to be recorded")
    for job in jobs:
        assert finished(job, timeout=180).state == Job.State.SUCCEEDED, Job.objects.get(pk=job.pk).error

    dump = sandbox.dump()
    at_kucoin = list(sub_accounts(dump).values())
    for name in names:
        assert at_kucoin.count(name) == 1, f"{name} exists {at_kucoin.count(name)} times at KuCoin"
    for transfer_row in Transfer.objects.all():
        assert len(transfers_with(dump, transfer_row.client_oid)) == 1
        assert transfer_row.state == Transfer.State.SUCCEEDED
    assert Transfer.objects.count() == TRANSFERS
    assert sum(t.amount for t in Transfer.objects.all()) == Decimal("1.5") * TRANSFERS

    # More weight than one window allows was sent, yet nobody was answered 429000: the three workers
    # shared one budget and waited for it.
    broker_calls = KuCoinCall.objects.filter(family="broker")
    assert sum(broker_calls.values_list("weight", flat=True)) > BROKER_QUOTA
    assert not KuCoinCall.objects.filter(code="429000").exists()
    assert KuCoinCall.objects.filter(family="broker").values("credential").distinct().count() == 1

    # The schedule fired once, by one beat, while the other stood by.
    schedule_jobs = wait_until(lambda: list(Job.objects.filter(label="Scale-out check")), timeout=30,
                               what="the schedule to fire")
    time.sleep(3)
    assert len(Job.objects.filter(label="Scale-out check")) == len(schedule_jobs) == 1
    beat_logs = [processes.logs[f"beat{n}"].read_text() for n in range(2)]
    assert sum(log.count("Sending due task Scale-out check") for log in beat_logs) == 1
    assert sum("standing by" in log for log in beat_logs) == 1
