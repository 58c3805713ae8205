"""Rate-limit saturation: a backlog far over one account's quota, sent by several processes that share the
project's limiter (kucoin.ratelimit.RedisRateLimiter, as every worker does through brokeroffice.kucoin_clients).

    REDIS_URL=redis://127.0.0.1:6379/7 python bench/bench_ratelimit.py [--seconds 40] [--callers 4]

Starts ``python -m sandbox`` with a small Broker-pool quota (--quota weight per --window-ms), then --callers
processes call GET /api/v1/broker/nd/account (weight 2) with the broker's key as fast as the limiter lets
them, for --seconds. Figures:

- throughput as a share of the quota, measured over the steady state (the first two windows and the last
  one left out) between two calls at the same place of their windows, so that the windows' bursts do not
  bias it; bound ≥ 0.9;
- 429000 answers seen by the callers (after the client's own retries), which is what a user would see:
  bound 0; and, for information, 429000 answers KuCoin gave at all (retried by the client).

KuCoin's windows are 30 s; the benchmark shortens the window on both sides (sandbox quota and limiter) so
that a run of a minute holds many windows. Without REDIS_URL the callers are threads of one process that
share an InProcessRateLimiter.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from bench.results import Result, add_json_out_argument, write_results

SHARE_BOUND = 0.9
WEIGHT = 2  # GET /api/v1/broker/nd/account, Broker pool


@dataclass
class Tally:
    done_at: list[float] = field(default_factory=list)  # wall-clock end of every successful call
    user_429: int = 0  # RateLimitError raised to the caller
    wire_429: int = 0  # 429000 answers on the wire, retried by the client
    other_errors: list[str] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.done_at += other.done_at
        self.user_429 += other.user_429
        self.wire_429 += other.wire_429
        self.other_errors += other.other_errors


def start_sandbox(quota: int, window_ms: int) -> tuple[subprocess.Popen, dict]:
    big = [q for p in ("spot", "futures", "management", "public") for q in ("--quota", f"{p}=1000000000")]
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", *big, "--quota",
                                f"broker={quota}/{window_ms}"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    return process, json.loads(process.stdout.readline())


def make_limiter(redis_url: str | None, window_ms: int, prefix: str):
    from kucoin.ratelimit import InProcessRateLimiter, RedisRateLimiter

    if redis_url:
        import redis

        return RedisRateLimiter(redis.Redis.from_url(redis_url), window_ms=window_ms, prefix=prefix)
    return InProcessRateLimiter(window_ms=window_ms)


def call_until(info: dict, limiter, until: float) -> Tally:
    """One caller: the broker's sub-account list, page 1, again and again until `until` (wall clock)."""
    from kucoin import Credentials, Hosts, KuCoinClient
    from kucoin.errors import KuCoinError, RateLimitError

    tally = Tally()

    def on_request(record) -> None:
        if record.code == "429000":
            tally.wire_429 += 1

    broker = info["broker"]
    client = KuCoinClient(Credentials(broker["api_key"], broker["api_secret"], broker["api_passphrase"],
                                      credential_id="bench-broker"),
                          hosts=Hosts(**info["urls"]), rate_limiter=limiter, on_request=on_request)
    while time.time() < until:
        try:
            client.broker.get_sub_accounts(page=1, page_size=1)
            tally.done_at.append(time.time())
        except RateLimitError:
            tally.user_429 += 1
        except KuCoinError as exc:
            tally.other_errors.append(f"{type(exc).__name__}: {exc}")
    client.close()
    return tally


def caller_process(info: dict, redis_url: str, window_ms: int, prefix: str, until: float, out) -> None:
    out.put(call_until(info, make_limiter(redis_url, window_ms, prefix), until))


def run_callers(info: dict, callers: int, seconds: float, window_ms: int, redis_url: str | None) -> Tally:
    until = time.time() + seconds
    total = Tally()
    if redis_url:  # separate processes, one budget in Redis: as the workers share it
        prefix = f"bench:rl:{os.getpid()}"
        queue = mp.Queue()
        processes = [mp.Process(target=caller_process, args=(info, redis_url, window_ms, prefix, until, queue))
                     for _ in range(callers)]
        for process in processes:
            process.start()
        for _ in processes:
            total.merge(queue.get(timeout=seconds + 120))
        for process in processes:
            process.join(timeout=30)
    else:
        limiter = make_limiter(None, window_ms, "")
        tallies: list[Tally] = []
        threads = [threading.Thread(target=lambda: tallies.append(call_until(info, limiter, until)))
                   for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for tally in tallies:
            total.merge(tally)
    total.done_at.sort()
    return total


def steady_rate(done_at: list[float], calls_per_window: int, window_s: float) -> float | None:
    """Calls per second between two calls the same number of whole windows' worth of calls apart, inside
    the steady state (after two windows, before the last one); None when the run is too short."""
    if not done_at:
        return None
    start, end = done_at[0] + 2 * window_s, done_at[-1] - window_s
    first = next((i for i, t in enumerate(done_at) if t >= start), None)
    if first is None:
        return None
    last = first
    while last + calls_per_window < len(done_at) and done_at[last + calls_per_window] <= end:
        last += calls_per_window
    if last == first or done_at[last] <= done_at[first]:
        return None
    return (last - first) / (done_at[last] - done_at[first])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--callers", type=int, default=4)
    parser.add_argument("--quota", type=int, default=400, help="Broker-pool weight per window (KuCoin: 2000)")
    parser.add_argument("--window-ms", type=int, default=2000, help="the window (KuCoin: 30000)")
    add_json_out_argument(parser)
    args = parser.parse_args(argv)

    redis_url = os.environ.get("REDIS_URL") or None
    window_s = args.window_ms / 1000
    quota_rate = args.quota / window_s  # weight per second
    sandbox, info = start_sandbox(args.quota, args.window_ms)
    try:
        tally = run_callers(info, args.callers, args.seconds, args.window_ms, redis_url)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    rate = steady_rate(tally.done_at, args.quota // WEIGHT, window_s)
    share = (rate * WEIGHT / quota_rate) if rate else 0.0
    how = f"{args.callers} processes sharing Redis" if redis_url else f"{args.callers} threads, in-process limiter"
    print(f"quota {args.quota} weight / {window_s:g} s = {quota_rate:.0f} weight/s; {how}; {args.seconds:g} s")
    print(f"calls done: {len(tally.done_at):,}; steady throughput {rate or 0:.1f} calls/s = "
          f"{(rate or 0) * WEIGHT:.0f} weight/s: share of the quota {share:.3f} (bound ≥ {SHARE_BOUND})")
    print(f"429000 seen by callers: {tally.user_429} (bound 0); 429000 answers on the wire, retried: {tally.wire_429}; "
          f"other errors: {len(tally.other_errors)}")
    for error in tally.other_errors[:5]:
        print("  " + error)
    steady = round(rate * WEIGHT, 1) if rate else 0.0
    write_results(args.json_out, [
        Result("rate limit: throughput under a backlog far over one account's quota", steady, "weight/s",
               round(quota_rate, 1), f"the quota ({args.quota} per {window_s:g} s)", f"≥ {SHARE_BOUND}× quota",
               share >= SHARE_BOUND, detail=f"{how}; {len(tally.done_at):,} calls"),
        Result("rate limit: 429000 answers seen by callers", tally.user_429, "answers", bound="0",
               met=tally.user_429 == 0, detail=f"{tally.wire_429} on the wire, retried by the client"),
    ])
    return 0 if rate else 1


if __name__ == "__main__":
    sys.exit(main())
