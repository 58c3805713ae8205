"""Report figures read from the year, month and day totals (and the records for partial months) equal the
records themselves, whatever the range: whole years, a year "so far", years with partial months at both
ends, one sub-account, one trade type, page by page."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from rebates.models import RebateFile, RebateRecord
from rebates.selectors import ReportFilter, _plan, rebate_totals_of, rebates_by_period, rebates_by_sub_account
from rebates.services import rebate_file_ingest

pytestmark = pytest.mark.django_db

HEADER = "date,uid,tradeType,feeCurrency,volume,fee,rebateCurrency,rebateAmount\n"
UIDS = ("100000011", "100000012", "100000013", "100000014")
FIRST, LAST = date(2023, 11, 27), date(2025, 2, 3)


def day_list() -> list[date]:
    """Every fifth day of the span, and the first and last days of every month (totals' edges)."""
    out, day = set(), FIRST
    while day <= LAST:
        if (day - FIRST).days % 5 == 0 or day.day == 1 or (day + timedelta(days=1)).day == 1:
            out.add(day)
        day += timedelta(days=1)
    return sorted(out | {LAST})


@pytest.fixture
def history():
    for trade_type in ("spot", "futures"):
        lines = [HEADER]
        for n, day in enumerate(day_list()):
            for k, uid in enumerate(UIDS):
                if (n + k) % 4 == 3 and trade_type == "futures":
                    continue  # not every uid trades every day
                amount = Decimal(n * 7 + k * 13 + (3 if trade_type == "spot" else 0)) / Decimal(1000)
                currency = "BTC" if (n + k) % 9 == 0 else "USDT"
                lines.append(f"{day},{uid},{trade_type.upper()},{currency},1,1,{currency},{amount}\n")
        f = RebateFile.objects.create(trade_type=trade_type, begin=FIRST, end=LAST)
        f.content.save(f"history-{trade_type}.csv", ContentFile("".join(lines).encode()))
        rebate_file_ingest(rebate_file=f)


def by_records(begin: date, end: date, trade_type: str | None = None, uid: str | None = None) -> dict[tuple, tuple]:
    """(uid, currency) → (spot, futures, records), computed here from the records."""
    out: dict[tuple, list] = {}
    qs = RebateRecord.objects.filter(date__range=(begin, end))
    if trade_type:
        qs = qs.filter(trade_type=trade_type)
    if uid:
        qs = qs.filter(uid=uid)
    for r_uid, currency, r_type, amount in qs.values_list("uid", "rebate_currency", "trade_type", "rebate_amount"):
        row = out.setdefault((r_uid, currency), [Decimal(0), Decimal(0), 0])
        row[0 if r_type == "spot" else 1] += amount
        row[2] += 1
    return {k: tuple(v) for k, v in out.items()}


RANGES = [
    (date(2024, 1, 1), date(2024, 12, 31)),  # one whole year
    (date(2023, 11, 28), date(2025, 1, 15)),  # partial months, a whole month, a whole year, a partial month
    (date(2025, 1, 1), LAST),  # a year so far (no records after LAST)
    (date(2024, 1, 1), date(2024, 12, 30)),  # not quite a year: months and days
    (date(2024, 3, 1), date(2024, 3, 31)),
    (date(2024, 2, 10), date(2024, 2, 20)),
    (date(2024, 7, 1), date(2024, 7, 21)),  # three whole weeks (a month so far would not do: later data)
    (FIRST, LAST),
]


@pytest.mark.parametrize("begin, end", RANGES)
def test_sub_account_and_period_figures_equal_the_records(history, begin, end):
    for trade_type in (None, "spot", "futures"):
        f = ReportFilter(begin=begin, end=end, trade_type=trade_type)
        expected = by_records(begin, end, trade_type)
        rows = rebates_by_sub_account(f)
        assert {(r.uid, r.currency): (r.spot, r.futures, r.records) for r in rows} == expected, (begin, end, trade_type)
        per_month = rebates_by_period(f, "month")
        assert sum(r.total for r in per_month) == sum(s + fu for s, fu, _ in expected.values())
        ranked = sorted(expected.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0][0]))
        pages = [rebates_by_sub_account(f, limit=3, offset=offset) for offset in (0, 3, 6)]
        assert [(r.uid, r.currency, r.total) for page in pages for r in page] == \
            [(uid, currency, s + fu) for (uid, currency), (s, fu, _) in ranked][:9]


def test_the_plan_reads_whole_years_and_months_from_the_totals(history):
    plan = _plan(ReportFilter(begin=date(2023, 11, 28), end=date(2025, 1, 15)))
    assert plan.years == [date(2024, 1, 1)]
    assert plan.months == [date(2023, 12, 1)]
    assert plan.weeks == [date(2025, 1, 6)]  # the Monday-to-Sunday weeks inside the partial months
    assert plan.days == [(date(2023, 11, 28), date(2023, 11, 30)), (date(2025, 1, 1), date(2025, 1, 5)),
                         (date(2025, 1, 13), date(2025, 1, 15))]
    so_far = _plan(ReportFilter(begin=date(2025, 1, 1), end=LAST))
    assert so_far.years == [date(2025, 1, 1)] and not so_far.days


@pytest.mark.parametrize("begin, end", RANGES)
def test_one_sub_account_equals_its_records(history, begin, end):
    for uid in UIDS:
        f = ReportFilter(begin=begin, end=end, uid=uid)
        assert {(r.uid, r.currency): (r.spot, r.futures, r.records) for r in rebates_by_sub_account(f)} == \
            by_records(begin, end, uid=uid)
        assert sum(r.total for r in rebates_by_period(f, "week")) == sum(
            s + fu for s, fu, _ in by_records(begin, end, uid=uid).values())


def test_a_sub_accounts_last_days_equal_its_records(history):
    got = {(g["trade_type"], g["rebate_currency"]): g["amount"] for g in rebate_totals_of(UIDS[0], days=40, today=LAST)}
    expected = by_records(LAST - timedelta(days=40), LAST, uid=UIDS[0])
    assert sum(got.values()) == sum(s + fu for s, fu, _ in expected.values()) > 0
