"""The shared generators make what they say once, and make it again only when it is gone; and the rate-limit
benchmark's steady-state measure is not fooled by the windows' bursts."""
import pytest

from bench import generate
from bench.bench_ratelimit import steady_rate

SMALL = {"sub_accounts": 60, "orders": 120, "rebate_records": 400, "kucoin_calls": 90}


@pytest.mark.django_db
def test_generators_make_the_scale_asked_once_and_again_only_when_it_is_gone():
    from accounts.models import SubAccount
    from brokeroffice.models import KuCoinCall
    from rebates.models import RebateDayTotal, RebateRecord
    from trading.models import Order

    first = generate.ensure(**SMALL, log=lambda _: None)
    assert all(seconds > 0 for seconds in first.values()) and "reconciliation_counts" in first
    assert SubAccount.objects.filter(account_name__startswith="gen-").count() == 60
    assert SubAccount.objects.filter(state="retired").count() == 1  # every 50th
    assert Order.objects.count() == 120
    assert RebateRecord.objects.count() == 400
    assert sum(t.records for t in RebateDayTotal.objects.all()) == 400
    assert KuCoinCall.objects.filter(code="429000").count() == 0 and KuCoinCall.objects.count() == 90

    assert generate.ensure(**SMALL, log=lambda _: None) == {name: 0.0 for name in SMALL}

    KuCoinCall.objects.filter(pk__in=KuCoinCall.objects.values_list("pk", flat=True)[:5]).delete()
    again = generate.ensure(**SMALL, log=lambda _: None)
    assert again["kucoin_calls"] > 0 and again["orders"] == 0.0
    assert KuCoinCall.objects.count() == 90


@pytest.mark.django_db
def test_data_made_on_an_earlier_day_is_made_again_whole():
    """Times are relative to the day the data was made, so the next day's run deletes it all and makes it again:
    the sub-accounts go only once every row that points at them is gone (the database checks it at the end)."""
    from django.db import connection

    from accounts.models import SubAccount
    from trading.models import Order, TagShareAccount

    generate.ensure(**SMALL, log=lambda _: None)
    assert TagShareAccount.objects.filter(sub_account__account_name__startswith="gen-").exists()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bench_generated SET made_on = %s", ["2000-01-01"])

    # Each data set commits on its own in a benchmark: the sub-accounts' must hold before the orders come back.
    assert generate.sub_accounts(SMALL["sub_accounts"]) > 0
    connection.check_constraints()
    again = generate.ensure(**SMALL, log=lambda _: None)
    assert all(again[name] > 0 for name in SMALL if name != "sub_accounts"), again
    assert SubAccount.objects.filter(account_name__startswith="gen-").count() == 60
    assert Order.objects.count() == 120


def test_steady_rate_counts_whole_windows_of_calls():
    # 10 calls at the start of every 1 s window (a burst, then nothing), as a saturated limiter sends them.
    done_at = [w + c * 0.01 for w in range(20) for c in range(10)]
    assert steady_rate(done_at, calls_per_window=10, window_s=1.0) == pytest.approx(10.0)
    # Half the calls in every other window: the rate is what was sent, not what was allowed.
    sparse = [w + c * 0.01 for w in range(20) for c in range(10 if w % 2 == 0 else 5)]
    assert steady_rate(sparse, calls_per_window=10, window_s=1.0) == pytest.approx(7.5, rel=0.1)
    assert steady_rate([0.0, 0.1], calls_per_window=10, window_s=1.0) is None
