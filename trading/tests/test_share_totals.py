"""The tagged share's totals kept with the counts (issue 6): a row a day and one row per account, so that the
share pages read a page of accounts, worst first, and the dashboard today's totals only; they agree with the
per-day, per-account counts they are made from."""
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import ApiKeyFactory
from accounts.tests.test_pages_support import html, login
from trading import selectors
from trading.models import Order, TagShare, TagShareAccount, TagShareDay
from trading.services.shares import tag_share_refresh

pytestmark = pytest.mark.django_db


def orders(key, n, days_ago=0, **fields):
    defaults = dict(market="spot", symbol="BTC-USDT", side="buy", type="limit", price=Decimal("30000"),
                    size=Decimal("0.001"), state=Order.State.OPEN, verification=Order.Verification.TAGGED,
                    tags="partner:made-up", kucoin_order_id=None)
    defaults.update(fields)
    made = Order.objects.bulk_create([Order(sub_account=key.sub_account, api_key=key, **defaults) for _ in range(n)])
    if days_ago:
        Order.objects.filter(pk__in=[o.pk for o in made]).update(created_at=timezone.now() - timedelta(days=days_ago))
    return made


@pytest.fixture
def accounts():
    """Four sub-accounts whose orders over the last days rank them: most untagged first, then the lowest share,
    then most not yet verified; one more traded only before the share window."""
    clean, worst, low_share, pending, old = (ApiKeyFactory() for _ in range(5))
    orders(clean, 4)
    orders(worst, 2, verification=Order.Verification.UNTAGGED, tags="")
    orders(worst, 1, days_ago=3, verification=Order.Verification.UNTAGGED, tags="")
    orders(worst, 5, days_ago=3)
    orders(low_share, 1, days_ago=2, verification=Order.Verification.UNTAGGED, tags="")
    orders(low_share, 1, days_ago=2)
    orders(pending, 1, verification=Order.Verification.UNTAGGED, tags="")
    orders(pending, 3)
    orders(pending, 2, verification=Order.Verification.UNVERIFIED, tags="")
    orders(old, 3, days_ago=selectors.SHARE_DAYS + 3, verification=Order.Verification.UNTAGGED, tags="")
    tag_share_refresh()
    return {"clean": clean, "worst": worst, "low_share": low_share, "pending": pending, "old": old}


def test_the_totals_agree_with_the_counts_they_are_made_of(accounts):
    since = timezone.localdate() - timedelta(days=selectors.SHARE_DAYS)
    counts = TagShare.objects.filter(day__gt=since)
    for day in TagShareDay.objects.all():
        of_day = counts.filter(day=day.day)
        assert (day.tagged, day.untagged, day.unverified) == (
            sum(c.tagged for c in of_day), sum(c.untagged for c in of_day), sum(c.unverified for c in of_day))
    assert TagShareAccount.objects.count() == 4  # the account that traded before the window is not in it
    for row in TagShareAccount.objects.all():
        mine = counts.filter(sub_account=row.sub_account_id)
        assert (row.tagged, row.untagged, row.unverified) == (
            sum(c.tagged for c in mine), sum(c.untagged for c in mine), sum(c.unverified for c in mine))
    share = selectors.tagged_share()
    assert share["untagged"] == 3 + 1 + 1 and sum(r["tagged"] for r in share["per_day"]) == 4 + 5 + 1 + 3


def test_accounts_come_worst_first_and_only_as_many_as_asked(accounts):
    names = [accounts[k].sub_account.account_name for k in ("worst", "low_share", "pending", "clean")]
    share = selectors.tagged_share(accounts=3)
    assert [r["sub_account__account_name"] for r in share["per_account"]] == names[:3]
    worst = share["per_account"][0]
    assert (worst["tagged"], worst["untagged"], worst["verified"], worst["share"]) == (5, 3, 8, 62.5)
    assert selectors.share_accounts().count() == 4


def test_a_recount_replaces_the_totals(accounts):
    Order.objects.filter(sub_account=accounts["worst"].sub_account).update(verification=Order.Verification.TAGGED)
    tag_share_refresh()
    first = selectors.tagged_share(accounts=1)["per_account"][0]
    assert first["sub_account__account_name"] == accounts["low_share"].sub_account.account_name
    assert TagShareAccount.objects.count() == 4 and selectors.tagged_share()["untagged"] == 2


def test_the_verification_page_pages_through_the_accounts_worst_first(client, make_staff, accounts, monkeypatch):
    login(client, make_staff, "viewer")
    monkeypatch.setattr(selectors, "ACCOUNTS_PER_PAGE", 2)
    first = html(client.get("/orders/verification/")).split('id="per-account"')[1]
    second = html(client.get("/orders/verification/?page=2")).split('id="per-account"')[1]
    name = {k: a.sub_account.account_name for k, a in accounts.items()}
    assert name["worst"] in first and name["low_share"] in first and name["pending"] not in first
    assert first.index(name["worst"]) < first.index(name["low_share"])
    assert name["pending"] in second and name["clean"] in second and name["worst"] not in second
    assert "4 account(s)" in first and 'rel="next"' in first and 'rel="prev"' in second


def test_the_orders_admin_shows_the_worst_accounts_and_how_many_there_are(client, make_staff, accounts, monkeypatch):
    login(client, make_staff, "operator")
    monkeypatch.setattr(selectors, "ADMIN_ACCOUNTS", 2)
    page = html(client.get("/admin/trading/order/"))
    name = {k: a.sub_account.account_name for k, a in accounts.items()}
    assert "2 of 4 with the most untagged orders" in page
    assert name["worst"] in page and name["low_share"] in page and f"?uid={accounts['pending'].sub_account.uid}" not in page


def test_the_dashboard_reads_the_days_totals(accounts):
    today = selectors.share_of_day()
    assert (today["tagged"], today["untagged"], today["unverified"]) == (4 + 3, 2 + 1, 2)
    assert today["share"] == round(100 * 7 / 10, 1)
    assert selectors.share_of_day(timezone.localdate() - timedelta(days=1)) is None


def test_orders_that_never_reached_kucoin_are_not_counted_as_waiting_for_verification():
    key = ApiKeyFactory()
    orders(key, 2)
    orders(key, 1, state=Order.State.REJECTED, verification=Order.Verification.UNVERIFIED, tags="",
           error_message="Balance not enough")
    orders(key, 1, state=Order.State.FAILED, verification=Order.Verification.UNVERIFIED, tags="")
    orders(key, 1, state=Order.State.UNKNOWN, verification=Order.Verification.UNVERIFIED, tags="")
    tag_share_refresh()
    today = TagShareDay.objects.get(day=timezone.localdate())
    assert (today.tagged, today.untagged, today.unverified) == (2, 0, 1)


def test_the_recount_command_counts_days_older_than_the_schedule_does():
    key = ApiKeyFactory()
    orders(key, 3, days_ago=90, deal_funds=Decimal("12.5"))
    tag_share_refresh()  # the schedule's window leaves the 90-day-old orders out
    assert not TagShare.objects.filter(sub_account=key.sub_account).exists()
    out = StringIO()
    call_command("tag_share_recount", "--days", "100", stdout=out)
    share = TagShare.objects.get(sub_account=key.sub_account)
    assert (share.tagged, share.volumes) == (3, {"USDT": Decimal("37.5")})
    assert "Count tagged orders of the last 100 days" in out.getvalue()
    with pytest.raises(CommandError, match="at least 1"):
        call_command("tag_share_recount", "--days", "0")
