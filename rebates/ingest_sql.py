"""PostgreSQL reads the rebate file itself (the ingest's fast path; rebates.services decides when).

Parsing a million CSV lines in Python takes several times as long as PostgreSQL's COPY of the same file
(bench/bench_rebate_ingest.py), so on PostgreSQL the file's bytes go, as they are, into a temporary table of
text columns (COPY ... FORMAT csv: PostgreSQL splits the lines in C), one column per header cell, named
through kucoin.rebate_file's one header mapping; then one INSERT ... SELECT types them into the records
(trimmed like the reader trims, amounts cast to numeric, uid linked to its sub-account by a join, unknown
columns into `extra` as JSON) and, from its RETURNING, adds them to the totals in the same statement.

The records must be exactly what kucoin.rebate_file.read_rebate_file would give. Whatever this path cannot
read exactly like the reader (a blank or multi-line row, a value PostgreSQL refuses, a day written in a way
only the reader knows, non-ASCII around a uid...) raises NotExact; the caller rolls this attempt back and
lets the reader do the file, which then either stores the same records or fails with the line and the
reason. A bad file is rare, so its slower path does not matter; a good one never takes it.
"""
from __future__ import annotations

import csv
import re
from datetime import date
from typing import BinaryIO

from django.db import connection

from kucoin.rebate_file import RebateFileError, header_mapping, header_names, parse_date
from rebates import totals

STAGE = "rebate_stage"
BLOCK = 1 << 20
LINE_NUMBERS_CACHED = 100_000  # staging rows numbered per fetch from the identity's sequence
MAX_HEADER_BYTES = 1 << 16
MAX_DISTINCT_DAYS = 20_000  # distinct (day text, trade type text) pairs checked in Python; more: the reader
# What str.strip() removes among ASCII characters; anything non-ASCII around a text makes the path inexact.
ASCII_SPACE = " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"


# Blank lines after the last line (the reader skips them; COPY would refuse them): dropped, which changes no
# line number. A blank line elsewhere makes the path inexact.
TRAILING_BLANK_LINES = re.compile(rb"(?:\n[ \t\r]*)+\Z")


class NotExact(Exception):
    """This file must be read by kucoin.rebate_file's reader (the reason says why)."""


def _header(stream: BinaryIO) -> tuple[list[str], bytes]:
    """The header's names, and the bytes read past it (the start of the data)."""
    head = b""
    while b"\n" not in head:
        block = stream.read(1 << 14)
        if not block:
            break
        head += block
        if len(head) > MAX_HEADER_BYTES:
            raise NotExact("no header line")
    line, _, rest = head.partition(b"\n")
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotExact("header is not UTF-8") from None
    cells = next(csv.reader([text], strict=True), None)
    if not cells:
        raise NotExact("empty file")
    return header_names(cells), rest


def _stage(cursor, stream: BinaryIO, width: int, first: bytes) -> int:
    """COPYs the data lines into the staging table; returns how many rows it holds. Raises NotExact when
    rows and lines do not match one to one (a blank line, a quoted line break): then line numbers would
    not be the reader's."""
    columns = ", ".join(f"c{i}" for i in range(width))
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")  # an earlier ingest of this same transaction's
    # A cached identity: only this session numbers these rows, so they stay 1, 2, 3...; fetching each number
    # from the sequence itself cost 0.06-0.2 s per million lines (bench/bench_rebate_ingest.py's machine).
    cursor.execute(f"CREATE TEMPORARY TABLE {STAGE} (n bigint GENERATED ALWAYS AS IDENTITY "
                   f"(CACHE {LINE_NUMBERS_CACHED}), "
                   f"{', '.join(f'c{i} text' for i in range(width))}) ON COMMIT DROP")
    newlines, last = 0, b"\n"
    with cursor.copy(f"COPY {STAGE} ({columns}) FROM STDIN (FORMAT csv, ENCODING 'UTF8')") as copy:
        pending = first or stream.read(BLOCK)
        while pending:
            following = stream.read(BLOCK)  # one block held back, to see the end of the file coming
            block = pending if following else TRAILING_BLANK_LINES.sub(b"\n", pending)
            copy.write(block)
            newlines += block.count(b"\n")  # C speed; a check, not a parse
            last = block[-1:] or last
            pending = following
    rows = cursor.rowcount
    if rows != newlines + (last != b"\n"):
        raise NotExact("rows and lines differ")
    return rows


