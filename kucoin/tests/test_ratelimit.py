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


def _grants_of_processes(target, procs: int, *args) -> list[tuple]:
    """Every (grant time, weight) of `procs` spawned processes running `target(*args, weights, out)`, by time."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, [1, 3, 2], out)) for _ in range(procs)]
    for p in workers:
        p.start()
    grants = sorted(g for _ in workers for g in out.get(timeout=120))
    for p in workers:
        p.join(timeout=30)
    return grants


def test_redis_shared_by_processes_never_exceeds_quota_in_any_window(redis_client):
    url = os.environ["REDIS_URL"]
    prefix = "test:" + uuid.uuid4().hex
    quota, window_ms, procs, per_proc = 20, 400, 4, 25
    grants = _grants_of_processes(_worker, procs, url, prefix, quota, window_ms, per_proc)
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


# --- Answers told across processes ---------------------------------------------------------------------------

def _observing_process(url, prefix, out):
    import redis
    lim = RedisRateLimiter(redis.Redis.from_url(url), quotas={"spot": 100}, window_ms=60_000, max_wait_s=0,
                           prefix=prefix)
    lim.observe("shared", "spot", 20, 0, 30_000)  # KuCoin: the whole quota of 20 is used
    try:
        lim.acquire("shared", "spot", 1)
        out.put("granted")
    except BudgetWaitExceeded:
        out.put("refused")


def test_redis_an_answer_observed_in_one_process_holds_back_every_process(redis_client):
    """What KuCoin said goes into the shared budget: the observing process and another are refused."""
    url = os.environ["REDIS_URL"]
    prefix = "test:" + uuid.uuid4().hex
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    p = ctx.Process(target=_observing_process, args=(url, prefix, out))
    p.start()
    assert out.get(timeout=120) == "refused"
    p.join(timeout=30)
    here = RedisRateLimiter(redis_client, quotas={"spot": 100}, window_ms=60_000, max_wait_s=0, prefix=prefix)
    with pytest.raises(BudgetWaitExceeded):
        here.acquire("shared", "spot", 1)


def _observing_worker(url, prefix, quota, window_ms, n, weights, out):
    """Like `_worker`, each grant followed by its answer's headers: KuCoin counted that request."""
    import redis
    lim = RedisRateLimiter(redis.Redis.from_url(url), quotas={"broker": 10 * quota}, window_ms=window_ms,
                           max_wait_s=30, prefix=prefix)
    grants = []
    for i in range(n):
        w = weights[i % len(weights)]
        grants.append((lim.acquire("shared", "broker", w), w))
        lim.observe("shared", "broker", quota, quota - w, window_ms // 2)
    out.put(grants)


def test_redis_processes_observing_answers_never_exceed_the_learnt_quota(redis_client):
    url = os.environ["REDIS_URL"]
    prefix = "test:" + uuid.uuid4().hex
    quota, window_ms, procs, per_proc = 20, 400, 4, 25
    grants = _grants_of_processes(_observing_worker, procs, url, prefix, quota, window_ms, per_proc)
    assert len(grants) == procs * per_proc
    learnt = next(i for i, (t, _) in enumerate(grants) if t > grants[0][0])  # after the first answers came
    for i, (t, _) in enumerate(grants[learnt:], start=learnt):
        in_window = sum(w for (u, w) in grants[learnt:i + 1] if u > t - window_ms)
        assert in_window <= quota, f"{in_window} > {quota} in the window ending at {t}"


# --- Observing reads only what changed, whatever the log holds --------------------------------------------

def _hold_reference(expiries, weights, deadline, counted):
    """The former walk over every grant, newest first: the expiries after KuCoin's count is held."""
    out, seen = list(expiries), 0
    for i in range(len(out) - 1, -1, -1):
        if seen + weights[i] > counted:
            break
        seen += weights[i]
        out[i] = max(out[i], deadline)
    return sorted(out)


def test_inprocess_hold_matches_the_walk_over_every_grant():
    import random

    from kucoin.ratelimit import _Budget
    rng = random.Random(7)
    for _ in range(300):
        b = _Budget()
        for _ in range(rng.randrange(0, 40)):
            b.book(rng.randrange(0, 2000), rng.choice([1, 2, 5]))
        deadline, counted = rng.randrange(0, 2500), rng.randrange(0, 150)
        expected = _hold_reference(b.expiries, b.weights, deadline, counted)
        used = b.used
        b.hold_until(deadline, counted)
        assert b.expiries == expected and b.expiries == sorted(b.expiries) and b.used == used


def test_redis_marked_weight_stays_exact_through_grants_observations_and_expiries(redis_client):
    import random
    import time
    prefix = "test:" + uuid.uuid4().hex
    lim = RedisRateLimiter(redis_client, quotas={"spot": 10_000}, window_ms=300, max_wait_s=0, prefix=prefix)
    log, state, _ = lim._keys("a", "spot")
    rng = random.Random(11)
    window_end = time.monotonic() + 0.2
    for step in range(400):
        if time.monotonic() > window_end:
            window_end = time.monotonic() + 0.2  # KuCoin's next window
        reset = int((window_end - time.monotonic()) * 1000) + rng.choice([-3, 0, 2])  # latency moves it a little
        if rng.random() < 0.3:
            lim.observe("a", "spot", 10_000, 10_000 - rng.randrange(0, 60), max(reset, 1))
        else:
            lim.acquire("a", "spot", rng.choice([1, 2, 5]))
        mark = redis_client.hget(state, "mark")
        if mark is not None:
            held = sum(int(m.rsplit(b":", 1)[1]) for m, score in redis_client.zrange(log, 0, -1, withscores=True)
                       if score >= int(mark))
            assert int(redis_client.hget(state, "marked")) == held, f"step {step}"
        if step % 50 == 0:
            time.sleep(0.05)


def test_redis_an_answer_with_nothing_counted_leaves_no_key_without_expiry(redis_client):
    lim = RedisRateLimiter(redis_client, quotas={"spot": 100}, prefix="test:" + uuid.uuid4().hex)
    lim.observe("a", "spot", 100, 100, 5_000)  # KuCoin counted nothing, and nothing is logged here
    log, state, limit = lim._keys("a", "spot")
    assert redis_client.exists(state) and 0 < redis_client.pttl(state) <= 6_000
    assert not redis_client.exists(log) and redis_client.ttl(limit) > 0
