"""Signed requests per second that the sandbox serves, measured from other processes.

    python bench/bench_sandbox.py [--seconds 5] [--clients 2] [--connections 2] [--path ...]

Starts ``python -m sandbox`` as a subprocess (large quotas, so the rate limiter does not refuse),
then each client process opens keep-alive HTTP/1.1 connections and sends signed GETs with the
seeded broker key for N seconds. Prints requests/second and the ratio to the reference
(1,000 signed req/s, the issue's floor). Standard library only.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.results import Result, add_json_out_argument, write_results  # noqa: E402

REFERENCE_RPS = 1000.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sign(secret: str, msg: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), msg.encode(), hashlib.sha256).digest()).decode()


def client(base_url: str, creds: dict, path: str, seconds: float, connections: int, out) -> None:
    u = urlsplit(base_url)
    conns = [http.client.HTTPConnection(u.hostname, u.port, timeout=10) for _ in range(connections)]
    passphrase = _sign(creds["api_secret"], creds["api_passphrase"])
    ok = errors = 0
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        conn = conns[i % connections]
        i += 1
        ts = str(int(time.time() * 1000))
        headers = {"KC-API-KEY": creds["api_key"], "KC-API-TIMESTAMP": ts,
                   "KC-API-SIGN": _sign(creds["api_secret"], ts + "GET" + path),
                   "KC-API-PASSPHRASE": passphrase, "KC-API-KEY-VERSION": "3",
                   "Content-Type": "application/json"}
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status == 200 and b'"code":"200000"' in body:
                ok += 1
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
    out.put((ok, errors))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--connections", type=int, default=1, help="keep-alive connections per client")
    ap.add_argument("--family", default="broker")
    ap.add_argument("--path", default="/api/v1/broker/nd/account?currentPage=1&pageSize=20")
    add_json_out_argument(ap)
    args = ap.parse_args(argv)

    quotas = [q for p in ("spot", "futures", "management", "public", "broker") for q in ("--quota", f"{p}=1000000000")]
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", *quotas], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        base = first["urls"][args.family]
        q = mp.Queue()
        workers = [mp.Process(target=client, args=(base, first["broker"], args.path, args.seconds,
                                                   args.connections, q)) for _ in range(args.clients)]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        results = [q.get() for _ in workers]
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    rps = ok / elapsed
    print(f"sandbox: {ok} signed requests OK, {errors} errors, in {elapsed:.2f} s with {args.clients} client "
          f"process(es): {rps:.0f} req/s; reference {REFERENCE_RPS:.0f} req/s; ratio {rps / REFERENCE_RPS:.2f}")
    write_results(args.json_out, [Result("sandbox throughput (signed requests, other processes)", rps, "req/s",
                                         REFERENCE_RPS, "required", ">= 1000 req/s", rps >= REFERENCE_RPS)])
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
