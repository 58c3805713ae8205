"""The open-order status sync runs on a schedule by default."""
import json

import pytest
from django_celery_beat.models import PeriodicTask

import trading.tasks  # noqa: F401 (registers the tasks, as the worker does)
from brokeroffice.celery import app

pytestmark = pytest.mark.django_db


def test_open_orders_are_synced_every_five_minutes_by_default():
    schedule = PeriodicTask.objects.get(name="Sync open orders")
    assert schedule.task == "brokeroffice.scheduled_job"
    task_name, label = json.loads(schedule.args)
    assert task_name == "trading.orders_sync" and task_name in app.tasks
    assert (schedule.interval.every, schedule.interval.period) == (5, "minutes")
    assert schedule.enabled


def test_the_share_of_tagged_orders_is_counted_every_ten_minutes():
    schedule = PeriodicTask.objects.get(name="Count tagged orders")
    task_name, _ = json.loads(schedule.args)
    assert task_name == "trading.tag_share_refresh" and task_name in app.tasks
    assert (schedule.interval.every, schedule.interval.period) == (10, "minutes")
