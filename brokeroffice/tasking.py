"""What every KuCoin task shares: which failures are worth another try, and how long to wait."""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

from brokeroffice.leases import LeaseHeld
from kucoin.errors import OutcomeUnknownError, RateLimitError, ServerError

# Worth another try later: KuCoin was busy or did not answer, or another worker holds the row.
TRANSIENT_ERRORS = (OutcomeUnknownError, ServerError, RateLimitError, LeaseHeld)
MAX_RETRIES = 8
# Far below the queue's visibility timeout, so that Redis never re-delivers a waiting retry.
MAX_COUNTDOWN_SECONDS = 300


def backoff_seconds(retries: int, exc: BaseException | None = None) -> float:
    if isinstance(exc, RateLimitError) and getattr(exc, "reset_ms", None):
        return min(MAX_COUNTDOWN_SECONDS, exc.reset_ms / 1000 + random.uniform(0, 1))
    return min(MAX_COUNTDOWN_SECONDS, 2**retries + random.uniform(0, 1))


@contextmanager
def retrying(task) -> Iterator[None]:
    """Inside a bound task: a transient failure schedules a retry; after MAX_RETRIES it is raised."""
    try:
        yield
    except TRANSIENT_ERRORS as exc:
        raise task.retry(exc=exc, countdown=backoff_seconds(task.request.retries, exc), max_retries=MAX_RETRIES)
