"""The dashboard shows what staff need first: the broker connection, sub-accounts, problems, schedules."""
from datetime import timedelta

from django.utils import timezone

from accounts.models import BrokerProfile, SubAccount
from brokeroffice.models import Job, KuCoinCall


def test_the_dashboard_shows_counts_problems_and_the_connection(client, make_staff, django_assert_max_num_queries):
    for n in range(3):
        SubAccount.objects.create(account_name=f"made-up-{n}", uid=str(800000 + n), state=SubAccount.State.ACTIVE,
                                  kucoin_created_at=timezone.now() - timedelta(days=n * 5))
    SubAccount.objects.create(account_name="made-up-old", uid="800099", state=SubAccount.State.RETIRED)
    Job.objects.create(kind="transfer_send", label="Transfer 5 USDT", state=Job.State.FAILED,
                       error="KuCoin 200004: Balance insufficient")
    KuCoinCall.objects.create(at=timezone.now(), method="POST", family="broker", path="/api/v1/broker/nd/transfer",
                              http_status=200, code="200004", actor="ops")
    BrokerProfile.objects.create(pk=1, checked_at=timezone.now(), check_ok=False,
                                 check_message="KuCoin 400201: Invalid KC-API-PARTNER-SIGN — the partner signature is wrong")
    client.force_login(make_staff("viewer"))
    with django_assert_max_num_queries(20):
        page = client.get("/").content.decode()
    assert "Active</dt><dd><a" in page and ">3</a>" in page
    assert "Created this week</dt><dd>2</dd>" in page
    assert "1 failed job" in page and "Balance insufficient" in page
    assert "1 KuCoin error" in page and "/api/v1/broker/nd/transfer" in page
    assert "Problem" in page and "partner signature is wrong" in page


def test_the_figures_follow_the_days_they_are_counted_in_not_the_readers_zone(client, make_staff):
    """Rebate days are KuCoin's (UTC here) and tag shares the workers' (TIME_ZONE); a member of staff far east
    (UTC+14) or far west (UTC-11) of it is on another calendar day for half of it: pick the one that is now."""
    from decimal import Decimal

    from brokeroffice.models import StaffPreference
    from rebates.models import RebateDayTotal
    from rebates.services import today_in_zone
    from trading.models import TagShare
    from trading.selectors import counting_day

    yesterday = today_in_zone() - timedelta(days=1)
    RebateDayTotal.objects.create(date=yesterday, trade_type="spot", rebate_currency="USDT", amount=Decimal("12.5"),
                                  records=3)
    sub_account = SubAccount.objects.create(account_name="made-up-share", uid="800200", state=SubAccount.State.ACTIVE)
    TagShare.objects.create(day=counting_day(), sub_account=sub_account, tagged=3, untagged=1, unverified=0,
                            computed_at=timezone.now())
    zone = "Pacific/Kiritimati" if timezone.now().hour >= 10 else "Pacific/Pago_Pago"
    with timezone.override(zone):
        assert timezone.localdate() != counting_day()
    user = make_staff("viewer")
    StaffPreference.objects.create(user=user, time_zone=zone)
    client.post("/login/", {"username": user.username, "password": "a-made-up-password-for-tests"})
    page = client.get("/").content.decode()
    assert 'title="12.5">12.5' in page  # yesterday's rebate
    assert '<p class="figure-big">75.0%</p>' in page  # today's tagged share
