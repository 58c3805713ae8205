from django.db import migrations

from brokeroffice.schedules import ensure_schedules, remove_schedules

SCHEDULES = [
    {"name": "Mark lost jobs", "task": "brokeroffice.jobs_mark_lost", "args": [], "label": "Mark lost jobs",
     "every_minutes": 15},
]


def create(apps, schema_editor):
    ensure_schedules(apps, SCHEDULES)


def remove(apps, schema_editor):
    remove_schedules(apps, [s["name"] for s in SCHEDULES])


class Migration(migrations.Migration):
    dependencies = [("brokeroffice", "0004_scheduledrun"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
