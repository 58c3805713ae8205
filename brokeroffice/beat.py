"""The beat scheduler: django-celery-beat's database scheduler, with leader election over Redis, so that
a second beat started by mistake (or as a standby on another machine) sends nothing while the first lives.

The leader holds a Redis key with a short expiry and renews it on every tick; if its process dies (or stalls
past the expiry) the key expires and a standby takes over. Without Redis (a single-machine run) every beat
is the leader.

A beat that takes over must not send again what the previous leader sent: so the leader saves each
entry's last run as soon as it sends it (django-celery-beat saves them only every few minutes), and a beat
that becomes leader reads the schedule afresh from the database (its own copy may be hours old). Reading
it afresh before the first tick also keeps django-celery-beat from rebuilding its heap, on the tick after
a send, from entries that still hold the run before it (which sent a schedule twice when it changed just
as the beat started).
"""
from __future__ import annotations

import logging
import os
import socket
import uuid

from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

LEADER_KEY = "brokeroffice:beat:leader"
# Longer than the scheduler's longest sleep between ticks (beat_max_loop_interval, 5 s by default).
LEADER_TTL_MS = 20_000
STANDBY_SLEEP_S = 5.0

# Renews the key only if we still own it; takes it if nobody does.
_ACQUIRE_OR_RENEW = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] or owner == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


class LeaderElectedDatabaseScheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        self._identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._was_leader: bool | None = None
        self._redis = None
        if settings.REDIS_URL:
            import redis

            self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
            self._acquire = self._redis.register_script(_ACQUIRE_OR_RENEW)
        super().__init__(*args, **kwargs)

    def is_leader(self) -> bool:
        leader = self._redis is None or self._holds_leader_key()
        if leader != self._was_leader:
            logger.warning("beat %s: %s", self._identity, "leading, sending schedules" if leader else "standing by: another beat leads")
            if leader:
                self._read_schedule_afresh()
            self._was_leader = leader
        return leader

    def _holds_leader_key(self) -> bool:
        try:
            return bool(self._acquire(keys=[LEADER_KEY], args=[self._identity, LEADER_TTL_MS]))
        except Exception:  # Redis unreachable: sending nothing is safer than sending twice
            logger.warning("beat: Redis unreachable, not sending schedules until it is back")
            return False

    def tick(self, *args, **kwargs):
        if not self.is_leader():
            return STANDBY_SLEEP_S
        interval = super().tick(*args, **kwargs)
        if self._dirty:
            self.sync()
        return interval

    def _read_schedule_afresh(self) -> None:
        """What DatabaseScheduler does when the schedule changed: the entries from the database, and the heap
        of next runs rebuilt from them."""
        self.sync()
        self._schedule = self.all_as_schedule()
        self._heap = []
        self._heap_invalidated = True
