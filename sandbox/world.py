"""The whole state of the sandbox, split in named sections.

Locking rule: ONE lock, ``world.lock`` (re-entrant). The server takes it around authentication,
rate limiting and the handler of every request, so handlers and section methods never lock
themselves. Code outside a request (control calls from the test fixture, the CLI) takes it too.

Sections: a class derived from ``Section`` and decorated with ``@register_section`` takes part in
reset (a fresh instance, then ``seed``), dump (``to_json``) and --state save/load (``load``).
Sections are created and seeded by ``order`` (then registration order); the core sections
(accounts, balances, funding, kyc) come first, so any other section may read them while seeding.
"""
from __future__ import annotations

import json
import random
import threading
import time
from decimal import Decimal
from typing import Any

from .clock import Clock


class Section:
    name: str = ""
    # Creation/seeding order: lower first, then registration order. The core sections use 10-40,
    # so whatever order modules happen to be imported in, accounts exist before balances are seeded.
    order: int = 100

    def __init__(self, world: "World"):
        self.world = world

    def seed(self, rng: random.Random) -> None:
        """Fill the demo data. ``rng`` is private to the section and derived from the world seed,
        so adding a section does not change what the others generate."""

    def to_json(self) -> Any:
        """The section as JSON-able data (Decimal allowed: dumped as a string)."""
        return {}

    def load(self, data: Any) -> None:
        """Restore from what ``to_json`` produced (after a JSON round trip)."""


_SECTIONS: dict[str, type[Section]] = {}


def register_section(cls: type[Section]) -> type[Section]:
    if not cls.name:
        raise ValueError("a section needs a name")
    if cls.name in _SECTIONS and _SECTIONS[cls.name] is not cls:
        raise ValueError(f"section {cls.name!r} registered twice")
    _SECTIONS[cls.name] = cls
    return cls


def section_classes() -> dict[str, type[Section]]:
    return dict(_SECTIONS)


def json_default(o):
    if isinstance(o, Decimal):
        from .money import fmt
        return fmt(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


RESERVED_KEYS = ("seed", "clock", "settings")


class World:
    def __init__(self, seed: int = 0):
        self.seed_value = seed
        self.lock = threading.RLock()
        self.clock = Clock()
        self.rng = random.Random(seed)
        self.sections: dict[str, Section] = {}
        # Settings that survive reset unless reset_settings=True: quotas, validation switches.
        from .ratelimit import RateLimiter
        from .faults import Faults
        self.ratelimiter = RateLimiter(self)
        self.faults = Faults(self)
        self.validate_responses = False     # the test fixture turns it on (needs jsonschema)
        from .app import load_modules       # every module that registers a section or a route
        load_modules()
        self.reset()

    # -- sections -----------------------------------------------------------------------------
    def section(self, name: str) -> Section:
        return self.sections[name]

    def has_section(self, name: str) -> bool:
        return name in self.sections

    @property
    def accounts(self):
        return self.sections["accounts"]

    @property
    def balances(self):
        return self.sections["balances"]

    def section_rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed_value}:{name}")

    # -- life cycle ---------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Back to the seeded state: clock offset, sections, rate-limit counters and faults cleared."""
        with self.lock:
            if seed is not None:
                self.seed_value = seed
            self.rng = random.Random(self.seed_value)
            # Seeded data is dated relative to this anchor (start of the current UTC day), not to "now", so
            # the same seed gives the same dump on every reset and in every process of the day; taken again
            # on every reset, so that a world reset after midnight has a history up to the new yesterday.
            self.anchor_ms = int(time.time() * 1000) // 86_400_000 * 86_400_000
            self.clock = Clock()
            self.ratelimiter.reset_counters()
            self.faults.clear()
            self.sections = {}
            ranked = sorted(enumerate(_SECTIONS.items()), key=lambda item: (item[1][1].order, item[0]))
            for _, (name, cls) in ranked:
                if name in RESERVED_KEYS:
                    raise ValueError(f"section name {name!r} is reserved")
                self.sections[name] = cls(self)
            for name, sec in self.sections.items():
                sec.seed(self.section_rng(name))

    def dump(self) -> dict:
        """The whole state as JSON-able data (what GET /_sandbox/state answers)."""
        with self.lock:
            out = {
                "seed": self.seed_value,
                "clock": {"nowMs": self.clock.now_ms(), **self.clock.to_json()},
                "settings": {"quotas": self.ratelimiter.quotas_json()},
            }
            for name, sec in self.sections.items():
                out[name] = sec.to_json()
            # one round trip so that the dump holds only plain JSON types
            return json.loads(json.dumps(out, default=json_default))

    def load(self, data: dict) -> None:
        with self.lock:
            self.reset(seed=int(data.get("seed", self.seed_value)))
            self.clock.load(data.get("clock", {}))
            quotas = data.get("settings", {}).get("quotas")
            if quotas:
                self.ratelimiter.load_quotas(quotas)
            for name, sec in self.sections.items():
                if name in data:
                    sec.load(data[name])

    def save_file(self, path: str) -> None:
        import os
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.dump(), f, indent=1, sort_keys=False)
        os.replace(tmp, path)

    def load_file(self, path: str) -> None:
        with open(path, encoding="utf-8") as f:
            self.load(json.load(f))

    # -- ids ----------------------------------------------------------------------------------
    def new_hex_id(self) -> str:
        """A 24-hex id like KuCoin's (seconds timestamp + random), from the seeded rng."""
        return "%08x%016x" % (self.clock.now_ms() // 1000 & 0xFFFFFFFF, self.rng.getrandbits(64))
