from django.db import migrations

from brokeroffice.schedules import ensure_schedules, remove_schedules

SCHEDULES = [
    {"name": "Resume stalled actions", "task_name": "accounts.resume_stalled", "label": "Resume stalled actions",
     "every_minutes": 10},
]


def create(apps, schema_editor):
    ensure_schedules(apps, SCHEDULES)


def remove(apps, schema_editor):
    remove_schedules(apps, [s["name"] for s in SCHEDULES])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_fastapi_schedule"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
