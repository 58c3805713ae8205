"""Orders placed and verified per second: the Celery pipeline against the bare client, on the same sandbox.

    python bench/bench_orders.py --orders N [--workers 2]
    REDIS_URL=redis://localhost:6379/15 DATABASE_URL=postgres:///bench_trading python bench/bench_orders.py --orders 1000

Starts ``python -m sandbox`` as a subprocess (quotas out of the way), then measures:

1. bare: the kucoin client in a loop, one sub-account key with the broker headers: place an order, get it
   back (the tag), N times, on a mix of spot and futures orders that do not rest (IOC, FOK, market);
2. pipeline: the back-office as it runs in production: `orders_place_batch` writes each batch of orders
   (``--batch``, default 100) and its job and queues one task per chunk of 25; two Celery worker processes on
   Redis send each order, fetch it, and record state and tag. ``--batch 1`` places them one by one with
   `order_place` (one job and one task per order, as the order form does). The clock runs from the first order
   written until every order is placed and verified.

Prints both rates and the ratio pipeline / bare (the issue's floor is 0.5), and the CPU time each side spent per
order (Linux): the bare loop's process and the sandbox; the worker processes together, the sandbox and the
workers' PostgreSQL connections (n/a when they did not last the run). The machine is shared by all of these, so
compare the two sides within one run: with ``--rounds N`` they are measured one after the other N times and the
round of the median ratio is reported (a single round varies by about ±0.08 on a shared 2-core machine). The
pipeline needs REDIS_URL (its
tasks go to a queue of the run's own, so other workers on the same Redis never take them); without it that part
is skipped with a message. The database is DATABASE_URL when given (migrated, rows
added), otherwise a throw-away SQLite file.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal as D

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

FLOOR = 0.5
MIX = [
    dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=D("30000"), size=D("0.001"),
         time_in_force="IOC"),
    dict(market="spot", symbol="BTC-USDT", side="sell", type="limit", price=D("90000"), size=D("0.0001"),
         time_in_force="FOK"),
    dict(market="futures", symbol="XBTUSDTM", side="buy", type="limit", price=D("30000"), size=D("1"), leverage=10,
         time_in_force="IOC"),
    dict(market="spot", symbol="KCS-USDT", side="buy", type="market", funds=D("1")),
]


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU time each process has used so far (Linux /proc; a process gone is left out)."""
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def per_order_ms(before: dict[int, float], after: dict[int, float], n: int) -> str:
    """The CPU the processes used between the two readings, per order."""
    common = before.keys() & after.keys()
    if not common:
        return "n/a"
    return f"{sum(after[pid] - before[pid] for pid in common) * 1000 / n:.2f} ms"


def start_sandbox():
    quotas = [q for p in ("spot", "futures", "management", "public", "broker") for q in ("--quota", f"{p}=1000000000")]
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", *quotas], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline())


