from django.db import migrations

from brokeroffice.schedules import ensure_schedules, remove_schedules

# Withdrawals from the broker account are followed closely: money leaving the company.
SCHEDULES = [
    {"name": "Follow broker withdrawals and payouts", "task_name": "accounts.broker_withdrawals_sync",
     "label": "Follow broker withdrawals and payouts", "every_minutes": 2},
]


def create(apps, schema_editor):
    ensure_schedules(apps, SCHEDULES)


def remove(apps, schema_editor):
    remove_schedules(apps, [s["name"] for s in SCHEDULES])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_funding"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
