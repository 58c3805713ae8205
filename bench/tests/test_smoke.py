"""Every benchmark still runs: each at a tiny scale, reporting its figures in the shape `python -m bench` reads.
The figures of such a run mean nothing and are not judged here (bounds live in bench/RESULTS.md)."""
import os

import pytest

from bench.__main__ import BENCHMARKS, ROOT, run_one

NEEDS_POSTGRESQL = {"bench_rebate_ingest.py", "bench_rebate_reports.py"}


@pytest.mark.parametrize("script,smoke_args", [(script, smoke) for script, _, smoke in BENCHMARKS])
def test_the_benchmark_runs_and_reports(script, smoke_args, tmp_path):
    assert (ROOT / "bench" / script).exists(), f"{script} is listed in bench/__main__.py but missing"
    env_db = os.environ.get("DATABASE_URL", "")
    if script in NEEDS_POSTGRESQL and "postgres" not in env_db:
        pytest.skip(f"{script} compares with PostgreSQL's COPY: it needs DATABASE_URL to a PostgreSQL (CI sets it)")
    rows, output = run_one(script, smoke_args)
    assert rows, output[-2000:]
    for row in rows:
        assert not row.get("error"), row.get("error")
        assert row["figure"] is not None and row["figure"] >= 0, row
