"""What production relies on: request ids in JSON logs, schedules firing once, queue lengths, Flower's door."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from brokeroffice.models import Job, ScheduledRun
from brokeroffice.queues import queue_lengths
from brokeroffice.services import scheduled_job_start
from brokeroffice.tasks import queue_selftest_task
from brokeroffice.testing.worker import purge_queues

ROOT = Path(__file__).resolve().parents[2]


def test_the_request_id_comes_back_and_reaches_json_log_lines():
    code = (
        "import django, logging; django.setup();"
        "from django.test import Client; from django.test.utils import setup_test_environment;"
        "setup_test_environment();"
        "r = Client().get('/healthz', HTTP_X_REQUEST_ID='req-made-up-123');"
        "print('HEADER', r['X-Request-ID'])"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "brokeroffice.settings_test",
           "DATABASE_URL": "sqlite:///" + str(ROOT / "var" / "unused-ops-test.sqlite3")}
    logging_code = code + ";from brokeroffice.logcontext import request_id; import logging;" \
        "token = request_id.set('req-made-up-123'); logging.getLogger('brokeroffice.test').warning('inside a request')"
    result = subprocess.run([sys.executable, "-c", logging_code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "HEADER req-made-up-123" in result.stdout, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("message") == "inside a request"]
    assert ours and ours[0]["request_id"] == "req-made-up-123" and ours[0]["level"] == "WARNING"


def test_a_schedule_fires_once_per_minute_however_many_beats_send_it(db):
    now = timezone.now()
    first = scheduled_job_start(task=queue_selftest_task, label="Nightly thing", now=now)
    again = scheduled_job_start(task=queue_selftest_task, label="Nightly thing", now=now.replace(second=(now.second + 1) % 60))
    assert first is not None and again is None
    assert Job.objects.filter(label="Nightly thing").count() == 1
    assert ScheduledRun.objects.get().job == first



def test_a_schedules_message_delivered_again_in_a_later_minute_does_not_fire_it_again(db, clock):
    from brokeroffice.tasks import scheduled_job_task

    # A worker died after starting the job but before acknowledging the message: the queue delivers the same
    # message (same id) again, minutes later.
    fire = lambda message_id: scheduled_job_task.apply(args=(queue_selftest_task.name, "Nightly thing"), task_id=message_id)
    first = fire("beat-message-1").get()
    clock(150)
    again = fire("beat-message-1").get()
    clock(60)
    next_firing = fire("beat-message-2").get()

    assert first is not None and again is None and next_firing is not None
    started = Job.objects.filter(label="Nightly thing").values_list("pk", flat=True)
    assert sorted(str(pk) for pk in started) == sorted([first, next_firing])


def test_queue_lengths_count_what_waits(transactional_db, workers):
    workers.stop_shared()  # nothing may consume the message while it is counted
    purge_queues()
    before = queue_lengths()
    queue_selftest_task.apply_async(args=("00000000-0000-0000-0000-000000000000",))
    after = queue_lengths()
    assert after["celery"] == before["celery"] + 1
    purge_queues()


@pytest.mark.parametrize("role,status", [("viewer", 403), ("operator", 403), ("broker-admin", 502)])
def test_flower_is_behind_the_broker_admin_login(client, make_staff, settings, role, status):
    settings.FLOWER_URL = "http://127.0.0.1:9"  # nothing listens there
    client.force_login(make_staff(role))
    response = client.get("/flower/")
    assert response.status_code == status
    if status == 502:
        assert "Flower is not running" in response.content.decode()


def test_flower_needs_a_login(client, db):
    response = client.get("/flower/")
    assert response.status_code == 302 and "/login/" in response["Location"]
