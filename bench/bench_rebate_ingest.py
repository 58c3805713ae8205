"""Rebate ingest against PostgreSQL's own COPY of the same file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rebates_bench python bench/bench_rebate_ingest.py [--rows 1000000]

Generates a rebate file of --rows lines in the sandbox's column layout (sandbox/rebates.py CSV_COLUMNS),
migrates the database, then, twice (the second run is a re-ingest of the same file, which replaces the
same days' records):

- ingest: rebates.services.rebate_file_ingest, the code the worker runs: in one transaction it deletes the
  days' records (subtracting them from the month and year totals), COPYs the file's bytes into a temporary
  table of text columns (PostgreSQL parses the CSV), checks the distinct days and trade types, and types
  the lines into rebates_rebaterecord with one INSERT ... SELECT that also adds them to the totals
  (rebates/ingest_sql.py, rebates/totals.py);
- reference: `COPY ... FROM STDIN (FORMAT csv, HEADER)` of the same file into a table of the same columns
  and types (bench_rebate_copy), emptied first, once without indexes and once with the same indexes as the
  records table.

Prints both times, the ratios, the row counts and the process's peak RSS. Needs DATABASE_URL to a
PostgreSQL; without one it says so and exits 0. Use a database of its own: it migrates it, and the
records of the generated days are replaced.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # for `bench.*`, `sandbox.*` and the project

FIRST_DAY = date(2024, 1, 1)


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def children_peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def write_file(path: str, rows: int, days: int) -> None:
    from sandbox.rebates import CSV_COLUMNS

    rng = random.Random(7)
    per_day = -(-rows // days)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(",".join(name for name, _ in CSV_COLUMNS) + "\n")
        lines = []
        for i in range(rows):
            day = FIRST_DAY + timedelta(days=i // per_day)
            fee = Decimal(rng.randrange(1, 10**9)) / Decimal(10**6)
            row = {"date": day.isoformat(), "uid": str(100_000_000 + i % per_day), "tradeType": "SPOT",
                   "feeCurrency": "USDT", "volume": fee * 1000, "fee": fee, "rebateCurrency": "USDT",
                   "rebateAmount": fee * Decimal("0.2")}
            lines.append(",".join(value(row) for _, value in CSV_COLUMNS))
            if len(lines) == 10_000:
                out.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            out.write("\n".join(lines) + "\n")


REFERENCE = "bench_rebate_copy"


def reference_table(cursor, with_indexes: bool) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {REFERENCE}")
    cursor.execute(f"""CREATE TABLE {REFERENCE} (
        date date NOT NULL, uid varchar(32) NOT NULL, "tradeType" varchar(10), "feeCurrency" varchar(20),
        volume numeric(36, 18), fee numeric(36, 18), "rebateCurrency" varchar(20) NOT NULL,
        "rebateAmount" numeric(36, 18) NOT NULL)""")
    if with_indexes:  # the records table's two report indexes, on the same columns
        cursor.execute(f'CREATE INDEX {REFERENCE}_day ON {REFERENCE} (date, "tradeType", "rebateCurrency", uid, "rebateAmount")')
        cursor.execute(f'CREATE INDEX {REFERENCE}_uid ON {REFERENCE} (uid, date, "tradeType", "rebateCurrency", "rebateAmount")')


def reference_copy(path: str, with_indexes: bool) -> tuple[float, int]:
    from django.db import connection, transaction

    with connection.cursor() as wrapper:
        reference_table(wrapper.cursor, with_indexes)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor
        with cursor.copy(f"COPY {REFERENCE} FROM STDIN (FORMAT csv, HEADER true)") as copy, open(path, "rb") as f:
            while block := f.read(1 << 20):
                copy.write(block)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {REFERENCE}")
        count = cursor.fetchone()[0]
    return elapsed, count


def ingest(path: str, days: int) -> tuple[float, int, int]:
    from django.core.files import File

    from rebates.models import RebateFile, RebateRecord
    from rebates.services import rebate_file_ingest

    rebate_file = RebateFile.objects.create(trade_type="spot", begin=FIRST_DAY, end=FIRST_DAY + timedelta(days=days - 1))
    with open(path, "rb") as f:
        rebate_file.content.save("bench.csv", File(f))  # what the download stores; not timed
    started = time.perf_counter()
    rebate_file = rebate_file_ingest(rebate_file=rebate_file)
    elapsed = time.perf_counter() - started
    stored = RebateRecord.objects.filter(trade_type="spot", date__range=(rebate_file.begin, rebate_file.end)).count()
    return elapsed, rebate_file.row_count, stored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30, help="days the file covers (rows are spread over them)")
    from bench.results import Result, add_json_out_argument, write_results

    add_json_out_argument(parser)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print("bench_rebate_ingest: DATABASE_URL is not a PostgreSQL URL; nothing measured. "
              "Example: DATABASE_URL=postgres://postgres@127.0.0.1:5432/rebates_bench")
        return 0

    workdir = tempfile.mkdtemp(prefix="rebate-bench-")
    os.environ["MEDIA_ROOT"] = os.path.join(workdir, "media")
    from bench.django_env import setup_django

    setup_django(migrate=True)  # a database of the benchmarks' own: <DATABASE_URL's name>_bench

    path = os.path.join(workdir, "rebates.csv")
    started = time.perf_counter()
    write_file(path, args.rows, args.days)
    print(f"generated {args.rows:,} lines over {args.days} days ({os.path.getsize(path) / 2**20:.1f} MiB) "
          f"in {time.perf_counter() - started:.1f} s")
    print(f"peak RSS after generating: {peak_rss_mib():.1f} MiB")

    from django.db import connection

    def vacuum() -> None:  # maintenance between runs (autovacuum's job in production), not timed
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE rebates_rebaterecord")

    with connection.cursor() as cursor:  # records and the totals kept with them, emptied together
        cursor.execute("TRUNCATE rebates_rebaterecord, rebates_rebatedaytotal, rebates_rebateweektotal, "
                       "rebates_rebatemonthtotal, rebates_rebateyeartotal")
    vacuum()
    failures = []
    results = []
    for run in ("first ingest", "re-ingest"):
        plain, plain_rows = reference_copy(path, with_indexes=False)
        indexed, indexed_rows = reference_copy(path, with_indexes=True)
        took, file_rows, stored = ingest(path, args.days)
        ratio, ratio_indexed = took / plain, took / indexed
        print(f"{run}: ingest {took:.2f} s ({file_rows:,} rows read, {stored:,} records stored); "
              f"COPY {plain:.2f} s ({plain_rows:,} rows), with the same indexes {indexed:.2f} s ({indexed_rows:,} rows)")
        print(f"{run}: ratio ingest/COPY {ratio:.2f} (bound 1.5); against COPY with the same indexes {ratio_indexed:.2f}; "
              f"peak RSS {peak_rss_mib():.1f} MiB, of the reading child process {children_peak_rss_mib():.1f} MiB (bound 200)")
        if stored != args.rows or file_rows != args.rows:
            failures.append(f"{run}: {stored} records stored for {args.rows} lines")
        if max(peak_rss_mib(), children_peak_rss_mib()) >= 200:
            failures.append(f"{run}: peak RSS {peak_rss_mib():.1f} MiB")
        if ratio > 1.5:
            failures.append(f"{run}: ratio {ratio:.2f} over 1.5")
        results.append(Result(f"rebate {run}, {args.rows:,} lines", round(took, 3), "s", round(plain, 3),
                              "PostgreSQL COPY of the file into a table of the same columns", "≤ 1.5× reference",
                              ratio <= 1.5 and stored == args.rows))
        results.append(Result(f"rebate {run}, {args.rows:,} lines, vs COPY with the same indexes", round(took, 3), "s",
                              round(indexed, 3), "COPY into the same columns with the records' indexes",
                              "(for information)", None))
        vacuum()

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {REFERENCE}")
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
    peak = max(peak_rss_mib(), children_peak_rss_mib())
    results.append(Result("rebate ingest peak RSS", round(peak, 1), "MiB", bound="< 200 MiB", met=peak < 200))
    write_results(args.json_out, results)
    print("OK" if not failures else "NOT MET: " + "; ".join(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