def control(info: dict, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(info["control"] + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        payload = json.loads(resp.read())
    return payload.get("data", payload)


def customer(state: dict) -> dict:
    """A seeded sub-account key with no IP whitelist and both permissions (funds in TRADE and CONTRACT)."""
    broker_uid = state["accounts"]["brokerUid"]
    subs = {a["uid"]: a["name"] for a in state["accounts"]["accounts"] if a["broker_uid"] == broker_uid}
    contract = {b["uid"] for b in state["balances"] if b["accountType"] == "CONTRACT" and D(b["balance"]) >= 100}
    for key in state["accounts"]["keys"]:
        if (key["uid"] in subs and key["uid"] in contract and not key["ip_whitelist"]
                and {"Spot", "Futures"} <= set(key["permissions"])):
            return {**key, "name": subs[key["uid"]]}
    raise SystemExit("no usable seeded key in the sandbox")


def bare(info: dict, key: dict, n: int, sandbox_pid: int) -> tuple[float, str, str]:
    """Orders per second, and the CPU per order of this process and of the sandbox."""
    from kucoin import Credentials, Hosts, KuCoinClient, PartnerCredentials

    b = info["broker"]
    spot = PartnerCredentials(partner=b["partner"], broker_key=b["broker_key"], broker_name=b["broker_name"])
    futures = (PartnerCredentials(partner=b["futures_partner"], broker_key=b["futures_broker_key"],
                                  broker_name=b["broker_name"]) if b.get("futures_partner") else spot)
    urls = info["urls"]
    client = KuCoinClient(Credentials(api_key=key["api_key"], api_secret=key["secret"],
                                      api_passphrase=key["passphrase"], key_version=str(b.get("key_version", "2"))),
                          hosts=Hosts(spot=urls["spot"], futures=urls["futures"], broker=urls["broker"],
                                      oauth=urls["oauth"]), spot_partner=spot, futures_partner=futures)
    client.sync_clock()
    tagged = 0
    sandbox_cpu = cpu_seconds([sandbox_pid])
    cpu = {os.getpid(): time.process_time()}
    t0 = time.perf_counter()
    for i in range(n):
        p = dict(MIX[i % len(MIX)])
        market = p.pop("market")
        oid = f"bare{i:08d}"
        if market == "spot":
            ref = client.spot.place_order(client_oid=oid, **p)
            got = client.spot.get_order(ref.order_id, p["symbol"])
        else:
            p["size"] = int(p["size"])
            ref = client.futures.place_order(client_oid=oid, **p)
            got = client.futures.get_order(ref.order_id)
        tagged += got.is_tagged
    elapsed = time.perf_counter() - t0
    client_cpu = per_order_ms(cpu, {os.getpid(): time.process_time()}, n)
    sandbox_cpu = per_order_ms(sandbox_cpu, cpu_seconds([sandbox_pid]), n)
    client.close()
    if tagged != n:
        print(f"  warning: {n - tagged} of the bare orders were not tagged")
    return n / elapsed, client_cpu, sandbox_cpu


def django_env(info: dict, database_url: str, redis_url: str) -> dict:
    from cryptography.fernet import Fernet

    from brokeroffice.sandbox_env import sandbox_environment

    env = dict(os.environ)
    env.update(sandbox_environment(info))
    env.update({
        "DJANGO_SETTINGS_MODULE": "brokeroffice.settings", "ENV_FILE": os.devnull,
        "SECRET_KEY": "bench-only-secret-key-made-up-0123456789abcdefghijklmnop",
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or Fernet.generate_key().decode(),
        "DEBUG": "false", "SECURE_SSL_REDIRECT": "false", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    })
    return env


WORKER_BOOT = """
import os, sys
from brokeroffice.celery import app
queue = os.environ["BENCH_ORDERS_QUEUE"]
app.conf.task_routes = [{"trading.*": {"queue": queue}}]
app.worker_main(sys.argv[1:])
"""


def start_worker(env: dict, name: str, queue: str) -> subprocess.Popen:
    """A solo worker consuming only this run's own queue (other workers on the same Redis never see its tasks)."""
    cmd = [sys.executable, "-c", WORKER_BOOT, "worker", "--loglevel", os.environ.get("BENCH_LOGLEVEL", "WARNING"),
           "--pool", "solo", "--without-heartbeat", "--without-mingle", "--without-gossip",
           "--hostname", f"{name}@%h", "--queues", queue]
    log = open(os.path.join(tempfile.gettempdir(), f"bench-orders-{name}.log"), "w")
    return subprocess.Popen(cmd, cwd=ROOT, env={**env, "BENCH_ORDERS_QUEUE": queue}, stdout=log,
                            stderr=subprocess.STDOUT)


def database_backends() -> list[int]:
    """The process ids of the other connections to this PostgreSQL database (the workers', once warm)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                       "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
        return [pid for (pid,) in cursor.fetchall()]


def warm_up(api_key, workers: int, procs: list) -> None:
    """A few orders before the clock starts, one task per worker process at least, as the bare client syncs its
    clock before its loop: long-running workers have their database connection, KuCoin client and clock offset."""
    from trading.models import Order
    from trading.services.batches import orders_place_batch

    orders, _ = orders_place_batch(orders=[{"api_key": api_key, **MIX[i % len(MIX)]} for i in range(4 * workers)],
                                   chunk_size=1)
    deadline = time.monotonic() + 60
    while Order.objects.filter(pk__in=[o.pk for o in orders], state__in=Order.SENDING_STATES).exists():
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit("the workers did not warm up")
        time.sleep(0.05)


def pipeline(info: dict, key: dict, n: int, workers: int, redis_url: str, database_url: str, batch: int,
             sandbox_pid: int) -> tuple[float, str, str, str]:
    """Orders per second, and the CPU per order of the worker processes (together), of the sandbox and of the
    workers' database connections (PostgreSQL on this machine)."""
    env = django_env(info, database_url, redis_url)
    os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONUNBUFFERED",)})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    from brokeroffice.celery import app

    queue = f"bench-orders-{os.getpid()}"
    app.conf.task_routes = [{"trading.*": {"queue": queue}}]  # this run's tasks go to its own workers only

    from accounts.models import SubAccount, SubAccountApiKey
    from trading.models import Order
    from trading.services.batches import orders_place_batch
    from trading.services.orders import order_place

    sub, _ = SubAccount.objects.update_or_create(uid=key["uid"], defaults={"account_name": key["name"],
                                                                         "state": SubAccount.State.ACTIVE})
    fields = {"sub_account": sub, "label": key["label"], "permissions": key["permissions"], "secret": key["secret"],
              "passphrase": key["passphrase"], "api_version": 3, "source": SubAccountApiKey.Source.IMPORTED,
              "state": SubAccountApiKey.State.ACTIVE}
    # update() writes the secret without reading the old one (an earlier run encrypted it with another key).
    if not SubAccountApiKey.objects.filter(api_key=key["api_key"]).update(**fields):
        SubAccountApiKey.objects.create(api_key=key["api_key"], **fields)
    api_key = SubAccountApiKey.objects.get(api_key=key["api_key"])
    # Earlier runs' orders were placed at an earlier sandbox, which hands out the same order ids again.
    Order.objects.filter(sub_account=sub).delete()
    client = redis.Redis.from_url(redis_url)
    for name in client.scan_iter(f"kucoin:rl:{{apikey:{api_key.pk}:*"):  # budgets an earlier run spent
        client.delete(name)
    procs = [start_worker(env, f"bench{i}-{os.getpid()}", queue) for i in range(workers)]
    try:
        time.sleep(4)  # the workers start (imports, broker connection)
        warm_up(api_key, workers, procs)
        first_pk = (Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        backends = database_backends()
        worker_cpu = cpu_seconds([p.pid for p in procs])
        sandbox_cpu = cpu_seconds([sandbox_pid])
        database_cpu = cpu_seconds(backends)
        t0 = time.perf_counter()
        if batch <= 1:
            for i in range(n):
                order_place(api_key=api_key, **MIX[i % len(MIX)])
        for start in range(0, n if batch > 1 else 0, batch):
            orders_place_batch(orders=[{"api_key": api_key, **MIX[i % len(MIX)]}
                                       for i in range(start, min(n, start + batch))])
        ours = Order.objects.filter(pk__gt=first_pk)
        deadline = time.monotonic() + max(120, n)
        while True:
            waiting = ours.filter(state__in=Order.SENDING_STATES).count() + ours.filter(
                state__in=Order.AT_KUCOIN_STATES, verification=Order.Verification.UNVERIFIED).count()
            if not waiting:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"pipeline stalled with {waiting} orders unfinished (worker logs in "
                                 f"{tempfile.gettempdir()}/bench-orders-*.log)")
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        worker_cpu = per_order_ms(worker_cpu, cpu_seconds([p.pid for p in procs]), n)
        sandbox_cpu = per_order_ms(sandbox_cpu, cpu_seconds([sandbox_pid]), n)
        database_cpu = per_order_ms(database_cpu, cpu_seconds(backends), n)
        tagged = ours.filter(verification=Order.Verification.TAGGED).count()
        rejected = ours.filter(state__in=(Order.State.REJECTED, Order.State.FAILED)).count()
        if tagged != n or rejected:
            print(f"  warning: {tagged} of {n} pipeline orders tagged, {rejected} rejected or failed")
        return n / elapsed, worker_cpu, sandbox_cpu, database_cpu
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


PAGES = ("/admin/trading/order/", "/admin/trading/order/?verification__exact=untagged&market__exact=spot",
         "/orders/", "/orders/?verification=untagged", "/orders/verification/")


def pages(rows: int, database_url: str, repeat: int = 15) -> list[tuple[str, float, int]]:
    """The order list pages with `rows` orders in PostgreSQL: median time and queries of each."""

    os.environ.update({k: v for k, v in django_env({"urls": {k: "http://127.0.0.1:9" for k in
                                                             ("spot", "futures", "broker", "oauth")},
                                                    "broker": {"api_key": "x", "api_secret": "x",
                                                               "api_passphrase": "x", "broker_name": "x",
                                                               "partner": "x", "broker_key": "x"}},
                                                   database_url, "").items() if k != "PYTHONUNBUFFERED"})
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    if connection.vendor != "postgresql":
        raise SystemExit("--pages needs a PostgreSQL DATABASE_URL")
    call_command("migrate", verbosity=0)
    from accounts.models import SubAccount
    from trading.models import Order

    have = Order.objects.count()
    if have < rows:
        subs = SubAccount.objects.bulk_create([SubAccount(account_name=f"bench-orders-{os.getpid()}-{i}",
                                                          uid=f"8{os.getpid():07d}{i:03d}", state="active")
                                               for i in range(200)])
        low, high = min(s.pk for s in subs), max(s.pk for s in subs)
        with connection.cursor() as cursor:
            cursor.execute(f"""
                INSERT INTO trading_order (error_code, error_message, client_oid, market, sub_account_id, purpose,
                  symbol, side, type, price, size, time_in_force, post_only, hidden, iceberg, stp, remark,
                  margin_mode, reduce_only, close_order, force_hold, stop, stop_price_type, state, kucoin_order_id,
                  fee_currency, tags, verification, verified_at, created_at, updated_at)
                SELECT '', '', 'bench' || md5(random()::text || i::text), CASE WHEN i %% 6 >= 3 THEN 'futures' ELSE 'spot' END,
                  {low} + (i %% ({high} - {low} + 1)), 'trade',
                  (ARRAY['BTC-USDT','ETH-USDT','KCS-USDT','XBTUSDTM','ETHUSDTM','SOLUSDTM'])[1 + i %% 6], 'buy', 'limit',
                  30000, 0.001, '', false, false, false, '', '', '', false, false, false, '', '',
                  (ARRAY['open','filled','cancelled'])[1 + i %% 3], 'k' || i, 'USDT',
                  CASE WHEN i %% 97 = 0 THEN '' ELSE 'partner:bench' END,
                  CASE WHEN i %% 97 = 0 THEN 'untagged' WHEN i %% 50 = 0 THEN 'unverified' ELSE 'tagged' END,
                  now(), now() - ((%s - i) * interval '2 seconds'), now()
                FROM generate_series(1, %s) AS i""", [rows - have, rows - have])
            cursor.execute("ANALYZE trading_order")
    from trading.services.shares import tag_share_refresh

    t0 = time.perf_counter()
    tag_share_refresh()  # what the schedule does every few minutes
    print(f"(scheduled recount of the tagged share: {time.perf_counter() - t0:.2f} s)")
    user, _ = get_user_model().objects.get_or_create(username="bench-orders-admin",
                                                     defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)
    from datetime import timedelta

    from django.utils import timezone

    old_day = (timezone.localdate() - timedelta(days=20)).isoformat()
    uid = SubAccount.objects.filter(orders__isnull=False).values_list("uid", flat=True).first()
    urls = PAGES + (f"/orders/?created_from={old_day}&created_to={old_day}", f"/orders/?sub_account={uid}",
                    "/orders/?symbol=SOLUSDTM&market=futures", f"/admin/trading/order/?uid={uid}&symbol=SOLUSDTM")
    out = []
    for url in urls:
        client.get(url)  # warm
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - t0)
            assert response.status_code == 200, (url, response.status_code)
        out.append((url, statistics.median(times) * 1000, len(queries.captured_queries)))
    return out


def write_json(path: str | None, bare_rate: float, pipeline_rate: float | None) -> None:
    if not path:
        return
    try:
        from bench.results import Result, write_results
    except ImportError:  # the shared report format is optional
        return
    if pipeline_rate is None:
        rows = [Result("orders: bare client (place + get)", bare_rate, "orders/s")]
    else:
        rows = [Result("orders: Celery pipeline (place + verify) vs bare client", pipeline_rate, "orders/s",
                       reference=bare_rate, reference_label="bare client, same mix",
                       bound=f">= {FLOOR} x bare", met=pipeline_rate >= FLOOR * bare_rate)]
    write_results(path, rows)


def measure_round(info: dict, key, args, sandbox_pid: int, redis_url: str, database_url: str) -> tuple:
    """The bare loop, then (with Redis) the pipeline, each on a reset sandbox: (bare rate, pipeline rate or None)."""
    control(info, "/reset", {})
    bare_rate, client_cpu, sandbox_cpu = bare(info, key, args.orders, sandbox_pid)
    print(f"bare client:     {bare_rate:8.1f} orders/s placed and fetched ({args.orders} orders, 1 process)")
    print(f"                 CPU per order: client {client_cpu}, sandbox {sandbox_cpu}")
    if not redis_url:
        return bare_rate, None
    control(info, "/reset", {})
    rate, worker_cpu, sandbox_cpu, database_cpu = pipeline(info, key, args.orders, args.workers, redis_url,
                                                           database_url, args.batch, sandbox_pid)
    engine = database_url.split(":", 1)[0]
    how = "one by one" if args.batch <= 1 else f"in batches of {args.batch}"
    print(f"pipeline:        {rate:8.1f} orders/s placed ({how}) and verified ({args.workers} Celery workers on "
          f"Redis, {engine})")
    print(f"                 CPU per order: workers {worker_cpu}, sandbox {sandbox_cpu}, "
          f"their database connections {database_cpu}")
    return bare_rate, rate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    ap.add_argument("--batch", type=int, default=100,
                    help="orders per orders_place_batch call; 1: one order_place call (and task) per order")
    ap.add_argument("--rounds", type=int, default=1,
                    help="bare then pipeline, this many times; the round of the median ratio is reported")
    ap.add_argument("--json-out", help="also write the results to this file, for `python -m bench`")
    ap.add_argument("--pages", type=int, metavar="ROWS",
                    help="instead: time the order list pages with ROWS orders in DATABASE_URL (PostgreSQL)")
    args = ap.parse_args(argv)
    if args.pages:
        for url, ms, queries in pages(args.pages, os.environ.get("DATABASE_URL", "")):
            print(f"{url:75s} {ms:7.1f} ms median, {queries} queries")
        return 0

    proc, info = start_sandbox()
    tmpdir = None
    try:
        key = customer(control(info, "/state"))
        redis_url = os.environ.get("REDIS_URL", "")
        database_url = os.environ.get("DATABASE_URL", "")
        if redis_url and not database_url:
            tmpdir = tempfile.mkdtemp(prefix="bench-orders-")
            database_url = f"sqlite:///{tmpdir}/bench.sqlite3"
        rounds = []  # (bare rate, pipeline rate or None), measured one right after the other
        for round_number in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"-- round {round_number} of {args.rounds}")
            rounds.append(measure_round(info, key, args, proc.pid, redis_url, database_url))
        if not redis_url:
            print("pipeline:        skipped: set REDIS_URL (a Redis database of its own) to measure the Celery "
                  "pipeline")
            write_json(args.json_out, statistics.median(bare for bare, _ in rounds), None)
            return 0
        # The round of the median ratio: its two rates were measured under the same conditions.
        bare_rate, rate = sorted(rounds, key=lambda r: r[1] / r[0])[len(rounds) // 2]
        if args.rounds > 1:
            ratios = ", ".join(f"{pipe / bare:.2f}" for bare, pipe in rounds)
            print(f"ratios of the rounds: {ratios}; the median round: bare {bare_rate:.1f}, pipeline {rate:.1f}")
        print(f"ratio:           {rate / bare_rate:8.2f} (pipeline / bare; floor {FLOOR})")
        write_json(args.json_out, bare_rate, rate)
        return 0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
