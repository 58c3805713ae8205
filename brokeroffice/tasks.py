from celery import shared_task

from brokeroffice import services
from brokeroffice.jobs import job_run


@shared_task(name="brokeroffice.queue_selftest")
def queue_selftest_task(job_id: str, steps: int = 10, step_seconds: float = 0.2) -> None:
    with job_run(job_id) as run:
        services.queue_selftest(steps=steps, step_seconds=step_seconds, run=run)
