"""Client-side rate limiting per (account, pool), before each request.

KuCoin counts request weight per account and pool in a 30 s window and answers
429000 past the quota (spec section 8). Both implementations here keep a
sliding log of granted weights: an entry counts against the budget from its
grant until grant + window, which is never looser than KuCoin's fixed window.

What KuCoin tells us is folded in as synthetic entries:
- `observe` (gw-ratelimit-* headers): the quota becomes the learned limit; our
  newest grants, up to what KuCoin counted in its current window, are held
  until KuCoin's reset (older ones KuCoin counted in its previous window and
  free up on their own time); when KuCoin has counted more than we have, the
  difference is booked until the reset;
- `exhaust` (a 429000): the whole quota is booked until the reset.

Account keys are opaque ids (credential_id or a hash of the API key), never a key.
"""
from __future__ import annotations

import abc
import bisect
import threading
import time
from typing import Callable, Mapping

from .errors import BudgetWaitExceeded

WINDOW_MS = 30_000
# Spec 8.2 (VIP0) and 8.1; the Broker pool quota is not documented: 2000 / 30 s (spec 8.2).
DEFAULT_QUOTAS: Mapping[str, int] = {
    "spot": 4000,
    "futures": 2000,
    "management": 2000,
    "public": 2000,
    "broker": 2000,
    "earn": 2000,
}


class RateLimiter(abc.ABC):
    """Budget per (account, pool): `acquire` blocks until the weight fits."""

    def __init__(self, quotas: Mapping[str, int] | None = None, window_ms: int = WINDOW_MS,
                 max_wait_s: float = 60.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.quotas = dict(DEFAULT_QUOTAS)
        if quotas:
            self.quotas.update(quotas)
        self.window_ms = int(window_ms)
        self.max_wait_s = max_wait_s
        self._sleep = sleep

    def default_limit(self, pool: str) -> int:
        return self.quotas.get(pool, 2000)

    def acquire(self, account: str, pool: str, weight: int, max_wait_s: float | None = None) -> int:
        """Book `weight`, waiting for room. Returns the grant time (ms, limiter clock).

        Raises BudgetWaitExceeded if room would come later than `max_wait_s`."""
        budget = self.max_wait_s if max_wait_s is None else max_wait_s
        deadline = time.monotonic() + budget
        while True:
            granted, value = self._try_acquire(account, pool, int(weight))
            if granted:
                return value
            if value < 0:
                raise BudgetWaitExceeded(
                    f"weight {weight} exceeds the whole quota of pool {pool}", code=None, endpoint=None)
            wait_s = value / 1000.0
            if time.monotonic() + wait_s > deadline:
                raise BudgetWaitExceeded(
                    f"rate-limit budget of pool {pool} frees up in {wait_s:.1f}s, more than the allowed "
                    f"{budget:.1f}s", reset_ms=value)
            self._sleep(max(wait_s, 0.001))

    @abc.abstractmethod
    def _try_acquire(self, account: str, pool: str, weight: int) -> tuple[bool, int]:
        """(True, grant_ms) or (False, wait_ms); wait_ms < 0 when the weight can never fit."""

    @abc.abstractmethod
    def observe(self, account: str, pool: str, limit: int, remaining: int, reset_ms: int) -> None:
        """Learn KuCoin's quota and what it has counted so far (gw-ratelimit-* headers)."""

    @abc.abstractmethod
    def exhaust(self, account: str, pool: str, reset_ms: int) -> None:
        """KuCoin answered 429000: nothing more until `reset_ms` from now."""


class _Budget:
    __slots__ = ("expiries", "weights", "used", "limit")

    def __init__(self) -> None:
        self.expiries: list[int] = []  # sorted
        self.weights: list[int] = []
        self.used = 0
        self.limit: int | None = None

    def purge(self, now: int) -> None:
        cut = bisect.bisect_right(self.expiries, now)
        if cut:
            self.used -= sum(self.weights[:cut])
            del self.expiries[:cut]
            del self.weights[:cut]

    def book(self, expires: int, weight: int) -> None:
        i = bisect.bisect_right(self.expiries, expires)
        self.expiries.insert(i, expires)
        self.weights.insert(i, weight)
        self.used += weight

    def hold_until(self, deadline: int, counted: int) -> None:
        """KuCoin counted `counted` in its window that ends at `deadline`: those are our NEWEST grants, up to
        that weight (older ones KuCoin counted in its previous window), and none of them may free up before
        then. The newest are those expiring at or after the deadline, then the ones just before it, which are
        raised to it (the list stays sorted)."""
        first_held = bisect.bisect_left(self.expiries, deadline)
        held = sum(self.weights[first_held:])
        i = first_held - 1
        while i >= 0 and held + self.weights[i] <= counted:
            held += self.weights[i]
            self.expiries[i] = deadline
            i -= 1

    def wait_ms(self, now: int, weight: int, limit: int) -> int:
        excess = self.used + weight - limit
        freed = 0
        for exp, w in zip(self.expiries, self.weights):
            freed += w
            if freed >= excess:
                return max(exp - now, 1)
        return 1


class InProcessRateLimiter(RateLimiter):
    """For one process (tests, scripts, a single worker). Thread-safe."""

    def __init__(self, *args, clock_ms: Callable[[], int] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._budgets: dict[tuple[str, str], _Budget] = {}
        self._now = clock_ms or (lambda: int(time.monotonic() * 1000))

    def _budget(self, account: str, pool: str) -> _Budget:
        return self._budgets.setdefault((account, pool), _Budget())

    def _try_acquire(self, account: str, pool: str, weight: int) -> tuple[bool, int]:
        with self._lock:
            now = self._now()
            b = self._budget(account, pool)
            b.purge(now)
            limit = b.limit if b.limit is not None else self.default_limit(pool)
            if weight > limit:
                return False, -1
            if b.used + weight <= limit:
                b.book(now + self.window_ms, weight)
                return True, now
            return False, b.wait_ms(now, weight, limit)

    def observe(self, account: str, pool: str, limit: int, remaining: int, reset_ms: int) -> None:
        if limit is None or limit <= 0:
            return
        with self._lock:
            now = self._now()
            b = self._budget(account, pool)
            b.purge(now)
            b.limit = int(limit)
            counted = int(limit) - max(int(remaining), 0)
            if reset_ms and reset_ms > 0:
                b.hold_until(now + int(reset_ms), counted)
                if counted > b.used:
                    b.book(now + int(reset_ms), counted - b.used)

    def exhaust(self, account: str, pool: str, reset_ms: int) -> None:
        with self._lock:
            now = self._now()
            b = self._budget(account, pool)
            b.purge(now)
            limit = b.limit if b.limit is not None else self.default_limit(pool)
            b.book(now + max(int(reset_ms), 1), limit)


# KEYS: log (zset: member "seq:weight", score expiry ms), state (hash: used, seq, mark, marked), limit (string)
# Time comes from Redis itself so that every process and machine shares one clock.
# `mark` is the latest KuCoin window end observed and `marked` the weight of the log's entries that expire at
# or after it, kept up to date by every change, so that an observation reads only the entries between its own
# estimate of the window's end and the mark (a few ms of grants; a late answer from KuCoin's previous window
# reads that window's) rather than the whole log on every answer.
_LUA_COMMON = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function weight_of(member)
  return tonumber(string.match(member, ':(%d+)$'))
end
local function weight_between(min, max)
  local sum = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], min, max)) do
    sum = sum + weight_of(m)
  end
  return sum
