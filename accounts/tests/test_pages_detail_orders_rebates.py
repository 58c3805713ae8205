"""A sub-account's page also shows its newest orders and what it earned the broker in the last 30 days."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import ApiKeyFactory
from rebates.models import RebateFile, RebateRecord
from trading.models import Order

pytestmark = pytest.mark.django_db


def test_the_detail_page_lists_orders_and_recent_rebates(client, make_staff):
    key = ApiKeyFactory()
    customer = key.sub_account
    Order.objects.create(sub_account=customer, api_key=key, market="spot", symbol="ETH-USDT", side="buy", type="limit",
                         price=Decimal("2000"), size=Decimal("0.5"), state=Order.State.OPEN,
                         verification=Order.Verification.UNTAGGED)
    today = date.today()
    pulled = RebateFile.objects.create(trade_type="spot", begin=today - timedelta(days=40), end=today - timedelta(days=1))
    for line, (days_ago, amount) in enumerate([(2, "1.25"), (10, "0.75"), (35, "9.00")], start=2):
        RebateRecord.objects.create(file=pulled, line=line, date=today - timedelta(days=days_ago), trade_type="spot",
                                    uid=customer.uid, rebate_currency="USDT", rebate_amount=Decimal(amount))
    client.force_login(make_staff("viewer"))
    page = client.get(f"/subaccounts/{customer.pk}/").content.decode()
    assert "ETH-USDT" in page and "Untagged" in page
    assert "Spot: 2 USDT" in page  # 1.25 + 0.75; the record of 35 days ago is outside the window
    assert f"/rebates/?sub_account={customer.uid}" in page
