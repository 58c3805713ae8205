"""Page times at broker scale: each page's median and 95th percentile over repeated requests, and its
query count. Bounds (issue 5): the sub-account list and the call log with 100,000 sub-accounts and
1,000,000 logged calls in PostgreSQL answer in under 150 ms at the median with at most 10 queries."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.django_env import setup_django  # noqa: E402
from bench.results import Result, add_json_out_argument, write_results  # noqa: E402

MEDIAN_BOUND_MS = 150
MAX_QUERIES = 10

PAGES = [
    ("sub-account list", "/subaccounts/"),
    ("sub-account list, name search", "/subaccounts/?q=gen-0009"),
    ("sub-account list, retired only", "/subaccounts/?state=retired"),
    ("call log", "/calls/"),
    ("call log, failures only", "/calls/?failures=on"),
    ("call log, by code", "/calls/?code=429000"),
]


def measure(client, url: str, repeat: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches, as a page someone just opened
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], len(queries), response.status_code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sub-accounts", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="a thousand rows each, five requests a page")
    add_json_out_argument(parser)
    args = parser.parse_args(argv)
    if args.smoke:
        args.sub_accounts, args.calls, args.repeat = 1000, 5000, 5

    vendor = setup_django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from bench import generate

    started = time.perf_counter()
    generate.sub_accounts(args.sub_accounts)
    generate.kucoin_calls(args.calls)
    print(f"generated {args.sub_accounts:,} sub-accounts and {args.calls:,} calls in {time.perf_counter() - started:.1f}s ({vendor})")

    user, _ = get_user_model().objects.get_or_create(username="bench-viewer", defaults={"is_staff": True})
    user.groups.set([Group.objects.get(name="viewer")])
    client = Client()
    client.force_login(user)

    results = []
    for name, url in PAGES:
        median, p95, queries, status = measure(client, url, args.repeat)
        met = status == 200 and median < MEDIAN_BOUND_MS and queries <= MAX_QUERIES
        print(f"{name:34} median {median:7.1f} ms  p95 {p95:7.1f} ms  {queries:2d} queries  HTTP {status}")
        results.append(Result(f"page: {name} ({queries} queries)", median, "ms median", None, "",
                              f"< {MEDIAN_BOUND_MS} ms, ≤ {MAX_QUERIES} queries", met))
    write_results(args.json_out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
