"""The suite-wide secret scan, as a pytest plugin: `pytest_plugins = ["sandbox.testing", "tests.security.plugin"]`
in the root conftest, and SECURITY_SCAN=1 in the environment (CI). With settings_test's recorder on (see
tests/SECURITY-RELIABILITY.md), every page any test rendered and every log line of the test and worker
processes is scanned at the end for every secret any test made; the database is scanned at the end of each
test, while its rows still exist. A leak fails the session and is named by where it was and what it was,
never by its value."""
from __future__ import annotations

import os

import pytest

ENABLED = bool(os.environ.get("SECURITY_SCAN"))
_scan = None


def _state():
    global _scan
    if _scan is None:
        from tests.security.leaks import SuiteScan

        _scan = SuiteScan()
    return _scan


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    if not ENABLED or not ({"db", "transactional_db"} & set(getattr(item, "fixturenames", ()))):
        return
    if item.get_closest_marker("typed_secrets"):
        return  # values it typed into every field on purpose: they stand wherever it typed them
    _state().after_test(item.nodeid, sandbox=getattr(item, "funcargs", {}).get("sandbox"))


def pytest_sessionfinish(session, exitstatus):
    if not ENABLED or _scan is None:
        return
    found = _scan.finish()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    summary = (f"secret scan: {len(_scan.secrets)} secrets made by {_scan.tests_scanned} tests, "
               f"{len(found)} found in plaintext")
    if reporter:
        reporter.write_line(summary)
        for line in found[:50]:
            reporter.write_line(f"  {line}")
    if found and session.exitstatus == 0:
        session.exitstatus = 1
    import shutil

    from tests.security.leaks import logs_dir, pages_dir

    for folder in (pages_dir(), logs_dir()):  # the run's recordings go with it
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
