"""Faults on demand: each has a probability or a count, optional filters, and a seeded rng.

Kinds (``KINDS``):
  latency      sleep ``ms`` (default 500) before answering
  rate_limit   answer 429000 without doing anything
  http_500 / http_502 / http_503   answer that status (code 500000/502000/503000) without doing anything
  drop_before  close the connection before the action, without a response
  drop_after   carry the action out, then close the connection without a response
  clock_skew   the server clock of the request is off by ``ms`` (default 10000; negative allowed)
  malformed    carry the action out, then answer 200 with a truncated, unparsable JSON body
  refuse       answer KuCoin's error ``code`` (required; its usual HTTP status, 200 for a business code) with
               ``msg`` (optional) without doing anything: a refusal the sandbox has no state for (cancelling
               suspended during maintenance, 300002, say)

``count=N`` fires on the next N matching requests; ``probability=p`` fires on each matching request
with probability p, drawn from an rng seeded from (world seed, kind), so a run repeats exactly.
Neither: every matching request. Filters: ``family`` ("spot"...), ``path`` (prefix), ``method``.
Control calls (/_sandbox/...) are never subject to faults.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

KINDS = ("latency", "rate_limit", "http_500", "http_502", "http_503", "drop_before", "drop_after",
         "clock_skew", "malformed", "refuse")
# when several "answer instead" faults fire on one request, the first of this order wins
TERMINAL_ORDER = ("drop_before", "http_500", "http_502", "http_503", "rate_limit", "refuse")
# The code each error fault answers ("refuse" answers the one it was given).
ERROR_CODES = {"http_500": "500000", "http_502": "502000", "http_503": "503000", "rate_limit": "429000"}
OPTIONS = {"refuse": ("code", "msg")}  # beside "ms", which every kind accepts


@dataclass
class Fault:
    kind: str
    probability: float | None = None
    count: int | None = None
    family: str | None = None
    path: str | None = None
    method: str | None = None
    opts: dict = field(default_factory=dict)
    fired: int = 0
    rng: random.Random | None = None

    def matches(self, family: str, method: str, path: str) -> bool:
        return ((self.family is None or self.family == family)
                and (self.method is None or self.method.upper() == method)
                and (self.path is None or path.startswith(self.path)))

    def to_json(self) -> dict:
        return {"kind": self.kind, "probability": self.probability, "count": self.count,
                "family": self.family, "path": self.path, "method": self.method,
                "opts": self.opts, "fired": self.fired}


class Faults:
    def __init__(self, world):
        self.world = world
        self.active: dict[str, Fault] = {}

    def clear(self, kind: str | None = None) -> None:
        if kind is None:
            self.active = {}
        else:
            self.active.pop(kind, None)

    def set(self, kind: str, probability: float | None = None, count: int | None = None, *,
            family: str | None = None, path: str | None = None, method: str | None = None,
            **opts) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        if probability is not None and not (0.0 <= float(probability) <= 1.0):
            raise ValueError("probability must be within [0, 1]")
        if count is not None and int(count) < 0:
            raise ValueError("count must be >= 0")
        for k in opts:
            if k not in ("ms", *OPTIONS.get(kind, ())):
                raise ValueError(f"unknown option {k!r} for fault {kind!r}")
        if kind == "refuse" and not str(opts.get("code") or "").isdigit():
            raise ValueError("fault 'refuse' needs code=<KuCoin's error code>, e.g. code=300002")
        f = Fault(kind, None if probability is None else float(probability),
                  None if count is None else int(count), family, path, method, dict(opts))
        f.rng = random.Random(f"{self.world.seed_value}:fault:{kind}")
        self.active[kind] = f
        return f

    def draw(self, family: str, method: str, path: str) -> dict[str, Fault]:
        """The faults that fire on this request (the caller holds the world lock)."""
        fired: dict[str, Fault] = {}
        if not self.active:
            return fired
        for kind, f in list(self.active.items()):
            if not f.matches(family, method, path):
                continue
            if f.count is not None:
                if f.count <= 0:
                    continue
                if f.probability is not None and f.rng.random() >= f.probability:
                    continue
                f.count -= 1
            elif f.probability is not None and f.rng.random() >= f.probability:
                continue
            f.fired += 1
            fired[kind] = f
        return fired

    def to_json(self) -> list[dict]:
        return [f.to_json() for f in self.active.values()]
