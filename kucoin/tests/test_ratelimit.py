"""Rate limiters: in-process and Redis (several processes sharing one budget)."""
import multiprocessing
import os
import uuid

import pytest

from kucoin.errors import BudgetWaitExceeded, RateLimitError
from kucoin.ratelimit import InProcessRateLimiter, RedisRateLimiter


class ManualClock:
    def __init__(self):
        self.now = 1_000_000

    def __call__(self):
        return self.now


def _limiter(**kw):
    clock = ManualClock()
    slept = []

    def sleep(s):
        slept.append(s)
        clock.now += int(s * 1000) + 1

    lim = InProcessRateLimiter(quotas={"spot": 10}, window_ms=1000, sleep=sleep, clock_ms=clock, **kw)
    return lim, clock, slept


def test_inprocess_grants_until_quota_then_waits_for_oldest_to_expire():
    lim, clock, slept = _limiter()
    for _ in range(5):
        lim.acquire("a", "spot", 2)
    assert slept == []
    clock.now += 300
    lim.acquire("a", "spot", 2)  # must wait for the first grant to leave the window
    assert slept and 0.69 <= slept[0] <= 0.71


def test_budgets_are_per_account_and_pool():
    lim, clock, slept = _limiter()
    lim.acquire("a", "spot", 10)
    lim.acquire("b", "spot", 10)
    lim.acquire("a", "futures", 10)
    assert slept == []


def test_weight_larger_than_quota_is_refused():
    lim, _, _ = _limiter()
    with pytest.raises(BudgetWaitExceeded):
        lim.acquire("a", "spot", 11)


def test_max_wait_exceeded_raises_rate_limit_family():
    lim, _, slept = _limiter(max_wait_s=0.1)
    lim.acquire("a", "spot", 10)
    with pytest.raises(RateLimitError):
        lim.acquire("a", "spot", 1)
    assert slept == []


def test_observe_learns_quota_and_kucoin_count():
    lim, clock, slept = _limiter()
    lim.observe("a", "spot", limit=4, remaining=1, reset_ms=500)  # KuCoin counted 3 of 4
    lim.acquire("a", "spot", 1)
    assert slept == []
    lim.acquire("a", "spot", 1)  # nothing left until KuCoin's reset
    assert slept and 0.49 <= slept[0] <= 0.51


def test_exhaust_empties_budget_until_reset():
    lim, clock, slept = _limiter()
    lim.exhaust("a", "spot", 2500)
    lim.acquire("a", "spot", 1)
    assert 2.49 <= sum(slept) <= 2.6


# --- Redis ---------------------------------------------------------------------------------------

def test_redis_basic(redis_client):
    lim = RedisRateLimiter(redis_client, quotas={"spot": 5}, window_ms=60_000, max_wait_s=0,
                           prefix="test:" + uuid.uuid4().hex)
    for _ in range(5):
        lim.acquire("acct", "spot", 1)
    with pytest.raises(BudgetWaitExceeded):
        lim.acquire("acct", "spot", 1)
    lim.acquire("other", "spot", 5)


def test_redis_observe_and_exhaust(redis_client):
    lim = RedisRateLimiter(redis_client, quotas={"spot": 100}, window_ms=60_000, max_wait_s=0,
                           prefix="test:" + uuid.uuid4().hex)
    lim.observe("acct", "spot", limit=10, remaining=7, reset_ms=30_000)
    lim.acquire("acct", "spot", 7)  # 3 counted by KuCoin + 7 = the learned quota of 10
    with pytest.raises(BudgetWaitExceeded):
        lim.acquire("acct", "spot", 1)
    lim.exhaust("b", "spot", 30_000)
    with pytest.raises(BudgetWaitExceeded):
        lim.acquire("b", "spot", 1)


def test_redis_keys_never_hold_the_api_key(redis_client):
    from kucoin import Credentials
    c = Credentials("TEST-APIKEY-0001", "s", "p")
    prefix = "test:" + uuid.uuid4().hex
    lim = RedisRateLimiter(redis_client, prefix=prefix)
    lim.acquire(c.account_key, "spot", 1)
    keys = [k.decode() for k in redis_client.keys(prefix + "*")]
    assert keys and not any("TEST-APIKEY-0001" in k for k in keys)


def _worker(url, prefix, quota, window_ms, n, weights, out):
    import redis
    lim = RedisRateLimiter(redis.Redis.from_url(url), quotas={"broker": quota}, window_ms=window_ms,
                           max_wait_s=30, prefix=prefix)
    grants = []
    for i in range(n):
        w = weights[i % len(weights)]
        grants.append((lim.acquire("shared", "broker", w), w))
    out.put(grants)


