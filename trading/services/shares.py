"""The share of tagged orders per day and sub-account, counted ahead for the pages (TagShare), with its totals
per day (TagShareDay) and per account over the share window (TagShareAccount)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from brokeroffice.jobs import JobRun
from trading.models import TagShare, TagShareAccount, TagShareDay
from trading.selectors import SHARE_DAYS, tag_counts


def tag_share_refresh(*, days: int = SHARE_DAYS + 1, run: JobRun | None = None) -> int:
    """Recounts the last `days` days (today included) from the orders, replacing those days' counts (one row per
    day and account: a sub-account or a connected account), then their totals per day and per account."""
    since = timezone.localdate() - timedelta(days=days - 1)
    now = timezone.now()
    counts: dict[tuple, TagShare] = {}
    for row in tag_counts(since=since):
        key = (row["day"], row["sub_account_id"], row["fast_api_connection_id"])
        share = counts.get(key) or counts.setdefault(key, TagShare(
            day=row["day"], sub_account_id=row["sub_account_id"],
            fast_api_connection_id=row["fast_api_connection_id"], computed_at=now))
        setattr(share, row["verification"], getattr(share, row["verification"]) + row["n"])
    with transaction.atomic():
        TagShare.objects.filter(day__gte=since).delete()
        TagShare.objects.bulk_create(counts.values(), batch_size=1000)
        tag_share_totals(since=since, today=timezone.localdate(), now=now)
    if run:
        run.succeed(f"Counted tagged orders of {len(counts)} account day(s) since {since}.", {"rows": len(counts)})
    return len(counts)


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
