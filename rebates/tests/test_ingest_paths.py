"""PostgreSQL parsing the file (rebates/ingest_sql.py) stores exactly what kucoin.rebate_file's reader stores,
on the same files; the totals kept beside the records always equal the records.

The suite runs on SQLite locally (the reader's path only) and on PostgreSQL in CI (both paths)."""
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction

from rebates.models import (
    RebateDayTotal,
    RebateFile,
    RebateMonthTotal,
    RebateRecord,
    RebateWeekTotal,
    RebateYearTotal,
)
from rebates.services import RebateFileRejected, rebate_file_ingest

DAY = date(2024, 6, 10)
HEADER = b"date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's own parsing")

# Files both paths must read the same way (PostgreSQL parses every one of them itself).
SAME = {
    "plain": HEADER + b"2024-06-10,100000001,SPOT,USDT,12500.50,12.5005,USDT,5.00020000\n"
                      b"2024-06-10,100000002,SPOT,BTC,0.1,0.0001,BTC,0.00002\n",
    "bom, aliases, other order, unknown columns": (
        b"\xef\xbb\xbf subUid ,Day,rebate,coin,note,tradeVolume,zone\n"
        b"100000001,2024-06-10,5.0002,USDT,first one,12500.5,\"a, b\"\n"
        b"100000003,20240610,1e-3,USDT,,7,\n"),
    "spaces, empty optionals, CRLF, quotes, no last line break": (
        b"date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\r\n"
        b" 2024-06-10 , 100000001 ,spot, ,,, USDT ,\" 1.5 \"\r\n"
        b"2024/06/10,\"100000002\",1,USDT,+.5,5.,USDT,-0.25"),
    "several days and formats": (
        HEADER + b"2024-06-10,100000001,SPOT,USDT,1,1,USDT,1\n"
                 b"2024-06-11 00:00:00,100000001,SPOT,USDT,2,2,USDT,2\n"
                 b"20240612,100000001,,USDT,3,3,USDT,3.000000000000000000001\n"),
    "header only": HEADER,
    "blank lines after the last line": HEADER + b"2024-06-10,100000001,SPOT,USDT,1,1,USDT,1\r\n\r\n  \n\n",
}
# Good files that PostgreSQL cannot read exactly like the reader: the reader does them, with the same result.
READER_ONLY = {
    "a blank line": HEADER + b"2024-06-10,100000001,SPOT,USDT,1,1,USDT,1\n\n2024-06-10,100000002,SPOT,USDT,2,2,USDT,2\n",
    "a quoted line break": HEADER + b"2024-06-10,100000001,SPOT,USDT,1,1,USDT,1\n2024-06-10,\"1000\n00002\",SPOT,USDT,2,2,USDT,2\n",
    "a non-ASCII space around a uid": HEADER + "2024-06-10,100000001\u00a0,SPOT,USDT,1,1,USDT,1\n".encode(),
    "underscores in an amount": HEADER + b"2024-06-10,100000001,SPOT,USDT,1_000,1,USDT,1\n",
}
# Bad files: both paths fail them whole, with the same line and reason.
BAD = {
    "truncated in the last line": (SAME["plain"][:-12], 3),
    "not an amount": (SAME["plain"].replace(b"0.00002", b"zero"), 3),
    "NaN": (SAME["plain"].replace(b"0.00002", b"NaN"), 3),
    "an amount too large": (SAME["plain"].replace(b"12500.50", b"1" * 19), 2),
    "a day outside the file": (SAME["plain"].replace(b"2024-06-10,100000002", b"2024-06-11,100000002"), 3),
    "a day the reader does not know": (SAME["plain"].replace(b"2024-06-10,100000002", b"June 10 2024,100000002"), 3),
    "another trade type": (SAME["plain"].replace(b"100000002,SPOT", b"100000002,FUTURES"), 3),
    "an empty uid": (SAME["plain"].replace(b"100000002", b" "), 3),
    "a uid too long": (SAME["plain"].replace(b"100000002", b"1" * 33), 3),
    "a NUL byte": (SAME["plain"].replace(b"BTC,0.1", b"BT\x00C,0.1"), 3),
    "not UTF-8": (SAME["plain"].replace(b"BTC,0.1", b"BT\xffC,0.1"), 3),
    "a missing column": (SAME["plain"].replace(b",rebateAmount", b",payout"), 1),
}


