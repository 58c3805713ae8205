"""The test settings plus the recorders of the suite-wide secret scan: every page answered and every log
record of the test process and of the workers it starts (they inherit DJANGO_SETTINGS_MODULE) is written
under var/, per run, for tests/security/plugin.py to scan at the end of the session.

    SECURITY_SCAN=1 DJANGO_SETTINGS_MODULE=tests.security.settings_scan pytest -p tests.security.plugin
"""
import os

from brokeroffice.settings_test import *  # noqa: F403
from brokeroffice.settings_test import LOGGING, MIDDLEWARE, RUN_ID, VAR

os.environ.setdefault("SECURITY_SCAN", "1")
os.environ.setdefault("SECURITY_PAGES_DIR", os.path.join(VAR, f"test-pages-{RUN_ID}"))
os.environ.setdefault("SECURITY_LOGS_DIR", os.path.join(VAR, f"test-logs-{RUN_ID}"))
MIDDLEWARE = [*MIDDLEWARE, "tests.security.leaks.RecordPages"]
LOGGING = {**LOGGING, "handlers": {**LOGGING["handlers"],
                                    "security_record": {"class": "tests.security.leaks.RecordLogs", "level": "DEBUG"}},
           "root": {**LOGGING["root"], "handlers": [*LOGGING["root"]["handlers"], "security_record"]}}
