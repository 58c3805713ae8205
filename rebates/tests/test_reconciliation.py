"""The reconciliation page (issue 7) as staff see it: per sub-account and day, the tagged order volume counted by
trading/ (per quote currency, days cut at the current time zone's midnights) next to the rebate; the sub-account
days that trade but earn nothing first, newest first and paged; a day whose rebate files are not in yet waiting,
never flagged; the flags set again when a rebate file is pulled; filters; the CSV export of every row."""
import csv
import io
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import SubAccount
from brokeroffice.jobs import JobRun, job_create
from rebates import reconciliation
from rebates.models import RebateFile
from rebates.services import rebate_file_reparse, rebate_files_pull
from rebates.tests.test_pages import BEGIN, HEADER, RANGE, records  # noqa: F401 (fixture)
from trading.models import Order, TagShare
from trading.services.shares import tag_share_refresh

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
UTC = ZoneInfo("UTC")
DAYS_COUNTED = 10


def days_ago(n: int):
    return timezone.localdate() - timedelta(days=n)


def sub_account(n: int) -> SubAccount:
    return SubAccount.objects.create(account_name=f"recon-{n:04d}", uid=str(100000100 + n), state="active")


def order_at(account, at: datetime, funds, verification="tagged", market="spot", symbol="BTC-USDT",
             fee_currency=""):
    order = Order.objects.create(market=market, sub_account=account, symbol=symbol, side="buy", state="filled",
                                 deal_funds=None if funds is None else Decimal(funds), verification=verification,
                                 fee_currency=fee_currency)
    Order.objects.filter(pk=order.pk).update(created_at=at)
    return order


def noon(day, tz=UTC) -> datetime:
    return datetime.combine(day, time(12), tzinfo=tz)


def pull(trade_type: str, day, lines: list[str]) -> None:
    """A rebate file of one day, pulled as the daily sync does (its bytes already stored: no download)."""
    rebate_file = RebateFile.objects.create(trade_type=trade_type, begin=day, end=day)
    rebate_file.content.save(f"recon-{trade_type}-{day}.csv", ContentFile((HEADER + "".join(lines)).encode()))
    job = job_create(kind="rebates_sync", label="test")
    rebate_files_pull(file_ids=[rebate_file.pk], run=JobRun(str(job.pk)))


def rebate_line(day, account, amount: str, trade_type="SPOT") -> str:
    return f"{day},{account.uid},{trade_type},USDT,1000,1,USDT,{amount}\n"


@pytest.fixture
def staff(client, make_staff):
    """A viewer, logged in."""
    client.force_login(make_staff("viewer"))
    return client


def shown(client, **params):
    response = client.get(reverse("rebates:reconciliation"), params)
    assert response.status_code == 200
    return response


def window(first, last) -> dict:
    return {"begin": first.isoformat(), "end": last.isoformat()}


def exported(client, **params) -> list[dict]:
    response = client.get(reverse("rebates:export", args=["reconciliation"]), params)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_volume_per_day_is_cut_at_the_current_time_zones_midnights(staff):
    idle = sub_account(1)
    first, last = days_ago(3), days_ago(2)
    order_at(idle, datetime.combine(first - timedelta(days=1), time(23, 59), tzinfo=TOKYO), "1")
    order_at(idle, datetime.combine(first, time(0, 0), tzinfo=TOKYO), "10")
    order_at(idle, datetime.combine(last, time(23, 59), tzinfo=TOKYO), "100")
    order_at(idle, datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=TOKYO), "1000")
    with timezone.override(TOKYO):
        tag_share_refresh(days=DAYS_COUNTED)
        waiting = shown(staff, **window(first - timedelta(days=1), last + timedelta(days=1)))
    assert {s.day: s.volumes for s in TagShare.objects.all()} == {
        first - timedelta(days=1): {"USDT": Decimal(1)}, first: {"USDT": Decimal(10)},
        last: {"USDT": Decimal(100)}, last + timedelta(days=1): {"USDT": Decimal(1000)}}
    assert [(w.day, w.sub_accounts) for w in waiting.context["recon"].waiting][1:3] == [(last, 1), (first, 1)]
    with timezone.override(UTC):  # nine hours earlier: the first two fall on the day before, the last two on `last`
        tag_share_refresh(days=DAYS_COUNTED)
    assert {s.day: s.volumes for s in TagShare.objects.all()} == {
        first - timedelta(days=1): {"USDT": Decimal(11)}, last: {"USDT": Decimal(1100)}}