def test_redis_shared_by_processes_never_exceeds_quota_in_any_window(redis_client):
    url = os.environ["REDIS_URL"]
    prefix = "test:" + uuid.uuid4().hex
    quota, window_ms, procs, per_proc = 20, 400, 4, 25
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(url, prefix, quota, window_ms, per_proc, [1, 3, 2], out))
               for _ in range(procs)]
    for p in workers:
        p.start()
    grants = sorted(g for _ in workers for g in out.get(timeout=120))
    for p in workers:
        p.join(timeout=30)
    assert len(grants) == procs * per_proc  # everyone got through, by waiting
    # Grant times come from Redis's clock (one clock for all processes). A grant holds its weight
    # for one window: in every window (t - window, t], the sum of weights must stay within quota.
    for i, (t, _) in enumerate(grants):
        in_window = sum(w for (u, w) in grants[:i + 1] if u > t - window_ms)
        assert in_window <= quota, f"{in_window} > {quota} in the window ending at {t}"
    # And the budget was really used: the run had to span several windows.
    assert grants[-1][0] - grants[0][0] >= window_ms * (sum(w for _, w in grants) // quota - 1)


def _burst_worker(url, prefix, out):
    import redis
    lim = RedisRateLimiter(redis.Redis.from_url(url), quotas={"spot": 50}, window_ms=600_000, max_wait_s=0,
                           prefix=prefix)
    got = 0
    for _ in range(100):
        try:
            lim.acquire("shared", "spot", 1)
            got += 1
        except BudgetWaitExceeded:
            pass
    out.put(got)


def test_redis_burst_from_processes_grants_exactly_quota(redis_client):
    url = os.environ["REDIS_URL"]
    prefix = "test:" + uuid.uuid4().hex
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    ps = [ctx.Process(target=_burst_worker, args=(url, prefix, out)) for _ in range(4)]
    for p in ps:
        p.start()
    total = sum(out.get(timeout=120) for _ in ps)
    for p in ps:
        p.join(timeout=30)
    assert total == 50


def test_observe_holds_counted_grants_until_kucoins_reset():
    lim, clock, slept = _limiter()
    for _ in range(5):
        lim.acquire("a", "spot", 2)  # our grants would free up at +1000 ms
    clock.now += 100
    lim.observe("a", "spot", limit=10, remaining=0, reset_ms=1500)  # KuCoin: window ends in 1.5 s
    clock.now += 950  # past our own expiry, before KuCoin's reset
    lim.acquire("a", "spot", 2)
    assert slept and 0.54 <= slept[0] <= 0.56


def test_redis_observe_holds_counted_grants(redis_client):
    lim = RedisRateLimiter(redis_client, quotas={"spot": 4}, window_ms=200, max_wait_s=0,
                           prefix="test:" + uuid.uuid4().hex)
    lim.acquire("a", "spot", 4)
    lim.observe("a", "spot", limit=4, remaining=0, reset_ms=60_000)
    import time
    time.sleep(0.3)  # our own entry has expired, KuCoin's window has not
    with pytest.raises(BudgetWaitExceeded):
        lim.acquire("a", "spot", 1)


# --- What KuCoin counted: our newest grants, not the previous window's -----------------------------

def test_observe_holds_the_newest_grants_kucoin_counted_not_those_of_its_previous_window():
    """A saturated account: KuCoin's window 2 counts only the newest grant, so the grant of window 1 frees up
    on its own time (holding it until KuCoin's reset would halve the throughput)."""
    lim, clock, slept = _limiter(max_wait_s=0)
    lim.quotas["spot"] = 4
    start = clock.now
    for at in (0, 100):  # KuCoin's window 1 counts both
        clock.now = start + at
        lim.acquire("a", "spot", 2)
    clock.now = start + 1050  # KuCoin's window 2 began at +1000; our grant of +0 has expired, that of +100 not
    lim.acquire("a", "spot", 2)
    lim.observe("a", "spot", limit=4, remaining=2, reset_ms=950)  # KuCoin: 2 counted in window 2
    clock.now = start + 1120  # the grant of +100 (window 1) has expired: room for one more call in window 2
    lim.acquire("a", "spot", 2)
    with pytest.raises(BudgetWaitExceeded):  # and no more: window 2 is full
        lim.acquire("a", "spot", 2)
    assert slept == []


def test_observe_holds_a_newest_grant_that_kucoin_counted_after_its_window_turned():
    """A call granted just before KuCoin's window turned but counted in the new one (it was on the way):
    it must not free up before KuCoin's reset, while the older grant frees up on its own time."""
    lim, clock, slept = _limiter(max_wait_s=0)
    lim.quotas["spot"] = 4
    start = clock.now
    lim.acquire("a", "spot", 2)  # +0, in KuCoin's previous window
    clock.now = start + 900
    lim.acquire("a", "spot", 2)  # +900, reaches KuCoin after its window turned at +950
    clock.now = start + 960
    lim.observe("a", "spot", limit=4, remaining=2, reset_ms=990)  # KuCoin's window ends at +1950
    clock.now = start + 1920  # our own expiry of the +900 grant (+1900) has passed, KuCoin's reset has not
    lim.acquire("a", "spot", 2)
    with pytest.raises(BudgetWaitExceeded) as refused:
        lim.acquire("a", "spot", 2)
    assert 25 <= refused.value.reset_ms <= 35  # the held grant frees up at KuCoin's reset (+1950)
    assert slept == []


def test_redis_observe_holds_the_newest_grants_kucoin_counted(redis_client):
    import time
    prefix = "test:" + uuid.uuid4().hex
    lim = RedisRateLimiter(redis_client, quotas={"spot": 10}, window_ms=10_000, max_wait_s=0, prefix=prefix)
    for _ in range(3):
        lim.acquire("a", "spot", 2)
        time.sleep(0.01)  # distinct expiries: oldest to newest
    log = lim._keys("a", "spot")[0]
    before = redis_client.zrange(log, 0, -1, withscores=True)
    assert [m for m, _ in before] == [b"1:2", b"2:2", b"3:2"]
    lim.observe("a", "spot", limit=10, remaining=6, reset_ms=30_000)  # KuCoin counted 4: our two newest
    after = dict(redis_client.zrange(log, 0, -1, withscores=True))
    assert after[b"1:2"] == dict(before)[b"1:2"]  # the oldest keeps its own expiry
    assert after[b"2:2"] == after[b"3:2"] >= dict(before)[b"3:2"] + 19_000  # held until KuCoin's reset
    assert int(redis_client.hget(lim._keys("a", "spot")[1], "used")) == 6  # nothing booked twice
