"""Offset between the local clock and KuCoin's, applied to every request timestamp."""
from __future__ import annotations

import threading
import time
from typing import Callable


class ServerClock:
    """Holds KuCoin's clock offset. Share one instance between clients to sync once per process.

    `sync(fetch_server_ms)` measures the offset from one server-time call, taking the
    midpoint of the round trip as the moment KuCoin read its clock (spec section 6).
    """

    def __init__(self, max_age_s: float = 600.0, wall_ms: Callable[[], float] | None = None) -> None:
        self._offset_ms = 0.0
        self._synced_at: float | None = None
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        self._wall_ms = wall_ms or (lambda: time.time() * 1000.0)

    @property
    def offset_ms(self) -> float:
        return self._offset_ms

    def needs_sync(self) -> bool:
        return self._synced_at is None or time.monotonic() - self._synced_at > self._max_age_s

    def sync(self, fetch_server_ms: Callable[[], int]) -> float:
        with self._lock:
            before = self._wall_ms()
            server_ms = fetch_server_ms()
            after = self._wall_ms()
            self._offset_ms = server_ms - (before + after) / 2.0
            self._synced_at = time.monotonic()
            return self._offset_ms

    def invalidate(self) -> None:
        self._synced_at = None

    def now_ms(self) -> int:
        return int(self._wall_ms() + self._offset_ms)

    def timestamp(self) -> str:
        return str(self.now_ms())


class FixedClock(ServerClock):
    """A clock that never syncs (tests, benchmarks)."""

    def __init__(self, now_ms: int) -> None:
        super().__init__(wall_ms=lambda: float(now_ms))
        self._synced_at = float("inf")

    def needs_sync(self) -> bool:
        return False

    def sync(self, fetch_server_ms):  # pragma: no cover - never asked to
        return 0.0
