"""The totals kept beside the records (RebateDayTotal; RebateWeekTotal, RebateMonthTotal, RebateYearTotal per
uid), always inside the ingest's transaction, so that a report never sees records and totals that disagree.

- Day totals (day, trade type, currency): every record of a day comes from one file, so the days a file
  covers are simply rewritten.
- Week, month and year totals (per uid): a file covers some days of a period, the other days come from
  other files. On PostgreSQL they are kept by arithmetic, which needs no pass over the rest of the period:
  the per-period sums of the replaced records are kept aside (`replaced_delete`, from the DELETE's
  RETURNING), and the difference between the new records' sums and those is written (in the ingest's own
  INSERT statement, or `added_from_records`): one write per changed total, none when a day is pulled again
  with the same figures. Sums of numeric are exact, so the figures equal a recomputation. Elsewhere (SQLite,
  development) they are recomputed from the records (`recompute`).
"""
from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth, TruncWeek, TruncYear

from rebates.models import RebateDayTotal, RebateMonthTotal, RebateRecord, RebateWeekTotal, RebateYearTotal

RECORDS = RebateRecord._meta.db_table
DAY = RebateDayTotal._meta.db_table
WEEK = RebateWeekTotal._meta.db_table
MONTH = RebateMonthTotal._meta.db_table
YEAR = RebateYearTotal._meta.db_table


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_end(day: date) -> date:
    return week_start(day) + timedelta(days=6)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def year_start(day: date) -> date:
    return day.replace(month=1, day=1)


def year_end(day: date) -> date:
    return day.replace(month=12, day=31)


UNITS = {"week": (week_start, week_end), "month": (month_start, month_end)}


# -- PostgreSQL: arithmetic -------------------------------------------------------------------------

def _period_of(unit: str, begin: date, end: date, column: str = "date") -> str:
    """SQL for the start of the week or month of `column`, a date within [begin, end]: a CASE over the few
    periods of the range, since date_trunc costs about a microsecond a row (a second per million records)."""
    start_of, end_of = UNITS[unit]
    starts = []
    start = start_of(begin)
    while start <= end:
        starts.append(start)
        start = end_of(start) + timedelta(days=1)
    whens = " ".join(f"WHEN {column} <= DATE '{end_of(s).isoformat()}' THEN DATE '{s.isoformat()}'"
                     for s in starts[:-1])
    last = f"DATE '{starts[-1].isoformat()}'"
    return f"CASE {whens} ELSE {last} END" if whens else last


REPLACED = "rebate_replaced"  # per-period sums of the records an ingest replaces (temporary, this transaction)
PERIODS = (("week", WEEK), ("month", MONTH), ("year", YEAR))


def _applied(unit: str, table: str, new: str) -> str:
    """CTEs writing, for one period unit, the difference between `new` (period, uid, rebate_currency, amount,
    records) and what the replaced records held: one write per changed row, none for an unchanged one (a
    file pulled again with the same figures rewrites no total)."""
    delta = f"""SELECT coalesce(n.period, o.period) AS period, coalesce(n.uid, o.uid) AS uid,
               coalesce(n.rebate_currency, o.rebate_currency) AS rebate_currency,
               coalesce(n.amount, 0) - coalesce(o.amount, 0) AS amount, coalesce(n.records, 0) - coalesce(o.records, 0) AS records
        FROM ({new}) AS n
        FULL JOIN (SELECT period, uid, rebate_currency, amount, records FROM {REPLACED} WHERE unit = '{unit}') AS o
          ON o.period = n.period AND o.uid = n.uid AND o.rebate_currency = n.rebate_currency"""
    # An UPDATE for rows that exist, an INSERT for the others (an upsert's proposed row with a negative count
    # would fail records >= 0); both see the table as it was before this statement.
    return f"""{unit}_delta AS MATERIALIZED ({delta}),
    {unit}_updated AS (
        UPDATE {table} AS t SET amount = t.amount + d.amount, records = t.records + d.records FROM {unit}_delta AS d
        WHERE t.{unit} = d.period AND t.trade_type = %(trade_type)s AND t.uid = d.uid
          AND t.rebate_currency = d.rebate_currency AND (d.records <> 0 OR d.amount <> 0)),
    {unit}_inserted AS (
        INSERT INTO {table} ({unit}, uid, trade_type, rebate_currency, amount, records)
        SELECT d.period, d.uid, %(trade_type)s, d.rebate_currency, d.amount, d.records FROM {unit}_delta AS d
        WHERE d.records > 0 AND NOT EXISTS (
            SELECT 1 FROM {table} AS t WHERE t.{unit} = d.period AND t.trade_type = %(trade_type)s AND t.uid = d.uid
              AND t.rebate_currency = d.rebate_currency))"""


