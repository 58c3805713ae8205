"""How many tasks wait in each queue: Redis lists, or message files of the embedded queue."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

# kombu's Redis transport keeps a queue's priority levels in extra lists named QUEUE + "\x06\x16" + N.
REDIS_PRIORITY_SUFFIXES = ("",) + tuple(f"\x06\x16{n}" for n in range(1, 10))


def queue_lengths() -> dict[str, int]:
    names = settings.CELERY_TASK_QUEUES_ALL
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        with client.pipeline() as pipe:
            for name in names:
                for suffix in REDIS_PRIORITY_SUFFIXES:
                    pipe.llen(name + suffix)
            counts = pipe.execute()
        per_queue = len(REDIS_PRIORITY_SUFFIXES)
        return {name: sum(counts[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}
    folder = Path(settings.CELERY_QUEUE_DIR)
    files = [p.name for p in folder.glob("*.msg")] if folder.exists() else []
    return {name: sum(1 for f in files if f.endswith(f".{name}.msg")) for name in names}
