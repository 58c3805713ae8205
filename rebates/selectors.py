"""Reads the rebate pages, exports and tests share. Amounts are summed by the database, per currency
(rebates in different currencies are never added together)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from rebates.models import (
    RebateDayTotal,
    RebateFile,
    RebateMonthTotal,
    RebateRecord,
    RebateWeekTotal,
    RebateYearTotal,
    TradeType,
)
from rebates.totals import month_start, week_start

PERIODS = ("day", "week", "month")
ZERO = Decimal(0)


@dataclass(frozen=True)
class ReportFilter:
    begin: date
    end: date
    uid: str | None = None  # one sub-account, by uid
    trade_type: str | None = None  # spot, futures, or None for both

    def records(self) -> QuerySet:
        if self.uid:
            qs = records_of_uid(self.uid, self.begin, self.end)
        else:
            qs = RebateRecord.objects.filter(date__range=(self.begin, self.end))
        if self.trade_type:
            qs = qs.filter(trade_type=self.trade_type)
        return qs.order_by()


MAX_DAYS_LOOKED_UP = 4000


def records_of_uid(uid: str, begin: date, end: date) -> QuerySet:
    """One sub-account's records over [begin, end]. No index starts with the uid (each costs the ingest
    time), so the (day, uid) index is looked up once per day of the range: `date IN (...) AND uid = ...` is
    one index descent per day, about as fast as an index on the uid."""
    days = (end - begin).days + 1
    if 0 < days <= MAX_DAYS_LOOKED_UP:
        return RebateRecord.objects.filter(date__in=[begin + timedelta(days=i) for i in range(days)], uid=uid).order_by()
    return RebateRecord.objects.filter(date__range=(begin, end), uid=uid).order_by()


def default_filter(today: date) -> ReportFilter:
    """The previous calendar month and this month up to yesterday (whole months read the month totals)."""
    end = today - timedelta(days=1)
    begin = (end.replace(day=1) - timedelta(days=1)).replace(day=1)
    return ReportFilter(begin=begin, end=end)


def period_start(day: date, period: str) -> date:
    if period == "week":
        return week_start(day)
    if period == "month":
        return month_start(day)
    return day


@dataclass
class PeriodRow:
    period: date
    currency: str
    spot: Decimal = ZERO
    futures: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.spot + self.futures


def rebates_by_period(f: ReportFilter, period: str = "day") -> list[PeriodRow]:
    """Rebate per day, week (starting Monday) or month, spot and futures side by side, oldest first.
    For all sub-accounts it reads the day totals; for one, its records (by the uid index)."""
    if f.uid:
        qs, amount = f.records(), "rebate_amount"
    else:
        qs, amount = RebateDayTotal.objects.filter(date__range=(f.begin, f.end)).order_by(), "amount"
        if f.trade_type:
            qs = qs.filter(trade_type=f.trade_type)
    if period == "week":
        qs = qs.annotate(period=TruncWeek("date"))
    elif period == "month":
        qs = qs.annotate(period=TruncMonth("date"))
    else:
        period = "day"
    key = "period" if period != "day" else "date"
    grouped = qs.values(key, "trade_type", "rebate_currency").annotate(amount_sum=Sum(amount))
    rows: dict[tuple, PeriodRow] = {}
    for g in grouped:
        start = g[key]
        if hasattr(start, "date"):  # TruncWeek/TruncMonth may hand back a datetime on some databases
            start = start.date()
        row = rows.setdefault((start, g["rebate_currency"]), PeriodRow(start, g["rebate_currency"]))
        setattr(row, g["trade_type"], getattr(row, g["trade_type"]) + (g["amount_sum"] or ZERO))
    return sorted(rows.values(), key=lambda r: (r.period, r.currency))


@dataclass
class TypeRow:
    currency: str
    spot: Decimal = ZERO
    futures: Decimal = ZERO
    spot_records: int = 0
    futures_records: int = 0

    @property
    def total(self) -> Decimal:
        return self.spot + self.futures

    @property
    def spot_share(self) -> int | None:
        return round(100 * self.spot / self.total) if self.total else None


def rebates_by_type(period_rows: list[PeriodRow]) -> list[TypeRow]:
    """Spot against futures over the range, per currency (from the period rows: no second query)."""
    out: dict[str, TypeRow] = {}
    for r in period_rows:
        row = out.setdefault(r.currency, TypeRow(r.currency))
        row.spot += r.spot
        row.futures += r.futures
    return sorted(out.values(), key=lambda r: -r.total)


@dataclass
class SubAccountRow:
    uid: str
    currency: str
    name: str = ""
    sub_account_id: int | None = None
    spot: Decimal = ZERO
    futures: Decimal = ZERO
    records: int = 0

    @property
    def total(self) -> Decimal:
        return self.spot + self.futures


def _names(uids) -> dict[str, tuple[int, str]]:
    from accounts.models import SubAccount

    uids = list(uids)
    out: dict[str, tuple[int, str]] = {}
    for i in range(0, len(uids), 5000):  # bounded IN lists (SQLite limits query parameters)
        out.update({uid: (pk, name) for pk, uid, name in
                    SubAccount.objects.filter(uid__in=uids[i:i + 5000]).values_list("pk", "uid", "account_name")})
    return out


def attach_names(rows) -> None:
    """Fills in the sub-account (id and name) of each row, by uid, in one query."""
    names = _names({r.uid for r in rows})
    for r in rows:
        r.sub_account_id, r.name = names.get(r.uid, (None, ""))


def rebates_by_sub_account(f: ReportFilter, limit: int | None = None, names: bool = True,
                           offset: int = 0) -> list[SubAccountRow]:
    """Rebate per sub-account (uid) and currency, largest first; `limit` gives one page of them (from
    `offset`). Whole years and months of the range are read from the year and month totals, the other
    days from the records."""
    ranked = limit is not None and not f.uid
    if ranked and connection.vendor == "postgresql":
        ordered = _ranked_rows(f, limit, offset)
    else:
        groups = _ranked_groups(f, limit, offset) if ranked else _sub_account_groups(f, None if f.uid else _plan(f))
        rows: dict[tuple, SubAccountRow] = {}
        for g in groups:
            row = rows.setdefault((g["uid"], g["rebate_currency"]), SubAccountRow(g["uid"], g["rebate_currency"]))
            setattr(row, g["trade_type"], getattr(row, g["trade_type"]) + (g["amount"] or ZERO))
            row.records += g["records"]
        ordered = sorted(rows.values(), key=lambda r: (-r.total, r.uid))
        if limit is not None:
            ordered = ordered[:limit] if ranked else ordered[offset:offset + limit]
    if names:
        attach_names(ordered)
    return ordered


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _later_data(after: date, until: date) -> bool:
    """Whether any records exist in (after, until]: then a period total holds more than the range asks."""
    return after < until and RebateDayTotal.objects.filter(date__gt=after, date__lte=until).exists()


@dataclass
class Plan:
    """A range cut into what the totals hold exactly: whole years, whole months, whole weeks inside the
    rest, and the days left over (at most six at each end of a partial month)."""
    years: list[date] = field(default_factory=list)
    months: list[date] = field(default_factory=list)
    weeks: list[date] = field(default_factory=list)
    days: list[tuple[date, date]] = field(default_factory=list)  # spans read from the records

    def totals(self) -> list[tuple]:
        """(model, period field, period starts) of the totals to read."""
        return [(model, key, starts) for model, key, starts in
                ((RebateYearTotal, "year", self.years), (RebateMonthTotal, "month", self.months),
                 (RebateWeekTotal, "week", self.weeks)) if starts]

    def add_span(self, first: date, last: date) -> None:
        """Days not covered by a whole month: the Monday-to-Sunday weeks inside, and the days around them."""
        monday = first + timedelta(days=(7 - first.weekday()) % 7)
        weeks = []
        while monday + timedelta(days=6) <= last:
            weeks.append(monday)
            monday += timedelta(days=7)
        if not weeks:
            self.days.append((first, last))
            return
        if first < weeks[0]:
            self.days.append((first, weeks[0] - timedelta(days=1)))
        self.weeks.extend(weeks)
        after = weeks[-1] + timedelta(days=7)
        if after <= last:
            self.days.append((after, last))


def _plan(f: ReportFilter) -> Plan:
    """A year or month counts as whole when the range covers it from its first day up to its last day or to
    the last day with records (a total "so far" holds exactly those days)."""
    plan = Plan()
    year = f.begin.replace(month=1, day=1)
    while year <= f.end:
        year_last = year.replace(month=12, day=31)
        first_day, last_day = max(year, f.begin), min(year_last, f.end)
        if first_day == year and not _later_data(last_day, year_last):
            plan.years.append(year)
        else:
            _plan_months(plan, first_day, last_day)
        year = year_last + timedelta(days=1)
    return plan


def _plan_months(plan: Plan, begin: date, end: date) -> None:
    month = month_start(begin)
    while month <= end:
        last = _next_month(month) - timedelta(days=1)
        first_day, last_day = max(month, begin), min(last, end)
        if first_day == month and not _later_data(last_day, last):
            plan.months.append(month)  # the month total holds exactly these days
        else:
            plan.add_span(first_day, last_day)
        month = _next_month(month)


def _sub_account_groups(f: ReportFilter, plan: Plan | None, uids: list[str] | None = None):
    """(uid, currency, trade type) → amount, records over the filter's range (for `uids` only, if given)."""
    if f.uid:
        yield from (f.records().values("uid", "rebate_currency", "trade_type")
                    .annotate(amount=Sum("rebate_amount"), records=Count("uid")))
        return
    for model, key, starts in plan.totals():
        qs = model.objects.filter(**{f"{key}__in": starts}).order_by()
        if f.trade_type:
            qs = qs.filter(trade_type=f.trade_type)
        if uids is not None:
            qs = qs.filter(uid__in=uids)
        yield from qs.values("uid", "rebate_currency", "trade_type").annotate(amount=Sum("amount"), records=Sum("records"))
    for first_day, last_day in plan.days:
        qs = RebateRecord.objects.filter(date__range=(first_day, last_day)).order_by()
        if f.trade_type:
            qs = qs.filter(trade_type=f.trade_type)
        if uids is not None:
            qs = qs.filter(uid__in=uids)
        yield from (qs.values("uid", "rebate_currency", "trade_type")
                    .annotate(amount=Sum("rebate_amount"), records=Count("uid")))