def added_sql(source: str, begin: date, end: date) -> str:
    """CTEs (to follow a WITH that defines `source`: date, uid, rebate_currency, rebate_amount, odd) writing
    `source`'s sums into the day totals and, net of what `replaced_delete` removed, into the week, month and
    year totals; then a SELECT of (records, any odd) over `source` (whose dates are within [begin, end]).
    One pass over `source` (grouping sets); %(trade_type)s names the trade type."""
    week, month = _period_of("week", begin, end), _period_of("month", begin, end)
    # GROUPING(date, month, week): 3 = per day, 5 = per month and uid, 6 = per week and uid, 7 = all.
    new = {
        "week": "SELECT week AS period, uid, rebate_currency, amount, records FROM sums WHERE level = 6",
        "month": "SELECT month AS period, uid, rebate_currency, amount, records FROM sums WHERE level = 5",
        "year": ("SELECT date_trunc('year', month::timestamp)::date AS period, uid, rebate_currency, "
                 "sum(amount) AS amount, sum(records) AS records FROM sums WHERE level = 5 GROUP BY 1, 2, 3"),
    }
    return f"""sums AS MATERIALIZED (
        SELECT date, {month} AS month, {week} AS week, uid, rebate_currency, sum(rebate_amount) AS amount,
               count(*) AS records, bool_or(odd) AS odd, GROUPING(date, {month}, {week}) AS level
        FROM {source}
        GROUP BY GROUPING SETS ((date, rebate_currency), ({month}, uid, rebate_currency),
                                ({week}, uid, rebate_currency), ())),
    day_added AS (
        INSERT INTO {DAY} (date, trade_type, rebate_currency, amount, records)
        SELECT date, %(trade_type)s, rebate_currency, amount, records FROM sums WHERE level = 3),
    {", ".join(_applied(unit, table, new[unit]) for unit, table in PERIODS)}
    SELECT records, coalesce(odd, false) FROM sums WHERE level = 7"""


def replaced_delete(*, trade_type: str, begin: date, end: date) -> int:
    """Deletes the records (and day totals) of [begin, end] for the trade type, keeping their per-period sums
    (one pass over the deleted rows) for `added_sql` to net against. Returns how many records went."""
    params = {"trade_type": trade_type, "begin": begin, "end": end}
    week, month = _period_of("week", begin, end), _period_of("month", begin, end)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DAY} WHERE trade_type = %(trade_type)s AND date BETWEEN %(begin)s AND %(end)s",
                       params)
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{REPLACED}")
        cursor.execute(f"CREATE TEMPORARY TABLE {REPLACED} (unit text, period date, uid text, rebate_currency text, "
                       f"amount numeric, records bigint) ON COMMIT DROP")
        cursor.execute(f"""WITH deleted AS (
            DELETE FROM {RECORDS} WHERE trade_type = %(trade_type)s AND date BETWEEN %(begin)s AND %(end)s
            RETURNING date, uid, rebate_currency, rebate_amount),
        sums AS MATERIALIZED (
            SELECT {month} AS month, {week} AS week, uid, rebate_currency, sum(rebate_amount) AS amount,
                   count(*) AS records, GROUPING({month}, {week}) AS level
            FROM deleted GROUP BY GROUPING SETS (({month}, uid, rebate_currency), ({week}, uid, rebate_currency)))
        INSERT INTO {REPLACED}
        SELECT 'week', week, uid, rebate_currency, amount, records FROM sums WHERE level = 2
        UNION ALL SELECT 'month', month, uid, rebate_currency, amount, records FROM sums WHERE level = 1
        UNION ALL SELECT 'year', date_trunc('year', month::timestamp)::date, uid, rebate_currency, sum(amount),
                         sum(records) FROM sums WHERE level = 1 GROUP BY 2, 3, 4""", params)
        cursor.execute(f"SELECT coalesce(sum(records), 0) FROM {REPLACED} WHERE unit = 'year'")
        return cursor.fetchone()[0]


