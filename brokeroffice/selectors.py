"""Reads of shared records that several pages use."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from brokeroffice.models import Job


def jobs_recent(*, state: str | None = None) -> QuerySet[Job]:
    jobs = Job.objects.select_related(None).defer("result")
    if state:
        jobs = jobs.filter(state=state)
    return jobs.order_by("-created_at")


def job_status(job: Job) -> dict:
    """What a progress bar needs, as JSON."""
    return {
        "id": str(job.pk),
        "label": job.label,
        "state": job.state,
        "state_display": job.get_state_display(),
        "finished": job.is_finished,
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": job.percent,
        "message": job.message,
        "error": job.error,
    }


def jobs_failed_since(*, hours: int) -> int:
    return Job.objects.filter(state=Job.State.FAILED, created_at__gte=timezone.now() - timedelta(hours=hours)).count()
