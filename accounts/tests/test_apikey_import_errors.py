"""Importing a key when KuCoin is busy, or refuses the key, through a real worker and the sandbox: a passing
failure keeps what staff typed so the task's retry can finish; only KuCoin's refusal of the key forgets it."""
from decimal import Decimal

import pytest

from accounts.models import SubAccountApiKey
from accounts.services.apikeys import apikey_import
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


@pytest.fixture
def seeded(synced_sub_accounts, sandbox):
    """(sub-account, a key the sandbox seeded for it that this machine may use), not yet known here."""
    by_uid = {s.uid: s for s in synced_sub_accounts}
    key = next(k for k in sandbox.dump()["accounts"]["keys"]
               if k["uid"] in by_uid and (not k["ip_whitelist"] or "127.0.0.1" in k["ip_whitelist"]))
    SubAccountApiKey.objects.filter(api_key=key["api_key"]).delete()
    return by_uid[key["uid"]], key


def test_an_import_survives_kucoin_failing_for_a_while_and_finishes_on_the_retry(seeded, sandbox, finished):
    customer, at_kucoin = seeded
    # More failures in a row than the client's own GET retries: the task itself has to try again.
    sandbox.set_fault("http_503", count=5, family="spot", path="/api/v1/accounts", method="GET")
    key, job = apikey_import(sub_account=customer, api_key=at_kucoin["api_key"], secret=at_kucoin["secret"],
                             passphrase=at_kucoin["passphrase"])
    job = finished(job, timeout=120)
    assert job.state == Job.State.SUCCEEDED, job.error
    assert job.attempts > 1
    key.refresh_from_db()
    assert key.state == SubAccountApiKey.State.ACTIVE
    assert key.label == at_kucoin["label"]
    assert (key.secret, key.passphrase) == (at_kucoin["secret"], at_kucoin["passphrase"])


def test_a_refused_reimport_of_a_deleted_key_that_orders_point_to_leaves_it_deleted(seeded, sandbox, finished):
    from trading.models import Order

    customer, at_kucoin = seeded
    old = SubAccountApiKey.objects.create(sub_account=customer, api_key=at_kucoin["api_key"], label="old-desk",
                                          state=SubAccountApiKey.State.DELETED, source=SubAccountApiKey.Source.IMPORTED)
    Order.objects.create(sub_account=customer, api_key=old, market="spot", symbol="BTC-USDT", side="buy", type="limit",
                         price=Decimal("30000"), size=Decimal("0.001"), state=Order.State.CANCELLED)

    key, job = apikey_import(sub_account=customer, api_key=at_kucoin["api_key"], secret="made-up-wrong-secret",
                             passphrase=at_kucoin["passphrase"])
    assert key.pk == old.pk
    job = finished(job)
    assert job.state == Job.State.FAILED
    assert "400004" in job.error, job.error  # KuCoin's refusal in words, not a database error
    old.refresh_from_db()
    assert old.state == SubAccountApiKey.State.DELETED
    assert (old.secret, old.passphrase) == ("", "")
    assert old.orders.count() == 1