end
local function mark()
  return tonumber(redis.call('HGET', KEYS[2], 'mark') or '0')
end
local function purge()
  local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  if #gone > 0 then
    local freed = 0
    for _, m in ipairs(gone) do
      freed = freed + weight_of(m)
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
    redis.call('HINCRBY', KEYS[2], 'used', -freed)
  end
  local m = mark()
  if m > 0 and m <= now then
    redis.call('HDEL', KEYS[2], 'mark', 'marked')  -- that window has ended
  end
  return tonumber(redis.call('HGET', KEYS[2], 'used') or '0')
end
local function touch()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
  if last then
    local ttl = math.max(tonumber(last) - now, 1) + 1000
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
local function count_if_marked(expires, weight)
  local m = mark()
  if m > 0 and expires >= m then
    redis.call('HINCRBY', KEYS[2], 'marked', weight)
  end
end
local function book(expires, weight)
  local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
  redis.call('ZADD', KEYS[1], expires, seq .. ':' .. weight)
  redis.call('HINCRBY', KEYS[2], 'used', weight)
  count_if_marked(expires, weight)
  touch()
end
local function current_limit(default)
  return tonumber(redis.call('GET', KEYS[3]) or default)
end
"""

_LUA_OBSERVE_FUNCTION = """
local function observe(limit, remaining, reset)
  redis.call('SET', KEYS[3], limit, 'EX', 86400)
  local used = purge()
  local counted = limit - math.max(remaining, 0)
  if reset > 0 then
    -- KuCoin's window ends at now + reset: the grants it counted in it, our newest ones up to `counted`
    -- (older ones it counted in its previous window), cannot free up earlier. The newest are those that
    -- expire at or after the deadline (weight `held`), then the ones just before it.
    local deadline = now + reset
    local m = mark()
    local held
    if m == 0 then
      held = weight_between(deadline, '+inf')
    elseif deadline <= m then
      held = tonumber(redis.call('HGET', KEYS[2], 'marked')) + weight_between(deadline, '(' .. m)
    else
      held = tonumber(redis.call('HGET', KEYS[2], 'marked')) - weight_between(m, '(' .. deadline)
    end
    if deadline >= m then
      redis.call('HSET', KEYS[2], 'mark', deadline, 'marked', held)
      -- the state goes with the log; with no grant logged nothing else would give it an expiry
      redis.call('PEXPIRE', KEYS[2], math.max(redis.call('PTTL', KEYS[2]), reset + 1000))
    end
    local full = held >= counted
    while not full do
      -- raised members leave the range below the deadline: each page starts from its top again
      local below = redis.call('ZREVRANGEBYSCORE', KEYS[1], '(' .. deadline, '-inf', 'LIMIT', 0, 16)
      full = #below == 0
      for _, member in ipairs(below) do
        local w = weight_of(member)
        if held + w > counted then
          full = true
          break
        end
        held = held + w
        redis.call('ZADD', KEYS[1], deadline, member)
        count_if_marked(deadline, w)
      end
    end
    touch()
    if counted > used then
      book(deadline, counted - used)
    end
  end
  return used
