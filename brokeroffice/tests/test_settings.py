"""Settings load from the environment alone, and production settings pass Django's deploy checks."""
import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "from brokeroffice.celery import app; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'broker_class': type(app.connection_for_write().transport).__module__, "
    "'cache': s.CACHES['default']['BACKEND'], 'debug': s.DEBUG, 'spot': s.KUCOIN_SPOT_URL, "
    "'keys': len(s.FIELD_ENCRYPTION_KEYS), 'db_name': str(s.DATABASES['default']['NAME']), "
    "'transport': s.CELERY_BROKER_TRANSPORT_OPTIONS}))"
)


def run_python(code_or_args, env, cwd=ROOT):
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else [sys.executable, *code_or_args]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def bare_env(**extra):
    """Only what any shell has: no project configuration at all."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "DJANGO_SETTINGS_MODULE": "brokeroffice.settings"}
    env.update(extra)
    return env


def test_no_configuration_runs_on_sqlite_and_the_embedded_queue_with_generated_secrets(tmp_path):
    env_file = tmp_path / ".env"
    result = run_python(PRINT_SETTINGS, bare_env(ENV_FILE=str(env_file)))
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["broker"] == "filesystem://"
    assert loaded["broker_class"] == "brokeroffice.queue_transport"  # messages written whole
    assert loaded["debug"] is True
    assert loaded["spot"] == "https://api.kucoin.com"
    generated = env_file.read_text()
    assert "SECRET_KEY=" in generated and "FIELD_ENCRYPTION_KEYS=" in generated
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"

    # A second start reuses what was generated rather than making new secrets.
    again = run_python(PRINT_SETTINGS, bare_env(ENV_FILE=str(env_file)))
    assert again.returncode == 0, again.stderr
    assert env_file.read_text() == generated


def test_a_fresh_checkout_migrates_its_sqlite_database_into_a_folder_not_there_yet(tmp_path):
    database = tmp_path / "fresh-checkout" / "var" / "db.sqlite3"
    result = run_python(["manage.py", "migrate", "--noinput", "-v", "0"],
                        bare_env(ENV_FILE=str(tmp_path / ".env"), DATABASE_URL=f"sqlite:///{database}"))
    assert result.returncode == 0, result.stderr
    assert database.stat().st_size > 0


def test_postgresql_and_redis_come_from_their_urls(tmp_path):
    env = bare_env(
        ENV_FILE=os.devnull, DEBUG="true", SECRET_KEY="x" * 60, FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL="postgres://backoffice@127.0.0.1:5432/backoffice_db", REDIS_URL="redis://127.0.0.1:6379/3",
        KUCOIN_SPOT_URL="http://127.0.0.1:9999",
    )
    loaded = json.loads(run_python(PRINT_SETTINGS, env).stdout)
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["db_name"] == "backoffice_db"
    assert loaded["broker"] == "redis://127.0.0.1:6379/3"
    assert loaded["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert loaded["spot"] == "http://127.0.0.1:9999"
    # A killed worker's task comes back after the visibility timeout; the lock a worker killed in the middle
    # of that sweep leaves behind holds the other workers' sweeps back a minute at most, not kombu's 5.
    transport = loaded["transport"]
    assert transport["unacked_mutex_expire"] == 60 < transport["visibility_timeout"]


def test_production_without_a_secret_key_refuses_to_start():
    result = run_python(PRINT_SETTINGS, bare_env(ENV_FILE=os.devnull, DEBUG="false"))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_settings_pass_check_deploy_with_no_warning():
    env = bare_env(
        ENV_FILE=os.devnull, DEBUG="false", SECRET_KEY=Fernet.generate_key().decode() + Fernet.generate_key().decode(),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(), ALLOWED_HOSTS="backoffice.example.com",
    )
    result = run_python(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_what_staff_wait_on_goes_to_the_actions_queue_and_long_syncs_to_their_own():
    from celery import current_app

    import brokeroffice.celery  # noqa: F401  (the app with the project's settings)

    def queue_of(name: str) -> str:
        return current_app.amqp.router.route({}, name)["queue"].name

    for name in ("accounts.broker_withdrawal_send", "accounts.payout_advance", "accounts.deposit_address_fetch",
                 "accounts.transfer_send", "trading.order_place"):
        assert queue_of(name) == "actions", name
    for name in ("accounts.subaccounts_sync", "rebates.sync"):
        assert queue_of(name) == "sync", name
