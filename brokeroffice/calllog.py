"""The record of every KuCoin call: who caused it (an actor set around each job or command) and what
KuCoin answered. Fed by the `kucoin/` client's request hook; never given a header, secret or token."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Iterator
from uuid import UUID

from django.utils import timezone

from brokeroffice.models import KuCoinCall
from kucoin import RequestRecord

logger = logging.getLogger(__name__)

current_actor: ContextVar[str] = ContextVar("current_actor", default="")
current_job: ContextVar[UUID | None] = ContextVar("current_job", default=None)


@contextmanager
def acting_as(actor: str, job_id: UUID | str | None = None) -> Iterator[None]:
    """Every KuCoin call made inside is logged as caused by `actor` (and `job_id`)."""
    actor_token = current_actor.set(actor[:150])
    job_token = current_job.set(UUID(str(job_id)) if job_id else None)
    try:
        yield
    finally:
        current_actor.reset(actor_token)
        current_job.reset(job_token)


def kucoin_call_values(record: RequestRecord) -> dict:
    """The call-log row of one request, as field values (the buffered writer of trading uses the same)."""
    return {
        "at": timezone.now(), "actor": current_actor.get(), "credential": (record.credential_id or "")[:64],
        "method": record.method, "family": record.family,
        "path": record.path[:300],  # the path only: a query may carry an OAuth code
        "weight": record.weight, "http_status": record.http_status, "code": (record.code or "")[:20],
        "latency_ms": max(0, round(record.latency_ms)), "error": (record.error or "")[:100],
        "job_id": current_job.get(), "pool": record.pool[:12], "quota_limit": record.quota_limit,
        "quota_remaining": record.quota_remaining,
    }


def record_kucoin_call(record: RequestRecord) -> None:
    """The client's `on_request` hook: one row per HTTP attempt."""
    try:
        KuCoinCall.objects.create(**kucoin_call_values(record))
    except Exception:  # the log must never break the call it records
        logger.exception("could not record a KuCoin call")


def calls_purge(*, older_than_days: int) -> int:
    """Deletes logged calls older than the retention period; returns how many."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = KuCoinCall.objects.filter(at__lt=cutoff).delete()
    return deleted
