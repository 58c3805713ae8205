"""`python -m bench` (`make bench`): every benchmark, one table in bench/RESULTS.md.

Each benchmark measures its own reference in the same run (these machines are noisy) and reports in the
shape of bench/results.py. `--smoke` runs each at a tiny scale, to show that none has rotted (CI does
this through bench/tests); the figures of a smoke run mean nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (script, arguments at full scale, arguments for a smoke run)
BENCHMARKS = [
    ("bench_signing.py", [], ["--number", "200", "--repeat", "1"]),
    ("bench_sandbox.py", ["--seconds", "10"], ["--seconds", "0.5"]),
    ("bench_rebate_reader.py", ["--rows", "1000000"], ["--rows", "1000"]),
    ("bench_subaccount_sync.py", ["--sub-accounts", "10000"], ["--sub-accounts", "150"]),
    ("bench_pages.py", [], ["--smoke"]),
    ("bench_orders.py", ["--orders", "400"], ["--orders", "10"]),
    ("bench_rebate_ingest.py", ["--rows", "1000000"], ["--rows", "1000"]),
    ("bench_rebate_reports.py", ["--records", "5000000"], ["--records", "2000", "--repeat", "2"]),
]


def run_one(script: str, args: list[str]) -> tuple[list[dict], str]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = out.name
    started = time.monotonic()
    process = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args, "--json-out", out_path],
                             cwd=ROOT, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    output = process.stdout + process.stderr
    try:
        rows = json.loads(Path(out_path).read_text() or "[]")
    except json.JSONDecodeError:
        rows = []
    finally:
        os.unlink(out_path)
    if process.returncode != 0 and not rows:
        rows = [{"benchmark": script, "figure": None, "unit": "", "reference": None, "ratio": None,
                 "bound": "", "met": False, "error": (output.strip().splitlines() or ["no output"])[-1]}]
    for row in rows:
        row["seconds"] = round(elapsed, 1)
    return rows, output


def machine() -> str:
    cores = os.cpu_count()
    memory = ""
    try:
        with open("/proc/meminfo") as handle:
            kib = int(handle.readline().split()[1])
        memory = f", {kib / 2**20:.0f} GiB memory"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cores} cores{memory}"


def fmt(value, digits=2) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def table(rows: list[dict], smoke: bool) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {machine()}; database: {os.environ.get('DATABASE_URL', 'SQLite').split('@')[-1]}; "
        f"queue: {'Redis' if os.environ.get('REDIS_URL') else 'embedded'}."
        + (" **Smoke run: tiny scale, figures mean nothing.**" if smoke else ""),
        "",
        "| benchmark | figure | reference | ratio | bound | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        figure = f"{fmt(row.get('figure'))} {row.get('unit', '')}".strip()
        reference = f"{fmt(row.get('reference'))} ({row.get('reference_label', '')})" if row.get("reference") is not None else "—"
        met = {True: "yes", False: "**no**", None: "—"}[row.get("met")]
        note = f" — {row['error']}" if row.get("error") else ""
        lines.append(f"| {row['benchmark']}{note} | {figure} | {reference} | {fmt(row.get('ratio'))} | {row.get('bound') or '—'} | {met} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny scale, to check that every benchmark still runs")
    parser.add_argument("--only", help="run only the benchmarks whose script name contains this")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args(argv)
    all_rows = []
    for script, full, smoke in BENCHMARKS:
        if args.only and args.only not in script:
            continue
        if not (ROOT / "bench" / script).exists():
            all_rows.append({"benchmark": script, "figure": None, "unit": "", "met": None, "error": "not written yet"})
            continue
        print(f"== {script}", flush=True)
        rows, output = run_one(script, smoke if args.smoke else full)
        print(output.rstrip(), flush=True)
        all_rows.extend(rows)
    Path(args.output).write_text(table(all_rows, args.smoke))
    print(f"\nwritten: {args.output}")
    failed = [row["benchmark"] for row in all_rows if row.get("error")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
