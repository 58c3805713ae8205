"""A real Celery worker process for tests, consuming the real queue and using the test database."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url_of_current_connection() -> str:
    """The URL of the database this test process uses (the test database), for a worker process."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(settings['NAME']).resolve()}"
    if connection.vendor == "postgresql":
        user = quote(settings.get("USER") or "", safe="")
        password = quote(settings.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings.get("HOST") or "localhost"
        port = f":{settings['PORT']}" if settings.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{settings['NAME']}"
    raise RuntimeError(f"No worker support for the {connection.vendor} database in tests")


def purge_queues(queue_names=("celery", "actions", "sync")) -> None:
    from brokeroffice.celery import app

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for name in queue_names:
            try:
                channel.queue_purge(name)
            except Exception:  # a queue that was never declared has nothing to purge
                pass


class WorkerProcess:
    """`celery worker` in a child process; started and stopped by the `worker` fixture."""

    def __init__(self, *, pool: str = "solo", concurrency: int = 1, queues: str | None = None,
                 extra_env: dict[str, str] | None = None, hostname: str | None = None) -> None:
        self.pool, self.concurrency, self.queues = pool, concurrency, queues
        self.hostname = hostname or f"test-{os.getpid()}@%h"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self._lines: queue.Queue[str] = queue.Queue()

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "celery", "-A", "brokeroffice", "worker", "--loglevel", "INFO",
               "--pool", self.pool, "--concurrency", str(self.concurrency),
               "--without-heartbeat", "--without-mingle", "--without-gossip", "--hostname", self.hostname]
        cmd += ["--queues", self.queues or "actions,sync,celery"]
        return cmd

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "brokeroffice.settings_test"),
            "DATABASE_URL": database_url_of_current_connection(),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60) -> "WorkerProcess":
        self.process = subprocess.Popen(
            self.command(), cwd=ROOT, env=self.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._read_output, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if " ready." in line:
                return self
        self.stop()
        raise RuntimeError("The Celery worker did not start:\n" + "".join(self.output[-40:]))

    def _read_output(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)

    @property
    def pid(self) -> int:
        assert self.process
        return self.process.pid

    def stop(self, timeout: float = 20) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGQUIT)  # cold shutdown: unacknowledged tasks go back to the queue
        try:
            self.process.wait(timeout=min(timeout, 3))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL, as when a machine dies: the task in hand is not acknowledged."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def reset_rate_limits() -> None:
    """Budgets in Redis outlive a test (and a sandbox reset); each test starts with full ones."""
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter("kucoin:rl*"):
            client.delete(key)
    from brokeroffice.kucoin_clients import _rate_limiter

    _rate_limiter.cache_clear()


def run_manage(*args: str, extra_env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` in a child process on the test database, as an operator would run it."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "brokeroffice.settings_test"),
        "DATABASE_URL": database_url_of_current_connection(),
    })
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
