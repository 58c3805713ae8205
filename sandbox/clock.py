"""The sandbox clock: wall time plus an offset that the control API can move.

Advancing time (token and link expiry, KYC review, rate-limit windows) moves ``offset_ms``;
the per-request clock-skew fault is applied on top by the pipeline, not here.
"""
from __future__ import annotations

import time


class Clock:
    def __init__(self, offset_ms: int = 0):
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    def advance(self, seconds: float) -> int:
        self.offset_ms += int(round(seconds * 1000))
        return self.now_ms()

    def to_json(self) -> dict:
        return {"offsetMs": self.offset_ms}

    def load(self, data: dict) -> None:
        self.offset_ms = int(data.get("offsetMs", 0))
