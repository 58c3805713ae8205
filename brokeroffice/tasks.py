from datetime import timedelta

from celery import shared_task
from django.conf import settings

from brokeroffice import services
from brokeroffice.calllog import calls_purge
from brokeroffice.jobs import job_run, jobs_mark_lost


@shared_task(name="brokeroffice.queue_selftest")
def queue_selftest_task(job_id: str, steps: int = 10, step_seconds: float = 0.2) -> None:
    with job_run(job_id) as run:
        services.queue_selftest(steps=steps, step_seconds=step_seconds, run=run)


@shared_task(bind=True, name="brokeroffice.scheduled_job")
def scheduled_job_task(self, task_name: str, label: str) -> str | None:
    """What a beat schedule runs: records a job for `task_name` as asked by the schedule, and queues it.
    Once per schedule and minute, however many beats there are, and once per message, however late it is
    delivered again."""
    from celery import current_app

    job = services.scheduled_job_start(task=current_app.tasks[task_name], label=label, delivery_id=self.request.id)
    return str(job.pk) if job else None


@shared_task(name="brokeroffice.calls_purge")
def calls_purge_task() -> int:
    return calls_purge(older_than_days=settings.CALL_LOG_RETENTION_DAYS)


@shared_task(name="brokeroffice.jobs_mark_lost")
def jobs_mark_lost_task() -> int:
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    return jobs_mark_lost(running_longer_than=2 * limit, pending_longer_than=timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT) + limit)
