"""Orders placed and verified per second: the Celery pipeline against the bare client, on the same sandbox.

    python bench/bench_orders.py --orders N [--workers 2]
    REDIS_URL=redis://localhost:6379/15 DATABASE_URL=postgres:///bench_trading python bench/bench_orders.py --orders 1000

Starts ``python -m sandbox`` as a subprocess (quotas out of the way), then measures:

1. bare: the kucoin client in a loop, one sub-account key with the broker headers: place an order, get it
   back (the tag), N times, on a mix of spot and futures orders that do not rest (IOC, FOK, market);
2. pipeline: the back-office as it runs in production: `order_place` writes each order and its job and
   queues its task; two Celery worker processes on Redis send it, fetch it, and record state and tag. The clock
   runs from the first order written until every order is placed and verified.

Prints both rates and the ratio pipeline / bare (the issue's floor is 0.5). The pipeline needs REDIS_URL (use
a Redis database of its own: the bench empties it); without it that part is skipped with a message. The
database is DATABASE_URL when given (migrated, rows added), otherwise a throw-away SQLite file.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
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


def bare(info: dict, key: dict, n: int) -> float:
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
    client.close()
    if tagged != n:
        print(f"  warning: {n - tagged} of the bare orders were not tagged")
    return n / elapsed


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


def start_worker(env: dict, name: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "celery", "-A", "brokeroffice", "worker", "--loglevel", "WARNING", "--pool", "solo",
           "--without-heartbeat", "--without-mingle", "--without-gossip", "--hostname", f"{name}@%h",
           "--queues", "actions,sync,celery"]
    log = open(os.path.join(tempfile.gettempdir(), f"bench-orders-{name}.log"), "w")
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def pipeline(info: dict, key: dict, n: int, workers: int, redis_url: str, database_url: str) -> float:
    env = django_env(info, database_url, redis_url)
    os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONUNBUFFERED",)})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # the bench's own Redis database: queue and rate budgets

    from accounts.models import SubAccount, SubAccountApiKey
    from trading.models import Order
    from trading.services.orders import order_place

    sub, _ = SubAccount.objects.update_or_create(uid=key["uid"], defaults={"account_name": key["name"],
                                                                         "state": SubAccount.State.ACTIVE})
    api_key, _ = SubAccountApiKey.objects.update_or_create(api_key=key["api_key"], defaults={
        "sub_account": sub, "label": key["label"], "permissions": key["permissions"], "secret": key["secret"],
        "passphrase": key["passphrase"], "api_version": 3, "source": SubAccountApiKey.Source.IMPORTED,
        "state": SubAccountApiKey.State.ACTIVE})
    procs = [start_worker(env, f"bench{i}-{os.getpid()}") for i in range(workers)]
    try:
        time.sleep(4)  # the workers start (imports, broker connection)
        first_pk = (Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
        t0 = time.perf_counter()
        for i in range(n):
            order_place(api_key=api_key, **MIX[i % len(MIX)])
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
        tagged = ours.filter(verification=Order.Verification.TAGGED).count()
        rejected = ours.filter(state__in=(Order.State.REJECTED, Order.State.FAILED)).count()
        if tagged != n or rejected:
            print(f"  warning: {tagged} of {n} pipeline orders tagged, {rejected} rejected or failed")
        return n / elapsed
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    ap.add_argument("--json-out", help="also write the results to this file, for `python -m bench`")
    args = ap.parse_args(argv)

    proc, info = start_sandbox()
    tmpdir = None
    try:
        key = customer(control(info, "/state"))
        bare_rate = bare(info, key, args.orders)
        print(f"bare client:     {bare_rate:8.1f} orders/s placed and fetched ({args.orders} orders, 1 process)")
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            print("pipeline:        skipped: set REDIS_URL (a Redis database of its own) to measure the Celery "
                  "pipeline")
            write_json(args.json_out, bare_rate, None)
            return 0
        control(info, "/reset", {})
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url:
            tmpdir = tempfile.mkdtemp(prefix="bench-orders-")
            database_url = f"sqlite:///{tmpdir}/bench.sqlite3"
        rate = pipeline(info, key, args.orders, args.workers, redis_url, database_url)
        engine = database_url.split(":", 1)[0]
        print(f"pipeline:        {rate:8.1f} orders/s placed and verified ({args.workers} Celery workers on Redis, "
              f"{engine})")
        ratio = rate / bare_rate
        print(f"ratio:           {ratio:8.2f} (pipeline / bare; floor {FLOOR})")
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
