"""Fixtures shared by every app's tests."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

pytest_plugins = ["sandbox.testing", "tests.security.plugin"]

ARTEFACTS = Path(__file__).resolve().parent / "test-artefacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture
def make_staff(db, django_user_model):
    """Creates a staff user holding one role ("viewer", "operator", "broker-admin")."""
    from django.contrib.auth.models import Group

    def make(role: str, username: str | None = None, password: str = "a-made-up-password-for-tests"):
        user = django_user_model.objects.create_user(username=username or f"{role}-user", password=password, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def clock(monkeypatch):
    """Django's clock moved on by hand (`clock(seconds)`), so that leases and grace periods run out without
    waiting for them."""
    real_now = timezone.now
    moved = {"by": timedelta()}
    monkeypatch.setattr(timezone, "now", lambda: real_now() + moved["by"])

    def advance(seconds: float) -> None:
        moved["by"] += timedelta(seconds=seconds)

    return advance


@pytest.fixture
def sandbox_settings(sandbox, settings):
    """Points this process's KuCoin settings at the sandbox; returns the same as environment variables."""
    from brokeroffice.sandbox_env import sandbox_environment

    env = sandbox_environment({"urls": sandbox.urls, "broker": sandbox.broker})
    for name, value in env.items():
        setattr(settings, name, value)
    return env


class Workers:
    """The worker processes of the session. One shared worker serves most tests (starting one takes
    seconds); a test that needs a worker of its own (fresh memory, or one to kill) stops the shared one
    first, because two workers on one queue would share its tasks. Tasks of a finished test cannot act in
    the next one: the queue is purged between tests and their jobs are gone (JobGone)."""

    def __init__(self, sandbox_server, django_db_blocker):
        from brokeroffice.sandbox_env import sandbox_environment
        from sandbox.testing import SandboxHandle

        handle = SandboxHandle(sandbox_server)  # the seeded broker's credentials stay the same across resets
        self.env = sandbox_environment({"urls": handle.urls, "broker": handle.broker})
        self.blocker = django_db_blocker
        self.shared_process = None

    def start(self):
        from brokeroffice.testing.worker import WorkerProcess

        with self.blocker.unblock():
            return WorkerProcess(extra_env=self.env).start()

    def shared(self):
        if self.shared_process is None or self.shared_process.process.poll() is not None:
            self.shared_process = self.start()
        return self.shared_process

    def stop_shared(self):
        if self.shared_process is not None:
            self.shared_process.stop()
            self.shared_process = None


@pytest.fixture(scope="session")
def workers(django_db_setup, django_db_blocker, sandbox_server):
    pool = Workers(sandbox_server, django_db_blocker)
    yield pool
    pool.stop_shared()


def _fresh_queue_and_budgets():
    from brokeroffice.testing.worker import purge_queues, reset_rate_limits

    purge_queues()
    reset_rate_limits()


@pytest.fixture
def kucoin_worker(transactional_db, sandbox_settings, workers):
    """A real worker process (the session's shared one) whose KuCoin is the sandbox."""
    _fresh_queue_and_budgets()
    return workers.shared()


@pytest.fixture
def worker(kucoin_worker):
    return kucoin_worker


@pytest.fixture
def fresh_kucoin_worker(transactional_db, sandbox_settings, workers):
    """A worker of the test's own, for tests that need its memory fresh (rate limits) or kill it."""
    workers.stop_shared()
    _fresh_queue_and_budgets()
    process = workers.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browser here: Debian's Chromium, with no network of its own.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"],
    }


@pytest.fixture
def screenshot(page, request):
    """Saves a screenshot of the page under test-artefacts/, named after the test."""

    def take(name: str = "") -> Path:
        ARTEFACTS.mkdir(exist_ok=True)
        path = ARTEFACTS / f"{request.node.name}{'-' + name if name else ''}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def pytest_sessionfinish(session, exitstatus):
    """The run's own queue folder goes with it."""
    import shutil

    from django.conf import settings

    if settings.configured and not settings.REDIS_URL:
        shutil.rmtree(settings.CELERY_QUEUE_DIR, ignore_errors=True)


@pytest.fixture
def finished():
    """Waits for a job to end and returns it as it ended."""
    from brokeroffice.models import Job
    from brokeroffice.testing.waiting import wait_until

    def wait(job, timeout: float = 90):
        return wait_until(lambda: Job.objects.filter(pk=job.pk, state__in=Job.FINISHED_STATES).first(),
                          timeout=timeout, what=f"job “{job.label}”")

    return wait


@pytest.fixture
def synced_sub_accounts(kucoin_worker, finished):
    """The sandbox's seeded sub-accounts, synced into the database through the worker."""
    from accounts.models import SubAccount
    from accounts.tasks import subaccounts_sync_task
    from brokeroffice.jobs import job_start
    from brokeroffice.models import Job

    job = finished(job_start(kind="subaccounts_sync", label="Sync", task=subaccounts_sync_task))
    assert job.state == Job.State.SUCCEEDED, job.error
    return SubAccount.objects.all()