end
"""

# ARGV: weight, default limit, window (ms).
_LUA_ACQUIRE = _LUA_COMMON + """
local weight = tonumber(ARGV[1])
local limit = current_limit(ARGV[2])
local window = tonumber(ARGV[3])
local used = purge()
if weight > limit then return {0, -1} end
if used + weight <= limit then
  book(now + window, weight)
  return {1, now}
end
local excess = used + weight - limit
local freed = 0
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  freed = freed + weight_of(entries[i])
  if freed >= excess then
    return {0, math.max(tonumber(entries[i + 1]) - now, 1)}
  end
end
return {0, 1}
"""

_LUA_OBSERVE = _LUA_COMMON + _LUA_OBSERVE_FUNCTION + """
return observe(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
"""

_LUA_EXHAUST = _LUA_COMMON + """
local limit = current_limit(ARGV[1])
local reset = math.max(tonumber(ARGV[2]), 1)
purge()
book(now + reset, limit)
return limit
"""
class RedisRateLimiter(RateLimiter):
    """Shared by every worker process and machine: one atomic Lua script per decision."""

    def __init__(self, redis_client, *args, prefix: str = "kucoin:rl", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._redis = redis_client
        self._prefix = prefix
        self._acquire = redis_client.register_script(_LUA_ACQUIRE)
        self._observe = redis_client.register_script(_LUA_OBSERVE)
        self._exhaust = redis_client.register_script(_LUA_EXHAUST)

    def _keys(self, account: str, pool: str) -> list[str]:
        # One hash tag per budget keeps the three keys in one Redis Cluster slot.
        base = f"{self._prefix}:{{{account}:{pool}}}"
        return [base + ":log", base + ":state", base + ":limit"]

    def _try_acquire(self, account: str, pool: str, weight: int) -> tuple[bool, int]:
        granted, value = self._acquire(keys=self._keys(account, pool),
                                       args=[weight, self.default_limit(pool), self.window_ms])
        return bool(int(granted)), int(value)

    def observe(self, account: str, pool: str, limit: int, remaining: int, reset_ms: int) -> None:
        if limit is None or limit <= 0:
            return
        self._observe(keys=self._keys(account, pool), args=[int(limit), int(remaining), int(reset_ms or 0)])

    def exhaust(self, account: str, pool: str, reset_ms: int) -> None:
        self._exhaust(keys=self._keys(account, pool), args=[self.default_limit(pool), int(reset_ms)])

    def clear(self, account: str, pool: str) -> None:
        """Forget a budget (tests, admin)."""
        self._redis.delete(*self._keys(account, pool))


class NoRateLimiter(RateLimiter):
    """Sends without waiting; KuCoin's answers are still respected by the transport's retries."""

    def _try_acquire(self, account: str, pool: str, weight: int) -> tuple[bool, int]:
        return True, int(time.time() * 1000)

    def observe(self, account, pool, limit, remaining, reset_ms) -> None:
        pass

    def exhaust(self, account, pool, reset_ms) -> None:
        pass
