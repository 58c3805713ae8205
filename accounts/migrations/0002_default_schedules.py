from django.db import migrations

from brokeroffice.schedules import ensure_schedules, remove_schedules

SCHEDULES = [
    {"name": "Sync sub-accounts", "task_name": "accounts.subaccounts_sync", "label": "Sync sub-accounts",
     "crontab": {"minute": "15", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}},
    {"name": "Sync API keys", "task_name": "accounts.apikeys_sync", "label": "Sync API keys",
     "crontab": {"minute": "45", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}},
    {"name": "Refresh balances", "task_name": "accounts.balances_refresh_all", "label": "Refresh balances", "every_minutes": 60},
    {"name": "Sync open transfers", "task_name": "accounts.transfers_sync", "label": "Sync open transfers", "every_minutes": 5},
    {"name": "Sync deposits", "task_name": "accounts.deposits_sync", "label": "Sync deposits", "every_minutes": 10},
    {"name": "Sync withdrawals", "task_name": "accounts.withdrawals_sync", "label": "Sync withdrawals", "every_minutes": 30},
    {"name": "Check KYC status", "task_name": "accounts.kyc_status_sync", "label": "Check KYC status", "every_minutes": 60},
    {"name": "Check the broker connection", "task_name": "accounts.broker_check", "label": "Check the broker connection",
     "every_minutes": 15},
    {"name": "Purge old call log", "task": "brokeroffice.calls_purge", "args": [], "label": "Purge old call log",
     "crontab": {"minute": "30", "hour": "3", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}},
]


def create(apps, schema_editor):
    ensure_schedules(apps, SCHEDULES)


def remove(apps, schema_editor):
    remove_schedules(apps, [s["name"] for s in SCHEDULES])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create, remove)]
