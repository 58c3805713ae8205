"""Celery tasks of the rebates app: each takes ids, runs one service inside its job, and decides about
retrying (an expired link, an interrupted download, KuCoin busy: with backoff, then the file is failed)."""
from contextlib import contextmanager

from celery import shared_task

from brokeroffice.jobs import job_run
from rebates import conf, services


@contextmanager
def retrying(task):
    """A transient failure schedules another try after a growing wait; the last one is raised."""
    try:
        yield
    except services.RETRYABLE as exc:
        raise task.retry(exc=exc, countdown=services.backoff_seconds(task.request.retries),
                         max_retries=conf.download_max_retries())


def _final(task) -> bool:
    return task.request.retries >= conf.download_max_retries()


@shared_task(bind=True, name="rebates.sync")
def rebates_sync_task(self, job_id: str, file_ids: list[int]) -> None:
    with job_run(job_id) as run, retrying(self):
        services.rebate_files_pull(file_ids=file_ids, run=run, final_attempt=_final(self))


@shared_task(bind=True, name="rebates.sync_yesterday")
def rebates_sync_yesterday_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        services.rebates_sync_yesterday(run=run, final_attempt=_final(self))


@shared_task(bind=True, name="rebates.file_reparse")
def rebate_file_reparse_task(self, job_id: str, file_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        rebate_file = services.rebate_file_reparse(file_id=file_id, final_attempt=_final(self))
        run.succeed(f"{rebate_file}: {rebate_file.row_count} records.", result={"records": rebate_file.row_count})
