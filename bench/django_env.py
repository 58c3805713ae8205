"""Django for a benchmark script: the real settings, a database of the benchmark's own (DATABASE_URL, or a
temporary SQLite file), migrated. Made-up secrets only."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(*, migrate: bool = True, database_suffix: str = "_bench") -> str:
    sys.path.insert(0, str(ROOT))
    from cryptography.fernet import Fernet

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokeroffice.settings")
    os.environ.setdefault("ENV_FILE", os.devnull)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-made-up-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"] = bench_database(url, database_suffix)
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.sqlite3"
    import django

    django.setup()
    from django.conf import settings

    # Pages render without collectstatic.
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    from django.db import connection

    return connection.vendor


def bench_database(url: str, suffix: str = "_bench") -> str:
    """A database of the benchmarks' own beside the configured one (its name + "_bench"), created when
    missing: benchmarks generate and delete rows, and must never touch a real database. A benchmark that
    empties tables (the sub-account sync) or a smoke run passes another suffix, so that it never wipes the
    data generated at full scale for the others."""
    import psycopg
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + suffix
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))
