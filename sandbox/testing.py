"""pytest plugin: an in-process sandbox for tests.

Use it from a conftest.py with ``from sandbox.testing import *`` (or ``pytest_plugins =
["sandbox.testing"]`` in the root conftest). Fixtures:

- ``sandbox_server`` (session): the server on ephemeral ports, in threads, stopped at the end.
  Every answer of a route that has an OpenAPI schema is checked against it; a mismatch turns
  the answer into HTTP 500 with the reason, so no test can pass on an off-schema answer.
- ``sandbox`` (function): resets the state, faults and quotas before the test and returns a
  ``SandboxHandle``: ``.urls``, ``.broker``, ``.oauth``, ``.world`` (in-process access, for
  white-box checks only), and the control methods of ``SandboxControl`` (over HTTP).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .control_client import SandboxControl

TEST_SEED = 4242


class SandboxHandle(SandboxControl):
    def __init__(self, server):
        self.server = server
        self.world = server.world
        urls = server.urls
        super().__init__(urls["spot"] + "/_sandbox", urls)
        self.refresh_info()

    def refresh_info(self) -> None:
        info = self.info()
        self.broker = info["broker"]
        self.oauth = info["oauth"]

    def reset(self, seed: int | None = None) -> dict:
        out = super().reset(seed)
        self.refresh_info()
        return out


def start_in_process(seed: int = TEST_SEED, validate_responses: bool = True):
    from .server import SandboxServer
    from .world import World
    world = World(seed=seed)
    server = SandboxServer(world, "127.0.0.1", 0)
    world.validate_responses = validate_responses
    return server.start()


@pytest.fixture(scope="session")
def sandbox_server():
    server = start_in_process()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    handle = SandboxHandle(sandbox_server)
    handle.default_quotas()
    handle.reset(seed=TEST_SEED)          # also undoes a test that changed the seed
    yield handle
    handle.clear_faults()


def start_subprocess(*args: str, python: str | None = None, env: dict | None = None):
    """Start ``python -m sandbox ARGS`` and read its first stdout line.
    -> (Popen, parsed first line). Stop it with ``proc.terminate()`` and ``proc.wait()``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([python or sys.executable, "-m", "sandbox", *args], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read()
        proc.wait()
        raise RuntimeError(f"sandbox did not start: {err}")
    return proc, json.loads(line)