@pytest.fixture
def sub_account(db):
    from accounts.models import SubAccount

    return SubAccount.objects.create(account_name="linked", uid="100000001")


def stored_file(data: bytes, *, begin=DAY, end=DAY + timedelta(days=2), trade_type="spot") -> RebateFile:
    f = RebateFile.objects.create(trade_type=trade_type, begin=begin, end=end)
    f.content.save(f"test-{f.pk}.csv", ContentFile(data))
    return f


def records(file_id: int | None = None) -> list[tuple]:
    qs = RebateRecord.objects.all() if file_id is None else RebateRecord.objects.filter(file_id=file_id)
    return sorted(qs.values_list("line", "date", "trade_type", "uid", "sub_account_id", "fee_currency", "volume",
                                 "fee", "rebate_currency", "rebate_amount", "extra"))


def ingest(data: bytes, *, sql: bool, settings, **days) -> tuple[RebateFile, list[tuple]]:
    settings.REBATES_SQL_PARSE = sql
    f = rebate_file_ingest(rebate_file=stored_file(data, **days))
    return f, records(f.pk)


def failure(data: bytes, *, sql: bool, settings) -> tuple[int, str]:
    settings.REBATES_SQL_PARSE = sql
    f = stored_file(data, begin=DAY, end=DAY)
    with pytest.raises(RebateFileRejected):
        rebate_file_ingest(rebate_file=f)
    f.refresh_from_db()
    assert f.state == RebateFile.State.FAILED
    return f.error_line, f.error


def expected_totals() -> dict[str, dict]:
    """The three totals computed here, in Python, from the records."""
    tables = {name: defaultdict(lambda: [Decimal(0), 0]) for name in ("day", "week", "month", "year")}
    for d, trade_type, uid, currency, amount in RebateRecord.objects.values_list(
            "date", "trade_type", "uid", "rebate_currency", "rebate_amount"):
        for name, key in (("day", (d, trade_type, currency)),
                          ("week", (d - timedelta(days=d.weekday()), uid, trade_type, currency)),
                          ("month", (d.replace(day=1), uid, trade_type, currency)),
                          ("year", (d.replace(month=1, day=1), uid, trade_type, currency))):
            tables[name][key][0] += amount
            tables[name][key][1] += 1
    return {name: {k: tuple(v) for k, v in table.items()} for name, table in tables.items()}


