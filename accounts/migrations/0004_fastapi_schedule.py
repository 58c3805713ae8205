from django.db import migrations

from brokeroffice.schedules import ensure_schedules, remove_schedules

# Access tokens live an hour: every 10 minutes, the ones that end within the next 20 are refreshed.
SCHEDULES = [
    {"name": "Refresh Fast API tokens", "task_name": "accounts.fastapi_tokens_refresh",
     "label": "Refresh Fast API tokens", "every_minutes": 10},
]


def create(apps, schema_editor):
    ensure_schedules(apps, SCHEDULES)


def remove(apps, schema_editor):
    remove_schedules(apps, [s["name"] for s in SCHEDULES])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_fastapi"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
