"""What every KuCoin task shares: which failures are worth another try, and how long to wait."""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.db import close_old_connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from brokeroffice.leases import LeaseHeld
from kucoin.errors import InvalidTimestampError, OutcomeUnknownError, RateLimitError, ServerError

# Worth another try later: KuCoin was busy or did not answer (or refused a timestamp: nothing was done),
# another worker holds the row, or the database or Redis went away for a moment (a restart).
INFRASTRUCTURE_ERRORS = (DatabaseOperationalError, DatabaseInterfaceError, RedisConnectionError, RedisTimeoutError)
TRANSIENT_ERRORS = (OutcomeUnknownError, ServerError, RateLimitError, LeaseHeld, InvalidTimestampError,
                    *INFRASTRUCTURE_ERRORS)
MAX_RETRIES = 8
# Sending the retry needs the broker: while Redis restarts, keep trying for about five minutes rather than
# failing the job (kombu's default gives up after three tries within a second or so).
PUBLISH_RETRY_POLICY = {"max_retries": 60, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 5}
# Far below the queue's visibility timeout, so that Redis never re-delivers a waiting retry.
MAX_COUNTDOWN_SECONDS = 300


def backoff_seconds(retries: int, exc: BaseException | None = None) -> float:
    if isinstance(exc, RateLimitError) and getattr(exc, "reset_ms", None):
        return min(MAX_COUNTDOWN_SECONDS, exc.reset_ms / 1000 + random.uniform(0, 1))
    return min(MAX_COUNTDOWN_SECONDS, 2**retries + random.uniform(0, 1))


def on_last_try(task, *, tries: int | None = None) -> bool:
    """Whether a transient failure now ends the task (its job shown failed) rather than being retried.
    `tries`: as for `retrying`."""
    return (task.request.retries if tries is None else tries) >= MAX_RETRIES


def gives_up(exc: BaseException, *, last_try: bool) -> bool:
    """Whether the error ends the action (marked failed, in words) rather than leaving it for another try: any
    error not worth one, or any on the job's last try."""
    return last_try or not isinstance(exc, TRANSIENT_ERRORS)


@contextmanager
def retrying(task, *, tries: int | None = None) -> Iterator[None]:
    """Inside a bound task: a transient failure schedules a retry; after MAX_RETRIES of them it is raised.
    `tries`: how many of the task's retries were for transient failures, when it also retries for another
    reason (a payout polling its transfer), so that those do not use up these."""
    done = task.request.retries if tries is None else tries
    try:
        yield
    except TRANSIENT_ERRORS as exc:
        if isinstance(exc, INFRASTRUCTURE_ERRORS):
            close_old_connections()  # a connection the database cut is not reused by the next attempt
        raise task.retry(exc=exc, countdown=backoff_seconds(done, exc),
                         max_retries=task.request.retries - done + MAX_RETRIES, retry_policy=PUBLISH_RETRY_POLICY)


def _requeue_after_infrastructure_failure(sender=None, exception=None, args=None, kwargs=None, **_) -> None:
    """A task that failed because the database or Redis went away outside `retrying` (in job_run's first or
    last write, say) is sent again instead of being lost: its services check KuCoin before acting."""
    if not isinstance(exception, INFRASTRUCTURE_ERRORS) or sender is None or sender.request.retries >= MAX_RETRIES:
        return
    close_old_connections()
    sender.retry(args=args, kwargs=kwargs, exc=exception, throw=False, max_retries=MAX_RETRIES,
                 countdown=backoff_seconds(sender.request.retries), retry_policy=PUBLISH_RETRY_POLICY)


def _database_connection_checked(sender=None, **_) -> None:
    """Before each task, Django's rule for a connection kept between tasks (CELERY_DB_REUSE_MAX), as at the start
    of a web request: closed when it is broken or older than CONN_MAX_AGE, health-checked on its next use. Not
    for an eager task: it runs inside its caller's transaction."""
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()


from celery.signals import task_failure, task_prerun  # noqa: E402

task_failure.connect(_requeue_after_infrastructure_failure, weak=False)
task_prerun.connect(_database_connection_checked, weak=False)