def added_from_records(*, trade_type: str, begin: date, end: date) -> None:
    """Adds the records now stored for [begin, end] to the totals (after a COPY that did not do it itself)."""
    with connection.cursor() as cursor:
        cursor.execute(f"""WITH added AS (
            SELECT date, uid, rebate_currency, rebate_amount, false AS odd FROM {RECORDS}
            WHERE trade_type = %(trade_type)s AND date BETWEEN %(begin)s AND %(end)s),
            {added_sql('added', begin, end)}""", {"trade_type": trade_type, "begin": begin, "end": end})


def emptied_delete(*, trade_type: str, begin: date, end: date) -> None:
    """Drops the period rows left at zero records (a uid that no longer earns in that period)."""
    with connection.cursor() as cursor:
        for table, key, first in ((WEEK, "week", week_start(begin)), (MONTH, "month", month_start(begin)),
                                  (YEAR, "year", year_start(begin))):
            cursor.execute(f"DELETE FROM {table} WHERE trade_type = %s AND {key} BETWEEN %s AND %s AND records = 0",
                           [trade_type, first, end])


# -- anywhere: recomputation -----------------------------------------------------------------------

def recompute(*, trade_type: str, begin: date, end: date) -> None:
    """Rewrites the day totals of [begin, end] and the week, month and year totals of the periods it touches,
    from the records (the development database)."""
    records = RebateRecord.objects.filter(trade_type=trade_type).order_by()
    RebateDayTotal.objects.filter(trade_type=trade_type, date__range=(begin, end)).delete()
    RebateDayTotal.objects.bulk_create(
        RebateDayTotal(date=g["date"], trade_type=trade_type, rebate_currency=g["rebate_currency"], amount=g["amount"],
                       records=g["records"])
        for g in records.filter(date__range=(begin, end)).values("date", "rebate_currency")
        .annotate(amount=Sum("rebate_amount"), records=Count("uid")))
    for model, key, trunc, first, last in (
            (RebateWeekTotal, "week", TruncWeek, week_start(begin), week_end(end)),
            (RebateMonthTotal, "month", TruncMonth, month_start(begin), month_end(end)),
            (RebateYearTotal, "year", TruncYear, year_start(begin), year_end(end))):
        model.objects.filter(trade_type=trade_type, **{f"{key}__range": (first, last)}).delete()
        grouped = (records.filter(date__range=(first, last)).annotate(period=trunc("date"))
                   .values("period", "uid", "rebate_currency").annotate(amount=Sum("rebate_amount"), records=Count("uid")))
        batch = []
        for g in grouped.iterator(chunk_size=10_000):
            period = g["period"].date() if hasattr(g["period"], "date") else g["period"]
            batch.append(model(uid=g["uid"], trade_type=trade_type, rebate_currency=g["rebate_currency"],
                               amount=g["amount"], records=g["records"], **{key: period}))
            if len(batch) >= 10_000:
                model.objects.bulk_create(batch)
                batch = []
        if batch:
            model.objects.bulk_create(batch)
