"""Data at broker scale for the benchmarks, shared by every bench script. Made-up values only.

PostgreSQL: rows are streamed with COPY (psycopg's `cursor.copy`), never through the ORM. SQLite (smoke runs
without DATABASE_URL): the same rows through `executemany`. Every generator is idempotent: a table
`bench_generated` remembers what was made (rows, id range, day), and a generator whose data is still there at
the asked scale, made today, does nothing, so a second `make bench` of the day does not pay for it again (times
are relative to the day: orders of today, rebates up to yesterday).

Stable API (other benchmarks call these; keep the names and meanings):

    sub_accounts(n)      n sub-accounts "gen-00000001"..., uid "500000001"..., every 50th retired
    orders(n)            n orders of the first 20,000 generated sub-accounts over the last ~3 weeks (1 in 97 untagged,
                         1 in 50 unverified); needs sub_accounts() first (ensure() does the order)
    rebate_records(n)    n rebate records over the last 365 days for 20,000 of the generated sub-accounts,
                         spot and futures, with the totals the ingest keeps beside them (rebates.totals), from
                         rebate files left done (spot and futures) as the ingest leaves them
    reconciliation_counts(orders)   the tagged-share recount over every day of the generated orders (each day's
                         tagged volume and whether the sub-account got a rebate), as the schedule keeps it
    kucoin_calls(n)      n logged KuCoin calls, one a second back from now (1 in 200 a 429000)
    ensure(sub_accounts=, orders=, rebate_records=, kucoin_calls=)   all of them, in dependency order (and
                         the reconciliation counts when orders and rebate records are both asked for and either
                         was generated, or nothing is counted yet)
    SCALE, SMOKE_SCALE   the issue's scale and a tiny one, as keyword arguments for ensure()

Each returns the seconds it spent (0.0 when the data was already there). Call them after
bench.django_env.setup_django(); they run on Django's default connection.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

SCALE = {"sub_accounts": 100_000, "orders": 1_000_000, "rebate_records": 5_000_000, "kucoin_calls": 1_000_000}
SMOKE_SCALE = {"sub_accounts": 1_000, "orders": 2_000, "rebate_records": 5_000, "kucoin_calls": 5_000}

TRADERS = 20_000  # the generated sub-accounts that trade (orders) and so earn rebate (records)
REBATE_DAYS = 365
GENERATED_FILE_LABEL = "bench.generate"  # marks the RebateFile the generated records hang from
FIRST_UID = 500_000_000


# -- bookkeeping: what was generated, so that a second run skips it ---------------------------------

def _ledger() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_generated (name varchar(40) PRIMARY KEY, "
                       "rows bigint NOT NULL, first_id bigint NOT NULL, last_id bigint NOT NULL, made_on date)")
        if connection.vendor == "postgresql":  # a ledger of the first version had no date
            cursor.execute("ALTER TABLE bench_generated ADD COLUMN IF NOT EXISTS made_on date")


def _recorded(name: str) -> tuple[int, int, int, date | None] | None:
    _ledger()
    with connection.cursor() as cursor:
        cursor.execute("SELECT rows, first_id, last_id, made_on FROM bench_generated WHERE name = %s", [name])
        return cursor.fetchone()


def _record(name: str, rows: int, first_id: int, last_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_generated WHERE name = %s", [name])
        cursor.execute("INSERT INTO bench_generated (name, rows, first_id, last_id, made_on) "
                       "VALUES (%s, %s, %s, %s, %s)", [name, rows, first_id, last_id, date.today()])


def _forget(name: str) -> None:
    _ledger()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_generated WHERE name = %s", [name])


def _still_there(name: str, table: str, n: int) -> bool:
    """The ledger says `n` rows were made today and they are all still in the table (others may delete them).
    Their times are relative to the day they were made (orders of today, rebates of yesterday...): on another
    day they would measure emptier pages, so they are made again."""
    recorded = _recorded(name)
    if not recorded or recorded[0] != n or str(recorded[3]) != str(date.today()):
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE id BETWEEN %s AND %s", [recorded[1], recorded[2]])
        return cursor.fetchone()[0] == n


def _delete_recorded(name: str, table: str) -> None:
    recorded = _recorded(name)
    if recorded:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id BETWEEN %s AND %s", [recorded[1], recorded[2]])
        _forget(name)


# -- writing rows: COPY on PostgreSQL, executemany elsewhere -----------------------------------------

def _write(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> tuple[int, int]:
    """Appends the rows; returns the (first, last) id they got. Call inside a transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        before = cursor.fetchone()[0]
        names = ", ".join(columns)
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))
        cursor.execute(f"SELECT min(id), max(id) FROM {table} WHERE id > %s", [before])
        first, last = cursor.fetchone()
    return first or 0, last or 0


