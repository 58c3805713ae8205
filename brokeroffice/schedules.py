"""Creating the default beat schedules in migrations; once created they are edited in the admin."""
from __future__ import annotations

import json


def ensure_schedules(apps, schedules: list[dict]) -> None:
    """Each item: name, task_name (the job's task), label, and either `every_minutes` or `crontab` (dict)."""
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for item in schedules:
        if PeriodicTask.objects.filter(name=item["name"]).exists():
            continue
        timing = {}
        if "every_minutes" in item:
            timing["interval"], _ = IntervalSchedule.objects.get_or_create(every=item["every_minutes"], period="minutes")
        else:
            timing["crontab"], _ = CrontabSchedule.objects.get_or_create(timezone="UTC", **item["crontab"])
        PeriodicTask.objects.create(
            name=item["name"], task=item.get("task", "brokeroffice.scheduled_job"),
            args=json.dumps(item.get("args", [item.get("task_name"), item["label"]])), **timing,
        )


def remove_schedules(apps, names: list[str]) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=names).delete()
