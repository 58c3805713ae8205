"""What staff meet on every page: one search box, sortable lists, times in their own zone, and a dashboard
with rebates, the tagged share and the rate-limit headroom."""
import re
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import ApiKeyFactory, SubAccountFactory
from brokeroffice.models import KuCoinCall, StaffPreference
from rebates.models import RebateDayTotal
from trading.models import TagShare

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client, make_staff):
    user = make_staff("viewer")
    client.force_login(user)
    return user


def test_a_uid_typed_in_the_search_box_opens_that_sub_account(client, viewer):
    target = SubAccountFactory(account_name="alicetrading01", uid="123456789")
    SubAccountFactory(account_name="bobtrading02", uid="223456789")
    response = client.get("/search/", {"q": " 123456789 "})
    assert response.status_code == 302 and response.url == f"/subaccounts/{target.pk}/"


def test_a_name_start_lists_every_sub_account_that_begins_with_it(client, viewer):
    for name in ("deskalpha01", "deskalpha02", "otherdesk01"):
        SubAccountFactory(account_name=name)
    page = client.get("/search/", {"q": "deskalpha"}).content.decode()
    assert "2 results for “deskalpha”" in page
    assert "deskalpha01" in page and "deskalpha02" in page and "otherdesk01" not in page


def test_an_api_key_finds_its_key_and_nothing_found_says_what_matches(client, viewer):
    key = ApiKeyFactory(api_key="madeupsearchkey0001")
    assert client.get("/search/", {"q": "madeupsearchkey0001"}).url == f"/keys/{key.pk}/"
    page = client.get("/search/", {"q": "no-such-thing"}).content.decode()
    assert "Nothing matches “no-such-thing”" in page and "must be complete" in page


def test_the_search_box_is_on_every_page_and_escapes_what_was_typed(client, viewer):
    assert 'role="search"' in client.get("/").content.decode()
    page = client.get("/search/", {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_the_sub_account_list_sorts_by_a_column_and_says_so(client, viewer):
    for name, level in (("sortcharlie1", 1), ("sortalpha001", 3), ("sortbravo001", 2)):
        SubAccountFactory(account_name=name, level=level)
    page = client.get("/subaccounts/", {"sort": "name"}).content.decode()
    assert page.index("sortalpha001") < page.index("sortbravo001") < page.index("sortcharlie1")
    assert re.search(r'aria-sort="ascending"><a class="sort" href="\?sort=-name"', page)
    page = client.get("/subaccounts/", {"sort": "-level"}).content.decode()
    assert page.index("sortalpha001") < page.index("sortbravo001") < page.index("sortcharlie1")
    assert 'aria-sort="descending"' in page


def test_a_sort_the_page_does_not_offer_is_ignored(client, viewer):
    SubAccountFactory(account_name="onlyone0001")
    response = client.get("/subaccounts/", {"sort": "secret"})
    assert response.status_code == 200 and "onlyone0001" in response.content.decode()
    assert "aria-sort" not in response.content.decode()


def test_times_follow_the_staff_members_zone_with_utc_on_hover(client, viewer):
    SubAccountFactory(account_name="zonecheck01", kucoin_created_at=datetime(2026, 1, 15, 12, 30, tzinfo=dt_timezone.utc))
    page = client.get("/subaccounts/").content.decode()
    assert 'title="2026-01-15 12:30:00 UTC">2026-01-15 12:30 UTC</time>' in page

    response = client.post("/me/", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert StaffPreference.objects.get(user=viewer).time_zone == "Asia/Tokyo"
    page = client.get("/subaccounts/").content.decode()
    assert 'title="2026-01-15 12:30:00 UTC">2026-01-15 21:30 JST</time>' in page


def test_the_zone_chosen_is_used_again_at_the_next_login(client, make_staff):
    user = make_staff("viewer", username="tokyo-viewer", password="a-made-up-password-for-tests")
    StaffPreference.objects.create(user=user, time_zone="America/New_York")
    SubAccountFactory(account_name="zonecheck02", kucoin_created_at=datetime(2026, 7, 1, 12, 0, tzinfo=dt_timezone.utc))
    client.post("/login/", {"username": "tokyo-viewer", "password": "a-made-up-password-for-tests"})
    assert "2026-07-01 08:00 EDT" in client.get("/subaccounts/").content.decode()


def test_an_unknown_zone_is_refused_beside_the_field(client, viewer):
    response = client.post("/me/", {"time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not StaffPreference.objects.filter(user=viewer).exists()


def test_the_dashboard_shows_rebates_with_a_chart_tag_share_and_headroom(client, viewer):
    today = timezone.localdate()
    for days_ago, trade_type, amount in ((1, "spot", "1.5"), (1, "futures", "2.25"), (5, "spot", "10"), (20, "spot", "100"),
                                          (40, "spot", "1000")):
        RebateDayTotal.objects.create(date=today - timedelta(days=days_ago), trade_type=trade_type, rebate_currency="USDT",
                                      amount=Decimal(amount), records=1)
    desk = SubAccountFactory(account_name="tagsharedesk")
    TagShare.objects.create(day=today, sub_account=desk, tagged=9, untagged=1, unverified=2, computed_at=timezone.now())
    now = timezone.now()
    for remaining in (1800, 300, 1500):
        KuCoinCall.objects.create(at=now, method="POST", family="spot", path="/api/v1/hf/orders", http_status=200,
                                  code="200000", pool="spot", quota_limit=2000, quota_remaining=remaining,
                                  credential="apikey:7")
    KuCoinCall.objects.create(at=now - timedelta(minutes=30), method="GET", family="broker", path="/api/v1/broker/nd/info",
                              http_status=200, code="200000", pool="broker", quota_limit=2000, quota_remaining=0)

    page = client.get("/").content.decode()
    rebate_row = re.search(r"<th scope=\"row\">USDT</th>(.*?)</tr>", page).group(1)
    assert re.findall(r"<td class=\"num\"[^>]*>([^<]+)</td>", rebate_row) == ["3.75", "13.75", "113.75"]
    assert "<svg" in page and "Rebate per day, last 30 days (USDT)" in page
    assert "90.0%" in page and "9 tagged of 10 verified, 2 not yet verified" in page and "1 untagged" in page
    headroom = re.search(r'id="headroom-heading".*?</table>', page, re.S).group(0)
    assert "15% (300 of 2,000 left)" in headroom and ">3</td>" in headroom
    assert "broker" not in headroom  # its only call is older than the 5-minute window


def test_an_empty_dashboard_says_what_to_do(client, viewer):
    page = client.get("/").content.decode()
    assert "No rebate pulled yet" in page and "No verified order today yet" in page
    assert "every pool has its whole quota" in page


def test_a_broker_admin_sees_withdrawals_waiting_for_their_approval_but_not_their_own(client, make_staff):
    from accounts.models import BrokerWithdrawal

    requester, approver = make_staff("broker-admin", username="req-admin"), make_staff("broker-admin", username="app-admin")
    BrokerWithdrawal.objects.create(currency="USDT", chain="trx", address="TMadeUpAddressForTests000000000000",
                                    amount=Decimal("25"), requested_by=requester)
    client.force_login(approver)
    assert "1 withdrawal waiting for your approval" in client.get("/").content.decode()
    client.force_login(requester)
    assert "waiting for your approval" not in client.get("/").content.decode()
    client.force_login(make_staff("operator"))
    assert "waiting for your approval" not in client.get("/").content.decode()