def _union_sql(f: ReportFilter, plan: Plan) -> tuple[str, list]:
    """One SELECT of (uid, rebate_currency, trade_type, amount, records) over the plan's totals and days."""
    parts, params = [], []
    type_sql = " AND trade_type = %s" if f.trade_type else ""
    type_param = [f.trade_type] if f.trade_type else []
    for model, key, starts in plan.totals():
        parts.append(f"SELECT uid, rebate_currency, trade_type, amount, records FROM {model._meta.db_table} "
                     f"WHERE {key} IN ({', '.join(['%s'] * len(starts))}){type_sql}")
        params += [*starts, *type_param]
    for first_day, last_day in plan.days:
        parts.append(f"SELECT uid, rebate_currency, trade_type, rebate_amount AS amount, 1 AS records "
                     f"FROM {RebateRecord._meta.db_table} WHERE date BETWEEN %s AND %s{type_sql}")
        params += [first_day, last_day, *type_param]
    return " UNION ALL ".join(parts), params


def _ranked_rows(f: ReportFilter, limit: int, offset: int) -> list[SubAccountRow]:
    """PostgreSQL: one page of (uid, currency) rows, summed and ranked by one query over the plan's totals
    and days (a year over every sub-account reads a few total rows per uid and trade type)."""
    union, params = _union_sql(f, _plan(f))
    if not union:
        return []
    sql = f"""SELECT uid, rebate_currency, coalesce(sum(amount) FILTER (WHERE trade_type = 'spot'), 0),
                     coalesce(sum(amount) FILTER (WHERE trade_type = 'futures'), 0), sum(records)
              FROM ({union}) AS t GROUP BY uid, rebate_currency
              ORDER BY sum(amount) DESC, uid LIMIT %s OFFSET %s"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        return [SubAccountRow(uid, currency, spot=spot, futures=futures, records=int(records))
                for uid, currency, spot, futures, records in cursor.fetchall()]


def _ranked_groups(f: ReportFilter, limit: int, offset: int) -> list[dict]:
    """Elsewhere (SQLite sums decimals as floats in SQL): the page's (uid, currency) rows are ranked by the
    database, then summed by the ORM, whose converters give Decimals back."""
    plan = _plan(f)
    union, params = _union_sql(f, plan)
    if not union:
        return []
    pairs = _top_pairs(union, params, limit, offset)
    return [g for g in _sub_account_groups(f, plan, list(dict.fromkeys(uid for uid, _ in pairs)))
            if (g["uid"], g["rebate_currency"]) in pairs]


def _top_pairs(union: str, params: list, limit: int, offset: int) -> set[tuple[str, str]]:
    """The page's (uid, currency) rows with the largest rebate, ranked by the database."""
    sql = (f"SELECT uid, rebate_currency, SUM(amount) AS total FROM ({union}) AS t "
           f"GROUP BY uid, rebate_currency ORDER BY total DESC, uid LIMIT %s OFFSET %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        return {(uid, currency) for uid, currency, _ in cursor.fetchall()}


def totals(period_rows: list[PeriodRow]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    for r in period_rows:
        out[r.currency] += r.total
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def recent_files(limit: int = 50) -> list[RebateFile]:
    return list(RebateFile.objects.defer("url").order_by("-id")[:limit])


TRADE_TYPES = TradeType.choices


def rebate_totals_of(uid: str, *, days: int = 30, today: date | None = None) -> list[dict]:
    """What one sub-account earned the broker in the last `days` days, per trade type and currency."""
    today = today or date.today()
    return list(
        records_of_uid(uid, today - timedelta(days=days), today)
        .values("trade_type", "rebate_currency").annotate(amount=Sum("rebate_amount")).order_by("trade_type", "rebate_currency")
    )
