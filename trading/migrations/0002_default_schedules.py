from django.db import migrations

from brokeroffice.schedules import ensure_schedules, remove_schedules

SCHEDULES = [
    {"name": "Sync open orders", "task_name": "trading.orders_sync", "label": "Sync open orders", "every_minutes": 5},
    {"name": "Count tagged orders", "task_name": "trading.tag_share_refresh", "label": "Count tagged orders",
     "every_minutes": 10},
]


def create(apps, schema_editor):
    ensure_schedules(apps, SCHEDULES)


def remove(apps, schema_editor):
    remove_schedules(apps, [s["name"] for s in SCHEDULES])


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
