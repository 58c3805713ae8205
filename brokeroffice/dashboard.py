"""What the dashboard shows, gathered from the apps' selectors."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from brokeroffice.models import Job, KuCoinCall

SUCCESS_CODES = ("200000", "200")


def kucoin_errors_since(hours: int = 24) -> dict:
    since = timezone.now() - timedelta(hours=hours)
    failed = KuCoinCall.objects.filter(at__gte=since).exclude(code__in=SUCCESS_CODES).exclude(code="", http_status=200)
    return {"count": failed.count(), "latest": list(failed.order_by("-id")[:5])}


def failed_jobs_since(hours: int = 24) -> dict:
    since = timezone.now() - timedelta(hours=hours)
    failed = Job.objects.filter(state=Job.State.FAILED, created_at__gte=since).defer("result")
    return {"count": failed.count(), "latest": list(failed.order_by("-created_at")[:5])}


def next_schedules(limit: int = 6) -> list[dict]:
    """Enabled schedules with when each runs next, soonest first."""
    now = timezone.now()
    upcoming = []
    for task in PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab"):
        schedule = task.schedule
        last = task.last_run_at or now
        try:
            remaining = schedule.remaining_estimate(last)
        except (AttributeError, ValueError):
            continue
        upcoming.append({"name": task.name, "at": now + max(remaining, timedelta(0))})
    return sorted(upcoming, key=lambda item: item["at"])[:limit]