def _days(cursor, day_col: str, type_col: str | None, begin: date, end: date, accepted: set[str]) -> list[tuple]:
    """Checks every distinct (day text, trade type text) with the reader's own functions; returns the
    (day text, day) pairs the INSERT joins on, so that every day is the reader's reading of its text (never
    PostgreSQL's, whose date input accepts more). Anything the reader would refuse: NotExact."""
    type_sql = type_col or "NULL::text"
    cursor.execute(f"SELECT {day_col}, {type_sql} FROM {STAGE} GROUP BY 1, 2 LIMIT {MAX_DISTINCT_DAYS + 1}")
    groups = cursor.fetchall()
    if len(groups) > MAX_DISTINCT_DAYS:
        raise NotExact("too many distinct day texts")
    days: dict[str, date] = {}
    for day_text, type_text in groups:
        if day_text is None:
            raise NotExact("an empty day")
        try:
            day = parse_date(day_text)
        except ValueError:
            raise NotExact("not a day") from None
        if not begin <= day <= end:
            raise NotExact("a day outside the file's days")
        if type_text is not None and type_text.strip() and type_text.strip().casefold() not in accepted:
            raise NotExact("another trade type")
        days[day_text] = day
    return list(days.items())


def _insert_sql(mapping: list[str | None], names: list[str], days: list[tuple], begin: date,
                end: date) -> tuple[str, dict]:
    """The INSERT ... SELECT from the staging table into the records, with the totals upserts and the
    check of what only the result can show: NaN, and non-ASCII characters in a uid or currency (str.strip()
    trims Unicode spaces that btrim does not, so those are the reader's to judge)."""
    from accounts.models import SubAccount

    col = {canon: f"s.c{i}" for i, canon in enumerate(mapping) if canon}
    params: dict = {}

    def text(canon: str) -> str:
        if canon not in col:
            return "NULL::text"
        return f"NULLIF(btrim({col[canon]}, %(space)s), '')"

    def amount(canon: str) -> str:  # numeric's input ignores surrounding spaces itself
        return f"NULLIF({col[canon]}, '')::numeric(36, 18)" if canon in col else "NULL::numeric"

    unknown = [(names[i], f"s.c{i}") for i, canon in enumerate(mapping) if canon is None]
    if unknown:
        pairs = []
        for k, (name, ref) in enumerate(unknown):
            params[f"extra{k}"] = name
            pairs.append(f"%(extra{k})s, coalesce({ref}, '')")
        extra = f"jsonb_build_object({', '.join(pairs)})"
    else:
        extra = "'{}'::jsonb"
    day_values = ", ".join(f"(%(dt{k})s, %(dd{k})s::date)" for k in range(len(days)))
    for k, (day_text, day) in enumerate(days):
        params[f"dt{k}"], params[f"dd{k}"] = day_text, day
    uid = text("uid")
    sql = f"""WITH new AS (
        INSERT INTO {totals.RECORDS} (file_id, line, date, trade_type, uid, sub_account_id, fee_currency, volume, fee,
                                      rebate_currency, rebate_amount, extra)
        SELECT %(file_id)s, s.n + 1, d.day, %(trade_type)s, s.uid_, a.id, {text('feeCurrency')}, {amount('volume')},
               {amount('fee')}, {text('rebateCurrency')}, {amount('rebateAmount')}, {extra}
        FROM (SELECT *, {uid} AS uid_ FROM {STAGE} AS s OFFSET 0) AS s  -- OFFSET 0: the uid is trimmed once
        JOIN (VALUES {day_values}) AS d (text, day) ON d.text = {col['date']}
        LEFT JOIN {SubAccount._meta.db_table} AS a ON a.uid = s.uid_
        RETURNING date, uid, rebate_currency, rebate_amount,
            octet_length(uid) <> char_length(uid) OR octet_length(rebate_currency) <> char_length(rebate_currency)
            OR octet_length(fee_currency) <> char_length(fee_currency)
            OR volume = 'NaN' OR fee = 'NaN' OR rebate_amount = 'NaN' AS odd),
        {totals.added_sql('new', begin, end)}"""
    return sql, params


def copy_ingest(*, stream: BinaryIO, file_id: int, trade_type: str, begin: date, end: date,
                accepted_trade_types: set[str]) -> int:
    """Stages, checks and stores the file's records with their totals (inside the caller's transaction and
    savepoint, after rebates.totals.replaced_delete removed the replaced records; the caller sets the
    transaction's jit and work_mem). Returns the record count; raises NotExact."""
    names, first = _header(stream)
    try:
        mapping = header_mapping(names)
    except RebateFileError as exc:
        raise NotExact(str(exc)) from None
    position = {canon: i for i, canon in enumerate(mapping) if canon}
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own, for COPY
        rows = _stage(cursor, stream, len(names), first)
        if rows == 0:
            return 0
        type_col = f"c{position['tradeType']}" if "tradeType" in position else None
        days = _days(cursor, f"c{position['date']}", type_col, begin, end, accepted_trade_types)
        sql, params = _insert_sql(mapping, names, days, begin, end)
        params.update(file_id=file_id, trade_type=trade_type, space=ASCII_SPACE)
        cursor.execute(sql, params)
        count, odd = cursor.fetchone()
        if odd:
            raise NotExact("a value the reader would read otherwise")
        if count != rows:
            raise NotExact("rows lost in the join")
        return count