def test_volumes_of_different_quote_currencies_are_kept_apart_and_undealt_or_untagged_orders_add_none(
        staff):
    trader = sub_account(2)
    day = days_ago(2)
    order_at(trader, noon(day), "100")
    order_at(trader, noon(day), "0.5", symbol="ETH-BTC")
    order_at(trader, noon(day), "20", market="futures", symbol="XBTUSDTM", fee_currency="USDT")
    order_at(trader, noon(day), "0.25", market="futures", symbol="XBTUSDM", fee_currency="XBT")
    order_at(trader, noon(day), None)
    order_at(trader, noon(day), "0")
    order_at(trader, noon(day), "50", verification="untagged")
    order_at(trader, noon(day), "50", verification="unverified")
    tag_share_refresh(days=DAYS_COUNTED)
    pull("spot", day, [])
    pull("futures", day, [])
    response = shown(staff, **window(day, day))
    [row] = response.context["recon"].flagged.object_list
    assert row.volumes == {"BTC": Decimal("0.5"), "USDT": Decimal(120), "XBT": Decimal("0.25")}
    html = response.content.decode()
    assert "0.5 BTC" in html and "120 USDT" in html and "0.25 XBT" in html


def test_a_day_waits_for_its_rebate_files_then_the_sub_account_without_rebate_is_flagged(staff):
    earner, idle = sub_account(3), sub_account(4)
    day = days_ago(1)
    order_at(earner, noon(day), "1000")
    order_at(idle, noon(day), "2500.5")
    tag_share_refresh(days=DAYS_COUNTED)
    response = shown(staff, **window(day, day))
    recon = response.context["recon"]
    assert recon.flagged.object_list == [] and [(w.day, w.sub_accounts) for w in recon.waiting] == [(day, 2)]
    assert "Waiting for rebate files" in response.content.decode()
    assert "Trades, earns nothing</span>" not in response.content.decode()

    pull("spot", day, [rebate_line(day, earner, "0.7")])  # the futures file is not in yet: still waiting
    recon = shown(staff, **window(day, day)).context["recon"]
    assert recon.flagged.object_list == [] and [(w.day, w.sub_accounts) for w in recon.waiting] == [(day, 1)]

    pull("futures", day, [])
    response = shown(staff, **window(day, day))
    recon = response.context["recon"]
    assert [(r.day, r.uid, r.name, r.volumes) for r in recon.flagged.object_list] == [
        (day, idle.uid, "recon-0004", {"USDT": Decimal("2500.5")})]
    assert recon.waiting == []
    [earned] = recon.rows
    assert (earned.uid, earned.volumes, earned.rebates, earned.check) == (
        earner.uid, {"USDT": Decimal(1000)}, {"USDT": Decimal("0.7")}, "")
    assert "Trades, earns nothing</span>" in response.content.decode()


def test_a_zero_rebate_is_no_rebate(staff):
    trader = sub_account(5)
    day = days_ago(1)
    order_at(trader, noon(day), "10")
    tag_share_refresh(days=DAYS_COUNTED)
    pull("spot", day, [rebate_line(day, trader, "0")])
    pull("futures", day, [])
    recon = shown(staff, **window(day, day)).context["recon"]
    assert [r.uid for r in recon.flagged.object_list] == [trader.uid]
    assert [(r.uid, r.check) for r in recon.rows] == [(trader.uid, "Trades, earns nothing")]


def test_a_file_parsed_again_sets_the_flags_again(staff):
    trader = sub_account(6)
    day = days_ago(1)
    order_at(trader, noon(day), "10")
    tag_share_refresh(days=DAYS_COUNTED)
    pull("spot", day, [])
    pull("futures", day, [])
    assert [r.uid for r in shown(staff, **window(day, day)).context["recon"].flagged.object_list] == [trader.uid]
    # The stored bytes read again hold the trader's rebate (as after a fix of the column mapping).
    spot = RebateFile.objects.get(trade_type="spot", begin=day)
    spot.content.save(spot.content.name.rsplit("/", 1)[-1], ContentFile((HEADER + rebate_line(day, trader, "0.3")).encode()))
    rebate_file_reparse(file_id=spot.pk)
    recon = shown(staff, **window(day, day)).context["recon"]
    assert recon.flagged.object_list == [] and [(r.uid, r.check) for r in recon.rows] == [(trader.uid, "")]


