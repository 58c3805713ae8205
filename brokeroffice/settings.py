"""Settings of the broker back-office, all from the environment (django-environ) and an optional `.env`.

With no configuration at all the project runs for development: SQLite in `var/`, an embedded queue
(kombu's filesystem transport) and, through `make run`, the sandbox in place of KuCoin.
With DATABASE_URL and REDIS_URL it runs on PostgreSQL and Redis.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from brokeroffice import devenv

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
ENV_FILE = Path(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))
if devenv.wants_generated_env(ENV_FILE):
    devenv.write_dev_env(ENV_FILE)
if ENV_FILE.exists():
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is not set: put it in the environment or in .env (see .env.example).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Secrets at rest: the first key encrypts, every key decrypts (so keys can be rotated).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is not set: a comma-separated list of Fernet keys.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "django_celery_beat",
    "brokeroffice",
    "accounts",
    "trading",
    "rebates",
]

MIDDLEWARE = [
    "brokeroffice.logcontext.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "brokeroffice.timezones.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "brokeroffice.urls"
WSGI_APPLICATION = "brokeroffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "brokeroffice.context_processors.roles",
            ],
        },
    },
]

# Database: a SQLite file unless DATABASE_URL says otherwise.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A fresh checkout has no var/ yet: SQLite makes the file, not its folder.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share the file: wait for locks instead of failing, and let readers run
    # beside a writer (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    # The covering indexes' extra columns are for PostgreSQL; SQLite keeps the key columns, which is enough
    # for development. Said once here rather than at every start of `make run`.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when configured, is the Celery broker, the cache and the store of the shared rate limiter.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": VAR_DIR / "cache"}
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed logins: locked per username and address after a few attempts, for a while.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "en"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# Content-Security-Policy: everything from this site only; no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The load balancer's health check speaks plain HTTP to the process.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Flower, when it runs (Procfile), is reached only through /flower/ behind the broker-admin login.
FLOWER_URL = env.str("FLOWER_URL", default="http://127.0.0.1:5555")

# Celery. Every delay stays below the visibility timeout, which stays above every time limit.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1800)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT * 4)
CELERY_QUEUE_DIR = Path(env.str("CELERY_QUEUE_DIR", default=str(VAR_DIR / "queue")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "health_check_interval": 10,
        "socket_keepalive": True,
        # A task whose worker died is given back once the visibility timeout has passed: look for such
        # tasks every 10 s (kombu's default scans only every 100 s).
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        # The sweep holds a lock in Redis; a worker killed while holding it (kombu's default: 5 minutes)
        # would hold back every other worker's sweep that long. A sweep takes well under a second.
        "unacked_mutex_expire": env.int("CELERY_UNACKED_MUTEX_EXPIRE", default=60),
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = True
else:
    # The embedded queue: kombu's filesystem transport. Messages are files in var/queue, so a separate
    # worker process consumes them without any server. It has no broadcast, hence no remote control.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "brokeroffice.queue_transport:Transport"  # kombu's, writing each message whole
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "polling_interval": 0.2,
    }
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Survive a Redis restart: keep reconnecting, and give back the tasks in hand rather than finish them
# on a connection that can no longer acknowledge them.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True  # task state and results live in brokeroffice.Job, which pages read
CELERY_TASK_ALWAYS_EAGER = False
# Celery's Django fixup closes the database connection around every task unless told to reuse it, and a new
# PostgreSQL connection per task costs more than a single order's own queries. It is reused instead and closed
# by Django's own rule (broken, or older than CONN_MAX_AGE) before each task: see brokeroffice.tasking.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BEAT_SCHEDULER = "brokeroffice.beat:LeaderElectedDatabaseScheduler"
# Queues by kind of work, so that an order or a transfer never waits behind a rebate backfill or a sync:
# "actions" for what staff wait on, "sync" for long reads and schedules, "celery" for the rest.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES_ALL = ("actions", "sync", "celery")
CELERY_TASK_ROUTES = [
    {
        "trading.*": {"queue": "actions"},
        "accounts.subaccount_create": {"queue": "actions"},
        "accounts.apikey_*": {"queue": "actions"},
        "accounts.transfer_send": {"queue": "actions"},
        "accounts.kyc_submit": {"queue": "actions"},
        "accounts.fastapi_*": {"queue": "actions"},
        "accounts.deposit_address_fetch": {"queue": "actions"},
        "accounts.withdrawal_quota_fetch": {"queue": "actions"},
        "accounts.broker_withdrawal_send": {"queue": "actions"},
        "accounts.broker_withdrawal_cancel": {"queue": "actions"},
        "accounts.payout_advance": {"queue": "actions"},
        "accounts.*_sync": {"queue": "sync"},
        "accounts.subaccount_retire": {"queue": "sync"},
        "accounts.balances_refresh*": {"queue": "sync"},
        "rebates.*": {"queue": "sync"},
    }
]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# How long a task holds a row it acts on. Longer than any one action's KuCoin calls; a worker that dies
# holding it delays the next attempt by at most this long.
ROW_LEASE_SECONDS = env.int("ROW_LEASE_SECONDS", default=120)
# How long a row is held around one attempt of a request that moves money (a transfer, a withdrawal): 0 means
# long enough for the attempt's rate-limiter wait and timeouts (accounts/services/single_attempts.py). A
# worker that dies during an attempt delays the next one by at most this long.
SEND_ATTEMPT_LEASE_SECONDS = env.int("SEND_ATTEMPT_LEASE_SECONDS", default=0)

# KuCoin: one base URL per host family, and the broker's own credentials when given by the environment.
KUCOIN_SPOT_URL = env.str("KUCOIN_SPOT_URL", default="https://api.kucoin.com")
KUCOIN_FUTURES_URL = env.str("KUCOIN_FUTURES_URL", default="https://api-futures.kucoin.com")
KUCOIN_BROKER_URL = env.str("KUCOIN_BROKER_URL", default="https://api-broker.kucoin.com")
KUCOIN_OAUTH_URL = env.str("KUCOIN_OAUTH_URL", default="https://www.kucoin.com")
# KuCoin counts request weight per account and pool in windows of this length (30 s); the shared limiter
# uses the same. Only a test against a sandbox with shorter windows changes it.
KUCOIN_RATE_LIMIT_WINDOW_MS = env.int("KUCOIN_RATE_LIMIT_WINDOW_MS", default=30_000)
KUCOIN_API_KEY = env.str("KUCOIN_API_KEY", default="")
KUCOIN_API_SECRET = env.str("KUCOIN_API_SECRET", default="")
KUCOIN_API_PASSPHRASE = env.str("KUCOIN_API_PASSPHRASE", default="")
KUCOIN_KEY_VERSION = env.str("KUCOIN_KEY_VERSION", default="2")
KUCOIN_BROKER_NAME = env.str("KUCOIN_BROKER_NAME", default="")
KUCOIN_BROKER_PARTNER = env.str("KUCOIN_BROKER_PARTNER", default="")
KUCOIN_BROKER_KEY = env.str("KUCOIN_BROKER_KEY", default="")
KUCOIN_FUTURES_PARTNER = env.str("KUCOIN_FUTURES_PARTNER", default="")
KUCOIN_FUTURES_BROKER_KEY = env.str("KUCOIN_FUTURES_BROKER_KEY", default="")
# How long the record of every KuCoin call is kept (a daily schedule deletes older ones).
CALL_LOG_RETENTION_DAYS = env.int("CALL_LOG_RETENTION_DAYS", default=90)
# Whether /healthz also asks the KuCoin hosts if they answer.
HEALTHZ_CHECK_KUCOIN = env.bool("HEALTHZ_CHECK_KUCOIN", default=False)

# Logs: plain text for people, or one JSON object a line (LOG_FORMAT=json) with the request and task ids.
# Nothing logs a secret: the client's records and errors carry none, and request bodies are never logged.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context_ids": {"()": "brokeroffice.logcontext.ContextIdsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context_ids"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "celery": {"level": env.str("LOG_LEVEL", default="INFO")},
        # At DEBUG urllib3 logs each request line with its query (an OAuth token call carries a code there).
        "urllib3": {"level": "WARNING"},
    },
}

# Errors to Sentry when a DSN is given; no personal data, no request bodies or queries, no local variables.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    from brokeroffice.sentry import safe_options

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        **safe_options(),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
    )
