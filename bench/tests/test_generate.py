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


def test_steady_rate_counts_whole_windows_of_calls():
    # 10 calls at the start of every 1 s window (a burst, then nothing), as a saturated limiter sends them.
    done_at = [w + c * 0.01 for w in range(20) for c in range(10)]
    assert steady_rate(done_at, calls_per_window=10, window_s=1.0) == pytest.approx(10.0)
    # Half the calls in every other window: the rate is what was sent, not what was allowed.
    sparse = [w + c * 0.01 for w in range(20) for c in range(10 if w % 2 == 0 else 5)]
    assert steady_rate(sparse, calls_per_window=10, window_s=1.0) == pytest.approx(7.5, rel=0.1)
    assert steady_rate([0.0, 0.1], calls_per_window=10, window_s=1.0) is None
