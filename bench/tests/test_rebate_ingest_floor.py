"""bench_rebate_ingest.py --floor times a partition-per-file ingest in raw SQL: its figures only mean something
if that SQL keeps the same totals as the app. Here, after a first ingest and a re-ingest of the same file, its
day, week, month and year totals equal sums computed straight from its records."""
from datetime import timedelta

import pytest
from django.db import connection

from bench import bench_rebate_ingest as bench

pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions and COPY FREEZE")

DAYS = 40  # over a month's end and several weeks
PERIODS = {
    "day": "date",
    "week": "date_trunc('week', date)::date",
    "month": "date_trunc('month', date)::date",
    "year": "date_trunc('year', date)::date",
}


def _differences(unit: str) -> int:
    """Rows of the floor's `unit` totals that differ from the sums of its records, either way."""
    key = "date" if unit == "day" else unit
    uid = "NULL" if unit == "day" else "uid"
    recomputed = (f"SELECT {PERIODS[unit]} AS period, {uid} AS uid, rebate_currency, sum(rebate_amount) AS amount, "
                  f"count(*) AS records FROM {bench.FLOOR}_records GROUP BY 1, 2, 3")
    kept = f"SELECT {key}, {uid}, rebate_currency, amount, records FROM {bench.FLOOR}_{unit}"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM (({recomputed} EXCEPT {kept}) UNION ALL ({kept} EXCEPT {recomputed})) AS d")
        return cursor.fetchone()[0]


def test_the_floor_keeps_the_totals_of_its_records(transactional_db, tmp_path):
    path = str(tmp_path / "rebates.csv")
    bench.write_file(path, rows=4_000, days=DAYS)
    begin = bench.FIRST_DAY
    end = begin + timedelta(days=DAYS - 1)
    with connection.cursor() as wrapper:
        bench.floor_setup(wrapper.cursor)
    try:
        first = bench.floor_ingest(path, 1, None, begin, end)
        again = bench.floor_ingest(path, 2, 1, begin, end)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), min(file_id), max(file_id) FROM {bench.FLOOR}_records")
            assert cursor.fetchone() == (4_000, 2, 2)  # the replaced partition is gone, nothing counted twice
        assert {unit: _differences(unit) for unit in bench.FLOOR_UNITS} == dict.fromkeys(bench.FLOOR_UNITS, 0)
        assert "COPY into a new partition" in first and "replaced partition summed and dropped" in again
    finally:
        with connection.cursor() as wrapper:
            bench.floor_teardown(wrapper.cursor)
