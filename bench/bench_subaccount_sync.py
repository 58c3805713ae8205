"""Sub-account sync at scale: syncing N sub-accounts from the sandbox (every page, bulk upserts into the
database) against the bare time of the same paged calls with no database at all. Bound: at most 10% more."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.django_env import ROOT, setup_django  # noqa: E402
from bench.results import Result, add_json_out_argument, write_results  # noqa: E402

BOUND = 1.10


def start_sandbox() -> tuple[subprocess.Popen, dict]:
    quotas = [q for p in ("spot", "futures", "management", "public", "broker") for q in ("--quota", f"{p}=1000000000")]
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", *quotas], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return process, json.loads(process.stdout.readline())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sub-accounts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_json_out_argument(parser)
    args = parser.parse_args(argv)

    sandbox, info = start_sandbox()
    try:
        from brokeroffice.sandbox_env import sandbox_environment

        os.environ.update(sandbox_environment(info))
        # A database of its own: it empties the sub-accounts table, which the page benchmarks fill at scale.
        vendor = setup_django(database_suffix="_bench_sync")
        from accounts.clients import broker_client
        from accounts.models import SubAccount
        from accounts.services.subaccounts import SYNC_PAGE_SIZE, subaccounts_sync
        from kucoin import Credentials, Hosts, KuCoinClient
        from kucoin.ratelimit import NoRateLimiter

        broker = info["broker"]
        seeding = KuCoinClient(Credentials(broker["api_key"], broker["api_secret"], broker["api_passphrase"]),
                               hosts=Hosts(**info["urls"]), rate_limiter=NoRateLimiter())
        existing = seeding.broker.get_sub_accounts(page=1, page_size=1).total_num
        started = time.perf_counter()
        for n in range(max(0, args.sub_accounts - existing)):
            seeding.broker.add_sub_account(f"bench{n:07d}")
        total = seeding.broker.get_sub_accounts(page=1, page_size=1).total_num
        print(f"sandbox holds {total:,} sub-accounts (seeded in {time.perf_counter() - started:.1f}s); database: {vendor}")

        class Quiet:
            def progress(self, *a, **k): pass
            def succeed(self, *a, **k): pass

        bare_times, sync_times = [], []
        for _ in range(args.repeat):
            client = broker_client()
            started = time.perf_counter()
            count = sum(1 for _ in client.broker.iter_sub_accounts(page_size=SYNC_PAGE_SIZE))
            bare_times.append(time.perf_counter() - started)
            SubAccount.objects.all().delete()
            started = time.perf_counter()
            synced = subaccounts_sync(run=Quiet())
            sync_times.append(time.perf_counter() - started)
            assert synced == count == SubAccount.objects.count() == total
        bare, sync = sorted(bare_times)[len(bare_times) // 2], sorted(sync_times)[len(sync_times) // 2]
        pages = -(-total // SYNC_PAGE_SIZE)
        print(f"{pages} paged calls alone: {bare:.2f}s; sync into the database: {sync:.2f}s; "
              f"ratio {sync / bare:.2f} (bound {BOUND}) — medians of {args.repeat}")
        write_results(args.json_out, [Result(f"sub-account sync of {total:,} ({pages} pages)", sync, "s", bare,
                                             "the paged calls alone", f"≤ {BOUND}× reference", sync / bare <= BOUND)])
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
