"""Schedules start jobs like staff do, and every KuCoin call is logged with who caused it, never a secret."""
import importlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import SubAccountApiKey
from accounts.services.apikeys import apikey_create
from brokeroffice.calllog import calls_purge
from brokeroffice.models import Job, KuCoinCall
from brokeroffice.tasks import scheduled_job_task
from brokeroffice.testing.waiting import wait_until

pytestmark = pytest.mark.worker


@pytest.fixture
def default_schedules(transactional_db):
    """The rows the migration creates (a transactional test before this one may have flushed them)."""
    from django.apps import apps

    importlib.import_module("accounts.migrations.0002_default_schedules").create(apps, None)


def test_the_default_schedules_exist_and_are_editable_rows(default_schedules):
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert {"Sync sub-accounts", "Sync deposits", "Sync open transfers", "Purge old call log"} <= names


def test_a_schedule_runs_its_job_in_the_worker_and_the_calls_name_the_schedule(default_schedules, kucoin_worker, sandbox,
                                                                              finished):
    task = PeriodicTask.objects.get(name="Sync sub-accounts")
    scheduled_job_task.apply_async(args=json.loads(task.args))
    job = wait_until(lambda: Job.objects.filter(requested_by_label="schedule: Sync sub-accounts").first(), timeout=30,
                     what="the scheduled job")
    assert finished(job).state == Job.State.SUCCEEDED
    calls = KuCoinCall.objects.filter(job_id=job.pk)
    assert calls.filter(path="/api/v1/broker/nd/account", method="GET", code="200000").exists()
    assert set(calls.values_list("actor", flat=True)) == {"schedule: Sync sub-accounts"}
    assert set(calls.values_list("credential", flat=True)) == {"broker"}


def test_no_secret_reaches_the_call_log_the_job_records_or_the_worker_log(synced_sub_accounts, sandbox, finished,
                                                                           make_staff, kucoin_worker):
    key, job = apikey_create(sub_account=synced_sub_accounts.first(), label="log-check", permissions=["General"],
                             ip_whitelist=[], requested_by=make_staff("operator"))
    finished(job)
    key = SubAccountApiKey.objects.get(pk=key.pk)
    secrets = [key.secret, key.passphrase, sandbox.broker["api_secret"], sandbox.broker["api_passphrase"],
               sandbox.broker["broker_key"]]
    logged = " ".join(str(row) for row in KuCoinCall.objects.values_list())
    recorded = " ".join(str(row) for row in Job.objects.values_list())
    worker_log = "".join(kucoin_worker.output)
    assert "Task accounts.apikey_create" in worker_log  # the log is the worker's, and it covered this task
    for secret in secrets:
        assert secret not in logged and secret not in recorded and secret not in worker_log
    assert KuCoinCall.objects.filter(actor="operator-user", credential="broker",
                                     path="/api/v1/broker/nd/account/apikey", method="POST").count() == 1


def test_calls_older_than_the_retention_are_purged(db):
    now = timezone.now()
    for days in (1, 89, 91, 200):
        KuCoinCall.objects.create(at=now - timedelta(days=days), method="GET", family="broker", path="/x")
    assert calls_purge(older_than_days=90) == 2
    assert KuCoinCall.objects.count() == 2
