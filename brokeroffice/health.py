"""Checks behind /healthz: the database, the queue and, when asked, the KuCoin hosts. No secrets."""
from __future__ import annotations

import time

import requests
from django.conf import settings
from django.db import connection

from brokeroffice.celery import app as celery_app


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check() or {}
        ok = True
    except Exception as exc:  # a health check reports failures, it does not raise them
        detail, ok = {"error": exc.__class__.__name__}, False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), **detail}


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_queue() -> dict:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        transport = conn.transport_cls
    return {"transport": str(transport)}


def check_kucoin_hosts() -> dict:
    # Public server-time endpoints: they need no credentials and say whether each host answers.
    answers = {}
    for family, base in (("spot", settings.KUCOIN_SPOT_URL), ("futures", settings.KUCOIN_FUTURES_URL)):
        response = requests.get(f"{base}/api/v1/timestamp", timeout=(2, 3))
        answers[family] = response.status_code
        response.raise_for_status()
    return {"status": answers}


def health_report() -> dict:
    checks = {"database": _timed(check_database), "queue": _timed(check_queue)}
    if settings.HEALTHZ_CHECK_KUCOIN:
        checks["kucoin"] = _timed(check_kucoin_hosts)
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
