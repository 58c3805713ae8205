"""The reconciliation's tagged order volume (issue 7): read over a range of times cut at the current time zone's
midnights (as the days are), from tagged orders with something dealt, and the rebate days newest first."""
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import SubAccount
from rebates.selectors import ReportFilter, reconciliation
from rebates.tests.test_pages import BEGIN, records  # noqa: F401 (fixture)
from trading.models import Order

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


def order_at(sub_account, at: datetime, funds, verification="tagged"):
    order = Order.objects.create(market="spot", sub_account=sub_account, symbol="BTC-USDT", side="buy", state="filled",
                                 deal_funds=None if funds is None else Decimal(funds), verification=verification)
    Order.objects.filter(pk=order.pk).update(created_at=at)
    return order


def test_the_volume_is_cut_at_the_current_time_zones_midnights():
    idle = SubAccount.objects.create(account_name="idle-0001", uid="100000077", state="active")
    first, last = BEGIN, BEGIN + timedelta(days=1)

    def local(day, hour, minute=0):
        return datetime.combine(day, time(hour, minute), tzinfo=TOKYO)

    order_at(idle, local(first - timedelta(days=1), 23, 59), "1")  # the evening before: outside
    order_at(idle, local(first, 0, 0), "10")  # the first midnight: inside
    order_at(idle, local(last, 23, 59), "100")  # the last evening: inside, on the last day
    order_at(idle, local(last + timedelta(days=1), 0, 0), "1000")  # the midnight after: outside
    with timezone.override(TOKYO):
        recon = reconciliation(ReportFilter(begin=first, end=last))
    assert [(r.day, r.uid, r.volume) for r in recon.flagged] == [(last, "100000077", Decimal("100")),
                                                                 (first, "100000077", Decimal("10"))]
    with timezone.override(ZoneInfo("UTC")):  # nine hours earlier, the first two fall before the range
        recon = reconciliation(ReportFilter(begin=first, end=last))
    assert [(r.day, r.volume) for r in recon.flagged] == [(last, Decimal("1100"))]


def test_orders_with_nothing_dealt_or_not_tagged_add_no_volume():
    idle = SubAccount.objects.create(account_name="idle-0002", uid="100000078", state="active")
    noon = datetime.combine(BEGIN, time(12), tzinfo=ZoneInfo("UTC"))
    order_at(idle, noon, None)
    order_at(idle, noon, "0")
    order_at(idle, noon, "50", verification="untagged")
    order_at(idle, noon, "50", verification="unverified")
    assert reconciliation(ReportFilter(begin=BEGIN, end=BEGIN)).flagged == []
    order_at(idle, noon, "7.5")
    order_at(idle, noon + timedelta(hours=1), "2.5")
    [row] = reconciliation(ReportFilter(begin=BEGIN, end=BEGIN)).flagged
    assert (row.day, row.uid, row.volume, row.name) == (BEGIN, "100000078", Decimal("10.0"), "idle-0002")


def test_the_rebate_days_come_newest_first_within_the_limit(records):  # noqa: F811
    f = ReportFilter(begin=BEGIN, end=BEGIN + timedelta(days=9))
    everything = reconciliation(f, limit=None)
    assert len(everything.rows) == 20 and not everything.limited
    page = reconciliation(f, limit=5)
    assert page.limited and len(page.rows) == 5
    assert [r.day for r in page.rows] == sorted((r.day for r in page.rows), reverse=True)
    assert page.rows[0].day == BEGIN + timedelta(days=9)
    newest = {(r.day, r.uid): r.rebates for r in everything.rows}
    assert all(newest[(r.day, r.uid)] == r.rebates for r in page.rows)
    assert all(r.volume == 0 and not r.trades_but_earns_nothing for r in page.rows)
