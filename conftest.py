"""Fixtures shared by every app's tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["sandbox.testing"]

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
def worker(transactional_db):
    """A real Celery worker process on the real queue (Redis or the embedded one), using the test database."""
    from brokeroffice.testing.worker import WorkerProcess, purge_queues

    purge_queues()
    process = WorkerProcess().start()
    yield process
    process.stop()


@pytest.fixture
def sandbox_settings(sandbox, settings):
    """Points this process's KuCoin settings at the sandbox; returns the same as environment variables."""
    from brokeroffice.sandbox_env import sandbox_environment

    env = sandbox_environment({"urls": sandbox.urls, "broker": sandbox.broker})
    for name, value in env.items():
        setattr(settings, name, value)
    return env


@pytest.fixture
def kucoin_worker(transactional_db, sandbox_settings):
    """A real worker process whose KuCoin is the sandbox, with fresh rate-limit budgets."""
    from brokeroffice.testing.worker import WorkerProcess, purge_queues, reset_rate_limits

    purge_queues()
    reset_rate_limits()
    process = WorkerProcess(extra_env=sandbox_settings).start()
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
