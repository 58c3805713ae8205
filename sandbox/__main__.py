"""python -m sandbox [--bind 127.0.0.1] [--port 0] [--seed N] [--state FILE]
                     [--fault SPEC ...] [--quota POOL=LIMIT[/WINDOW_MS] ...]

Prints one JSON line first ({"urls", "broker", "oauth", "control"}), then serves until SIGINT or
SIGTERM. --state FILE: loaded at start if it exists, saved on shutdown.
--fault SPEC: KIND[,probability=P][,count=N][,ms=MS][,code=C][,msg=M][,family=F][,path=PREFIX][,method=M],
e.g. --fault latency,ms=200,probability=0.1 --fault drop_after,count=1,path=/api/v1/broker/nd/transfer
--fault refuse,code=300002,family=futures,method=DELETE,path=/api/v1/orders/
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading


def parse_fault(spec: str) -> tuple[str, dict]:
    kind, *parts = spec.split(",")
    opts: dict = {}
    for p in parts:
        k, _, v = p.partition("=")
        if k == "probability":
            opts[k] = float(v)
        elif k in ("count", "ms"):
            opts[k] = int(v)
        elif k in ("family", "path", "method", "code", "msg"):
            opts[k] = v
        else:
            raise argparse.ArgumentTypeError(f"unknown fault option {k!r}")
    return kind, opts


def parse_quota(spec: str) -> tuple[str, int, int]:
    pool, _, rest = spec.partition("=")
    limit, _, window = rest.partition("/")
    return pool, int(limit), int(window or 30_000)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sandbox", description="Offline fake of KuCoin's REST API")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0,
                    help="0: ephemeral ports; N: spot N, futures N+1, broker N+2, oauth N+3")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--state", default=None, help="JSON file: loaded at start if present, saved on exit")
    ap.add_argument("--fault", action="append", default=[], type=parse_fault)
    ap.add_argument("--quota", action="append", default=[], type=parse_quota)
    ap.add_argument("--validate-responses", action="store_true",
                    help="check every answer against the OpenAPI schemas (needs jsonschema)")
    args = ap.parse_args(argv)

    from .control import describe
    from .server import SandboxServer
    from .world import World

    world = World(seed=args.seed)
    server = SandboxServer(world, args.bind, args.port)
    if args.state and os.path.exists(args.state):
        world.load_file(args.state)
    for pool, limit, window in args.quota:
        world.ratelimiter.set_quota(pool, limit, window)
    for kind, opts in args.fault:
        world.faults.set(kind, opts.pop("probability", None), opts.pop("count", None), **opts)
    world.validate_responses = args.validate_responses
    server.start()

    urls = server.urls
    first = {"urls": urls, **describe(world), "control": urls["spot"] + "/_sandbox"}
    sys.stdout.write(json.dumps(first) + "\n")
    sys.stdout.flush()

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop.is_set():
        stop.wait(0.5)
    server.stop()
    if args.state:
        world.save_file(args.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
