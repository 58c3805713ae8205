"""A schedule's run is sent once: by a lone beat, and by two beats on one Redis whichever leads, also when the
leader dies right after sending and the standby takes over."""
from __future__ import annotations

import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from brokeroffice.beat import LEADER_KEY, STANDBY_SLEEP_S, LeaderElectedDatabaseScheduler

pytestmark = pytest.mark.django_db(transaction=True)
needs_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="leader election runs over Redis (CI provides it)")

TASK_NAME = "Beat takeover check"


@pytest.fixture
def leader_key():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(LEADER_KEY)
    yield client
    client.delete(LEADER_KEY)


def start_beat() -> tuple[LeaderElectedDatabaseScheduler, list[str]]:
    """A beat's scheduler whose sends of this test's schedule are written down instead of queued (the default
    schedules the migrations made may be due too; they are dropped)."""
    from brokeroffice.celery import app

    scheduler = LeaderElectedDatabaseScheduler(app=app)
    sent: list[str] = []

    def apply_async(entry, producer=None, advance=True, **kwargs):
        if entry.name == TASK_NAME:
            sent.append(entry.name)
        return SimpleNamespace(id="made-up-task-id")

    scheduler.apply_async = apply_async
    return scheduler, sent


def make_due_schedule():

    # Hourly, last run two hours ago: due once now.
    PeriodicTask.objects.create(
        name=TASK_NAME, task="brokeroffice.scheduled_job", args=f'["accounts.transfers_sync", "{TASK_NAME}"]',
        interval=IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS),
        last_run_at=timezone.now() - timedelta(hours=2),
    )


def ticks(scheduler, times: int = 4) -> list[float]:
    return [scheduler.tick() for _ in range(times)]


@needs_redis
@pytest.mark.parametrize("schedule_made", ["before the beats started", "while they ran"])
def test_a_beat_taking_over_does_not_send_again_what_the_leader_sent(leader_key, schedule_made):
    if schedule_made == "before the beats started":
        make_due_schedule()
    first, sent_by_first = start_beat()
    second, sent_by_second = start_beat()
    if schedule_made == "while they ran":
        make_due_schedule()

    ticks(first)
    assert sent_by_first == [TASK_NAME]
    assert ticks(second) == [STANDBY_SLEEP_S] * 4
    assert sent_by_second == []

    leader_key.delete(LEADER_KEY)  # the first beat died, or stalled past the key's expiry, right after sending
    ticks(second)
    assert leader_key.get(LEADER_KEY).decode() == second._identity
    assert sent_by_second == []
    assert sent_by_first == [TASK_NAME]


@needs_redis
def test_a_due_schedule_is_sent_by_the_beat_that_takes_over(leader_key):
    first, sent_by_first = start_beat()
    second, sent_by_second = start_beat()
    ticks(first)
    leader_key.delete(LEADER_KEY)
    ticks(second)
    make_due_schedule()

    ticks(second)
    assert sent_by_second == [TASK_NAME]
    assert sent_by_first == []


def test_a_lone_beat_sends_a_due_schedule_once_when_the_schedule_changes_as_it_starts(settings):
    settings.REDIS_URL = ""  # one machine, no election: this beat leads
    make_due_schedule()
    beat, sent = start_beat()
    PeriodicTasks.update_changed()  # what saving any schedule in the admin does

    ticks(beat)
    assert sent == [TASK_NAME]