def stored_totals() -> dict[str, dict]:
    return {
        "day": {(d, t, c): (a, n) for d, t, c, a, n in RebateDayTotal.objects.values_list(
            "date", "trade_type", "rebate_currency", "amount", "records")},
        "week": {(w, u, t, c): (a, n) for w, u, t, c, a, n in RebateWeekTotal.objects.values_list(
            "week", "uid", "trade_type", "rebate_currency", "amount", "records")},
        "month": {(m, u, t, c): (a, n) for m, u, t, c, a, n in RebateMonthTotal.objects.values_list(
            "month", "uid", "trade_type", "rebate_currency", "amount", "records")},
        "year": {(y, u, t, c): (a, n) for y, u, t, c, a, n in RebateYearTotal.objects.values_list(
            "year", "uid", "trade_type", "rebate_currency", "amount", "records")},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("name", [*SAME, *READER_ONLY])
def test_the_reader_stores_typed_records_and_totals_that_equal_them(name, sub_account, settings):
    data = {**SAME, **READER_ONLY}[name]
    f, rows = ingest(data, sql=False, settings=settings)
    assert f.state == RebateFile.State.DONE and f.row_count == len(rows)
    assert all(r[2] == "spot" for r in rows)
    assert [r[4] for r in rows if r[3] == "100000001"] == [sub_account.pk] * sum(r[3] == "100000001" for r in rows)
    assert stored_totals() == expected_totals()


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("name", [*SAME, *READER_ONLY])
def test_postgresql_parsing_stores_exactly_what_the_reader_stores(name, sub_account, settings):
    data = {**SAME, **READER_ONLY}[name]
    _, by_reader = ingest(data, sql=False, settings=settings)
    reader_totals = stored_totals()
    f, by_postgresql = ingest(data, sql=True, settings=settings)  # the same days: replaces the reader's records
    assert by_postgresql == by_reader
    assert f.row_count == len(by_reader)
    assert stored_totals() == reader_totals == expected_totals()


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("name", SAME)
def test_postgresql_parses_ordinary_files_itself(name, sub_account):
    from rebates import ingest_sql, totals

    f = stored_file(SAME[name])
    with transaction.atomic(), f.content.open("rb") as stream:
        totals.replaced_delete(trade_type="spot", begin=f.begin, end=f.end)  # what the ingest does first
        count = ingest_sql.copy_ingest(stream=stream, file_id=f.pk, trade_type="spot", begin=f.begin, end=f.end,
                                       accepted_trade_types={"spot", "1"})
        lines = [line for line in SAME[name].splitlines() if line.strip()]
        assert count == RebateRecord.objects.filter(file_id=f.pk).count() == len(lines) - 1
        transaction.set_rollback(True)


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("name", READER_ONLY)
def test_postgresql_hands_what_it_cannot_read_exactly_to_the_reader(name):
    from rebates import ingest_sql, totals

    f = stored_file(READER_ONLY[name])
    with pytest.raises(Exception) as raised, transaction.atomic(), f.content.open("rb") as stream:
        totals.replaced_delete(trade_type="spot", begin=f.begin, end=f.end)
        ingest_sql.copy_ingest(stream=stream, file_id=f.pk, trade_type="spot", begin=f.begin, end=f.end,
                               accepted_trade_types={"spot", "1"})
    assert raised.type is ingest_sql.NotExact or "psycopg" in raised.type.__module__


@pytest.mark.django_db
@pytest.mark.parametrize("name", BAD)
def test_a_bad_file_fails_whole_with_its_line_on_either_path_and_changes_nothing(name, settings):
    data, line = BAD[name]
    ingest(SAME["plain"], sql=False, settings=settings)
    before, totals_before = records(), stored_totals()
    outcomes = {failure(data, sql=False, settings=settings)}
    if connection.vendor == "postgresql":
        outcomes.add(failure(data, sql=True, settings=settings))
    assert len(outcomes) == 1  # the same line and the same reason from both paths
    error_line, error = outcomes.pop()
    assert error_line == line and f"line {line}" in error
    assert records() == before and stored_totals() == totals_before


@pytest.mark.django_db
def test_totals_follow_replacements_overlaps_and_failures(settings):
    """Month and year totals are kept by arithmetic on PostgreSQL: after files that replace parts of months
    (and of a year boundary), uids that disappear, and a failed file, they still equal the records."""
    def line(day: date, uid: str, amount: str, currency: str = "USDT") -> bytes:
        return f"{day:%Y-%m-%d},{uid},SPOT,{currency},1,1,{currency},{amount}\n".encode()

    first, last = date(2024, 12, 28), date(2025, 1, 3)
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for sql in ([False, True] if connection.vendor == "postgresql" else [False]):
        ingest(HEADER + b"".join(line(d, uid, f"{i}.{k}") for i, d in enumerate(span) for k, uid in
                                 enumerate(("1", "2", "3"))), sql=sql, settings=settings, begin=first, end=last)
        assert stored_totals() == expected_totals()
        # one day again, uid 3 gone, uid 4 new, another currency
        middle = date(2024, 12, 31)
        ingest(HEADER + line(middle, "1", "9.5") + line(middle, "4", "1") + line(middle, "1", "2", "BTC"),
               sql=sql, settings=settings, begin=middle, end=middle)
        assert stored_totals() == expected_totals()
        # an overlapping file across the year boundary, with fewer lines
        ingest(HEADER + line(date(2025, 1, 1), "2", "0.1"), sql=sql, settings=settings, begin=date(2024, 12, 30),
               end=date(2025, 1, 2))
        assert stored_totals() == expected_totals()
        settings.REBATES_SQL_PARSE = sql
        with pytest.raises(RebateFileRejected):
            rebate_file_ingest(rebate_file=stored_file(HEADER + line(first, "1", "x"), begin=first, end=first))
        assert stored_totals() == expected_totals()
        for model in (RebateWeekTotal, RebateMonthTotal, RebateYearTotal):
            assert not model.objects.filter(records=0).exists()
