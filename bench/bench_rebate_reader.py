"""Rebate-file reader: throughput and memory on a generated file.

    python bench/bench_rebate_reader.py [--rows 1000000] [--chunks]

Writes a CSV of --rows lines (the sandbox's placeholder layout plus one unknown column) to a
temporary file, then streams it through kucoin.rebate_file.read_rebate_file, printing rows/s
and the process's resident memory at every tenth of the file: it stays flat when the reader
does not accumulate. --chunks feeds 64 KiB byte chunks (as from an HTTP response) instead of
the binary file object.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kucoin.rebate_file import read_rebate_file  # noqa: E402
from bench.results import Result, add_json_out_argument, write_results  # noqa: E402

HEADER = "\ufeffdate,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount,note\n"


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # not Linux: fall back to the peak
        return peak_mib()


def peak_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def write_file(path: str, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(rows):
            day = 1 + i % 28
            f.write(f"2024-06-{day:02d},{100000000 + i % 5000},SPOT,USDT,{i % 97}.{i % 100:02d},"
                    f"{i % 13}.{i % 10000:04d},USDT,{i % 7}.{i % 100000000:08d},row {i}\n")


def chunks(path: str, size: int = 65536):
    with open(path, "rb") as f:
        while True:
            b = f.read(size)
            if not b:
                return
            yield b


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunks", action="store_true", help="feed byte chunks instead of a file object")
    add_json_out_argument(ap)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "rebate.csv")
        t0 = time.perf_counter()
        write_file(path, args.rows)
        size_mib = os.path.getsize(path) / 2**20
        print(f"generated {args.rows:,} rows ({size_mib:.1f} MiB) in {time.perf_counter() - t0:.1f}s")
        print(f"RSS before reading: {rss_mib():.1f} MiB")

        step = max(args.rows // 10, 1)
        samples = []
        total = 0
        count = 0
        t0 = time.perf_counter()
        source = chunks(path) if args.chunks else open(path, "rb")
        try:
            for row in read_rebate_file(source):
                count += 1
                total += row.rebate_amount  # use the row, keep nothing
                if count % step == 0:
                    samples.append((count, rss_mib()))
        finally:
            if not args.chunks:
                source.close()
        elapsed = time.perf_counter() - t0
        print(f"read {count:,} rows in {elapsed:.2f}s: {count / elapsed:,.0f} rows/s "
              f"({'byte chunks' if args.chunks else 'binary file object'})")
        print("RSS while reading (rows read -> MiB): " + ", ".join(f"{n:,}->{m:.1f}" for n, m in samples))
        if samples:
            lo, hi = min(m for _, m in samples), max(m for _, m in samples)
            print(f"RSS spread while reading: {hi - lo:.2f} MiB (min {lo:.1f}, max {hi:.1f}); "
                  f"peak RSS of the process: {peak_mib():.1f} MiB; file size {size_mib:.1f} MiB")
        print(f"sum of rebateAmount: {total}")
        spread = (max(m for _, m in samples) - min(m for _, m in samples)) if samples else 0.0
        write_results(args.json_out, [
            Result(f"rebate reader: {count:,} rows", count / elapsed, "rows/s"),
            Result("rebate reader: RSS growth while reading", spread, "MiB", bound="flat (< 5 MiB)", met=spread < 5),
        ])


if __name__ == "__main__":
    main()