def test_the_flagged_days_come_newest_first_a_page_at_a_time(staff):
    accounts = [sub_account(10 + i) for i in range(reconciliation.FLAGGED_PER_PAGE + 5)]
    older, newer = days_ago(3), days_ago(2)
    for i, account in enumerate(accounts):
        order_at(account, noon(older if i % 2 else newer), "1")
    tag_share_refresh(days=DAYS_COUNTED)
    for day in (older, newer):
        pull("spot", day, [])
        pull("futures", day, [])
    first = shown(staff, **window(older, newer))
    flagged = first.context["recon"].flagged
    assert flagged.paginator.count == len(accounts) and len(flagged.object_list) == reconciliation.FLAGGED_PER_PAGE
    days = [r.day for r in flagged.object_list]
    assert days == sorted(days, reverse=True) and days[0] == newer
    assert f"{len(accounts)}</strong> sub-account days" in first.content.decode()
    second = shown(staff, **window(older, newer), page="2").context["recon"].flagged
    both_pages = {(r.day, r.uid) for r in flagged.object_list} | {(r.day, r.uid) for r in second.object_list}
    assert len(second.object_list) == 5 and len(both_pages) == len(accounts)


def test_the_filters_keep_to_the_range_and_the_sub_account(staff):
    one, other = sub_account(80), sub_account(81)
    inside, outside = days_ago(2), days_ago(4)
    for account in (one, other):
        for day in (inside, outside):
            order_at(account, noon(day), "3")
    tag_share_refresh(days=DAYS_COUNTED)
    for day in (inside, outside):
        pull("spot", day, [rebate_line(day, other, "0.1")])
        pull("futures", day, [])
    recon = shown(staff, **window(inside, inside), sub_account=one.uid).context["recon"]
    assert [(r.day, r.uid) for r in recon.flagged.object_list] == [(inside, one.uid)] and recon.rows == []
    recon = shown(staff, **window(inside, inside), sub_account=other.uid).context["recon"]
    assert recon.flagged.object_list == []
    assert [(r.day, r.uid, r.volumes) for r in recon.rows] == [(inside, other.uid, {"USDT": Decimal(3)})]


def test_the_export_has_every_row_flagged_waiting_and_rebate_days(staff):
    earner, idle = sub_account(90), sub_account(91)
    pulled, today = days_ago(1), days_ago(0)
    for account in (earner, idle):
        order_at(account, noon(pulled), "5")
    order_at(idle, timezone.now(), "7")
    tag_share_refresh(days=DAYS_COUNTED)
    pull("spot", pulled, [rebate_line(pulled, earner, "0.2")])
    pull("futures", pulled, [])
    rows = exported(staff, **window(pulled, today))
    assert [(r["day"], r["uid"], r["sub_account"], r["tagged_order_volume"], r["rebates"], r["check"])
            for r in rows] == [
        (pulled.isoformat(), idle.uid, "recon-0091", "5 USDT", "", "Trades, earns nothing"),
        (today.isoformat(), idle.uid, "recon-0091", "7 USDT", "", "Rebate files not in yet"),
        (pulled.isoformat(), earner.uid, "recon-0090", "5 USDT", "0.2 USDT", ""),
    ]


def test_the_rebate_days_come_newest_first_within_the_limit(staff, records, monkeypatch):  # noqa: F811
    everything = shown(staff, **RANGE).context["recon"]
    assert len(everything.rows) == 20 and not everything.limited
    monkeypatch.setattr(reconciliation, "REBATE_DAYS_SHOWN", 5)
    newest_five = shown(staff, **RANGE).context["recon"]
    assert newest_five.limited and [r.day for r in newest_five.rows] == [BEGIN + timedelta(days=9)] * 2 + [
        BEGIN + timedelta(days=8)] * 2 + [BEGIN + timedelta(days=7)]
    newest = {(r.day, r.uid): r.rebates for r in everything.rows}
    assert all(newest[(r.day, r.uid)] == r.rebates for r in newest_five.rows)
    assert len(exported(staff, **RANGE)) == 20
