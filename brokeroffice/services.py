"""Actions of the back-office itself (not of KuCoin)."""
from __future__ import annotations

import os
import socket
import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.models import Job, ScheduledRun


def queue_selftest(*, steps: int, step_seconds: float, run: JobRun) -> dict:
    """Proves that a worker takes jobs from the queue and reports progress: counts `steps` steps."""
    for step in range(1, steps + 1):
        time.sleep(step_seconds)
        run.progress(step, steps, f"Step {step} of {steps}")
    result = {"worker_host": socket.gethostname(), "worker_pid": os.getpid(), "steps": steps}
    run.succeed(f"The worker on {result['worker_host']} finished {steps} steps.", result)
    return result


def scheduled_job_start(*, task, label: str, now=None, delivery_id: str | None = None) -> Job | None:
    """Starts the schedule's job unless this schedule already fired in this minute, or this delivery (the
    beat's message, `delivery_id`) already started it: then returns None."""
    slot = (now or timezone.now()).replace(second=0, microsecond=0)
    try:
        with transaction.atomic():
            run = ScheduledRun.objects.create(name=label, slot=slot, delivery_id=delivery_id)
            job = job_create(kind=task.name.rsplit(".", 1)[-1], label=label, requested_by_label=f"schedule: {label}")
            run.job = job
            run.save(update_fields=["job"])
            job_enqueue(job=job, task=task)
    except IntegrityError:
        return None
    return job
