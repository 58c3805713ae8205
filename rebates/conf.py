"""The rebates app's configuration, read from the environment (with a Django setting of the same name
taking precedence, so that tests and deployments can set either)."""
from __future__ import annotations

import os
from zoneinfo import ZoneInfo

from django.conf import settings


def _get(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def sync_hour_utc() -> int:
    """The UTC hour at which the daily schedule pulls yesterday's files (REBATES_SYNC_HOUR_UTC, 0-23)."""
    hour = int(_get("REBATES_SYNC_HOUR_UTC", "4"))
    if not 0 <= hour <= 23:
        raise ValueError("REBATES_SYNC_HOUR_UTC must be an hour from 0 to 23")
    return hour


def day_zone() -> ZoneInfo:
    """The zone of KuCoin's begin/end calendar days (REBATES_TIME_ZONE). KuCoin does not say: UTC by default."""
    return ZoneInfo(_get("REBATES_TIME_ZONE", "UTC"))


def download_max_retries() -> int:
    """How many times a failing download is tried again before its file is marked failed."""
    return int(_get("REBATES_DOWNLOAD_MAX_RETRIES", "6"))


def retry_base_seconds() -> float:
    """The first retry waits this long; each further one twice as long (capped at 5 minutes)."""
    return float(_get("REBATES_RETRY_BASE_SECONDS", "2"))


def download_timeout_seconds() -> float:
    return float(_get("REBATES_DOWNLOAD_TIMEOUT_SECONDS", "60"))


def catch_up_days() -> int:
    """The daily pull also pulls, among this many days up to yesterday, those that have no done file for a trade
    type and none under way (REBATES_CATCH_UP_DAYS): a day missed while KuCoin was down is caught up by the
    next run."""
    days = int(_get("REBATES_CATCH_UP_DAYS", "7"))
    if days < 1:
        raise ValueError("REBATES_CATCH_UP_DAYS must be at least 1 (yesterday)")
    return days


def max_backfill_days() -> int:
    """The longest range one backfill may cover (it is split into KuCoin's 6-month windows)."""
    return int(_get("REBATES_MAX_BACKFILL_DAYS", "1100"))


def parallel_parse() -> bool:
    """On PostgreSQL, read the file in a forked process while this one feeds COPY (REBATES_PARALLEL_PARSE)."""
    return _get("REBATES_PARALLEL_PARSE", "true").strip().lower() in ("1", "true", "yes", "on")


def sql_parse() -> bool:
    """On PostgreSQL, let PostgreSQL parse the file (COPY into a staging table, then one typed INSERT)
    instead of kucoin.rebate_file's reader (REBATES_SQL_PARSE). Both store the same records."""
    return _get("REBATES_SQL_PARSE", "true").strip().lower() in ("1", "true", "yes", "on")
