"""The daily pull of yesterday's spot and futures rebate files, at REBATES_SYNC_HOUR_UTC (default 04:00 UTC).
Once created, the schedule is edited in the admin (Periodic tasks)."""
import os

from django.db import migrations

from brokeroffice.schedules import ensure_schedules, remove_schedules


def schedules():
    hour = int(os.environ.get("REBATES_SYNC_HOUR_UTC", "4"))
    if not 0 <= hour <= 23:
        raise ValueError("REBATES_SYNC_HOUR_UTC must be an hour from 0 to 23")
    return [
        {"name": "Pull yesterday's rebate files", "task_name": "rebates.sync_yesterday",
         "label": "Pull yesterday's rebate files (spot and futures)",
         "crontab": {"minute": "20", "hour": str(hour), "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}},
    ]


def create(apps, schema_editor):
    ensure_schedules(apps, schedules())


def remove(apps, schema_editor):
    remove_schedules(apps, [s["name"] for s in schedules()])


class Migration(migrations.Migration):
    dependencies = [("rebates", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