def _analyze(*tables: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ANALYZE {table}")


def _generate(name: str, table: str, n: int, make: Callable[[], tuple[int, int]],
              clear: Callable[[], None] | None = None) -> float:
    """Skips when the data is there at this scale; otherwise deletes the old and makes `n` rows."""
    if _still_there(name, table, n):
        return 0.0
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # a benchmarks' database: speed over durability
                cursor.execute("SET LOCAL synchronous_commit TO off")
        (clear or (lambda: _delete_recorded(name, table)))()
        first, last = make()
        _record(name, n, first, last)
    _analyze(table)
    return time.perf_counter() - started


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _generated_sub_account_ids() -> tuple[int, int]:
    """The first and last id of the generated sub-accounts."""
    recorded = _recorded("sub_accounts")
    if not recorded:
        raise RuntimeError("generate.sub_accounts(n) must run first")
    return recorded[1], recorded[2]


# -- the data sets -----------------------------------------------------------------------------------

SUB_ACCOUNT_COLUMNS = ("account_name", "uid", "level", "state", "kucoin_created_at", "created_at", "updated_at",
                       "error_code", "error_message")


def _sub_account_rows(n: int) -> Iterator[tuple]:
    now = _now()
    for g in range(1, n + 1):
        created = now - timedelta(minutes=g)
        yield (f"gen-{g:08d}", str(FIRST_UID + g), g % 5, "retired" if g % 50 == 0 else "active",
               created, created, now, "", "")


def _referencing(model) -> list[tuple[str, str]]:
    """(table, column) of every foreign key to `model`, those without a reverse accessor (related_name "+")
    included."""
    return [(relation.related_model._meta.db_table, relation.field.column)
            for relation in model._meta.get_fields(include_hidden=True)
            if relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one)]


def sub_accounts(n: int) -> float:
    """n sub-accounts; regenerating them first drops the orders and rebate records generated on them."""
    from accounts.models import SubAccount

    table = SubAccount._meta.db_table

    def clear() -> None:
        _delete_recorded("orders", "trading_order")
        _delete_recorded("rebate_records", "rebates_rebaterecord")
        generated = f"SELECT id FROM {table} WHERE account_name LIKE 'gen-%%'"  # this run's and older ones'
        with connection.cursor() as cursor:
            # Every row that points at a generated sub-account goes first: the database refuses otherwise (Django's
            # CASCADE is not in the schema), and a table added later is covered without a change here.
            for referencing, column in _referencing(SubAccount):
                cursor.execute(f"DELETE FROM {referencing} WHERE {column} IN ({generated})")
            cursor.execute(f"DELETE FROM {table} WHERE account_name LIKE 'gen-%%'")
        _forget("sub_accounts")

    return _generate("sub_accounts", table, n, lambda: _write(table, SUB_ACCOUNT_COLUMNS, _sub_account_rows(n)), clear)


ORDER_COLUMNS = ("error_code", "error_message", "client_oid", "market", "sub_account_id", "purpose", "symbol", "side",
                 "type", "price", "size", "time_in_force", "post_only", "hidden", "iceberg", "stp", "remark",
                 "margin_mode", "reduce_only", "close_order", "force_hold", "stop", "stop_price_type", "state",
                 "kucoin_order_id", "fee_currency", "tags", "verification", "verified_at", "created_at", "updated_at",
                 "deal_size", "deal_funds")
