"""Services for background jobs: record the intent, enqueue after commit, report progress and the outcome.

A task wraps its one service call in `job_run(job_id)`, which marks the job running, gives the service a
progress callback, and records success or the error in words. Pages poll the Job row.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Callable, Iterator

from celery.exceptions import Retry
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from brokeroffice.calllog import acting_as
from brokeroffice.kucoin_errors import error_in_words
from brokeroffice.models import Job

logger = logging.getLogger(__name__)

ProgressCallback = Callable[..., None]


def job_create(*, kind: str, label: str, requested_by=None, requested_by_label: str = "") -> Job:
    if requested_by is not None and not requested_by_label:
        requested_by_label = requested_by.get_username()
    return Job.objects.create(
        kind=kind, label=label, requested_by=requested_by, requested_by_label=requested_by_label
    )


def job_enqueue(*, job: Job, task, args: tuple = (), kwargs: dict | None = None) -> None:
    """Send the task once the transaction that wrote the job (and its intent) has committed."""
    transaction.on_commit(lambda: task.apply_async(args=(str(job.pk), *args), kwargs=kwargs or {}))


def job_progress(job_id: str, *, done: int, total: int | None = None, message: str | None = None) -> None:
    changes: dict[str, Any] = {"progress_done": done}
    if total is not None:
        changes["progress_total"] = total
    if message is not None:
        changes["message"] = message[:500]
    Job.objects.filter(pk=job_id).update(**changes)


def job_succeeded(job_id: str, *, message: str = "", result: Any = None) -> None:
    Job.objects.filter(pk=job_id).update(
        state=Job.State.SUCCEEDED, message=message[:500], result=result, error="", finished_at=timezone.now()
    )


def job_failed(job_id: str, *, error: str) -> None:
    Job.objects.filter(pk=job_id).update(state=Job.State.FAILED, error=error, finished_at=timezone.now())


def job_start(*, kind: str, label: str, task, args: tuple = (), requested_by=None, requested_by_label: str = "") -> Job:
    """Records a job and queues its task once committed: what views, schedules and admin actions call."""
    with transaction.atomic():
        job = job_create(kind=kind, label=label, requested_by=requested_by, requested_by_label=requested_by_label)
        job_enqueue(job=job, task=task, args=args)
    return job


class JobGone(Exception):
    """The job a task was queued for was deleted: the task must not act."""


class JobRun:
    """Handed to a service by `job_run`: reports progress and, optionally, the outcome.

    `echo`, when given (the CLI), also receives every progress message.
    """

    def __init__(self, job_id: str, echo: Callable[[str], None] | None = None) -> None:
        self.job_id = job_id
        self.finished = False
        self.echo = echo

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        job_progress(self.job_id, done=done, total=total, message=message)
        if self.echo:
            self.echo(message or (f"{done} of {total}" if total else f"{done}"))

    def succeed(self, message: str = "", result: Any = None) -> None:
        job_succeeded(self.job_id, message=message, result=result)
        self.finished = True
        if self.echo and message:
            self.echo(message)


def describe_error(exc: BaseException) -> str:
    """An error in words for staff. KuCoin errors carry their own code and message."""
    return error_in_words(exc)[:2000]


def _failure_in_words(job_id: str, exc: BaseException) -> str:
    """The error; for one worth another try (KuCoin busy, the row held, the database away), that the job has
    given up trying: a job fails on such an error only after its last try."""
    from brokeroffice.tasking import TRANSIENT_ERRORS

    if not isinstance(exc, TRANSIENT_ERRORS):
        return describe_error(exc)
    tries = Job.objects.filter(pk=job_id).values_list("attempts", flat=True).first() or 1
    return f"Gave up after {tries} {'try' if tries == 1 else 'tries'}: {describe_error(exc)}"


@contextmanager
def job_run(job_id: str, *, echo: Callable[[str], None] | None = None) -> Iterator[JobRun]:
    """Marks the job running for the body, then succeeded, or failed with the error in words.

    A Celery retry leaves the job running (the next attempt continues it).
    """
    started = Job.objects.filter(pk=job_id).update(
        state=Job.State.RUNNING, started_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not started:
        raise JobGone(f"Job {job_id} no longer exists; its task does nothing.")
    actor = Job.objects.filter(pk=job_id).values_list("requested_by_label", flat=True).first() or "job"
    run = JobRun(job_id, echo)
    try:
        with acting_as(actor, job_id):
            yield run
    except Retry:
        raise
    except Exception as exc:
        logger.warning("job %s failed: %s", job_id, exc.__class__.__name__)
        job_failed(job_id, error=_failure_in_words(job_id, exc))
        raise
    if not run.finished:
        job_succeeded(job_id)


def jobs_mark_lost(*, running_longer_than: timedelta, pending_longer_than: timedelta) -> int:
    """Jobs whose worker died, or whose message never reached one, are marked failed so no page waits forever."""
    now = timezone.now()
    lost_running = Job.objects.filter(state=Job.State.RUNNING, started_at__lt=now - running_longer_than).update(
        state=Job.State.FAILED, finished_at=now,
        error="The worker running this job stopped before it finished. The “Resume stalled actions” schedule "
              "finishes what it left: orders are only looked up at KuCoin, never placed late.",
    )
    lost_pending = Job.objects.filter(state=Job.State.PENDING, created_at__lt=now - pending_longer_than).update(
        state=Job.State.FAILED, finished_at=now, error="No worker took this job from the queue.",
    )
    return lost_running + lost_pending
