"""What the dashboard shows, gathered from the apps' selectors."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Min, Q, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from brokeroffice.models import Job, KuCoinCall

SUCCESS_CODES = ("200000", "200")


def kucoin_errors_since(hours: int = 24) -> dict:
    since = timezone.now() - timedelta(hours=hours)
    failed = KuCoinCall.objects.filter(at__gte=since).exclude(code__in=SUCCESS_CODES).exclude(code="", http_status=200)
    return {"count": failed.count(), "latest": list(failed.order_by("-id")[:5])}


def failed_jobs_since(hours: int = 24) -> dict:
    since = timezone.now() - timedelta(hours=hours)
    failed = Job.objects.filter(state=Job.State.FAILED, created_at__gte=since).defer("result")
    return {"count": failed.count(), "latest": list(failed.order_by("-created_at")[:5])}


def next_schedules(limit: int = 6) -> list[dict]:
    """Enabled schedules with when each runs next, soonest first."""
    now = timezone.now()
    upcoming = []
    for task in PeriodicTask.objects.filter(enabled=True).select_related("interval", "crontab"):
        schedule = task.schedule
        last = task.last_run_at or now
        try:
            remaining = schedule.remaining_estimate(last)
        except (AttributeError, ValueError):
            continue
        upcoming.append({"name": task.name, "at": now + max(remaining, timedelta(0))})
    return sorted(upcoming, key=lambda item: item["at"])[:limit]


HEADROOM_MINUTES = 5


def rate_limit_headroom(minutes: int = HEADROOM_MINUTES) -> list[dict]:
    """Per KuCoin rate-limit pool, the tightest headroom any account had in the last minutes, as KuCoin's own
    gw-ratelimit headers reported it with each call: what is left before calls start to wait. Grouped by the
    database (two small reads), never the calls themselves."""
    since = timezone.now() - timedelta(minutes=minutes)
    calls = (KuCoinCall.objects.filter(at__gte=since, quota_limit__gt=0).exclude(pool="").order_by()
             .annotate(share=Greatest(F("quota_remaining"), Value(0)) * 1.0 / F("quota_limit")))
    per_pool = {row["pool"]: row for row in calls.values("pool").annotate(calls=Count("id"), tightest=Min("share"))}
    if not per_pool:
        return []
    at_tightest = Q()
    for pool, row in per_pool.items():
        at_tightest |= Q(pool=pool, share=row["tightest"])
    rows = {}
    for call in calls.filter(at_tightest).values("pool", "share", "quota_remaining", "quota_limit", "credential"):
        rows.setdefault(call["pool"], {
            "pool": call["pool"], "share": call["share"], "remaining": max(0, call["quota_remaining"] or 0),
            "limit": call["quota_limit"], "credential": call["credential"],
            "percent": round(100 * call["share"]), "calls": per_pool[call["pool"]]["calls"]})
    return sorted(rows.values(), key=lambda row: row["share"])


def rebate_summary(today=None) -> dict:
    """Rebate received yesterday, in the last 7 and 30 days (per currency), and a 30-day chart of the main
    currency, from the day totals the rebate ingest keeps."""
    from rebates.charts import stacked_bars
    from rebates.models import RebateDayTotal
    from rebates.services import today_in_zone

    today = today or today_in_zone()  # KuCoin's rebate days, not the zone the page is read in
    first = today - timedelta(days=30)
    rows = list(RebateDayTotal.objects.filter(date__gte=first, date__lt=today).order_by()
                .values_list("date", "trade_type", "rebate_currency", "amount"))
    windows = {"yesterday": today - timedelta(days=1), "week": today - timedelta(days=7), "month": first}
    by_currency: dict[str, dict] = {}
    for day, _trade_type, currency, amount in rows:
        sums = by_currency.setdefault(currency, {"currency": currency, "yesterday": 0, "week": 0, "month": 0})
        for window, start in windows.items():
            if day >= start:
                sums[window] += amount
    currencies = sorted(by_currency.values(), key=lambda sums: -sums["month"])
    chart = None
    if currencies:
        main = currencies[0]["currency"]
        days = [first + timedelta(days=i) for i in range(30)]
        spot = {day: amount for day, kind, currency, amount in rows if currency == main and kind == "spot"}
        futures = {day: amount for day, kind, currency, amount in rows if currency == main and kind == "futures"}
        points = [(f"{day:%d %b}", spot.get(day, 0), futures.get(day, 0)) for day in days]
        chart = stacked_bars(points, title=f"Rebate per day, last 30 days ({main})", currency=main)
    return {"currencies": currencies, "chart": chart}


def tagged_share_today() -> dict:
    """Today's tagged share over every account: the day's totals only (one grouped read of today's counts,
    never the per-account table)."""
    from trading.selectors import share_of_day

    today = share_of_day()
    return {"today": today, "computed_at": today["computed_at"] if today else None}