SYMBOLS = (("spot", "BTC-USDT"), ("spot", "ETH-USDT"), ("spot", "KCS-USDT"),
           ("futures", "XBTUSDTM"), ("futures", "ETHUSDTM"), ("futures", "SOLUSDTM"))
ORDER_STATES = ("open", "filled", "cancelled")
ORDER_SECONDS_APART = 2  # the newest order now, the others every two seconds before it


def _order_rows(n: int, first_sub: int, subs: int) -> Iterator[tuple]:
    now = _now()
    traders = min(TRADERS, subs)
    for i in range(1, n + 1):
        market, symbol = SYMBOLS[i % 6]
        untagged, unverified = i % 97 == 0, i % 50 == 0 and i % 97 != 0
        verification = "untagged" if untagged else "unverified" if unverified else "tagged"
        created = now - timedelta(seconds=ORDER_SECONDS_APART * (n - i))
        yield ("", "", f"gen{i:012d}", market, first_sub + (i * 7919) % traders, "trade", symbol,
               "buy" if i % 2 else "sell", "limit", 30000, "0.001", "GTC", False, False, False, "", "", "",
               False, False, False, "", "", ORDER_STATES[i % 3], f"k{i:012d}", "USDT",
               "" if untagged or unverified else "partner:bench", verification,
               None if unverified else created, created, created,
               *(("0.001", "30") if ORDER_STATES[i % 3] == "filled" else (None, None)))  # filled: what was dealt


def orders(n: int) -> float:
    """n orders on the generated sub-accounts, then the tagged-share recount the schedule does."""
    table = "trading_order"

    def make() -> tuple[int, int]:
        first_sub, last_sub = _generated_sub_account_ids()
        return _write(table, ORDER_COLUMNS, _order_rows(n, first_sub, last_sub - first_sub + 1))

    def clear() -> None:
        _delete_recorded("orders", table)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE client_oid LIKE 'gen%%'")

    spent = _generate("orders", table, n, make, clear)
    if spent:
        from trading.services.shares import tag_share_refresh

        started = time.perf_counter()
        tag_share_refresh()  # the tagged share the dashboard and the verification page read
        spent += time.perf_counter() - started
    return spent


REBATE_COLUMNS = ("file_id", "line", "date", "trade_type", "uid", "sub_account_id", "fee_currency", "volume", "fee",
                  "rebate_currency", "rebate_amount", "extra")


