"""A job runs in a real Celery worker process taken from the real queue, and its progress can be read."""
import os

import pytest
from django.db import transaction

from brokeroffice.jobs import job_create, job_enqueue
from brokeroffice.models import Job
from brokeroffice.tasks import queue_selftest_task
from brokeroffice.testing.waiting import wait_until

pytestmark = pytest.mark.worker


def test_a_worker_process_runs_the_job_and_reports_progress_on_the_way(worker):
    steps = 8
    with transaction.atomic():
        job = job_create(kind="queue_selftest", label="Queue self-test")
        job_enqueue(job=job, task=queue_selftest_task, kwargs={"steps": steps, "step_seconds": 0.25})

    seen_progress = set()

    def finished():
        current = Job.objects.get(pk=job.pk)
        if current.state == Job.State.RUNNING:
            seen_progress.add(current.progress_done)
        return current if current.is_finished else None

    done = wait_until(finished, timeout=60, interval=0.02, what="the self-test job to finish")
    assert done.state == Job.State.SUCCEEDED, done.error
    assert done.progress_done == steps and done.progress_total == steps
    assert done.percent == 100
    assert any(0 < step < steps for step in seen_progress), f"no intermediate progress seen: {seen_progress}"
    # It ran in the worker process, not in this one.
    assert done.result["worker_pid"] == worker.pid != os.getpid()


def test_the_status_page_shows_the_finished_job(worker, client, make_staff):
    client.force_login(make_staff("operator"))
    response = client.post("/jobs/selftest/")
    assert response.status_code == 302
    job = Job.objects.get()
    wait_until(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=60, what="the self-test")
    status = client.get(f"/jobs/{job.pk}/status/").json()
    assert status["state"] == "succeeded"
    assert status["percent"] == 100
    assert "finished 10 steps" in status["message"]
