"""Page times at broker scale: each staff page's median and 95th percentile over repeated requests, and its
query count, through Django's test client on the benchmarks' own database.

    DATABASE_URL=postgres://... python bench/bench_pages.py [--repeat 21] [--smoke]

Data (bench/generate.py, made once and kept): 100,000 sub-accounts, 1,000,000 orders, 5,000,000 rebate
records, 1,000,000 logged calls. Bounds: sub-account list and call log < 150 ms median, ≤ 10 queries
(issue 5); orders admin and verification page < 150 ms, ≤ 10 queries (issue 6); rebate reports < 200 ms
(issue 7), the reconciliation also ≤ 10 queries; it reads the counts the schedule keeps, recounted over every
day of the generated orders before anything is timed (bench/generate.py `reconciliation_counts`). The
dashboard has no bound of its own in issue 9: it is held to the page time of issues 5 and 6
(not their query count: it reads a dozen sources). Reference: the login page in the same run, the
framework's floor for a rendered page.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.django_env import setup_django  # noqa: E402
from bench.results import Result, add_json_out_argument, write_results  # noqa: E402


@dataclass(frozen=True)
class Bound:
    median_ms: float
    max_queries: int | None
    source: str

    def text(self) -> str:
        queries = f", ≤ {self.max_queries} queries" if self.max_queries is not None else ""
        return f"< {self.median_ms:.0f} ms{queries} ({self.source})"


STAFF_PAGE = Bound(150, 10, "issue 5")
ORDER_PAGE = Bound(150, 10, "issue 6")
REBATE_PAGE = Bound(200, None, "issue 7")
RECONCILIATION_PAGE = Bound(200, 10, "issue 7, with the query count of the other pages")
DASHBOARD = Bound(150, None, "issue 9 names none: the page time of issues 5/6")


def pages(sample_uid: str) -> list[tuple[str, str, Bound, bool]]:
    """(label, url, bound, needs the admin user)."""
    yesterday = date.today() - timedelta(days=1)
    year = f"begin={(yesterday - timedelta(days=364)).isoformat()}&end={yesterday.isoformat()}"
    return [
        ("dashboard (home page)", "/", DASHBOARD, False),
        ("sub-account list", "/subaccounts/", STAFF_PAGE, False),
        ("sub-account list, name search", "/subaccounts/?q=gen-0009", STAFF_PAGE, False),
        ("sub-account list, retired only", "/subaccounts/?state=retired", STAFF_PAGE, False),
        ("call log", "/calls/", STAFF_PAGE, False),
        ("call log, failures only", "/calls/?failures=on", STAFF_PAGE, False),
        ("call log, by code", "/calls/?code=429000", STAFF_PAGE, False),
        ("orders admin", "/admin/trading/order/", ORDER_PAGE, True),
        ("orders admin, untagged spot", "/admin/trading/order/?verification__exact=untagged&market__exact=spot",
         ORDER_PAGE, True),
        ("verification page", "/orders/verification/", ORDER_PAGE, False),
        ("rebate report, default range", "/rebates/", REBATE_PAGE, False),
        ("rebate report, a year per month", f"/rebates/?{year}&period=month", REBATE_PAGE, False),
        ("rebate report, one sub-account, a year per week", f"/rebates/?{year}&period=week&sub_account={sample_uid}",
         REBATE_PAGE, False),
        ("rebate report per sub-account, a year", f"/rebates/sub-accounts/?{year}", REBATE_PAGE, False),
        ("rebate reconciliation, default range", "/rebates/reconciliation/", RECONCILIATION_PAGE, False),
        ("rebate reconciliation, flagged page 20", "/rebates/reconciliation/?page=20", RECONCILIATION_PAGE, False),
        ("rebate reconciliation, one sub-account, a year",
         f"/rebates/reconciliation/?{year}&sub_account={sample_uid}", RECONCILIATION_PAGE, False),
    ]


@dataclass
class Timing:
    median_ms: float
    p95_ms: float
    queries: int
    status: int
    requests: int


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    rank = max(1, -(-len(sorted_values) * int(share * 100) // 100))
    return sorted_values[min(rank, len(sorted_values)) - 1]


MIN_REPEAT = 5
PAGE_BUDGET_S = 15.0  # a slow page stops after MIN_REPEAT requests past this, so that the run stays bounded


def measure(client, url: str, repeat: int) -> Timing:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches, as a page someone just opened
    times = []
    deadline = time.perf_counter() + PAGE_BUDGET_S
    while len(times) < repeat and (len(times) < min(MIN_REPEAT, repeat) or time.perf_counter() < deadline):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:  # counted apart: capturing costs time
        response = client.get(url)
    times.sort()
    return Timing(statistics.median(times), percentile(times, 0.95), len(queries), response.status_code, len(times))


def logged_in_clients():
    """A viewer for the staff pages and a superuser for the admin; made-up users."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    users = get_user_model().objects
    viewer, _ = users.get_or_create(username="bench-viewer", defaults={"is_staff": True})
    viewer.groups.set([Group.objects.get(name="viewer")])
    admin, _ = users.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    clients = []
    for user in (viewer, admin):
        client = Client()
        client.force_login(user)
        clients.append(client)
    return clients


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--smoke", action="store_true", help="a few thousand rows, three requests a page")
    add_json_out_argument(parser)
    args = parser.parse_args(argv)

    # A smoke run has a database of its own, so that it never replaces the data made at full scale.
    vendor = setup_django(database_suffix="_bench_smoke" if args.smoke else "_bench")
    from django.conf import settings
    from django.test import Client

    from bench import generate

    settings.ALLOWED_HOSTS = ["testserver"]
    scale = generate.SMOKE_SCALE if args.smoke else generate.SCALE
    repeat = 3 if args.smoke else args.repeat
    generate.ensure(**scale)
    print(f"data: {', '.join(f'{n:,} {name}' for name, n in scale.items())} ({vendor})")

    floor = measure(Client(), "/login/", repeat)
    print(f"{'reference: login page':48} median {floor.median_ms:7.1f} ms  p95 {floor.p95_ms:7.1f} ms")
    viewer, admin = logged_in_clients()
    sample_uid = str(generate.FIRST_UID + 42)
    results, failures = [], []
    for label, url, bound, needs_admin in pages(sample_uid):
        timing = measure(admin if needs_admin else viewer, url, repeat)
        met = (timing.status == 200 and timing.median_ms < bound.median_ms
               and (bound.max_queries is None or timing.queries <= bound.max_queries))
        print(f"{label:48} median {timing.median_ms:7.1f} ms  p95 {timing.p95_ms:7.1f} ms  "
              f"{timing.queries:2d} queries  HTTP {timing.status}{'' if met else '  NOT MET'}")
        if timing.status != 200:
            failures.append(f"{url}: HTTP {timing.status}")
        results.append(Result(f"page: {label}", round(timing.median_ms, 1), "ms median", round(floor.median_ms, 1),
                              "login page, same run", bound.text(), met,
                              detail=f"p95 {timing.p95_ms:.1f} ms, {timing.queries} queries, "
                                     f"{timing.requests} requests"))
    write_results(args.json_out, results)
    if failures:
        print("pages that did not answer 200: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