def _rebate_rows(n: int, file_id: int, first_sub: int, subs: int) -> Iterator[tuple]:
    yesterday = date.today() - timedelta(days=1)
    days = [yesterday - timedelta(days=d) for d in range(REBATE_DAYS)]
    traders = min(TRADERS, subs)
    for g in range(n):
        k = (g // REBATE_DAYS) % traders
        step = g % 9973
        yield (file_id, g + 1, days[g % REBATE_DAYS], "futures" if g % 3 == 0 else "spot", str(FIRST_UID + 1 + k),
               first_sub + k, "USDT", f"{step * 10.5:.2f}", f"{step * 0.0105:.4f}", "USDT",
               f"{step * 0.0021:.4f}", "{}")


def _rebate_totals(first_day: date, last_day: date) -> None:
    """The day, month and year totals the ingest keeps beside the records, made by the app's own code."""
    from rebates.totals import recompute

    for trade_type in ("spot", "futures"):
        recompute(trade_type=trade_type, begin=first_day, end=last_day)


def rebate_records(n: int) -> float:
    """n rebate records of the generated sub-accounts, hanging from one RebateFile labelled bench.generate."""
    from rebates.models import RebateFile

    table = "rebates_rebaterecord"

    def make() -> tuple[int, int]:
        first_sub, last_sub = _generated_sub_account_ids()
        yesterday = date.today() - timedelta(days=1)
        files = [RebateFile.objects.create(trade_type=trade_type, begin=yesterday - timedelta(days=REBATE_DAYS - 1),
                                           end=yesterday, state=RebateFile.State.DONE,
                                           requested_by_label=GENERATED_FILE_LABEL)
                 for trade_type in ("spot", "futures")]  # the records hang from the first
        rebate_file = files[0]
        ids = _write(table, REBATE_COLUMNS, _rebate_rows(n, rebate_file.pk, first_sub, last_sub - first_sub + 1))
        _analyze(table)  # the totals' grouping plans on fresh statistics
        _rebate_totals(rebate_file.begin, rebate_file.end)
        return ids

    def clear() -> None:
        _delete_recorded("rebate_records", table)
        files = RebateFile.objects.filter(requested_by_label=GENERATED_FILE_LABEL)
        with connection.cursor() as cursor:  # records are not tied to their file by a constraint
            cursor.execute(f"DELETE FROM {table} WHERE file_id IN (SELECT id FROM rebates_rebatefile "
                           "WHERE requested_by_label = %s)", [GENERATED_FILE_LABEL])
        files.delete()

    spent = _generate("rebate_records", table, n, make, clear)
    if spent:
        _analyze("rebates_rebatedaytotal", "rebates_rebatemonthtotal", "rebates_rebateyeartotal")
    return spent


def _counted() -> bool:
    from trading.models import TagShare

    return TagShare.objects.exists()


def reconciliation_counts(orders: int) -> float:
    """The recount the schedule does (`tag_share_refresh`), over every day of the `orders` generated orders: the
    reconciliation page reads its tagged volumes and rebate flags. Run after the orders and the rebate records."""
    from trading.services.shares import tag_share_refresh

    started = time.perf_counter()
    tag_share_refresh(days=ORDER_SECONDS_APART * orders // 86400 + 2)
    # What autovacuum does after the rewrite (the pages read its indexes); not possible inside a transaction
    # (the generators' tests run in one).
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE trading_tagshare")
    return time.perf_counter() - started


CALL_COLUMNS = ("at", "actor", "credential", "method", "family", "path", "weight", "http_status", "code",
                "latency_ms", "error", "pool")


def _call_rows(n: int) -> Iterator[tuple]:
    now = _now()
    for g in range(n, 0, -1):  # oldest first, so that ids grow with time as in production
        refused = g % 200 == 0
        yield (now - timedelta(seconds=g), "schedule: Sync deposits" if g % 3 == 0 else "operator",
               f"apikey:{g % 997}" if g % 4 == 0 else "broker", "POST" if g % 5 == 0 else "GET",
               "broker" if g % 2 == 0 else "spot", "/api/v1/broker/nd/account", 2, 429 if refused else 200,
               "429000" if refused else "200000", g % 300, "", "broker")


def kucoin_calls(n: int) -> float:
    from brokeroffice.models import KuCoinCall

    table = KuCoinCall._meta.db_table
    return _generate("kucoin_calls", table, n, lambda: _write(table, CALL_COLUMNS, _call_rows(n)))


def ensure(*, sub_accounts: int = 0, orders: int = 0, rebate_records: int = 0, kucoin_calls: int = 0,
           log: Callable[[str], None] = print) -> dict[str, float]:
    """Every data set asked for (0 = leave it alone), in dependency order; logs what it generated."""
    spent = {}
    for name, n, make in (("sub_accounts", sub_accounts, globals()["sub_accounts"]),
                          ("orders", orders, globals()["orders"]),
                          ("rebate_records", rebate_records, globals()["rebate_records"]),
                          ("kucoin_calls", kucoin_calls, globals()["kucoin_calls"])):
        if n:
            spent[name] = make(n)
            log(f"{name}: {n:,} " + (f"generated in {spent[name]:.1f} s" if spent[name] else "already there"))
    if orders and rebate_records and (spent["orders"] or spent["rebate_records"] or not _counted()):
        spent["reconciliation_counts"] = reconciliation_counts(orders)
        log(f"reconciliation counts: recounted in {spent['reconciliation_counts']:.1f} s")
    return spent
