"""The call log of order calls, written in one insert per order instead of one per call.

An order task makes two to four KuCoin calls; logging each one as its own INSERT and commit costs as much
as the calls. Inside `calls_buffered()` the calls are kept in memory (as plain values, not model instances:
a chunk of orders logs dozens) and written with `calls_flush()` in one multi-row INSERT (per 60 calls),
which the order service calls inside the transaction that records the order's outcome, so the log and the
order are committed together. Outside a buffer (cancel, syncs, the set-up check) each call is written at
once, as `brokeroffice.calllog` does. The buffer is flushed on the way out whatever happens, so no call
goes unlogged unless the worker process dies mid-order.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from django.db import connection, transaction

from brokeroffice.calllog import kucoin_call_values, record_kucoin_call
from brokeroffice.models import KuCoinCall
from kucoin import RequestRecord

logger = logging.getLogger(__name__)

_buffer: ContextVar[list[dict] | None] = ContextVar("trading_call_buffer", default=None)
# Within SQLite's older limit of 999 parameters per statement (15 per row).
ROWS_PER_INSERT = 60
FIELDS = ("at", "actor", "credential", "method", "family", "path", "weight", "http_status", "code", "latency_ms",
          "error", "job_id", "pool", "quota_limit", "quota_remaining")


def record_call(record: RequestRecord) -> None:
    """The order clients' `on_request` hook: buffered inside `calls_buffered()`, written at once otherwise.
    (Order calls may come from several sending threads: list.append is atomic.)"""
    buffer = _buffer.get()
    if buffer is None:
        record_kucoin_call(record)
    else:
        buffer.append(kucoin_call_values(record))


def _insert(rows: list[dict]) -> None:
    """One multi-row INSERT per ROWS_PER_INSERT calls (one statement for the database to run, not one per row)."""
    fields = [KuCoinCall._meta.get_field(name) for name in FIELDS]
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(KuCoinCall._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) VALUES "
    placeholders = f"({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_INSERT):
            part = rows[start:start + ROWS_PER_INSERT]
            cursor.execute(head + ", ".join([placeholders] * len(part)),
                           [f.get_db_prep_save(row[f.name], connection) for row in part for f in fields])


def calls_flush() -> None:
    """Writes the buffered calls; call it inside the transaction that records their outcome."""
    buffer = _buffer.get()
    if not buffer:
        return
    rows = list(buffer)
    buffer.clear()
    try:
        with transaction.atomic():  # a savepoint inside the order's transaction: a failed insert leaves it usable
            _insert(rows)
    except Exception:  # the log must never break the order it records
        logger.exception("could not record %d KuCoin call(s)", len(rows))


@contextmanager
def calls_buffered() -> Iterator[None]:
    token = _buffer.set([])
    try:
        yield
    finally:
        calls_flush()
        _buffer.reset(token)
