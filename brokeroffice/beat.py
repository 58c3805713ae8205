"""The beat scheduler: django-celery-beat's database scheduler, with leader election over Redis, so that
a second beat started by mistake (or as a standby on another machine) sends nothing while the first lives.

The leader holds a Redis key with a short expiry and renews it on every tick; if its process dies the key
expires and a standby takes over. Without Redis (a single-machine run) every beat is the leader.
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
        if self._redis is None:
            return True
        try:
            leader = bool(self._acquire(keys=[LEADER_KEY], args=[self._identity, LEADER_TTL_MS]))
        except Exception:  # Redis unreachable: sending nothing is safer than sending twice
            logger.warning("beat: Redis unreachable, not sending schedules until it is back")
            leader = False
        if leader != self._was_leader:
            logger.warning("beat %s: %s", self._identity, "leading, sending schedules" if leader else "standing by: another beat leads")
            self._was_leader = leader
        return leader

    def tick(self, *args, **kwargs):
        if not self.is_leader():
            return STANDBY_SLEEP_S
        return super().tick(*args, **kwargs)
