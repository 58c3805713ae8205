"""The share of tagged orders per day and sub-account, counted ahead for the pages (TagShare), with its totals
per day (TagShareDay) and per account over the share window (TagShareAccount); and, for the rebate
reconciliation, each day's tagged dealt volume and whether that sub-account got any rebate for it."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import SubAccount
from brokeroffice.jobs import JobRun
from trading.models import TagShare, TagShareAccount, TagShareDay
from trading.selectors import SHARE_DAYS, tag_counts, tagged_volume_groups, volume_currency


def tag_share_refresh(*, days: int = SHARE_DAYS + 1, run: JobRun | None = None) -> int:
    """Recounts the last `days` days (today included) from the orders, replacing those days' counts (one row per
    day and account: a sub-account or a connected account), then their totals per day and per account."""
    since = timezone.localdate() - timedelta(days=days - 1)
    now = timezone.now()
    counts: dict[tuple, TagShare] = {}
    for row in tag_counts(since=since):
        share = _share_of(counts, row, now)
        setattr(share, row["verification"], getattr(share, row["verification"]) + row["n"])
    for row in tagged_volume_groups(since=since):
        share = _share_of(counts, row, now)
        currency = volume_currency(market=row["market"], symbol=row["symbol"], settle_currency=row["fee_currency"])
        share.tagged_volume[currency] = str(Decimal(share.tagged_volume.get(currency, 0)) + row["volume"])
        if share.sub_account_id:
            share.rebate = TagShare.Rebate.WAITING  # until tag_share_rebate_update below says otherwise
    with transaction.atomic():
        _one_recount_at_a_time()
        TagShare.objects.filter(day__gte=since).delete()
        TagShare.objects.bulk_create(counts.values(), batch_size=1000)
        tag_share_rebate_update(begin=since, end=timezone.localdate())
        tag_share_totals(since=since, today=timezone.localdate(), now=now)
    if run:
        run.succeed(f"Counted tagged orders of {len(counts)} account day(s) since {since}.", {"rows": len(counts)})
    return len(counts)


# Any fixed number, the same in every process: PostgreSQL's advisory lock of the recount.
RECOUNT_LOCK = 7_301_522_011


def _one_recount_at_a_time() -> None:
    """Two recounts at once (the sync's and the schedule's) would each delete the days' rows and insert their own:
    the second insert breaks the unique keys after its work is done. On PostgreSQL the second waits for the first
    to commit (the lock ends with the transaction); SQLite lets one writer at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RECOUNT_LOCK])


def _share_of(counts: dict[tuple, TagShare], row: dict, now: datetime) -> TagShare:
    """The row of the day and account of a grouped read, made on first sight."""
    key = (row["day"], row["sub_account_id"], row["fast_api_connection_id"])
    return counts.get(key) or counts.setdefault(key, TagShare(
        day=row["day"], sub_account_id=row["sub_account_id"], fast_api_connection_id=row["fast_api_connection_id"],
        computed_at=now))


def rebate_pulled_days(*, begin: date, end: date) -> list[date]:
    """The days of [begin, end] that ingested (done) rebate files cover for every trade type: the daily sync pulls
    spot and futures, and an account without any rebate on a day is only known to earn nothing once both are in."""
    from rebates.models import RebateFile, TradeType

    covered: dict[str, set[date]] = {trade_type: set() for trade_type in TradeType.values}
    for trade_type, first, last in (RebateFile.objects.filter(state=RebateFile.State.DONE, begin__lte=end,
                                                              end__gte=begin)
                                    .values_list("trade_type", "begin", "end")):
        first, last = max(first, begin), min(last, end)
        covered[trade_type].update(first + timedelta(days=i) for i in range((last - first).days + 1))
    return sorted(set.intersection(*covered.values()))


def tag_share_rebate_update(*, begin: date, end: date) -> int:
    """Marks, for the sub-account days of [begin, end] with tagged volume, whether KuCoin paid any rebate: received
    (a positive rebate record of that day and uid, by the records' (date, uid, ...) index), none (the day's rebate
    files are in, and no rebate), or waiting (they are not). One UPDATE; run by the recount and after each rebate
    file is ingested, for its days. Returns the rows marked."""
    from rebates.models import RebateRecord

    quote = connection.ops.quote_name
    pulled = rebate_pulled_days(begin=begin, end=end)
    none_when = (f"WHEN day IN ({', '.join(['%s'] * len(pulled))}) THEN '{TagShare.Rebate.NONE}' " if pulled else "")
    sql = (f"UPDATE {quote(TagShare._meta.db_table)} SET rebate = CASE "
           f"WHEN EXISTS (SELECT 1 FROM {quote(RebateRecord._meta.db_table)} AS r "
           f"WHERE r.date = {quote(TagShare._meta.db_table)}.day AND r.rebate_amount > 0 AND r.uid = "
           f"(SELECT s.uid FROM {quote(SubAccount._meta.db_table)} AS s "
           f"WHERE s.id = {quote(TagShare._meta.db_table)}.sub_account_id)) THEN '{TagShare.Rebate.RECEIVED}' "
           f"{none_when}ELSE '{TagShare.Rebate.WAITING}' END "
           f"WHERE day BETWEEN %s AND %s AND rebate <> ''")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*pulled, begin, end])
        return cursor.rowcount


def tag_share_totals(*, since: date, today: date, now: datetime) -> None:
    """Rewrites, from TagShare, the day totals from `since` on and every account's totals over the share window
    (the SHARE_DAYS days up to `today`). Two INSERT ... SELECT: the rows never pass through Python."""
    window = today - timedelta(days=SHARE_DAYS)  # the window is the days after it
    share_table, day_table = TagShare._meta.db_table, TagShareDay._meta.db_table
    account_table = TagShareAccount._meta.db_table
    TagShareDay.objects.filter(day__gte=since).delete()
    TagShareAccount.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {day_table} (day, tagged, untagged, unverified, computed_at) "
                       f"SELECT day, SUM(tagged), SUM(untagged), SUM(unverified), MIN(computed_at) "
                       f"FROM {share_table} WHERE day >= %s GROUP BY day", [since])
        cursor.execute(
            f"INSERT INTO {account_table} (sub_account_id, fast_api_connection_id, tagged, untagged, unverified, "
            f"share_order, since, computed_at) "
            f"SELECT sub_account_id, fast_api_connection_id, t, u, v, "
            f"CASE WHEN t + u > 0 THEN ROUND(CAST(1000.0 * t / (t + u) AS numeric)) / 10.0 ELSE 101 END, %s, %s "
            f"FROM (SELECT sub_account_id, fast_api_connection_id, SUM(tagged) AS t, SUM(untagged) AS u, "
            f"SUM(unverified) AS v FROM {share_table} WHERE day > %s "
            f"GROUP BY sub_account_id, fast_api_connection_id) AS per_account", [window, now, window])
