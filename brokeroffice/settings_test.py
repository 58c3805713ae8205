"""Settings for the test suite: the real settings, with made-up secrets and an isolated queue folder.

Values are put into the environment (not only into settings) so that the worker processes the tests
start inherit exactly the same configuration.
"""
import os

from cryptography.fernet import Fernet

os.environ.setdefault("ENV_FILE", os.devnull)  # a developer's .env never leaks into the tests
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-made-up-for-the-suite-0123456789abcdefgh")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Per test run, so that two runs on one machine never share a queue or a SQLite test database.
RUN_ID = os.environ.setdefault("TEST_RUN_ID", str(os.getpid()))
VAR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var")
os.environ.setdefault("CELERY_QUEUE_DIR", os.path.join(VAR, f"test-queue-{RUN_ID}"))
# pytest-django's live server and Playwright's sync API share the test thread's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from brokeroffice.settings import *  # noqa: E402,F403

# Tests render templates without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(VAR, f"test-db-{RUN_ID}.sqlite3")}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; never used outside tests
