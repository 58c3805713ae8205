"""The share of tagged orders per day and sub-account, counted ahead for the pages (TagShare)."""
from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from brokeroffice.jobs import JobRun
from trading.models import TagShare
from trading.selectors import SHARE_DAYS, tag_counts


def tag_share_refresh(*, days: int = SHARE_DAYS + 1, run: JobRun | None = None) -> int:
    """Recounts the last `days` days (today included) from the orders, replacing those days' counts (one row per
    day and account: a sub-account or a connected account)."""
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
    if run:
        run.succeed(f"Counted tagged orders of {len(counts)} account day(s) since {since}.", {"rows": len(counts)})
    return len(counts)
